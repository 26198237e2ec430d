package cli

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/host/store"
)

// TestExitCodes: a command line hjk cannot run exits 2, any other failure
// 1, help 0; the error is printed once, as "hjk: <error>", then its hint.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	for _, tc := range []struct {
		args []string
		code int
		hint string // the line after the error, if any
	}{
		{nil, 2, ""}, // the usage, on stdout, and nothing on stderr
		{[]string{"nosuch"}, 2, "Run 'hjk --help' for the list of commands."},
		{[]string{"ps", "--jsn"}, 2, "Run 'hjk ps --help' for usage."},
		{[]string{"-x"}, 2, "Run 'hjk --help' for usage."},
		{[]string{"logs", "--tail=x", "b"}, 2, "Run 'hjk logs --help' for usage."},
		{[]string{"stop"}, 2, "Run 'hjk stop --help' for usage."},
		{[]string{"run", "a", "b", "c"}, 2, "Run 'hjk run --help' for usage."},
		{[]string{"kill", "b"}, 2, "Run 'hjk ps <branch>' for its sessions."},
		{[]string{"-q", "-v", "version"}, 2, "Run 'hjk version --help' for usage."},
		{[]string{"config", "a", "b", "c"}, 2, "Run 'hjk config --help' for usage."},
		{[]string{"config", "colour", "blue"}, 2, ""},
		{[]string{"auth", "nosuch"}, 2, "Run 'hjk auth --help' for usage."},
		{[]string{"auth", "rm"}, 2, "Run 'hjk auth rm --help' for usage."},
		{[]string{"auth", "rm", "codex", "--api-key", "--login"}, 2, "Give neither to remove both."},
		{[]string{"completion", "tcsh"}, 2, ""},
		{[]string{"help", "nosuch"}, 2, "Run 'hjk --help' for the list of commands."},
		{[]string{"config", "runtime"}, 1, ""}, // not set: a fact, not a usage error
		{[]string{"auth", "rm", "codex"}, 1, "Run 'hjk auth status' to see what is stored."},
		{[]string{"--help"}, 0, ""},
		{[]string{"help", "run"}, 0, ""},
		{[]string{"auth", "status", "-h"}, 0, ""},
	} {
		var out, errb bytes.Buffer
		app := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		app.OpenStore = func() (store.Store, error) { return store.NewMemory(), nil }
		code := app.Run(tc.args)
		name := "hjk " + strings.Join(tc.args, " ")
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", name, code, tc.code, errb.String())
		}
		lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
		switch {
		case tc.code == 0 || tc.args == nil:
			if errb.Len() > 0 {
				t.Errorf("%s: stderr %q, want none", name, errb.String())
			}
			if !strings.HasPrefix(out.String(), "Usage:") && !strings.HasPrefix(out.String(), "hjk runs coding agents") {
				t.Errorf("%s: no usage on stdout: %q", name, out.String())
			}
		case !strings.HasPrefix(lines[0], "hjk: ") || strings.Count(errb.String(), "hjk: ") != 1:
			t.Errorf("%s: stderr %q, want the error once, after \"hjk: \"", name, errb.String())
		case tc.hint == "" && len(lines) != 1, tc.hint != "" && (len(lines) != 2 || lines[1] != tc.hint):
			t.Errorf("%s: stderr %q, want the hint %q", name, errb.String(), tc.hint)
		}
	}
}

// TestExitErrorPassesThrough: a child's status is hjk's, and says nothing
// more; a status with a reason prints it once.
func TestExitErrorPassesThrough(t *testing.T) {
	t.Parallel()
	var errb bytes.Buffer
	app := NewApp(nil, io.Discard, &errb, func(string) string { return "" })
	if code := app.report(&ExitError{Code: 7}); code != 7 || errb.Len() != 0 {
		t.Errorf("child's status 7: exit %d, stderr %q", code, errb.String())
	}
	if code := app.report(&ExitError{Code: 130, Err: errors.New("login interrupted: nothing was stored")}); code != 130 || errb.String() != "hjk: login interrupted: nothing was stored\n" {
		t.Errorf("interrupted: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := app.report(Hintf(&store.NotConfiguredError{Agent: "claude"}, "a hint")); code != 1 || !strings.HasSuffix(errb.String(), "\na hint\n") {
		t.Errorf("user error: exit %d, stderr %q", code, errb.String())
	}
}
