package cli

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/store"
)

func testApp(stdin io.Reader, env map[string]string, s store.Store) (*App, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	app := NewApp(stdin, &out, &errb, func(k string) string { return env[k] })
	app.OpenStore = func() (store.Store, error) { return s, nil }
	return app, &out, &errb
}

// A store that cannot be used is reported before the user is sent through
// a login whose result could not be kept.
func TestAuthChecksStoreBeforeLogin(t *testing.T) {
	t.Parallel()
	s := &store.Memory{Err: errors.New("Secret Service: the default keyring is locked: unlock your login keyring")}
	app, out, errb := testApp(strings.NewReader(""), map[string]string{"HJK_CLAUDE": "/nonexistent/claude"}, s)
	if code := app.Run([]string{"auth", "claude"}); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "keyring is locked") || strings.Contains(errb.String(), "nonexistent") || out.Len() != 0 {
		t.Fatalf("stdout %q, stderr %q", out, errb)
	}
}

// hjk auth claude in-process, the user at a real PTY: the token the
// stand-in prints, wrapped at the user's 41 columns, is stored whole in
// the store the App was given.
func TestAuthClaudeInProcess(t *testing.T) {
	const tok = "sk-ant-oat01-FAKEinprocess0123456789_-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-fakeAA"
	t.Setenv("FAKE_TOKEN", tok) // the stand-in reads its own environment
	t.Setenv("FAKE_CODE", "code-42")
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 41, Rows: 30}); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, ptmx) }() // the user's screen

	s := store.NewMemory()
	var errb bytes.Buffer
	app := NewApp(tty, tty, &errb, func(k string) string {
		return map[string]string{"HJK_CLAUDE": filepath.Join(fakes, "claude")}[k]
	})
	app.OpenStore = func() (store.Store, error) { return s, nil }
	done := make(chan int, 1)
	go func() { done <- app.Run([]string{"auth", "claude", "--account", "team"}) }()
	time.Sleep(200 * time.Millisecond) // typed ahead is fine: the pty keeps it
	if _, err := io.WriteString(ptmx, "code-42\r"); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hjk auth claude did not finish")
	}
	c, err := store.LoadCredential(s, agent.Claude, "team")
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != agent.Subscription || c.Secret != tok {
		t.Fatalf("stored %s of %d bytes, want the whole token (%d)", c.Kind, len(c.Secret), len(tok))
	}
	if c.CapturedAt.IsZero() || time.Since(c.CapturedAt) > time.Minute {
		t.Fatalf("captured at %v", c.CapturedAt)
	}
	if _, err := store.LoadCredential(s, agent.Claude, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the default account got it too: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe to read while hjk writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An API key typed at a terminal, after the prompt, is not echoed.
func TestAuthAPIKeyNoEcho(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	var screen, stderr syncBuffer
	go func() { _, _ = io.Copy(&screen, ptmx) }()
	s := store.NewMemory()
	app := NewApp(tty, io.Discard, &stderr, func(string) string { return "" })
	app.OpenStore = func() (store.Store, error) { return s, nil }
	done := make(chan int, 1)
	go func() { done <- app.Run([]string{"auth", "gemini", "--api-key"}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "(it is not shown)") {
		if time.Now().After(deadline) {
			t.Fatalf("no prompt; stderr: %q", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := io.WriteString(ptmx, "AIzaFAKEtyped0005\r"); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if c, err := store.LoadCredential(s, agent.Gemini, ""); err != nil || c.Secret != "AIzaFAKEtyped0005" || c.Kind != agent.APIKey {
		t.Fatalf("stored %v, %v", c, err)
	}
	time.Sleep(50 * time.Millisecond)
	if strings.Contains(screen.String(), "FAKEtyped") {
		t.Fatalf("the key was echoed: %q", screen.String())
	}
}
