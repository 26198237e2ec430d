package shim

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

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
	if code := s.main([]string{"version", "x"}); code != ExitFailure {
		t.Errorf("version x: exit %d, want %d", code, ExitFailure)
	}
}

func TestBadArgumentsExit125(t *testing.T) {
	t.Parallel()
	var out, errs bytes.Buffer
	s := &shim{stdout: &out, stderr: &errs}
	if code := s.main([]string{"--nope"}); code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
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
		{errors.New("bad payload"), ExitFailure},
		{&execError{"x", errNotInPath}, ExitNotFound},
		{&execError{"x", syscall.ENOENT}, ExitNotFound}, // e.g. a script's missing interpreter
		{&execError{"x", syscall.EACCES}, ExitNotExecutable},
		{&execError{"x", syscall.ENOEXEC}, ExitNotExecutable},
		{&execError{"x", syscall.EISDIR}, ExitNotExecutable},
		{&execError{"x", syscall.E2BIG}, ExitNotExecutable},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestLookPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, mode os.FileMode) {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(a, "tool"), 0o644) // not executable, shadows b's
	write(filepath.Join(b, "tool"), 0o755)
	write(filepath.Join(a, "plain"), 0o644)
	if err := os.Mkdir(filepath.Join(a, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := a + ":" + b

	tests := []struct {
		name, want string
		code       int
	}{
		{"tool", filepath.Join(b, "tool"), 0},
		{"plain", "", ExitNotExecutable},
		{"dir", "", ExitNotFound}, // directories in PATH are skipped
		{"missing", "", ExitNotFound},
		{"", "", ExitNotFound},
		{filepath.Join(b, "tool"), filepath.Join(b, "tool"), 0},
		{filepath.Join(a, "plain"), "", ExitNotExecutable},
		{filepath.Join(a, "dir"), "", ExitNotExecutable},
		{filepath.Join(a, "missing"), "", ExitNotFound},
	}
	for _, tt := range tests {
		got, err := lookPath(tt.name, path)
		if got != tt.want || exitCode(err) != tt.code {
			t.Errorf("lookPath(%q) = %q, %v (exit %d), want %q exit %d", tt.name, got, err, exitCode(err), tt.want, tt.code)
		}
		if err != nil && !strings.HasPrefix(err.Error(), tt.name+": ") && tt.name != "" {
			t.Errorf("error %q does not start with the command's name", err)
		}
	}
}

func TestEnvHelpers(t *testing.T) {
	t.Parallel()
	env := []string{"HOME=/root", "HOMEX=no", "A=1", "HOME=/last"}
	if got := getenv(env, "HOME"); got != "/last" {
		t.Errorf("getenv HOME = %q, want the last entry", got)
	}
	if got := getenv(env, "HOM"); got != "" {
		t.Errorf("getenv HOM = %q, want none", got)
	}
	got := setenv(env, "HOME", "/home/agent")
	want := []string{"HOMEX=no", "A=1", "HOME=/home/agent"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("setenv = %q, want %q", got, want)
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
