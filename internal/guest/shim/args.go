package shim

import (
	"fmt"
	"strings"
)

const usage = `usage: hjk-init [--] [COMMAND [ARG...]]
       hjk-init SUBCOMMAND [ARG...]

Writes the agents' credential files from the environment, then runs COMMAND
(in place, or as its init when hjk-init is PID 1). With no COMMAND it exits,
or as PID 1 stays up as init until TERM. Put "--" before a COMMAND that is
named like a subcommand or starts with "-".

Subcommands:
`

// invocation is what the arguments ask for: help, a subcommand, or the
// default job followed by cmd (possibly empty).
type invocation struct {
	help bool
	sub  *command
	args []string // the subcommand's arguments
	cmd  []string // COMMAND and its arguments
	// creds names the credentials handed over for COMMAND (--creds ID).
	creds string
}

// parse reads hjk-init's arguments. It never looks past the first one: all
// the rest belongs to COMMAND or the subcommand.
func parse(args []string) (invocation, error) {
	if len(args) == 0 {
		return invocation{}, nil
	}
	first := args[0]
	switch first {
	case "--":
		return invocation{cmd: args[1:]}, nil
	case "--creds":
		if len(args) < 3 || args[2] != "--" {
			return invocation{}, fmt.Errorf(`--creds takes an id, then "--" and the COMMAND`)
		}
		return invocation{creds: args[1], cmd: args[3:]}, nil
	case "-h", "--help", "help":
		return invocation{help: true}, nil
	}
	if c := lookupCommand(first); c != nil {
		return invocation{sub: c, args: args[1:]}, nil
	}
	if strings.HasPrefix(first, "-") {
		return invocation{}, fmt.Errorf("unknown option %q (a COMMAND starting with \"-\" goes after \"--\")", first)
	}
	return invocation{cmd: args}, nil
}
