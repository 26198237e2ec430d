package capture

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hjk-dev/hjk/internal/agent"
)

// fakes holds the stand-in claude and codex, built once.
var fakes string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "capture-fakes")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, name := range []string{"claude", "codex"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./testdata/fake"+name).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build fake %s: %v\n%s", name, err, out)
			os.Exit(1)
		}
	}
	fakes = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// user is the person at the terminal: the master side of a pty whose slave
// is what hjk sees as its stdin and stdout.
type user struct {
	t    *testing.T
	ptmx *os.File
	tty  *os.File
	mu   sync.Mutex
	seen bytes.Buffer
	done chan struct{}
}

func newUser(t *testing.T, cols int) *user {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(cols), Rows: 30}); err != nil {
		t.Fatal(err)
	}
	u := &user{t: t, ptmx: ptmx, tty: tty, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			u.mu.Lock()
			u.seen.Write(buf[:n])
			u.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	return u
}

func (u *user) screen() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen.String()
}

// waitFor waits until the screen shows s.
func (u *user) waitFor(s string) {
	u.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(u.screen(), s) {
		if time.Now().After(deadline) {
			u.t.Fatalf("the screen never showed %q; it shows:\n%q", s, u.screen())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitForText waits until the screen, stripped of escapes, shows s.
func (u *user) waitForText(s string) {
	u.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(StripANSI(u.screen()), s) {
		if time.Now().After(deadline) {
			u.t.Fatalf("the screen never showed %q; it shows:\n%s", s, StripANSI(u.screen()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (u *user) typ(s string) {
	u.t.Helper()
	if _, err := io.WriteString(u.ptmx, s); err != nil {
		u.t.Fatal(err)
	}
}

type runResult struct {
	res Result
	err error
}

func start(cmd *exec.Cmd, t Terminal) chan runResult {
	ch := make(chan runResult, 1)
	go func() {
		r, err := Run(cmd, t)
		ch <- runResult{r, err}
	}()
	return ch
}

func wait(t *testing.T, ch chan runResult) runResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	return runResult{}
}

func fakeClaude(mode string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(fakes, "claude"), "setup-token")
	cmd.Env = append(os.Environ(), "FAKE_TOKEN="+fakeToken, "FAKE_CODE=code-123#state", "FAKE_MODE="+mode)
	return cmd
}

// TestRunClaudeLogin drives the stand-in through a real PTY at several
// widths: the user sees the URL and the prompt, types the code, and the
// token, printed coloured and wrapped at the width hjk passed on, comes
// back whole.
func TestRunClaudeLogin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cols int
		mode string
	}{{37, ""}, {80, ""}, {23, "redraw"}, {200, ""}} {
		t.Run(fmt.Sprintf("%d%s", tc.cols, tc.mode), func(t *testing.T) {
			t.Parallel()
			u := newUser(t, tc.cols)
			ch := start(fakeClaude(tc.mode), Terminal{In: u.tty, Out: u.tty})
			u.waitFor("Paste code here if prompted > ")
			u.typ("code-123#state\r")
			r := wait(t, ch)
			if r.err != nil {
				t.Fatalf("Run: %v\n%q", r.err, r.res.Output)
			}
			if r.res.Width != tc.cols {
				t.Errorf("the child's width = %d, want the user's %d", r.res.Width, tc.cols)
			}
			tok, ok := ClaudeToken(r.res.Output, r.res.Width)
			if !ok || tok != fakeToken {
				t.Fatalf("ClaudeToken = %q (ok %v) from:\n%q", tok, ok, r.res.Output)
			}
			if tc.cols < len(fakeToken) && bytes.Contains(r.res.Output, []byte(fakeToken)) {
				t.Error("the stand-in did not wrap the token: the test proves nothing")
			}
			u.waitFor("Store this token securely")
			if !strings.Contains(u.screen(), "https://claude.ai/oauth/authorize") {
				t.Error("the user never saw the sign-in URL")
			}
		})
	}
}

// A change of the user's window size reaches the child: it prints the
// token at the new width, and hjk unwraps it at that width.
func TestRunWindowSizeChange(t *testing.T) {
	t.Parallel()
	u := newUser(t, 100)
	sigs := make(chan os.Signal, 1)
	ch := start(fakeClaude("winch"), Terminal{In: u.tty, Out: u.tty, Signals: sigs})
	u.waitFor("Paste code here")
	u.typ("code-123#state\r")
	u.waitFor("resize me")
	if err := pty.Setsize(u.ptmx, &pty.Winsize{Cols: 29, Rows: 30}); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGWINCH // what the kernel sends hjk on a real terminal
	r := wait(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !strings.Contains(string(r.res.Output), "now 29 columns") {
		t.Fatalf("the child did not see the new size:\n%q", r.res.Output)
	}
	if tok, ok := ClaudeToken(r.res.Output, 29); !ok || tok != fakeToken {
		t.Fatalf("ClaudeToken at the new width = %q", tok)
	}
}

func TestRunWrongCodeFails(t *testing.T) {
	t.Parallel()
	u := newUser(t, 80)
	ch := start(fakeClaude(""), Terminal{In: u.tty, Out: u.tty})
	u.waitFor("Paste code here")
	u.typ("wrong\r")
	r := wait(t, ch)
	if r.err == nil || errors.Is(r.err, ErrInterrupted) || !strings.Contains(r.err.Error(), "exited with status 1") {
		t.Fatalf("Run = %v, want exit status 1", r.err)
	}
}

func TestRunNoToken(t *testing.T) {
	t.Parallel()
	u := newUser(t, 80)
	ch := start(fakeClaude("notoken"), Terminal{In: u.tty, Out: u.tty})
	u.waitFor("Paste code here")
	u.typ("code-123#state\r")
	r := wait(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if tok, ok := ClaudeToken(r.res.Output, r.res.Width); ok {
		t.Fatalf("found a token in a login that printed none: %q", tok)
	}
}

// Ctrl-C typed by the user reaches the child through the raw terminal,
// as it would on the user's own terminal.
func TestRunCtrlC(t *testing.T) {
	t.Parallel()
	u := newUser(t, 80)
	ch := start(fakeClaude("hang"), Terminal{In: u.tty, Out: u.tty})
	u.waitFor("Paste code here")
	u.typ("code-123#state\r")
	u.waitFor("Exchanging code")
	u.typ("\x03")
	r := wait(t, ch)
	if !errors.Is(r.err, ErrInterrupted) {
		t.Fatalf("Run after Ctrl-C = %v, want ErrInterrupted", r.err)
	}
}

// A signal to hjk (here delivered on Terminal.Signals) stops the login and
// reports it interrupted, even if a token had been printed.
func TestRunSignalToHjk(t *testing.T) {
	t.Parallel()
	u := newUser(t, 80)
	sigs := make(chan os.Signal, 1)
	ch := start(fakeClaude("hang"), Terminal{In: u.tty, Out: u.tty, Signals: sigs})
	u.waitFor("Paste code here")
	u.typ("code-123#state\r")
	u.waitFor("Exchanging code")
	sigs <- syscall.SIGTERM
	r := wait(t, ch)
	if !errors.Is(r.err, ErrInterrupted) {
		t.Fatalf("Run after SIGTERM = %v, want ErrInterrupted", r.err)
	}
}

// A login that ignores the signal hjk forwards is killed soon after.
func TestRunKillsAStubbornLogin(t *testing.T) {
	t.Parallel()
	u := newUser(t, 80)
	sigs := make(chan os.Signal, 1)
	cmd := exec.Command("sh", "-c", `trap "" INT TERM; echo stubborn; while :; do sleep 1; done`)
	ch := start(cmd, Terminal{In: u.tty, Out: u.tty, Signals: sigs})
	u.waitFor("stubborn")
	began := time.Now()
	sigs <- syscall.SIGINT
	r := wait(t, ch)
	if !errors.Is(r.err, ErrInterrupted) {
		t.Fatalf("Run = %v, want ErrInterrupted", r.err)
	}
	if d := time.Since(began); d < killTimeout || d > killTimeout+drainTimeout+2*time.Second {
		t.Fatalf("stopped after %s, want about %s", d, killTimeout)
	}
}

func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

var fakeCodexAuth = `{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"` + fakeJWT(`{"exp":1893456000}`) +
	`","access_token":"at-fake","refresh_token":"rt-fake-SECRET","account_id":"acc"},"last_refresh":"2026-11-27T00:00:00Z"}`

func TestRunCodexLogin(t *testing.T) {
	t.Parallel()
	for _, device := range []bool{false, true} {
		t.Run(fmt.Sprint("device=", device), func(t *testing.T) {
			t.Parallel()
			codexHome := t.TempDir()
			u := newUser(t, 80)
			args := []string{"login"}
			if device {
				args = append(args, "--device-auth")
			}
			cmd := exec.Command(filepath.Join(fakes, "codex"), args...)
			cmd.Env = append(os.Environ(), "CODEX_HOME="+codexHome, "FAKE_AUTH_JSON="+fakeCodexAuth)
			ch := start(cmd, Terminal{In: u.tty, Out: u.tty})
			if device {
				u.waitFor("FAKE-1234")
			} else {
				u.waitFor("localhost:1455")
			}
			u.waitFor("Press Enter when you are done")
			u.typ("\r")
			if r := wait(t, ch); r.err != nil {
				t.Fatal(r.err)
			}
			env := map[string]string{"CODEX_HOME": codexHome, "HOME": "/nonexistent"}
			got, err := CodexAuth(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got != fakeCodexAuth {
				t.Fatalf("CodexAuth returned another payload (%d bytes, want %d)", len(got), len(fakeCodexAuth))
			}
		})
	}
}

func TestCodexAuthKeyringHint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ config, want string }{
		{"", "is not set"},
		{`cli_auth_credentials_store = "keyring"`, `is "keyring"`},
		{`cli_auth_credentials_store = "auto"`, `is "auto"`},
	} {
		home := t.TempDir()
		if tc.config != "" {
			if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(tc.config+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, err := CodexAuth(func(k string) string { return map[string]string{"CODEX_HOME": home}[k] })
		var le *LoginError
		if !errors.As(err, &le) || !strings.Contains(le.Error(), tc.want) || !strings.Contains(le.Hint, `cli_auth_credentials_store = "file"`) || !strings.Contains(le.Hint, filepath.Join(home, "config.toml")) {
			t.Errorf("config %q: CodexAuth = %v (hint %q)", tc.config, err, hintOf(err))
		}
	}
}

func hintOf(err error) string {
	var le *LoginError
	if errors.As(err, &le) {
		return le.Hint
	}
	return ""
}

func TestCodexAuthInvalid(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	bad := strings.Replace(fakeCodexAuth, fakeJWT(`{"exp":1893456000}`), "not-a-jwt", 1)
	if err := os.WriteFile(filepath.Join(home, "auth.json"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := CodexAuth(func(k string) string { return map[string]string{"CODEX_HOME": home}[k] })
	if err == nil || !strings.Contains(err.Error(), "id_token") || strings.Contains(err.Error(), "rt-fake-SECRET") {
		t.Fatalf("CodexAuth(bad id_token) = %v", err)
	}
}

func TestGemini(t *testing.T) {
	t.Parallel()
	creds := `{
  "access_token": "ya29.fake", "refresh_token": "1//fake-SECRET", "scope": "openid",
  "token_type": "Bearer", "id_token": "x.y.z", "expiry_date": 1893456000000
}`
	accounts := `{"active": "dev@example.com", "old": []}`
	write := func(dir, name, s string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// GEMINI_CLI_HOME wins over HOME.
	home, cliHome := t.TempDir(), t.TempDir()
	write(filepath.Join(cliHome, ".gemini"), "oauth_creds.json", creds)
	write(filepath.Join(cliHome, ".gemini"), "google_accounts.json", accounts)
	env := map[string]string{"HOME": home, "GEMINI_CLI_HOME": cliHome}
	payload, err := Gemini(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	p, err := agent.ParseGemini(payload)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.OAuthCreds, `"refresh_token":"1//fake-SECRET"`) || p.GoogleAccounts != `{"active":"dev@example.com","old":[]}` {
		t.Fatalf("payload = %+v", p)
	}
	if strings.Contains(payload, "\n") {
		t.Error("payload is not on one line")
	}
	if in := agent.Describe(agent.Gemini, agent.Credential{Kind: agent.Subscription, Secret: payload}); in.Expires.Unix() != 1893456000 {
		t.Errorf("expiry = %v", in.Expires)
	}

	// Without google_accounts.json: fine.
	h2 := t.TempDir()
	write(filepath.Join(h2, ".gemini"), "oauth_creds.json", creds)
	if _, err := Gemini(func(k string) string { return map[string]string{"HOME": h2}[k] }); err != nil {
		t.Fatal(err)
	}

	// No login: say to log in with gemini.
	_, err = Gemini(func(k string) string { return map[string]string{"HOME": t.TempDir()}[k] })
	if !strings.Contains(err.Error(), "oauth_creds.json does not exist") || !strings.Contains(hintOf(err), "Log in with 'gemini' first") {
		t.Fatalf("no login: %v / %q", err, hintOf(err))
	}

	// No refresh token.
	h3 := t.TempDir()
	write(filepath.Join(h3, ".gemini"), "oauth_creds.json", `{"access_token":"ya29.fake"}`)
	_, err = Gemini(func(k string) string { return map[string]string{"HOME": h3}[k] })
	if err == nil || !strings.Contains(err.Error(), "no refresh_token") {
		t.Fatalf("no refresh token: %v", err)
	}

	// Broken file: named, never quoted.
	h4 := t.TempDir()
	write(filepath.Join(h4, ".gemini"), "oauth_creds.json", `{"refresh_token":"1//fake-SECRET"`)
	_, err = Gemini(func(k string) string { return map[string]string{"HOME": h4}[k] })
	if err == nil || !strings.Contains(err.Error(), "not a JSON object") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("broken file: %v", err)
	}
}
