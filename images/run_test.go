package images

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/store"
)

const fakeGeminiKey = "AIzaImagesTestFake" + "0123456789abcdefghijk"

var (
	hjkOnce sync.Once
	hjkBin  string
	hjkErr  error
)

// hjk builds hjk once, with the hjk-init of this tree embedded (as `make
// build` does, through an overlay so nothing in the tree is written).
func hjk(t *testing.T) string {
	t.Helper()
	hjkOnce.Do(func() {
		dir, err := os.MkdirTemp("", "images-test-hjk-")
		if err != nil {
			hjkErr = err
			return
		}
		root, _ := filepath.Abs("..")
		build := func(out, pkg string, env []string, flags ...string) error {
			cmd := exec.Command("go", append(append([]string{"build", "-trimpath", "-o", out}, flags...), pkg)...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), env...)
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
			}
			return nil
		}
		shim := filepath.Join(dir, "hjk-init")
		if hjkErr = build(shim, "./cmd/hjk-init", []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goruntime.GOARCH}); hjkErr != nil {
			return
		}
		embedded := filepath.Join(root, "internal/host/shimbin/bin/linux-"+goruntime.GOARCH, "hjk-init")
		overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{embedded: shim}})
		ovl := filepath.Join(dir, "overlay.json")
		os.WriteFile(ovl, overlay, 0o644)
		hjkBin = filepath.Join(dir, "hjk")
		hjkErr = build(hjkBin, "./cmd/hjk", nil, "-overlay", ovl)
	})
	if hjkErr != nil {
		t.Fatal(hjkErr)
	}
	return hjkBin
}

// user is a person with a repository, a file store holding the three
// agents' credentials, and hjk set to one engine and the agent image.
type user struct {
	t      *testing.T
	engine string
	repo   string
	env    []string
}

func newUser(t *testing.T, e string) *user {
	root := t.TempDir()
	u := &user{t: t, engine: e, repo: filepath.Join(root, "repo")}
	home := filepath.Join(root, "home")
	config := filepath.Join(home, ".config", "hjk")
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "HJK_") || strings.HasPrefix(name, "XDG_") || strings.HasPrefix(name, "GIT_") || name == "HOME" || name == "TMUX" {
			continue
		}
		u.env = append(u.env, kv)
	}
	u.env = append(u.env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"), "HJK_STORE=file", "HJK_RUNTIME="+e, "NO_COLOR=1")
	os.MkdirAll(config, 0o700)
	if err := os.WriteFile(filepath.Join(config, "config.toml"), []byte("image = \""+agentsImage+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := store.NewFile(config, nil)
	for _, c := range []struct {
		a agent.Agent
		c agent.Credential
	}{
		{agent.Claude, agent.Credential{Kind: agent.Subscription, Secret: fakeClaudeToken}},
		{agent.Codex, agent.Credential{Kind: agent.Subscription, Secret: codexAuthJSON()}},
		{agent.Gemini, agent.Credential{Kind: agent.APIKey, Secret: fakeGeminiKey}},
	} {
		c.c.CapturedAt = time.Now()
		if err := store.SaveCredential(s, c.a, "", c.c); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main", u.repo}, {"-C", u.repo, "commit", "-q", "--allow-empty", "-m", "first"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com"}, args...)...)
		cmd.Env = u.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v: %s", args[0], err, out)
		}
	}
	gitDir, _ := filepath.EvalSymlinks(filepath.Join(u.repo, ".git"))
	data := filepath.Join(home, ".local", "share", "hjk")
	t.Cleanup(func() {
		// The instances' containers, their gates (labelled with the
		// container they belong to) and this data folder's keeper.
		out, _ := exec.Command(e, "ps", "-a", "--filter", "label=dev.hjk.repo="+gitDir, "--format", "{{.Names}}").Output()
		names := strings.Fields(string(out))
		for _, n := range slices.Clone(names) {
			gates, _ := exec.Command(e, "ps", "-a", "--filter", "label=dev.hjk.of="+n, "--format", "{{.Names}}").Output()
			names = append(names, strings.Fields(string(gates))...)
		}
		for _, n := range append(names, instance.KeeperName(data)) {
			exec.Command(e, "rm", "-f", "-v", n).Run()
		}
		exec.Command(e, "volume", "rm", "-f", instance.KeeperName(data)).Run()
	})
	return u
}

// hjk runs hjk in the repository, without a terminal, and returns its
// output (stdout then stderr) and exit code. The output is checked for
// secrets before anyone can print it.
func (u *user) hjk(args ...string) (string, int) {
	u.t.Helper()
	cmd := exec.Command(hjk(u.t), args...)
	cmd.Dir, cmd.Env = u.repo, u.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := stdout.String() + stderr.String()
	noSecret(u.t, "hjk "+args[0]+" output", out)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out, exit.ExitCode()
	case err != nil:
		u.t.Fatalf("hjk %s: %v", args[0], err)
	}
	return out, 0
}

// TestThroughHjkRun: with credentials in the store, sessions that hjk run
// starts in the agent image are logged in, run as agent, and the
// interactive CLIs reach their prompts with no onboarding or trust screen.
func TestThroughHjkRun(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatal("tmux is needed with HJK_E2E=1 (run .ci/install)")
		}
		t.Skip("no tmux")
	}
	each(t, func(t *testing.T, e string) {
		u := newUser(t, e)
		const branch = "images-run"

		out, code := u.hjk("run", branch, "--agent", "codex", "--", "login", "status")
		if code != 0 || !strings.Contains(out, "Logged in using ChatGPT") {
			t.Errorf("hjk run --agent codex -- login status: exit %d:\n%s", code, out)
		}
		out, code = u.hjk("run", branch, "--agent", "claude", "--", "auth", "status")
		if code != 0 || !strings.Contains(out, `"loggedIn": true`) || !strings.Contains(out, `"authMethod": "oauth_token"`) {
			t.Errorf("hjk run --agent claude -- auth status: exit %d:\n%s", code, out)
		}
		out, code = u.hjk("run", branch, "--agent", "shell", "id -un")
		if code != 0 || strings.TrimSpace(out) != "agent" {
			t.Errorf("hjk run --agent shell 'id -un': exit %d: %q, want agent", code, out)
		}

		// Interactive sessions, each in a terminal of a private tmux server
		// that has the user's environment (and no credential in it).
		sock := fmt.Sprintf("images-%s-%d", e, os.Getpid())
		tmux := func(args ...string) string {
			cmd := exec.Command("tmux", append([]string{"-L", sock, "-f", "/dev/null"}, args...)...)
			cmd.Dir, cmd.Env = u.repo, u.env
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("tmux %s: %v: %s", args[0], err, b)
			}
			return string(b)
		}
		t.Cleanup(func() { exec.Command("tmux", "-L", sock, "kill-server").Run() })
		for _, a := range []string{"claude", "gemini"} {
			tmux("new-session", "-d", "-s", a, "-x", "120", "-y", "40", hjk(t)+" run "+branch+" --agent "+a+"; sleep 600")
		}
		screens := map[string]struct{ want, refuse []string }{
			"claude": {
				// Through the gate claude talks to an API at a base URL of
				// its own (loopback): it starts in its auto permission mode,
				// whose footer replaces "? for shortcuts".
				want:   []string{"Claude Code v2.1.332", "❯", "auto mode on (shift+tab to cycle)"},
				refuse: []string{"trust this folder", "Choose the text style", "Select login method", "Welcome to Claude"},
			},
			"gemini": {
				want:   []string{"Authenticated with gemini-api-key", "Type your message"},
				refuse: []string{"Do you trust", "How would you like to authenticate"},
			},
		}
		deadline := time.Now().Add(3 * time.Minute) // claude waits on the network offline: ~20 s idle
		for a, s := range screens {
			var pane string
			for {
				pane = tmux("capture-pane", "-p", "-t", a)
				noSecret(t, a+"'s screen", pane)
				if containsAll(pane, s.want) || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Second)
			}
			if !containsAll(pane, s.want) {
				t.Errorf("%s did not reach its prompt through hjk run (want %q):\n%s", a, s.want, pane)
				continue
			}
			for _, r := range s.refuse {
				if strings.Contains(pane, r) {
					t.Errorf("%s shows %q:\n%s", a, r, pane)
				}
			}
		}

		// While the sessions run: no credential on a host command line or
		// in the container's configuration.
		ps, _ := exec.Command("ps", "-eo", "args").Output()
		noSecret(t, "ps -eo args", string(ps))
		out, _ = u.hjk("ps", "--json")
		var list []struct{ Name, Branch string }
		json.Unmarshal([]byte(out), &list)
		if len(list) != 1 || list[0].Branch != branch {
			t.Fatalf("hjk ps --json: %s", out)
		}
		inspect, err := exec.Command(e, "inspect", list[0].Name).Output()
		if err != nil {
			t.Fatalf("%s inspect %s: %v", e, list[0].Name, err)
		}
		noSecret(t, e+" inspect", string(inspect))

		// The agents themselves run as agent, not root.
		top, err := exec.Command(e, "exec", list[0].Name, "ps", "-eo", "user=,comm=").Output()
		if err != nil {
			t.Fatalf("%s exec ps: %v", e, err)
		}
		agents := 0
		for _, line := range strings.Split(strings.TrimSpace(string(top)), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && (strings.HasPrefix(f[1], "claude") || f[1] == "node" || strings.HasPrefix(f[1], "gemini")) {
				agents++
				if f[0] != "agent" {
					t.Errorf("%s runs as %s, want agent", f[1], f[0])
				}
			}
		}
		if agents < 2 {
			t.Errorf("claude and gemini not found running in the container:\n%s", top)
		}
	})
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
