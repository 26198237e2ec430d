package creds

// Acceptance against the real agent CLIs, offline: what Apply writes must be
// what claude, gemini and codex themselves accept. The CLIs come from npm
// (.ci/install puts them in /opt/hjk-agents; HJK_AGENTS_DIR overrides it).
// With HJK_E2E=1 a missing CLI or tmux fails the run; otherwise these tests
// are skipped without them.
//
// Every screen or output these tests print goes through redact first: the
// CLIs echo parts of keys, and test logs must never hold a secret.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func agentsBin(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("HJK_AGENTS_DIR")
	if dir == "" {
		dir = "/opt/hjk-agents"
	}
	bin := filepath.Join(dir, "node_modules", ".bin", name)
	if _, err := os.Stat(bin); err != nil {
		missing(t, fmt.Sprintf("the real %s CLI is not installed at %s (run .ci/install or set HJK_AGENTS_DIR)", name, bin))
	}
	return bin
}

func missing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("HJK_E2E") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// redact hides every fake secret, and the tails the CLIs show of keys.
func redact(s string) string {
	for _, sec := range secrets() {
		s = strings.ReplaceAll(s, sec, "[secret]")
		s = strings.ReplaceAll(s, keyTail(sec), "[secret-tail]")
	}
	return s
}

// session is a private home and work folder with Apply run for env.
type session struct {
	home, wd string
	cwd      string   // where the agent starts: wd unless a test moves it
	env      []string // what the agent runs with: HOME, PATH, TERM and the credential variables
}

func newSession(t *testing.T, creds ...string) *session {
	t.Helper()
	s := &session{home: t.TempDir(), wd: t.TempDir()}
	s.env = append([]string{"HOME=" + s.home, "PATH=" + os.Getenv("PATH"), "TERM=xterm-256color", "LANG=C.UTF-8",
		// Keep claude from update checks and telemetry, and point its API at
		// a closed port: offline, it otherwise waits about 20 s for its
		// remote settings to time out before it shows anything. What it
		// shows before its prompt depends on its files, not on the API.
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "ANTHROPIC_BASE_URL=http://127.0.0.1:9"}, creds...)
	return s
}

func (s *session) dir() string {
	if s.cwd != "" {
		return s.cwd
	}
	return s.wd
}

// git runs git in dir, as the session's user.
func (s *session) git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=hjk", "-c", "user.email=hjk@example.com"}, args...)...)
	cmd.Dir, cmd.Env = dir, append(s.env, "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (s *session) apply(t *testing.T) {
	t.Helper()
	mustApply(t, s.home, append([]string{"HJK_WORKDIR=" + s.wd}, s.env...))
}

// run runs a CLI to completion in the session and returns its output
// (redacted) and exit code.
func (s *session) run(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = s.dir(), s.env
	out, err := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, redact(string(out)))
	}
	return redact(string(out)), code
}

var tmuxSeq atomic.Int32

// screen starts bin interactively in a private tmux server, 120x40, with the
// session's environment (passed through tmux's own environment, not argv),
// and returns a function that reads the screen (redacted).
func (s *session) screen(t *testing.T, bin string) func() string {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		missing(t, "tmux is not installed (run .ci/install)")
	}
	sock := fmt.Sprintf("hjk-creds-%d-%d", os.Getpid(), tmuxSeq.Add(1))
	conf := filepath.Join(t.TempDir(), "tmux.conf")
	// remain-on-exit keeps the screen of an agent that quit at once.
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g history-limit 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmux := func(args ...string) *exec.Cmd {
		cmd := exec.Command("tmux", append([]string{"-L", sock, "-f", conf}, args...)...)
		cmd.Env = s.env
		return cmd
	}
	if out, err := tmux("new-session", "-d", "-x", "120", "-y", "40", "-c", s.dir(), bin).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	out, err := tmux("display-message", "-p", "#{pane_pid}").Output()
	pid, perr := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || perr != nil {
		tmux("kill-server").Run()
		t.Fatalf("tmux display-message: %v %v", err, perr)
	}
	t.Cleanup(func() {
		// The pane leads its own session: end the agent and everything it
		// started (gemini relaunches itself), and wait until they are gone so
		// none still writes into the home being removed.
		tmux("kill-server").Run()
		syscall.Kill(-pid, syscall.SIGKILL)
		// Codex also starts a daemon in a session of its own: it is found
		// by the private HOME it inherited.
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			left := s.running(pid)
			if len(left) == 0 {
				return
			}
			for _, p := range left {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
		t.Errorf("processes of the session still running after SIGKILL: %v", s.running(pid))
	})
	return func() string {
		out, err := tmux("capture-pane", "-p").Output()
		if err != nil {
			t.Fatalf("tmux capture-pane: %v", err)
		}
		return redact(string(out))
	}
}

// running lists the session's processes that still run: those of the
// pane's process group, and any other holding the session's private HOME
// in its environment. Killed ones linger as zombies until whoever adopted
// them reaps them, which a container's PID 1 may take its time to do:
// those no longer count.
func (s *session) running(pgid int) []int {
	var pids []int
	home := []byte("\x00HOME=" + s.home + "\x00")
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold anything but ends
		// at the last parenthesis.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		env, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "environ"))
		if f[2] == strconv.Itoa(pgid) || bytes.Contains(append([]byte{0}, env...), home) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitFor polls the screen until ready says it is, then keeps watching for
// settle: an agent draws its prompt first and may open a dialog over it a
// moment later. It fails at once when the screen shows one of forbidden, or
// when it is not ready before the deadline.
func waitFor(t *testing.T, read func() string, deadline, settle time.Duration, ready func(string) bool, forbidden ...string) {
	t.Helper()
	end := time.Now().Add(deadline)
	var scr string
	var since time.Time
	for time.Now().Before(end) {
		scr = read()
		for _, f := range forbidden {
			if strings.Contains(scr, f) {
				t.Fatalf("screen shows %q:\n%s", f, scr)
			}
		}
		if since.IsZero() && ready(scr) {
			since = time.Now()
		}
		if !since.IsZero() && time.Since(since) >= settle {
			if !ready(scr) {
				t.Fatalf("screen no longer ready:\n%s", scr)
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("screen not ready within %v:\n%s", deadline, scr)
}

// shows is ready when the screen holds every one of subs.
func shows(subs ...string) func(string) bool {
	return func(scr string) bool {
		for _, sub := range subs {
			if !strings.Contains(scr, sub) {
				return false
			}
		}
		return true
	}
}

// atClaudePrompt is ready when claude shows its empty input line: "❯"
// alone (its dialogs put the same mark before a choice).
func atClaudePrompt(scr string) bool {
	for _, l := range strings.Split(scr, "\n") {
		if strings.TrimSpace(strings.ReplaceAll(l, "\u00a0", " ")) == "❯" {
			return true
		}
	}
	return false
}

func TestRealCodexLoginStatus(t *testing.T) {
	t.Parallel()
	codex := agentsBin(t, "codex")
	for _, tc := range []struct {
		name  string
		creds []string
		want  string
		code  int
	}{
		{"chatgpt", []string{"CODEX_AUTH_JSON=" + fakeCodexPayload("2026-11-27T00:00:00Z")}, "Logged in using ChatGPT", 0},
		{"api key", []string{"OPENAI_API_KEY=" + fakeOpenAIKey}, "API key configured", 0},
		{"both", []string{"CODEX_AUTH_JSON=" + fakeCodexPayload("2026-11-27T00:00:00Z"), "OPENAI_API_KEY=" + fakeOpenAIKey}, "Logged in using ChatGPT", 0},
		{"nothing (control)", nil, "Not logged in", 1},
	} {
		for _, codexHome := range []bool{false, true} {
			if codexHome && tc.creds == nil {
				continue // codex refuses a CODEX_HOME that does not exist
			}
			name := tc.name
			if codexHome {
				name += " in CODEX_HOME"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := newSession(t, tc.creds...)
				if codexHome {
					// CODEX_HOME need not exist: Apply creates it.
					s.env = append(s.env, "CODEX_HOME="+filepath.Join(t.TempDir(), "codex-home"))
				}
				s.apply(t)
				out, code := s.run(t, codex, "login", "status")
				if code != tc.code || !strings.Contains(out, tc.want) {
					t.Errorf("codex login status: exit %d, want %d and %q:\n%s", code, tc.code, tc.want, out)
				}
			})
		}
	}
}

func TestRealClaudeAuthStatus(t *testing.T) {
	t.Parallel()
	claude := agentsBin(t, "claude")
	for _, tc := range []struct {
		name     string
		creds    []string
		loggedIn bool
		method   string
	}{
		{"oauth token", []string{"CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken}, true, "oauth_token"},
		{"api key", []string{"ANTHROPIC_API_KEY=" + fakeClaudeKey}, true, "api_key"},
		{"nothing (control)", nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSession(t, tc.creds...)
			s.apply(t)
			out, code := s.run(t, claude, "auth", "status")
			var st struct {
				LoggedIn   bool   `json:"loggedIn"`
				AuthMethod string `json:"authMethod"`
			}
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("claude auth status: exit %d, not JSON: %v\n%s", code, err, out)
			}
			if st.LoggedIn != tc.loggedIn || (tc.loggedIn && st.AuthMethod != tc.method) || (code == 0) != tc.loggedIn {
				t.Errorf("claude auth status: exit %d, %+v; want loggedIn %v with %q", code, st, tc.loggedIn, tc.method)
			}
		})
	}
}

// The screens claude shows before its prompt, none of which a session
// started by hjk may stop at.
var claudeStops = []string{
	"Yes, I trust this folder",         // folder trust
	"Do you want to use this API key?", // API key approval
	"Choose the text style",            // onboarding: theme
	"Select login method",              // onboarding: login
}

func TestRealClaudeReachesPrompt(t *testing.T) {
	t.Parallel()
	claude := agentsBin(t, "claude")
	token, key := []string{"CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken}, []string{"ANTHROPIC_API_KEY=" + fakeClaudeKey}
	for _, tc := range []struct {
		name  string
		creds []string
		setup func(*testing.T, *session)
	}{
		{"oauth token", token, nil},
		{"api key", key, nil},
		// Claude asks per git repository: the trusted work folder is the
		// repository's root, claude starts below it.
		{"git repository subfolder", token, func(t *testing.T, s *session) {
			s.git(t, s.wd, "init", "-q")
			s.cwd = filepath.Join(s.wd, "sub", "dir")
			writeFile(t, filepath.Join(s.cwd, "f"), "")
		}},
		// Claude keys trust by the resolved path of where it runs.
		{"workdir through a symlink", token, func(t *testing.T, s *session) {
			link := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(s.wd, link); err != nil {
				t.Fatal(err)
			}
			s.wd = link
		}},
		// hjk's own case: each branch is a linked worktree, whose .git is a
		// file pointing into the main repository.
		{"linked worktree", token, func(t *testing.T, s *session) {
			main := t.TempDir()
			s.git(t, main, "init", "-q")
			s.git(t, main, "commit", "-q", "--allow-empty", "-m", "init")
			s.wd = filepath.Join(t.TempDir(), "feature")
			s.git(t, main, "worktree", "add", "-q", "-b", "feature", s.wd)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSession(t, tc.creds...)
			if tc.setup != nil {
				tc.setup(t, s)
			}
			// A file the user already had: its keys must not stop claude.
			writeFile(t, filepath.Join(s.home, ".claude.json"), `{"numStartups": 3, "projects": {"/elsewhere": {"hasTrustDialogAccepted": true}}}`)
			s.apply(t)
			waitFor(t, s.screen(t, claude), 60*time.Second, 2*time.Second, atClaudePrompt, claudeStops...)
		})
	}
}

// TestRealClaudeStopsWithoutOurKeys shows that the screens above are
// detected: with only what the old shell script wrote, claude asks for
// folder trust; without the key's approval, it asks about the key.
func TestRealClaudeStopsWithoutOurKeys(t *testing.T) {
	t.Parallel()
	claude := agentsBin(t, "claude")
	for _, tc := range []struct {
		name, file, want string
		creds            []string
	}{
		{"old script", `{"hasCompletedOnboarding":true}`, "Yes, I trust this folder", []string{"CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken}},
		{"unapproved key", `{"hasCompletedOnboarding":true,"projects":{"WD":{"hasTrustDialogAccepted":true}}}`, "Do you want to use this API key?", []string{"ANTHROPIC_API_KEY=" + fakeClaudeKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSession(t, tc.creds...)
			writeFile(t, filepath.Join(s.home, ".claude.json"), strings.ReplaceAll(tc.file, "WD", s.wd))
			if os.Getenv("HJK_CREDS_TEST_FAIL") == "1" {
				// Run by TestRealLogsHoldNoSecret: fail on the screen that
				// shows part of the key, so that it is printed.
				waitFor(t, s.screen(t, claude), 60*time.Second, 0, shows("a screen that never comes"), tc.want)
			}
			waitFor(t, s.screen(t, claude), 60*time.Second, 0, shows(tc.want))
		})
	}
}

func TestRealGeminiReachesPrompt(t *testing.T) {
	t.Parallel()
	gemini := agentsBin(t, "gemini")
	const prompt, trust = "Type your message", "Do you trust the files in this folder?"

	t.Run("api key", func(t *testing.T) {
		t.Parallel()
		s := newSession(t, "GEMINI_API_KEY="+fakeGeminiKey)
		// The user's settings, with comments gemini accepts: after the
		// merge gemini must still read them (a parse error is fatal).
		writeFile(t, filepath.Join(s.home, ".gemini/settings.json"), "// mine\n{\n  \"general\": {\"vimMode\": false}, /* keep */\n  \"security\": {\"auth\": {\"selectedType\": \"oauth-personal\"}}\n}\n")
		s.apply(t)
		waitFor(t, s.screen(t, gemini), 60*time.Second, 2*time.Second,
			shows(prompt, "Authenticated with gemini-api-key"),
			trust, "untrusted folder", "How would you like to authenticate", "Error in")
	})
	// Control: the settings alone, without the folder trust, stop gemini.
	t.Run("no trust (control)", func(t *testing.T) {
		t.Parallel()
		s := newSession(t, "GEMINI_API_KEY="+fakeGeminiKey)
		writeFile(t, filepath.Join(s.home, ".gemini/settings.json"), `{"security":{"auth":{"selectedType":"gemini-api-key"}}}`)
		waitFor(t, s.screen(t, gemini), 60*time.Second, 0, shows(trust))
	})
}

// TestRealLogsHoldNoSecret makes a real-CLI test fail on claude's API key
// dialog, which shows the key's tail, and checks that the failure printed
// the screen with every secret redacted.
func TestRealLogsHoldNoSecret(t *testing.T) {
	t.Parallel()
	agentsBin(t, "claude")
	if os.Getenv("HJK_CREDS_TEST_FAIL") == "1" {
		t.Skip("this is the run under test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestRealClaudeStopsWithoutOurKeys$/^unapproved_key$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "HJK_CREDS_TEST_FAIL=1")
	out, err := cmd.CombinedOutput()
	log := string(out)
	if err == nil || !strings.Contains(log, "--- FAIL") {
		t.Fatalf("the forced failure did not fail (%v)", err)
	}
	if !strings.Contains(log, "Do you want to use this API key?") || !strings.Contains(log, "[secret-tail]") {
		t.Errorf("the failure did not print the redacted key dialog")
	}
	assertNoSecret(t, "the failing test's log", log)
}

// TestRealCodexReachesPrompt: codex reads the config.toml Apply patched
// (the user's model, with the comments around it, survives: codex names it
// on its status line) and does not ask to trust the folder.
func TestRealCodexReachesPrompt(t *testing.T) {
	t.Parallel()
	codex := agentsBin(t, "codex")
	const prompt, trust = "Ask Codex to do anything", "Trust this folder?"
	t.Run("api key", func(t *testing.T) {
		t.Parallel()
		s := newSession(t, "OPENAI_API_KEY="+fakeOpenAIKey)
		s.git(t, s.wd, "init", "-q") // codex asks for trust in a repository
		writeFile(t, filepath.Join(s.home, ".codex/config.toml"), "# mine\nmodel = \"gpt-5-codex\" # the model I use\n\n[tui]\nanimations = false\n")
		s.apply(t)
		waitFor(t, s.screen(t, codex), 60*time.Second, time.Second, shows(prompt, "gpt-5-codex default"), trust)
	})
	// Control: the login alone, without the trust, stops codex.
	t.Run("no trust (control)", func(t *testing.T) {
		t.Parallel()
		s := newSession(t)
		s.git(t, s.wd, "init", "-q")
		writeFile(t, filepath.Join(s.home, ".codex/auth.json"), `{"auth_mode":"apikey","OPENAI_API_KEY":"`+fakeOpenAIKey+`"}`)
		waitFor(t, s.screen(t, codex), 60*time.Second, 0, shows(trust))
	})
}

func TestRedact(t *testing.T) {
	t.Parallel()
	scr := "ANTHROPIC_API_KEY: sk-ant-..." + keyTail(fakeClaudeKey) + "\n" + fakeGeminiPayload() + "\n" + fakeOpenAIKey
	assertNoSecret(t, "redacted screen", redact(scr))
}
