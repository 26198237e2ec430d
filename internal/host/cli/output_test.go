package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// onTerminal returns an App whose stdout and stderr are a real terminal,
// and a function that returns what was drawn on it so far (closing it).
func onTerminal(t *testing.T, env map[string]string) (*App, func() string) {
	t.Helper()
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	var got bytes.Buffer
	read := make(chan struct{})
	go func() { io.Copy(&got, ptm); close(read) }()
	app := NewApp(strings.NewReader(""), tty, tty, func(k string) string { return env[k] })
	return app, func() string {
		tty.Close()
		select {
		case <-read:
		case <-time.After(5 * time.Second):
			t.Error("the terminal's output did not end")
		}
		ptm.Close()
		return got.String()
	}
}

func TestStepOnTerminal(t *testing.T) {
	t.Parallel()
	app, drawn := onTerminal(t, map[string]string{"TERM": "xterm"})
	done := app.Step("making the worktree")
	time.Sleep(600 * time.Millisecond) // redrawn at least once
	done()
	done() // twice is harmless
	got := drawn()
	if n := strings.Count(got, "hjk: making the worktree…"); n < 2 {
		t.Errorf("drawn %d times, want at least 2 (the first draw and a tick): %q", n, got)
	}
	if !strings.HasPrefix(got, "\r\x1b[K") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("the line is not drawn from its start and erased at the end: %q", got)
	}
}

func TestStepQuietOnTerminal(t *testing.T) {
	t.Parallel()
	app, drawn := onTerminal(t, map[string]string{"TERM": "xterm"})
	app.out.quiet = true
	app.Step("making the worktree")()
	if got := drawn(); got != "" {
		t.Errorf("-q drew %q", got)
	}
}

func TestStepOnPipe(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	app := NewApp(strings.NewReader(""), w, w, func(string) string { return "" })
	app.Step("making the worktree")()
	app.out.verbose = true
	app.Step("starting the container")()
	w.Close()
	b, _ := io.ReadAll(r)
	got := string(b)
	if strings.Contains(got, "making") || strings.Contains(got, "\x1b") || strings.Contains(got, "\r") {
		t.Errorf("a progress line on a pipe: %q", got)
	}
	if !strings.HasPrefix(got, "hjk: starting the container (") || !strings.HasSuffix(got, ")\n") {
		t.Errorf("-v on a pipe: %q, want a line with the step's duration", got)
	}
}

func TestColour(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"TERM": "xterm"}, true},
		{map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, false},
		{map[string]string{"TERM": "dumb"}, false},
		{map[string]string{"TERM": "xterm", "NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, false},
	} {
		app, drawn := onTerminal(t, tc.env)
		if got := app.colour(app.Stdout); got != tc.want {
			t.Errorf("colour on a terminal with %v = %v, want %v", tc.env, got, tc.want)
		}
		drawn()
	}
	var buf bytes.Buffer
	pipe := NewApp(nil, &buf, &buf, func(k string) string { return map[string]string{"TERM": "xterm"}[k] })
	if pipe.colour(&buf) || pipe.paint(&buf, red, "x") != "x" {
		t.Error("colour on a pipe")
	}
	forced := NewApp(nil, &buf, &buf, func(k string) string { return map[string]string{"CLICOLOR_FORCE": "1"}[k] })
	if got := forced.paint(&buf, red, "x"); got != "\x1b[31mx\x1b[0m" {
		t.Errorf("CLICOLOR_FORCE=1 paints %q", got)
	}
}
