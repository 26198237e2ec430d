package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/host/instance"
)

// waitFile waits until path exists; why says what went on when it does
// not.
func waitFile(t *testing.T, path string, why func() string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s never appeared: %s", path, why())
}

// TestCommitsBothWays: a commit made in the instance reaches the branch on
// the host when the session ends or on hjk sync, not at once; a host
// commit reaches the instance on hjk sync and hjk run, unless the
// instance has uncommitted work (hjk says so); when both sides moved, the
// branch keeps the host's commits and refs/hjk/B the instance's, and the
// user's merge reaches the instance.
func TestCommitsBothWays(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		h.ok("run", "-d", "both", "--name", "w", "--agent", "shell",
			`while [ ! -e go ]; do sleep 0.1; done; rm -f go; echo one > one.txt && git add one.txt && git commit -qm one && touch committed; sleep 600`)
		in := h.ps()["both"]
		base := h.git("rev-parse", "both")
		os.WriteFile(filepath.Join(in.Folder, "go"), nil, 0o644)
		waitFile(t, filepath.Join(in.Folder, "committed"), func() string { return h.hjk("logs", "both", "w").stdout })
		os.Remove(filepath.Join(in.Folder, "committed"))
		if got := h.git("rev-parse", "both"); got != base {
			t.Error("the host branch moved while the session that committed still ran")
		}
		h.ok("sync", "both")
		if got := h.git("log", "-1", "--format=%s", "both"); got != "one" {
			t.Errorf("after hjk sync the branch is at %q", got)
		}

		// A session's commit, when it ends.
		h.agent("both", "echo two > two.txt && git add two.txt && git commit -qm two")
		if got := h.git("log", "-1", "--format=%s", "both"); got != "two" {
			t.Errorf("after the session the branch is at %q", got)
		}

		// Host commits reach the instance: hjk sync, then hjk run.
		h.hostCommit("both", "host.txt", "from the host\n", "host one")
		if r := h.hjk("sync", "both"); r.code != 0 || !strings.Contains(r.stderr, "moved to the branch's") {
			t.Errorf("hjk sync of a host commit: exit %d: %s", r.code, r.stderr)
		}
		if b, err := os.ReadFile(filepath.Join(in.Folder, "host.txt")); err != nil || string(b) != "from the host\n" {
			t.Errorf("the host's file in the workspace: %q, %v", b, err)
		}
		h.hostCommit("both", "host2.txt", "x\n", "host two")
		if out := h.agent("both", "git log -1 --format=%s"); strings.TrimSpace(out) != "host two" {
			t.Errorf("the session after a host commit sees %q", out)
		}

		// Uncommitted work in the instance holds the host's commits back.
		os.WriteFile(filepath.Join(in.Folder, "wip.txt"), []byte("wip\n"), 0o644)
		h.hostCommit("both", "host3.txt", "y\n", "host three")
		if r := h.hjk("sync", "both"); r.code != 0 || !strings.Contains(r.stderr, "uncommitted changes") {
			t.Errorf("hjk sync with uncommitted work: exit %d: %s", r.code, r.stderr)
		}
		if got := h.sh("both", "git log -1 --format=%s"); got != "host two" {
			t.Errorf("the instance with uncommitted work moved to %q", got)
		}
		os.Remove(filepath.Join(in.Folder, "wip.txt"))
		h.ok("sync", "both")

		// Both sides move.
		hostTip := h.hostCommit("both", "host4.txt", "z\n", "host four")
		r := h.hjk("exec", "both", "--", "git", "commit", "-q", "--allow-empty", "-m", "inside four")
		if r.code != 0 || !strings.Contains(r.stderr, "both have commits the other lacks") || !strings.Contains(r.stderr, "git merge "+instance.KeptRef("both")) {
			t.Errorf("a commit on both sides: exit %d: %s", r.code, r.stderr)
		}
		if got := h.git("rev-parse", "both"); got != hostTip {
			t.Error("the branch lost the host's commit")
		}
		if got := h.git("log", "-1", "--format=%s", instance.KeptRef("both")); got != "inside four" {
			t.Errorf("%s holds %q, not the instance's commit", instance.KeptRef("both"), got)
		}
		h.onBranch("both", func(wt string) { h.git("-C", wt, "merge", "-q", "--no-edit", instance.KeptRef("both")) })
		h.ok("sync", "both")
		if _, err := h.gitErr("rev-parse", "--verify", "-q", instance.KeptRef("both")); err == nil {
			t.Errorf("%s outlived the merge", instance.KeptRef("both"))
		}
		if got := h.sh("both", "git rev-parse HEAD; git log --format=%s -3 | sort"); got != h.git("rev-parse", "both")+"\nMerge commit '"+instance.KeptRef("both")+"' into both\nhost four\ninside four" {
			t.Errorf("the instance after the merge:\n%s", got)
		}
		h.fsck()
	})
}

// TestWorkspaceVolume: with --workspace volume the files live in an
// engine volume (hjk ps says so, no folder is made), and the rest works as
// with a folder: commits both ways, recreate keeping files and commits,
// rm keeping uncommitted work without -f.
func TestWorkspaceVolume(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		out := h.ok("run", "vol", "--workspace", "volume", "--agent", "shell", "echo v > v.txt && git add v.txt && git commit -qm vol && pwd")
		if strings.TrimSpace(out) != "/workspace" {
			t.Errorf("the session ran in %q", out)
		}
		in := h.ps()["vol"]
		if in.Workspace != "volume" || in.Folder != "" {
			t.Errorf("hjk ps --json: workspace %q, folder %q", in.Workspace, in.Folder)
		}
		if table := h.ok("ps"); !strings.Contains(table, "volume "+in.WorkVolume()) {
			t.Errorf("hjk ps does not name the volume:\n%s", table)
		}
		if got := h.volumes(); !strings.Contains(strings.Join(got, " "), in.WorkVolume()) {
			t.Errorf("volumes %v, no %s", got, in.WorkVolume())
		}
		if ents, _ := os.ReadDir(filepath.Join(h.data, "workspaces")); len(ents) != 0 {
			t.Errorf("a volume workspace made folders: %v", ents)
		}
		if got := h.git("log", "-1", "--format=%s", "vol"); got != "vol" {
			t.Errorf("the branch after the session: %q", got)
		}
		h.hostCommit("vol", "host.txt", "from the host\n", "host")
		h.ok("sync", "vol")
		if got := h.sh("vol", "cat host.txt"); got != "from the host" {
			t.Errorf("the host's commit in the volume: %q", got)
		}
		h.sh("vol", "echo inside > wip.txt && git commit -q --allow-empty -m 'before recreate'")
		before := h.inspectID(in.Name)
		h.ok("recreate", "vol")
		if h.inspectID(in.Name) == before {
			t.Error("recreate kept the container")
		}
		if got := h.sh("vol", "cat wip.txt; git log -1 --format=%s"); got != "inside\nbefore recreate" {
			t.Errorf("after recreate: %q", got)
		}
		if r := h.hjk("rm", "vol"); r.code == 0 || !strings.Contains(r.stderr, "uncommitted changes") {
			t.Errorf("rm with uncommitted work in the volume: exit %d: %s", r.code, r.stderr)
		}
		h.ok("rm", "vol", "-f")
		if got := h.volumes(); len(got) != 0 {
			t.Errorf("volumes left after rm -f: %v", got)
		}
		h.fsck()
	})
}

// TestDefaultImage: hjk's own agent image (USER agent, uid 1000) works end
// to end while hjk runs as root: the agent is uid 1000, its files in the
// workspace are uid 1000's and the user's stay writable for it (an ACL),
// its commits come back, a detached session runs, and the real claude
// CLI starts through the gate.
func TestDefaultImage(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		h.ok("config", "image", agentsImage)
		h.storeClaude()
		out := h.agent("def", "id -un; id -u; echo made > made.txt && git add made.txt && git commit -qm 'in the default image' && echo ok")
		if strings.TrimSpace(out) != "agent\n1000\nok" {
			t.Errorf("the session in %s: %q", agentsImage, out)
		}
		in := h.ps()["def"]
		if in.Image != agentsImage || in.User != "agent" {
			t.Errorf("hjk ps: image %q, user %q", in.Image, in.User)
		}
		if got := h.git("log", "-1", "--format=%s", "def"); got != "in the default image" {
			t.Errorf("the branch after the session: %q", got)
		}
		if os.Getuid() == 0 {
			if uid := owner(t, filepath.Join(in.Folder, "made.txt")); uid != 1000 {
				t.Errorf("the agent's file belongs to uid %d, want 1000", uid)
			}
		}
		// As editors and shells make files: 0666 less the umask (the
		// workspace's default ACL stands in for the umask).
		os.WriteFile(filepath.Join(in.Folder, "host.txt"), []byte("by the user\n"), 0o666)
		if got := h.sh("def", "echo agent >> host.txt && cat host.txt && rm host.txt"); got != "by the user\nagent" {
			t.Errorf("the agent editing the user's file: %q", got)
		}
		h.ok("run", "-d", "def", "--name", "bg", "--agent", "shell", "sleep 600")
		h.waitSession("def", "bg", "running")
		if out := h.ok("run", "def", "--agent", "claude", "--", "--version"); !strings.Contains(out, "Claude Code") {
			t.Errorf("claude --version through hjk run: %q", out)
		}
		h.ok("rm", "def", "-f")
		h.fsck()
	})
}
