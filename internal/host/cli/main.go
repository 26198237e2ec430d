// Package cli is hjk's command line: one file per command, each with an
// options struct filled by pflag and a function that does the work with the
// store, runtime and streams it is given. Main lists the commands.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one hjk subcommand.
type command struct {
	name    string
	summary string
	run     func(app *App, args []string) error
}

// commands lists hjk's subcommands. Each file adds its own row here.
func commands() []command {
	return []command{
		{"version", "print hjk's version", versionCommand},
		{"config", "show or change hjk's settings", configCommand},
		{"doctor", "check the runtime, store, git, image and hjk-init", doctorCommand},
		{"auth", "capture an agent's credentials into the OS secret store", authCommand},
		{"run", "start an agent session in a branch's instance", runCommand},
		{"ps", "list instances", psCommand},
		{"stop", "stop a branch's instance", stopCommand},
		{"rm", "remove a branch's instance (container and worktree)", rmCommand},
		{"recreate", "replace a branch's container, keeping its worktree", recreateCommand},
		{"exec", "run a command in a branch's instance", execCommand},
		{"attach", "attach the terminal to a session that runs in an instance", attachCommand},
		{"logs", "print a session's output", logsCommand},
		{"kill", "end a session", killCommand},
		{"completion", "print a shell's completion script (bash, zsh or fish)", completionCommand},
		// Hidden (not in --help): the shells' completion calls and the docs
		// generator.
		{"__complete", "", completeCommand},
		{"__docs", "", docsCommand},
	}
}

// Main runs hjk with args (without the program name) and returns the exit
// code. It is the whole of cmd/hjk, and what testscript calls in-process.
func Main(args []string) int {
	app := NewApp(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	return app.Run(args)
}

// Run dispatches args to a command and turns its error into an exit code,
// printing the error once, with its hint.
func (app *App) Run(args []string) int {
	args = app.takeGlobal(args)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		app.usage(app.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" {
		args = []string{"version"}
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(app, args[1:])
			return app.report(err)
		}
	}
	fmt.Fprintf(app.Stderr, "hjk: unknown command %q\nRun 'hjk --help' for the list of commands.\n", args[0])
	return 2
}

func (app *App) usage(w io.Writer) {
	fmt.Fprintf(w, "hjk runs coding agents in one container per git branch, with your logins.\n\nUsage:\n  hjk <command> [flags] [args]\n\nCommands:\n")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		if c.summary == "" {
			continue
		}
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nFlags (before or after the command):\n  -q, --quiet     say nothing but results, warnings and errors\n  -v, --verbose   also say each slow step and how long it took\n")
	fmt.Fprintf(w, "\nRun 'hjk <command> --help' for a command's flags and an example.\n")
}

// report prints err (if any) and returns the exit code it stands for.
func (app *App) report(err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		// The child's own status: it has said what it had to say.
		return ee.Code
	}
	fmt.Fprintf(app.Stderr, "hjk: %s\n", err)
	var ue *UserError
	if errors.As(err, &ue) {
		if ue.Hint != "" {
			fmt.Fprintf(app.Stderr, "%s\n", strings.TrimRight(ue.Hint, "\n"))
		}
		if ue.Code != 0 {
			return ue.Code
		}
	}
	return 1
}
