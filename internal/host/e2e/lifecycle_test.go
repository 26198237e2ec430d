package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hjk-dev/hjk/internal/host/instance"
)

// TestLifecycle: run, ps, a commit inside that reaches the host branch
// when the exec ends, exit codes, stop, start again, recreate, rm.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		out := h.ok("run", "feat/one", "--agent", "shell", "echo hello from $(pwd) as $(id -u)")
		in := h.ps()["feat/one"]
		if in.State != "running" || in.Runtime != h.engine || in.Image != h.image || in.Agent != "shell" ||
			in.Workspace != "folder" || in.Credentials != instance.CredentialsGate || in.GitDir != h.gitDir {
			t.Fatalf("ps after run: %+v", in)
		}
		if want := "hello from /workspace as 1000"; strings.TrimSpace(out) != want {
			t.Errorf("session printed %q, want %q", out, want)
		}
		if rel, err := filepath.Rel(filepath.Join(h.data, "workspaces"), in.Folder); err != nil || strings.Contains(rel, "/") || strings.HasPrefix(rel, ".") {
			t.Errorf("the workspace %s is not a folder of hjk's workspaces", in.Folder)
		}
		if got := h.containers(); len(got) != 1 || got[0] != in.Name {
			t.Errorf("engine has %v, want [%s]", got, in.Name)
		}
		if table := h.ok("ps"); !strings.Contains(table, in.Folder) || !strings.Contains(table, "WORKSPACE") {
			t.Errorf("hjk ps does not say where the files are:\n%s", table)
		}

		// A commit inside reaches the branch on the host when the exec
		// ends; the file it wrote is in the workspace folder.
		h.sh("feat/one", "echo inside > made-inside.txt && git add made-inside.txt && git commit -qm 'made inside'")
		if got := h.git("log", "-1", "--format=%s", "feat/one"); got != "made inside" {
			t.Errorf("host branch feat/one at %q, want the commit made inside", got)
		}
		if got := h.git("show", "feat/one:made-inside.txt"); got != "inside" {
			t.Errorf("file committed inside reads %q on the host", got)
		}
		if b, err := os.ReadFile(filepath.Join(in.Folder, "made-inside.txt")); err != nil || string(b) != "inside\n" {
			t.Errorf("the workspace folder's made-inside.txt: %q, %v", b, err)
		}

		// Exit codes pass through.
		if r := h.hjk("exec", "feat/one", "--", "sh", "-c", "exit 7"); r.code != 7 {
			t.Errorf("exec exit 7: got %d (%s)", r.code, r.stderr)
		}
		if r := h.hjk("run", "feat/one", "--agent", "shell", "exit 3"); r.code != 3 {
			t.Errorf("run exit 3: got %d (%s)", r.code, r.stderr)
		}

		// Stop, then start again by using it.
		h.ok("stop", "feat/one")
		if s := h.state("feat/one"); s != "exited" && s != "stopped" {
			t.Errorf("state after stop = %q", s)
		}
		if out := h.ok("exec", "feat/one", "--", "cat", "made-inside.txt"); strings.TrimSpace(out) != "inside" {
			t.Errorf("exec after stop printed %q", out)
		}
		if s := h.state("feat/one"); s != "running" {
			t.Errorf("state after exec on a stopped instance = %q, want running", s)
		}

		// Recreate: a new container, the workspace and the repository kept.
		before := h.inspectID(in.Name)
		os.WriteFile(filepath.Join(in.Folder, "untracked.txt"), []byte("keep me"), 0o644)
		h.ok("recreate", "feat/one")
		if after := h.inspectID(in.Name); after == before || after == "" {
			t.Errorf("recreate kept container %s", before)
		}
		if out := h.sh("feat/one", "cat untracked.txt; echo; git log -1 --format=%s"); out != "keep me\nmade inside" {
			t.Errorf("after recreate: %q", out)
		}

		// rm refuses uncommitted work without -f, then removes.
		r := h.hjk("rm", "feat/one")
		if r.code == 0 || !strings.Contains(r.stderr, "uncommitted changes") || !strings.Contains(r.stderr, "hjk rm feat/one -f") {
			t.Fatalf("rm with uncommitted work: exit %d, %s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(in.Folder, "untracked.txt")); err != nil {
			t.Fatal("refused rm lost the file")
		}
		os.Remove(filepath.Join(in.Folder, "untracked.txt"))
		h.ok("rm", "feat/one")
		if got := h.containers(); len(got) != 0 {
			t.Errorf("containers left after rm: %v", got)
		}
		if got := h.volumes(); len(got) != 0 {
			t.Errorf("volumes left after rm: %v", got)
		}
		if h.inspectID(instance.KeeperName(h.data)) != "" {
			t.Error("the keeper outlived the last instance")
		}
		if _, err := os.Stat(in.Folder); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("workspace left after rm: %v", err)
		}
		h.git("rev-parse", "--verify", "feat/one") // the branch stays
		if _, ok := h.ps()["feat/one"]; ok {
			t.Error("ps still lists the removed instance")
		}
		r = h.hjk("exec", "feat/one")
		if r.code == 0 || !strings.Contains(r.stderr, `no instance for branch "feat/one": run 'hjk run feat/one'`) {
			t.Errorf("exec after rm: exit %d, %s", r.code, r.stderr)
		}

		// Images hjk refuses: one the engine does not have, one whose user
		// is root. Nothing is made for either.
		r = h.hjk("run", "noimage", "--agent", "shell", "--image", "hjke2e-none:0")
		if r.code == 0 || !strings.Contains(r.stderr, "image hjke2e-none:0 is not on this "+h.engine) {
			t.Errorf("run with a missing image: exit %d, %s", r.code, r.stderr)
		}
		r = h.hjk("run", "rootimage", "--agent", "shell", "--image", baseImage)
		if r.code == 0 || !strings.Contains(r.stderr, "runs as root") {
			t.Errorf("run with an image whose user is root: exit %d, %s", r.code, r.stderr)
		}
		if len(h.ps()) != 0 || len(h.containers()) != 0 || len(h.volumes()) != 0 {
			t.Errorf("a refused run left an instance: ps %v, containers %v, volumes %v", h.ps(), h.containers(), h.volumes())
		}
		if ents, _ := os.ReadDir(filepath.Join(h.data, "workspaces")); len(ents) != 0 {
			t.Errorf("a refused run left a workspace: %v", ents)
		}
	})
}

// TestRemovedBehindBack: a container removed with the engine's own CLI
// shows as missing, and `hjk run` brings the instance back with its work
// (its folder and its repository's volume).
func TestRemovedBehindBack(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		h.ok("run", "gone", "--agent", "shell", "echo work > work.txt && git add work.txt && git commit -qm work && echo wip > wip.txt")
		name := h.ps()["gone"].Name
		if out, err := exec.Command(h.engine, "rm", "-f", name).CombinedOutput(); err != nil {
			t.Fatalf("%s rm: %v %s", h.engine, err, out)
		}
		if s := h.state("gone"); s != instance.StateMissing {
			t.Fatalf("state after the container was removed = %q, want missing", s)
		}
		r := h.hjk("run", "gone", "--agent", "shell", "cat wip.txt; git log -1 --format=%s")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "wip\nwork" {
			t.Fatalf("run on a missing container: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stderr, "rror") {
			t.Errorf("the engine's refusal leaked to the user: %q", r.stderr)
		}
		if s := h.state("gone"); s != "running" {
			t.Errorf("state after run = %q", s)
		}
	})
}

// TestConcurrentRun: five `hjk run` of one branch at once make one
// instance, and every session runs.
func TestConcurrentRun(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		var wg sync.WaitGroup
		res := make([]result, 5)
		for i := range res {
			wg.Go(func() { res[i] = h.hjk("run", "race", "--agent", "shell", "echo ran") })
		}
		wg.Wait()
		for i, r := range res {
			if r.code != 0 || strings.TrimSpace(r.stdout) != "ran" {
				t.Errorf("run %d: exit %d, stdout %q, stderr %q", i, r.code, r.stdout, r.stderr)
			}
		}
		if got := h.containers(); len(got) != 1 {
			t.Errorf("%d containers for one branch: %v", len(got), got)
		}
		if n := len(h.ps()); n != 1 {
			t.Errorf("ps lists %d instances, want 1", n)
		}
		if ents, _ := os.ReadDir(filepath.Join(h.data, "workspaces")); len(ents) != 1 {
			t.Errorf("%d workspace folders for one branch", len(ents))
		}

		// Five sessions at once in a stopped instance: one starts it, and
		// every session runs.
		h.ok("stop", "race")
		for i := range res {
			wg.Go(func() { res[i] = h.hjk("exec", "race", "--", "echo", "ran") })
		}
		wg.Wait()
		for i, r := range res {
			if r.code != 0 || strings.TrimSpace(r.stdout) != "ran" {
				t.Errorf("exec %d in a stopped instance: exit %d, stdout %q, stderr %q", i, r.code, r.stdout, r.stderr)
			}
		}
	})
}

// owner is the uid that owns path.
func owner(t *testing.T, path string) int {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return int(st.Uid)
}
