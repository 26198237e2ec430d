package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/store"
	"github.com/hjk-dev/hjk/internal/session"
)

// harness is one user's world: a private HOME (with a git identity) and
// XDG folders, a file store, a git repository (branch main, one commit),
// and hjk set, as the user would set it with `hjk config`, to
// the test image and `gate.network host`; HJK_RUNTIME picks the engine.
// Everything it made on the engine goes when the test ends.
type harness struct {
	t      testing.TB
	engine string
	image  string
	root   string // the test's folder: no container sees it
	repo   string // the repository's folder
	gitDir string // its git dir, symlinks resolved (hjk's dev.hjk.repo label)
	config string // $XDG_CONFIG_HOME/hjk
	data   string // $XDG_DATA_HOME/hjk: catalog, workspaces
	env    []string
}

func newHarness(t testing.TB, e string) *harness {
	image := engine(t, e)
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, engine: e, image: image, root: root, repo: filepath.Join(root, "repo")}
	home := filepath.Join(root, "home")
	h.config = filepath.Join(home, ".config", "hjk")
	h.data = filepath.Join(home, ".local", "share", "hjk")
	for _, k := range os.Environ() {
		name, _, _ := strings.Cut(k, "=")
		if strings.HasPrefix(name, "HJK_") || strings.HasPrefix(name, "XDG_") || strings.HasPrefix(name, "GIT_") || name == "HOME" || name == "TMUX" {
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
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[user]\n\tname = Test\n\temail = test@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.git("init", "-q", "-b", "main", h.repo)
	h.git("commit", "-q", "--allow-empty", "-m", "first")
	h.gitDir = filepath.Join(h.repo, ".git")
	t.Cleanup(h.cleanup)
	h.ok("config", "image", image)
	h.ok("config", "gate.network", "host")
	return h
}

// cleanup removes what hjk made for this test on the engine, whatever
// state it left it in: the agent containers of its repository (found by
// label) with their gates, the keeper of its data folder, and the
// volumes. Volumes are never removed with -f: podman's would remove the
// containers using them, maybe another test's.
func (h *harness) cleanup() {
	e := h.engine
	out, _ := exec.Command(e, "ps", "-a", "--format", "{{.Names}}", "--filter", "label="+instance.LabelRepo+"="+h.gitDir).Output()
	var names []string
	for _, n := range strings.Fields(string(out)) {
		names = append(names, n, n+"-gate")
	}
	// One at a time: podman's rm -f of a list with a missing name in it
	// removes none of them.
	for _, n := range append(names, instance.KeeperName(h.data)) {
		exec.Command(e, "rm", "-f", n).Run()
	}
	out, _ = exec.Command(e, "volume", "ls", "-q", "--filter", "label="+instance.LabelRepo+"="+h.gitDir).Output()
	for _, v := range append(strings.Fields(string(out)), instance.KeeperName(h.data)) {
		exec.Command(e, "volume", "rm", v).Run()
	}
}

// git runs git in the repository as the user would.
func (h *harness) git(args ...string) string {
	h.t.Helper()
	out, err := h.gitErr(args...)
	if err != nil {
		h.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (h *harness) gitErr(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = h.root
	if _, err := os.Stat(h.repo); err == nil {
		cmd.Dir = h.repo
	}
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
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

// hjk runs hjk in the repository to the end, stdin empty.
func (h *harness) hjk(args ...string) result { return h.hjkIn(h.repo, args...) }

// hangAfter is how long hjkIn waits for hjk: what a container does must
// never make it wait longer (hjk bounds each call in a container to a
// minute).
const hangAfter = 4 * time.Minute

// hjkIn runs hjk in dir to the end; a hang fails the test.
func (h *harness) hjkIn(dir string, args ...string) result {
	h.t.Helper()
	cmd := h.command(args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("hjk %s: %v", strings.Join(args, " "), err)
	}
	timer := time.AfterFunc(hangAfter, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	if !timer.Stop() {
		h.t.Fatalf("hjk %s hangs: killed after %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), hangAfter, stdout.String(), stderr.String())
	}
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

// ok runs hjk and fails the test unless it exits 0; it returns stdout.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	r := h.hjk(args...)
	if r.code != 0 {
		h.t.Fatalf("hjk %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// sh runs a shell script in the instance of branch (`hjk exec`), as the
// agent would, and returns its output; it must exit 0.
func (h *harness) sh(branch, script string) string {
	h.t.Helper()
	return strings.TrimSpace(h.ok("exec", branch, "--", "sh", "-c", script))
}

// ps is `hjk ps --json` (its stable form: the catalog's), by branch.
func (h *harness) ps() map[string]instance.Instance {
	h.t.Helper()
	var list []instance.Instance
	if err := json.Unmarshal([]byte(h.ok("ps", "--json")), &list); err != nil {
		h.t.Fatalf("hjk ps --json: %v", err)
	}
	m := map[string]instance.Instance{}
	for _, e := range list {
		m[e.Branch] = e
	}
	return m
}

// state is the state `hjk ps` shows for branch ("" when not listed).
func (h *harness) state(branch string) string { return h.ps()[branch].State }

// sessions is `hjk ps BRANCH --json`, by name.
func (h *harness) sessions(branch string) map[string]session.State {
	h.t.Helper()
	var list []session.State
	if err := json.Unmarshal([]byte(h.ok("ps", branch, "--json")), &list); err != nil {
		h.t.Fatalf("hjk ps %s --json: %v", branch, err)
	}
	m := map[string]session.State{}
	for _, s := range list {
		m[s.Name] = s
	}
	return m
}

// waitSession waits until session name of branch is in state.
func (h *harness) waitSession(branch, name, state string) session.State {
	h.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if s := h.sessions(branch)[name]; s.State == state {
			return s
		}
	}
	h.t.Fatalf("session %s never %s: %+v", name, state, h.sessions(branch))
	return session.State{}
}

// containers lists the engine's agent containers of this test's
// repository, by hjk's labels.
func (h *harness) containers() []string {
	h.t.Helper()
	out, err := exec.Command(h.engine, "ps", "-a", "--format", "{{.Names}}", "--filter", "label="+instance.LabelRepo+"="+h.gitDir).Output()
	if err != nil {
		h.t.Fatalf("%s ps: %v", h.engine, err)
	}
	return strings.Fields(string(out))
}

// volumes lists the engine's volumes of this test's repository.
func (h *harness) volumes() []string {
	h.t.Helper()
	out, err := exec.Command(h.engine, "volume", "ls", "-q", "--filter", "label="+instance.LabelRepo+"="+h.gitDir).Output()
	if err != nil {
		h.t.Fatalf("%s volume ls: %v", h.engine, err)
	}
	v := strings.Fields(string(out))
	slices.Sort(v)
	return v
}

func (h *harness) inspectID(name string) string {
	out, _ := exec.Command(h.engine, "inspect", "--format", "{{.Id}}", name).Output()
	return strings.TrimSpace(string(out))
}

// storeClaude puts a fake claude token, new for this test, in the file
// store and returns it. It is never printed.
func (h *harness) storeClaude() string {
	h.t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	token := agent.ClaudeTokenPrefix + "e2eFAKE" + hex.EncodeToString(b)
	err := store.SaveCredential(store.NewFile(h.config, nil), agent.Claude, "", agent.Credential{Kind: agent.Subscription, Secret: token, CapturedAt: time.Now()})
	if err != nil {
		h.t.Fatal(err)
	}
	return token
}

// getenv is the value of k in hjk's environment.
func (h *harness) getenv(k string) string {
	for _, kv := range h.env {
		if name, v, _ := strings.Cut(kv, "="); name == k {
			return v
		}
	}
	return ""
}

// refs are the host repository's refs and what they point at.
func (h *harness) refs() map[string]string {
	h.t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(h.git("for-each-ref", "--format=%(refname) %(objectname)"), "\n") {
		if name, id, ok := strings.Cut(l, " "); ok {
			m[name] = id
		}
	}
	return m
}

// sameRefs fails the test unless the host's refs are before's, but for
// the changes named in moved (ref -> new id, "" for a ref that must be
// gone).
func (h *harness) sameRefs(before map[string]string, moved map[string]string) {
	h.t.Helper()
	want := maps.Clone(before)
	for r, id := range moved {
		if id == "" {
			delete(want, r)
		} else {
			want[r] = id
		}
	}
	got := h.refs()
	for r, id := range want {
		if got[r] != id {
			h.t.Errorf("host ref %s is %q, want %q", r, got[r], id)
		}
	}
	for r, id := range got {
		if _, ok := want[r]; !ok {
			h.t.Errorf("host ref %s (%s) appeared", r, id)
		}
	}
}

// fsck fails the test unless `git fsck --strict` finds the host
// repository sound.
func (h *harness) fsck() {
	h.t.Helper()
	if out, err := h.gitErr("fsck", "--strict", "--no-progress"); err != nil {
		h.t.Errorf("git fsck on the host: %v\n%s", err, out)
	}
}

// hostMarker is a path in a folder that exists only on the host: a
// command the container plants that ran on the host would make it; run
// in the container, it cannot (the folder is not there).
func (h *harness) hostMarker() string {
	h.t.Helper()
	dir := filepath.Join(h.root, "host-only")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	return filepath.Join(dir, "marker")
}

// noMarker fails the test if the marker exists.
func (h *harness) noMarker(marker string) {
	h.t.Helper()
	if _, err := os.Lstat(marker); !errors.Is(err, os.ErrNotExist) {
		h.t.Errorf("something the container planted ran on the host: %s exists (%v)", marker, err)
	}
}

// onBranch runs f in a worktree of the repository with branch checked
// out, as the user works on a branch (the main worktree stays on main);
// the worktree goes afterwards.
func (h *harness) onBranch(branch string, f func(wt string)) {
	h.t.Helper()
	wt, err := os.MkdirTemp(h.root, "wt-")
	if err != nil {
		h.t.Fatal(err)
	}
	h.git("worktree", "add", "-q", wt, branch)
	defer h.git("worktree", "remove", "--force", wt)
	f(wt)
}

// hostCommit commits a file on branch as the user would, and returns the
// commit.
func (h *harness) hostCommit(branch, file, text, msg string) string {
	h.t.Helper()
	h.onBranch(branch, func(wt string) {
		if err := os.WriteFile(filepath.Join(wt, file), []byte(text), 0o644); err != nil {
			h.t.Fatal(err)
		}
		h.git("-C", wt, "add", file)
		h.git("-C", wt, "commit", "-q", "-m", msg)
	})
	return h.git("rev-parse", "refs/heads/"+branch)
}
