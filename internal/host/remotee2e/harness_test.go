package remotee2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/store"
	"github.com/hjk-dev/hjk/internal/testinfra"
)

// harness is a private HOME and repository, and the hjk under test run in
// it, as a user with DOCKER_HOST pointed at a remote engine only when a
// command is given it.
type harness struct {
	t      testing.TB
	e      *testinfra.Engine
	home   string
	repo   string
	data   string // hjk's data folder
	env    []string
	gitDir string
}

// aiming are the variables that point an engine's CLI somewhere: the
// harness never passes the test's own.
var aiming = []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
	"CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINER_SSHKEY", "CONTAINERS_CONF"}

func newHarness(t testing.TB, e *testinfra.Engine, img string) *harness {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	home := t.TempDir()
	h := &harness{t: t, e: e, home: home, repo: filepath.Join(home, "repo"), data: filepath.Join(home, ".local", "share", "hjk")}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "HJK_") || strings.HasPrefix(name, "XDG_") || strings.HasPrefix(name, "GIT_") || name == "HOME" || slices.Contains(aiming, name) {
			continue
		}
		h.env = append(h.env, kv)
	}
	h.env = append(h.env,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"HJK_STORE=file",
		"HJK_RUNTIME="+e.Kind,
		"NO_COLOR=1",
		// The docker CLI's own config (its contexts) is the test's.
		"DOCKER_CONFIG="+filepath.Join(home, ".docker"),
		"CONTAINERS_CONF="+filepath.Join(home, "containers.conf"),
	)
	// The inner engine has no bridge: the gate and the keeper use its
	// host's network (which has none either: the agent here needs none).
	conf := filepath.Join(home, ".config", "hjk")
	os.MkdirAll(conf, 0o700)
	if err := os.WriteFile(filepath.Join(conf, "config.toml"), []byte("image = \""+img+"\"\n[gate]\nnetwork = \"host\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, "containers.conf"), nil, 0o600)
	// podman reads DOCKER_CONFIG's config.json for registry logins, and
	// fails when it is named but missing.
	os.MkdirAll(filepath.Join(home, ".docker"), 0o700)
	os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte("{}\n"), 0o600)
	h.git("init", "-q", "-b", "main", h.repo)
	// hjk hands the repository's identity to the instance, for the
	// agent's commits.
	h.git("-C", h.repo, "config", "user.name", "Test")
	h.git("-C", h.repo, "config", "user.email", "test@example.com")
	os.WriteFile(filepath.Join(h.repo, "readme.txt"), []byte("hello\n"), 0o644)
	h.git("-C", h.repo, "add", "readme.txt")
	h.git("-C", h.repo, "commit", "-q", "-m", "first")
	gd, err := filepath.EvalSymlinks(filepath.Join(h.repo, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	h.gitDir = gd
	t.Cleanup(h.cleanup)
	return h
}

// cleanup removes from the engine whatever this test's hjk made there and
// left: containers and volumes of its repository, and those carrying its
// data folder's host id (the keeper).
func (h *harness) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	filters := []string{"label=dev.hjk.repo=" + h.gitDir}
	if b, err := os.ReadFile(filepath.Join(h.data, "host-id")); err == nil {
		filters = append(filters, "label=dev.hjk.host="+strings.TrimSpace(string(b)))
	}
	for _, f := range filters {
		out, _ := h.e.Command(ctx, "ps", "-aq", "--filter", f).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			h.e.Command(ctx, append([]string{"rm", "-f"}, ids...)...).Run()
		}
		out, _ = h.e.Command(ctx, "volume", "ls", "-q", "--filter", f).Output()
		if names := strings.Fields(string(out)); len(names) > 0 {
			h.e.Command(ctx, append([]string{"volume", "rm"}, names...)...).Run()
		}
	}
}

// leftovers are the engine's containers and volumes of this test.
func (h *harness) leftovers() []string {
	h.t.Helper()
	ctx := context.Background()
	var all []string
	b, _ := os.ReadFile(filepath.Join(h.data, "host-id"))
	for _, f := range []string{"label=dev.hjk.repo=" + h.gitDir, "label=dev.hjk.host=" + strings.TrimSpace(string(b))} {
		for _, args := range [][]string{{"ps", "-a", "--format", "{{.Names}}"}, {"volume", "ls", "-q"}} {
			out, err := h.e.Command(ctx, append(args, "--filter", f)...).CombinedOutput()
			if err != nil {
				h.t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
			}
			for _, n := range strings.Fields(string(out)) {
				if !slices.Contains(all, n) {
					all = append(all, n)
				}
			}
		}
	}
	return all
}

// git runs git as the user would, with an identity for commits.
func (h *harness) git(args ...string) string {
	h.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com"}, args...)...)
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// command is hjk with args, in the repository, with extra variables.
func (h *harness) command(extra []string, args ...string) *exec.Cmd {
	cmd := exec.Command(hjkBin, args...)
	cmd.Dir = h.repo
	cmd.Env = append(append([]string(nil), h.env...), extra...)
	return cmd
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs hjk to the end, its stdin empty.
func (h *harness) run(extra []string, args ...string) result {
	h.t.Helper()
	cmd := h.command(extra, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		h.t.Fatalf("hjk %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs hjk with no aiming variable and fails the test unless it exits 0.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	return h.okWith(nil, args...)
}

func (h *harness) okWith(extra []string, args ...string) string {
	h.t.Helper()
	r := h.run(extra, args...)
	if r.code != 0 {
		h.t.Fatalf("hjk %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, lastLines(r.stderr, 30))
	}
	return r.stdout
}

// psEntry is what the tests read of `hjk ps --json`.
type psEntry struct {
	Name, Branch, State, Runtime, Workspace string
	Engine                                  struct{ Kind, Value string }
	Remote                                  bool
}

func (h *harness) ps() map[string]psEntry {
	h.t.Helper()
	var list []psEntry
	if err := json.Unmarshal([]byte(h.ok("ps", "--json")), &list); err != nil {
		h.t.Fatalf("hjk ps --json: %v", err)
	}
	m := map[string]psEntry{}
	for _, e := range list {
		m[e.Branch] = e
	}
	return m
}

// storeClaude puts a fake claude token, new for this test, for account
// ("" the default) in the file store and returns it. It is never printed.
func (h *harness) storeClaude(account string) string {
	h.t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	token := agent.ClaudeTokenPrefix + "remoteFAKE" + hex.EncodeToString(b)
	err := store.SaveCredential(store.NewFile(filepath.Join(h.home, ".config", "hjk"), nil), agent.Claude, account, agent.Credential{Kind: agent.Subscription, Secret: token})
	if err != nil {
		h.t.Fatal(err)
	}
	return token
}

// inspectAll is what the engine tells of every container and volume of
// this test: where a secret must never show.
func (h *harness) inspectAll() string {
	h.t.Helper()
	var all strings.Builder
	for _, n := range h.leftovers() {
		out, _ := h.e.Command(context.Background(), "inspect", n).CombinedOutput()
		all.Write(out)
	}
	return all.String()
}

// terminal is hjk on a real PTY, as a user at a terminal runs it.
type terminal struct {
	t   testing.TB
	cmd *exec.Cmd
	pty *os.File
	mu  sync.Mutex
	out bytes.Buffer
}

func (h *harness) terminal(args ...string) *terminal {
	h.t.Helper()
	cmd := h.command(nil, args...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		h.t.Fatal(err)
	}
	tm := &terminal{t: h.t, cmd: cmd, pty: f}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	h.t.Cleanup(func() { cmd.Process.Kill(); f.Close() })
	return tm
}

// waitFor waits until the screen shows s.
func (tm *terminal) waitFor(s string) {
	tm.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(tm.screen(), s) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.t.Fatalf("the terminal never showed %q; it shows:\n%s", s, tm.screen())
}

func (tm *terminal) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

func (tm *terminal) typeLine(s string) { io.WriteString(tm.pty, s+"\r") }

// exit waits for hjk to end and returns its exit code.
func (tm *terminal) exit() int {
	tm.t.Helper()
	done := make(chan error, 1)
	go func() { done <- tm.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			tm.t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		tm.t.Fatalf("hjk did not end; the terminal shows:\n%s", tm.screen())
		return -1
	}
}
