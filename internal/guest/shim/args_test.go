package shim

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/version"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    invocation
		sub     string
		wantErr string
	}{
		{args: nil, want: invocation{}},
		{args: []string{"--"}, want: invocation{cmd: []string{}}},
		{args: []string{"--", "claude", "--resume"}, want: invocation{cmd: []string{"claude", "--resume"}}},
		{args: []string{"claude", "-p", "hi"}, want: invocation{cmd: []string{"claude", "-p", "hi"}}},
		// After "--" a subcommand's name is a program like any other.
		{args: []string{"--", "version"}, want: invocation{cmd: []string{"version"}}},
		{args: []string{"--", "--", "x"}, want: invocation{cmd: []string{"--", "x"}}},
		{args: []string{"version"}, sub: "version", want: invocation{args: []string{}}},
		{args: []string{"version", "extra"}, sub: "version", want: invocation{args: []string{"extra"}}},
		{args: []string{"-h"}, want: invocation{help: true}},
		{args: []string{"--help"}, want: invocation{help: true}},
		{args: []string{"-v"}, wantErr: `unknown option "-v"`},
		{args: []string{"--user=x", "sh"}, wantErr: `unknown option "--user=x"`},
	}
	for _, tt := range tests {
		got, err := parse(tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parse(%q) error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parse(%q): %v", tt.args, err)
			continue
		}
		name := ""
		if got.sub != nil {
			name = got.sub.name
		}
		if name != tt.sub {
			t.Errorf("parse(%q) subcommand = %q, want %q", tt.args, name, tt.sub)
		}
		got.sub = nil
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parse(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out, errs bytes.Buffer
	s := &shim{stdout: &out, stderr: &errs}
	if code := s.main([]string{"version"}); code != 0 {
		t.Fatalf("version: exit %d, stderr %q", code, errs.String())
	}
	if !strings.HasPrefix(out.String(), "hjk-init "+version.Version+" ") {
		t.Errorf("version printed %q", out.String())
	}
	out.Reset()
	if code := s.main([]string{"version", "x"}); code != agent.ExitFailure {
		t.Errorf("version x: exit %d, want %d", code, agent.ExitFailure)
	}
}

func TestBadArgumentsExit125(t *testing.T) {
	t.Parallel()
	var out, errs bytes.Buffer
	s := &shim{stdout: &out, stderr: &errs}
	if code := s.main([]string{"--nope"}); code != agent.ExitFailure {
		t.Errorf("exit %d, want %d", code, agent.ExitFailure)
	}
	if !strings.Contains(errs.String(), "hjk-init: unknown option") || !strings.Contains(errs.String(), "usage:") {
		t.Errorf("stderr %q lacks the error and the usage", errs.String())
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("bad payload"), agent.ExitFailure},
		{&environ.CommandError{Name: "x", Err: environ.ErrNotFound}, agent.ExitNotFound},
		{&environ.CommandError{Name: "x", Err: syscall.ENOENT}, agent.ExitNotFound}, // e.g. a script's missing interpreter
		{&environ.CommandError{Name: "x", Err: syscall.EACCES}, agent.ExitNotExecutable},
		{&environ.CommandError{Name: "x", Err: syscall.ENOEXEC}, agent.ExitNotExecutable},
		{&environ.CommandError{Name: "x", Err: syscall.EISDIR}, agent.ExitNotExecutable},
		{&environ.CommandError{Name: "x", Err: syscall.E2BIG}, agent.ExitNotExecutable},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestHelpListsSubcommands(t *testing.T) {
	t.Parallel()
	var out, errs bytes.Buffer
	s := &shim{stdout: &out, stderr: &errs}
	if code := s.main([]string{"--help"}); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(out.String(), "\n  "+c.name+" ") {
			t.Errorf("help does not list %s:\n%s", c.name, out.String())
		}
	}
}
