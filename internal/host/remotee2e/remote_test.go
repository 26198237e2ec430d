package remotee2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/testinfra"
)

// aim is the variable that points the engine's CLI at e, for the one
// command that is given it.
func aim(e *testinfra.Engine) []string {
	if e.Kind == "podman" {
		return []string{"CONTAINER_HOST=" + e.Host}
	}
	return []string{"DOCKER_HOST=" + e.Host}
}

// elsewhere points the CLI at an engine that does not exist: a later
// command that took its engine from the environment, not the catalog,
// fails.
var elsewhere = []string{"DOCKER_HOST=tcp://127.0.0.1:9", "CONTAINER_HOST=tcp://127.0.0.1:9"}

func TestRemoteDocker(t *testing.T) { lifecycle(t, "docker") }
func TestRemotePodman(t *testing.T) { lifecycle(t, "podman") }

// lifecycle is the whole life of an instance on an engine that shares no
// filesystem with the host, DOCKER_HOST (CONTAINER_HOST) set for the first
// command only: run with a commit inside, the branch back on the host, a
// session on a terminal detached and attached again, a host commit synced
// in, stop, start again, recreate, rm; nothing of it is left there.
func lifecycle(t *testing.T, kind string) {
	t.Parallel()
	e := testinfra.RemoteEngine(t, kind)
	h := newHarness(t, e, agentImage(t, e))

	// A workspace folder cannot be had there, and nothing is made.
	r := h.run(aim(e), "run", "nofolder", "--agent", "shell", "--workspace", "folder", "true")
	if r.code == 0 || !strings.Contains(r.stderr, "shares no filesystem with this machine") || !strings.Contains(r.stderr, "--workspace folder") {
		t.Fatalf("--workspace folder on the remote engine: exit %d\n%s", r.code, r.stderr)
	}

	commit := `set -e; test ! -e /.hjk/host; test ! -e /.hjk/data/git/objects/info/alternates; ` +
		`cat readme.txt; echo inside > inside.txt; git add inside.txt; git commit -q -m inside; echo committed`
	out := h.okWith(aim(e), "run", "far", "--agent", "shell", commit)
	if !strings.Contains(out, "hello") || !strings.Contains(out, "committed") {
		t.Fatalf("the session printed:\n%s", out)
	}
	if got := h.git("-C", h.repo, "log", "-1", "--format=%s", "far"); got != "inside" {
		t.Fatalf("the host's branch far is at %q, want the commit made inside", got)
	}
	in := h.ps()["far"]
	if in.State != "running" || !in.Remote || in.Workspace != "volume" || in.Engine.Kind != "host" || in.Engine.Value != e.Host || in.Runtime != kind {
		t.Fatalf("hjk ps --json: %+v", in)
	}
	if ps := h.okWith(elsewhere, "ps"); !strings.Contains(ps, e.Host+" (remote)") {
		t.Errorf("hjk ps shows no engine:\n%s", ps)
	}

	// An agent's session: through the gate (the default) the agent gets a
	// placeholder; with the login handed over (inject) the login itself,
	// on the exec's stdin. It never shows in the engine's records.
	token := h.storeClaude("")
	sum := fmt.Sprintf("token-sha256=%x", sha256.Sum256([]byte(token)))
	cmd := h.command(elsewhere, "run", "far", "--agent", "claude")
	cmd.Stdin = strings.NewReader("\n")
	b, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "token-sha256=") || !strings.Contains(string(b), "bye") || strings.Contains(string(b), sum) {
		t.Fatalf("a claude session through the gate: %v\n%s", err, b)
	}
	cmd = h.command(aim(e), "run", "inject", "--agent", "claude", "--credentials", "inject")
	cmd.Stdin = strings.NewReader("\n")
	b, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), sum) {
		t.Fatalf("a claude session with the login handed over: %v\n%s", err, b)
	}
	// Another account: the instance switches to it, its session gets it.
	work := h.storeClaude("work")
	cmd = h.command(elsewhere, "run", "inject", "--agent", "claude", "--account", "work")
	cmd.Stdin = strings.NewReader("\n")
	b2, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b2), fmt.Sprintf("token-sha256=%x", sha256.Sum256([]byte(work)))) || !strings.Contains(string(b2), "now uses account work") {
		t.Fatalf("a session of account work: %v\n%s", err, b2)
	}
	b = append(b, b2...)
	if records := h.inspectAll(); strings.Contains(string(b), token) || strings.Contains(records, token) || strings.Contains(string(b), work) || strings.Contains(records, work) {
		t.Fatal("a token shows in hjk's output or the engine's records")
	}
	h.okWith(elsewhere, "rm", "-f", "inject")

	// A session on a terminal, detached (ctrl-b d) and attached again:
	// it outlives the terminal, across the engine's stream.
	tm := h.terminal("run", "far", "--agent", "shell", "--name", "term")
	tm.waitFor("$ ")
	tm.typeLine("echo one-$((40+2))")
	tm.waitFor("one-42")
	tm.pty.Write([]byte("\x02d"))
	if code := tm.exit(); code != 0 {
		t.Fatalf("detach: exit %d\n%s", code, tm.screen())
	}
	if s := h.okWith(elsewhere, "ps", "far"); !strings.Contains(s, "term") || !strings.Contains(s, "running") {
		t.Fatalf("after detach, hjk ps far:\n%s", s)
	}
	tm = h.terminal("attach", "far", "term")
	tm.waitFor("one-42") // the recent screen
	tm.typeLine("echo two-$((40+3)); exit 7")
	tm.waitFor("two-43")
	if code := tm.exit(); code != 7 {
		t.Errorf("attach: exit %d, want the session's 7\n%s", code, tm.screen())
	}

	// A commit of the host's reaches the instance as a bundle.
	h.git("-C", h.repo, "checkout", "-q", "far")
	os.WriteFile(filepath.Join(h.repo, "host.txt"), []byte("host\n"), 0o644)
	h.git("-C", h.repo, "add", "host.txt")
	h.git("-C", h.repo, "commit", "-q", "-m", "host")
	h.git("-C", h.repo, "checkout", "-q", "main")
	h.okWith(elsewhere, "sync", "far")
	if got := strings.TrimSpace(h.okWith(elsewhere, "exec", "far", "--", "git", "log", "-1", "--format=%s")); got != "host" {
		t.Errorf("after sync the instance is at %q, want the host's commit", got)
	}

	h.okWith(elsewhere, "stop", "far")
	if s := h.ps()["far"].State; s != "exited" {
		t.Errorf("after stop: state %q", s)
	}
	// A command in the stopped instance starts it again.
	if got := strings.TrimSpace(h.okWith(elsewhere, "exec", "far", "--", "cat", "inside.txt")); got != "inside" {
		t.Errorf("exec in the stopped instance: %q", got)
	}
	h.okWith(elsewhere, "recreate", "far")
	if got := strings.TrimSpace(h.okWith(elsewhere, "exec", "far", "--", "cat", "host.txt")); got != "host" {
		t.Errorf("after recreate the files are gone: %q", got)
	}
	h.okWith(elsewhere, "logs", "far", "term")

	h.okWith(elsewhere, "rm", "far")
	if len(h.ps()) != 0 {
		t.Errorf("after rm: %+v", h.ps())
	}
	if left := h.leftovers(); len(left) != 0 {
		t.Errorf("left on the engine: %v", left)
	}
}

// TestRemoteNamed: an engine named by a docker context or a podman
// connection (not an address) is recorded by name and reached by it.
func TestRemoteNamed(t *testing.T) {
	for _, kind := range []string{"docker", "podman"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := testinfra.RemoteEngine(t, kind)
			h := newHarness(t, e, agentImage(t, e))
			flag := "--context"
			var add []string
			if kind == "podman" {
				flag = "--connection"
				add = []string{"podman", "system", "connection", "add", "far-box", e.Host}
			} else {
				add = []string{"docker", "context", "create", "far-box", "--docker", "host=" + e.Host}
			}
			cmd := exec.Command(add[0], add[1:]...)
			cmd.Env = h.env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(add, " "), err, out)
			}
			h.ok("run", "named", "--agent", "shell", flag, "far-box", "true")
			in := h.ps()["named"]
			want := map[string]string{"docker": "context", "podman": "connection"}[kind]
			if in.Engine.Kind != want || in.Engine.Value != "far-box" || !in.Remote {
				t.Fatalf("hjk ps --json: %+v", in)
			}
			if got := strings.TrimSpace(h.okWith(elsewhere, "exec", "named", "--", "sh", "-c", "echo ok")); got != "ok" {
				t.Errorf("exec: %q", got)
			}
			h.okWith(elsewhere, "rm", "-f", "named")
			if left := h.leftovers(); len(left) != 0 {
				t.Errorf("left on the engine: %v", left)
			}
		})
	}
}
