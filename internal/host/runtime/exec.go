package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
)

// ExitError is a CLI call that ran and exited non-zero. Stderr holds the
// tail of its error stream when it was captured (never a secret: secrets
// travel only in the environment, and the engines do not echo it).
type ExitError struct {
	Args   []string // the CLI's argv, without secrets by construction
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: exit status %d", strings.Join(e.Args, " "), e.Code)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func asExit(err error, ee **ExitError) bool { return errors.As(err, ee) }

// ExitCode returns the exit code carried by err, and whether it carries one.
func ExitCode(err error) (int, bool) {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code, true
	}
	return 0, false
}

// call is one run of a runtime CLI.
type call struct {
	args   []string // argv, args[0] the CLI
	env    []string // NAME=value added to os.Environ(): how secrets travel
	drop   []string // names kept out of the CLI's environment (what aims it elsewhere)
	stdin  io.Reader
	stdout io.Writer // nil: captured and returned
	stderr io.Writer // nil: captured for the error; else passed through
	// keepErr also keeps the tail of a passed-through error stream for the
	// error (builds: their output is ours, never a session's).
	keepErr bool
}

// stderrTail bounds what is kept of a CLI's error stream for its error.
const stderrTail = 4 << 10

// run runs c and returns its standard output when it was captured. A start
// failure is returned as is (exec.ErrNotFound for a missing CLI); a non-zero
// exit is an *ExitError.
func run(ctx context.Context, c call) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.args[0], c.args[1:]...)
	if len(c.env) > 0 || len(c.drop) > 0 {
		cmd.Env = append(without(os.Environ(), c.drop), c.env...)
	}
	cmd.Stdin = c.stdin
	var out bytes.Buffer
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	} else {
		cmd.Stdout = &out
	}
	errb := &tailBuffer{max: stderrTail}
	switch {
	case c.stderr != nil && c.keepErr:
		cmd.Stderr = io.MultiWriter(c.stderr, errb)
	case c.stderr != nil:
		cmd.Stderr = c.stderr
	default:
		cmd.Stderr = errb
	}
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return out.Bytes(), &ExitError{Args: c.args, Code: ee.ExitCode(), Stderr: strings.TrimSpace(errb.String())}
	}
	if err != nil {
		return out.Bytes(), fmt.Errorf("%s: %w", strings.Join(c.args, " "), err)
	}
	return out.Bytes(), nil
}

// without is env less the variables named in names.
func without(env, names []string) []string {
	if len(names) == 0 {
		return env
	}
	out := env[:0:0]
	for _, kv := range env {
		n, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, n) {
			out = append(out, kv)
		}
	}
	return out
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }

// stderrHas reports whether err is an *ExitError whose error stream
// contains one of subs (case-insensitive).
func stderrHas(err error, subs ...string) bool {
	var ee *ExitError
	if !errors.As(err, &ee) {
		return false
	}
	s := strings.ToLower(ee.Stderr)
	for _, sub := range subs {
		if strings.Contains(s, strings.ToLower(sub)) {
			return true
		}
	}
	return false
}

// build is the call of an image build: both streams go to w, one write
// at a time (exec copies each stream in its own goroutine), and the tail of
// the error stream is kept for the error.
func build(args []string, w io.Writer) call {
	if w == nil {
		w = io.Discard
	}
	sw := &syncWriter{w: w}
	return call{args: args, stdout: sw, stderr: sw, keepErr: true}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
