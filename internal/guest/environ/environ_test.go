package environ

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestGetFirstWins(t *testing.T) {
	t.Parallel()
	env := []string{"HOME=/first", "HOMEX=no", "A=1", "HOME=/last", "EMPTY=", "B", "=x"}
	for name, want := range map[string]string{"HOME": "/first", "HOM": "", "HOMEX": "no", "A": "1", "EMPTY": "", "B": "", "": ""} {
		if got := Get(env, name); got != want {
			t.Errorf("Get(%q) = %q, want %q", name, got, want)
		}
	}
}

// Go's os.Getenv, which an agent written in Go would use, reads the first
// of two entries too: Get agrees with it on a real process's environment.
// (os/exec is no help here: Cmd.Env keeps the last of two entries before
// the child starts, so the child is started with os.StartProcess.)
func TestGetAgreesWithGetenv(t *testing.T) {
	t.Parallel()
	if os.Getenv("HJK_ENVIRON_CHILD") == "1" {
		os.Stdout.WriteString(os.Getenv("HJK_ENVIRON_TWICE") + "\n")
		os.Exit(0)
	}
	env := []string{"HJK_ENVIRON_CHILD=1", "HJK_ENVIRON_TWICE=first", "HJK_ENVIRON_TWICE=second"}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.StartProcess(os.Args[0], []string{os.Args[0], "-test.run=^TestGetAgreesWithGetenv$"},
		&os.ProcAttr{Env: env, Files: []*os.File{nil, w, os.Stderr}})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	p.Wait()
	if got, want := strings.TrimSpace(string(out)), Get(env, "HJK_ENVIRON_TWICE"); got != want {
		t.Errorf("os.Getenv read %q, Get %q", got, want)
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	env := []string{"HOME=/root", "HOMEX=no", "A=1", "HOME=/last"}
	got := Set(env, "HOME", "/home/agent")
	if want := []string{"HOMEX=no", "A=1", "HOME=/home/agent"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Set = %q, want %q", got, want)
	}
	if Get(got, "HOME") != "/home/agent" || env[0] != "HOME=/root" {
		t.Error("Set changed its input or did not set the variable")
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
	if err := syscall.Mkfifo(filepath.Join(a, "fifo"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := a + ":" + b
	tests := []struct {
		name, want string
		notFound   bool // else: found but not executable, when want is ""
	}{
		{"tool", filepath.Join(b, "tool"), false},
		{"plain", "", false},
		{"fifo", "", false},
		{"dir", "", true}, // directories in PATH are skipped
		{"missing", "", true},
		{"", "", true},
		{filepath.Join(b, "tool"), filepath.Join(b, "tool"), false},
		{filepath.Join(a, "plain"), "", false},
		{filepath.Join(a, "dir"), "", false},
		{filepath.Join(a, "missing"), "", true},
	}
	for _, tt := range tests {
		got, err := LookPath(tt.name, path)
		if got != tt.want {
			t.Errorf("LookPath(%q) = %q, %v, want %q", tt.name, got, err, tt.want)
		}
		if tt.want != "" {
			continue
		}
		var ce *CommandError
		if !errors.As(err, &ce) || NotFound(err) != tt.notFound {
			t.Errorf("LookPath(%q) error %v: not found %v, want %v", tt.name, err, NotFound(err), tt.notFound)
		}
		if tt.name != "" && !strings.HasPrefix(err.Error(), tt.name+": ") {
			t.Errorf("error %q does not start with the command's name", err)
		}
	}
	// No PATH: the default one, as docker gives.
	if p, err := LookPath("sh", ""); err != nil || !strings.HasPrefix(p, "/") {
		t.Errorf("LookPath(sh) with no PATH = %q, %v", p, err)
	}
}
