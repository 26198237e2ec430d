package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// harness is one user's world: a private HOME and XDG folders, a file
// store, a git repository, and hjk set to one engine and image.
type harness struct {
	t      testing.TB
	engine string
	image  string
	repo   string // the repository's folder
	gitDir string
	config string // $XDG_CONFIG_HOME/hjk
	env    []string
}

func newHarness(t testing.TB, e string) *harness {
	image := engine(t, e)
	root := t.TempDir()
	h := &harness{t: t, engine: e, image: image, repo: filepath.Join(root, "repo")}
	home := filepath.Join(root, "home")
	h.config = filepath.Join(home, ".config", "hjk")
	for _, k := range os.Environ() {
		name, _, _ := strings.Cut(k, "=")
		if strings.HasPrefix(name, "HJK_") || strings.HasPrefix(name, "XDG_") || strings.HasPrefix(name, "GIT_") || name == "HOME" {
			continue
		}
		h.env = append(h.env, k)
	}
	h.env = append(h.env,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"HJK_STORE=file",
		"HJK_RUNTIME="+e,
		"NO_COLOR=1",
	)
	if err := os.MkdirAll(h.config, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.config, "config.toml"), []byte("image = \""+image+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.git("init", "-q", "-b", "main", h.repo)
	h.git("-C", h.repo, "commit", "-q", "--allow-empty", "-m", "first")
	gd, err := filepath.EvalSymlinks(filepath.Join(h.repo, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	h.gitDir = gd
	t.Cleanup(func() {
		// Containers this test made, whatever state hjk left them in.
		out, _ := exec.Command(e, "ps", "-aq", "--filter", "label=dev.hjk.repo="+h.gitDir).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			exec.Command(e, append([]string{"rm", "-f"}, ids...)...).Run()
		}
	})
	return h
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

type result struct {
	stdout, stderr string
	code           int
}

// command is hjk with args, run in the repository.
func (h *harness) command(args ...string) *exec.Cmd {
	cmd := exec.Command(hjkBin, args...)
	cmd.Dir = h.repo
	cmd.Env = h.env
	return cmd
}

// hjk runs hjk to the end.
func (h *harness) hjk(args ...string) result {
	h.t.Helper()
	cmd := h.command(args...)
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

// ok runs hjk and fails the test unless it exits 0.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	r := h.hjk(args...)
	if r.code != 0 {
		h.t.Fatalf("hjk %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

type psEntry struct {
	Name, Repo, Branch, Worktree, Agent, Account, Image, Runtime, State string
	GitDir                                                              string `json:"git_dir"`
	Created                                                             time.Time
}

// ps is `hjk ps --json`, by branch.
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

// state is the state `hjk ps` shows for branch ("" when not listed).
func (h *harness) state(branch string) string { return h.ps()[branch].State }

// containers lists the engine's containers of this test's repository, by
// hjk's labels.
func (h *harness) containers() []string {
	out, err := exec.Command(h.engine, "ps", "-a", "--format", "{{.Names}}", "--filter", "label=dev.hjk.repo="+h.gitDir).Output()
	if err != nil {
		h.t.Fatalf("%s ps: %v", h.engine, err)
	}
	return strings.Fields(string(out))
}

// storeClaude puts a fake claude token, new for this test, in the file
// store and returns it. It is never printed.
func (h *harness) storeClaude() string {
	h.t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	token := agent.ClaudeTokenPrefix + "e2eFAKE" + hex.EncodeToString(b)
	err := store.SaveCredential(store.NewFile(h.config, nil), agent.Claude, "", agent.Credential{Kind: agent.Subscription, Secret: token})
	if err != nil {
		h.t.Fatal(err)
	}
	return token
}
