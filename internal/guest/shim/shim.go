// Package shim is hjk-init's main program: the one thing an hjk container
// runs first, as its ENTRYPOINT or at the head of every session.
//
//	hjk-init [--] [COMMAND [ARG...]]
//	hjk-init SUBCOMMAND [ARG...]    (version, doctor, export, session: commands.go)
//
// In order: refuse a set-user-ID install; as root with HJK_USER, switch to
// that user (privdrop.Switch) before any file is touched; write each
// agent's files from its variables as that user (package creds); scrub
// the payload variables; then exec COMMAND in place, or as PID 1 run it as
// init's only child (package pid1), or with no COMMAND exit 0 (stay up as
// an idle init as PID 1). Exit codes are agent.ExitFailure (125) for
// hjk-init's own failures, 126 and 127 for a COMMAND that cannot be run or
// found, else COMMAND's.
//
// README.md in this folder is hjk-init's reference: the variables it
// reads, the files it writes and how it treats links, every exit code,
// every signal, the subcommands. readme_test.go holds its tables against
// the code.
//
// Errors go to standard error prefixed "hjk-init: " and name the variable
// and the file, never a secret's value.
package shim

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/creds"
	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/guest/pid1"
	"github.com/hjk-dev/hjk/internal/guest/privdrop"
	"github.com/hjk-dev/hjk/internal/layout"
)

// ShutdownGrace is how long an idle PID 1 waits, after TERM, for the other
// processes in the container (exec'd sessions) to exit. Docker waits 10 s
// before it kills the container.
const ShutdownGrace = 5 * time.Second

// Main runs hjk-init with args (os.Args[1:]) and returns its exit code.
func Main(args []string) int {
	s := &shim{
		env:    os.Environ(),
		stdout: os.Stdout,
		stderr: os.Stderr,
		pid:    os.Getpid(),
		uid:    os.Getuid(),
	}
	return s.main(args)
}

// shim is one run of hjk-init: what it was given, and where it reports.
type shim struct {
	env            []string
	stdout, stderr io.Writer
	pid, uid       int
}

func (s *shim) main(args []string) int {
	inv, err := parse(args)
	if err != nil {
		s.errorf("%v", err)
		s.usage(s.stderr)
		return agent.ExitFailure
	}
	if !inv.help && (inv.sub == nil || inv.sub.name != "boot") {
		if err := waitReady(environ.Get(s.env, layout.ReadyVar), readyTimeout); err != nil {
			s.errorf("%v", err)
			return agent.ExitFailure
		}
	}
	switch {
	case inv.help:
		s.usage(s.stdout)
		return 0
	case inv.sub != nil:
		return inv.sub.run(inv.args, s.stdout, s.stderr)
	}

	if inv.creds != "" {
		entries, err := takeHandover(handoverDir, inv.creds)
		if err != nil {
			s.errorf("%v", err)
			return agent.ExitFailure
		}
		// First: the first of two entries wins, as getenv has it.
		s.env = append(entries, s.env...)
	}
	var initd *pid1.Init
	if s.pid == 1 {
		initd = pid1.Listen()
	}
	env, err := s.prepare()
	if err != nil {
		s.errorf("%v", err)
		return agent.ExitFailure
	}
	if len(inv.cmd) == 0 {
		if s.pid == 1 {
			return initd.Idle(ShutdownGrace)
		}
		return 0
	}
	path, err := environ.LookPath(inv.cmd[0], environ.Get(env, "PATH"))
	if err != nil {
		s.errorf("%v", err)
		return exitCode(err)
	}
	if s.pid == 1 {
		status, err := initd.Run(path, inv.cmd, env)
		if err != nil {
			err = &environ.CommandError{Name: inv.cmd[0], Err: err}
			s.errorf("%v", err)
			return exitCode(err)
		}
		return status
	}
	err = &environ.CommandError{Name: inv.cmd[0], Err: syscall.Exec(path, inv.cmd, env)}
	s.errorf("%v", err)
	return exitCode(err)
}

// prepare does everything before the command: switch to HJK_USER, then
// write the credential files as that user, into their home. It returns the
// command's environment.
func (s *shim) prepare() ([]string, error) {
	if os.Geteuid() != s.uid {
		return nil, fmt.Errorf("refusing to run set-user-ID (uid %d, effective uid %d): install hjk-init without the setuid bit", s.uid, os.Geteuid())
	}
	// Drop before any file work: the home is the user's, and root
	// following a link they planted there (~/.codex/auth.json ->
	// /etc/passwd) would write or read outside it. As the user, the
	// kernel's permissions decide, and the files are theirs without chown.
	env, err := privdrop.Switch(s.env, s.uid)
	if err != nil {
		return nil, err
	}
	o := creds.Options{Env: env, Home: environ.Get(env, "HOME"), UID: -1, GID: -1, Warn: s.stderr}
	if err := creds.Apply(o); err != nil {
		return nil, err
	}
	return creds.Scrub(env), nil
}

func (s *shim) usage(w io.Writer) {
	io.WriteString(w, usage)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

func (s *shim) errorf(format string, a ...any) {
	fmt.Fprintf(s.stderr, "hjk-init: "+format+"\n", a...)
}

// readyTimeout bounds the wait of a command exec'd into an instance's
// container for its boot to finish (a remap of a large home, say).
const readyTimeout = 30 * time.Second

// waitReady waits until the stamp file exists: hjk-init commands that hjk
// execs right after creating a container must not start before boot has
// handed the container to its user. An empty path means no wait.
func waitReady(path string, timeout time.Duration) error {
	if path == "" {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the container is not ready after %s (no %s): its boot failed, see the container's log", timeout, path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
