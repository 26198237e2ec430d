package capture

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// realAgent finds a real agent CLI installed by .ci/install (npm, under
// HJK_AGENTS_DIR, default /opt/hjk-agents). Missing: skip, or fail with
// HJK_E2E=1.
func realAgent(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("HJK_AGENTS_DIR")
	if dir == "" {
		dir = "/opt/hjk-agents"
	}
	p := filepath.Join(dir, "node_modules", ".bin", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatalf("HJK_E2E=1 but the real %s is not installed at %s (.ci/install installs it)", name, p)
		}
		t.Skipf("the real %s is not installed: %v", name, err)
	}
	return p
}

// TestRealClaudeSetupToken runs the real `claude setup-token` (offline, in
// a private HOME) through Run: it draws its screen at the user's width,
// redraws it at a new width when the window changes, and a signal to hjk
// stops it with nothing captured.
func TestRealClaudeSetupToken(t *testing.T) {
	t.Parallel()
	claude := realAgent(t, "claude")
	u := newUser(t, 90)
	sigs := make(chan os.Signal, 1)
	cmd := exec.Command(claude, "setup-token")
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "BROWSER=true", "DISABLE_AUTOUPDATER=1", "CLAUDE_CONFIG_DIR="+filepath.Join(home, ".claude"))
	ch := start(cmd, Terminal{In: u.tty, Out: u.tty, Signals: sigs})
	u.waitForText("Paste code here if prompted")
	// The input box spans the terminal: claude got our width, and
	// redraws at the new one when the window changes.
	box := func(cols int) string { return "╭" + strings.Repeat("─", cols-3) + "╮" }
	u.waitForText(box(90))
	if err := pty.Setsize(u.ptmx, &pty.Winsize{Cols: 70, Rows: 30}); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGWINCH
	u.waitForText(box(70))
	// At this prompt claude ignores Ctrl-C and Escape (as it does on a
	// real terminal); hjk being stopped stops it.
	sigs <- syscall.SIGTERM
	r := wait(t, ch)
	if !errors.Is(r.err, ErrInterrupted) {
		t.Fatalf("Run after SIGTERM to hjk = %v, want ErrInterrupted", r.err)
	}
	if tok, ok := ClaudeToken(r.res.Output, r.res.Width); ok {
		t.Fatalf("found a token in an interrupted login: %d bytes", len(tok))
	}
}

// TestRealCodexLogin runs the real `codex login` (offline) through Run: it
// shows its sign-in URL on the user's terminal, Ctrl-C typed by the user
// reaches it and ends the login, and no auth.json is taken.
func TestRealCodexLogin(t *testing.T) {
	t.Parallel()
	codex := realAgent(t, "codex")
	u := newUser(t, 100)
	home := t.TempDir()
	codexHome := filepath.Join(home, "codex")
	if err := os.Mkdir(codexHome, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(codex, "login")
	cmd.Env = append(os.Environ(), "HOME="+home, "CODEX_HOME="+codexHome, "BROWSER=true")
	ch := start(cmd, Terminal{In: u.tty, Out: u.tty})
	u.waitForText("Starting local login server on http://localhost:1455")
	u.waitForText("https://auth.openai.com/oauth/authorize")
	u.typ("\x03")
	r := wait(t, ch)
	if !errors.Is(r.err, ErrInterrupted) {
		t.Fatalf("Run after Ctrl-C = %v, want ErrInterrupted", r.err)
	}
	if _, err := CodexAuth(func(k string) string { return map[string]string{"CODEX_HOME": codexHome, "HOME": home}[k] }); err == nil {
		t.Fatal("an interrupted codex login left credentials to take")
	}
}
