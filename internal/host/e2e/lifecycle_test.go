package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestLifecycle: run, ps, a commit inside that lands on the host branch,
// stop, start again, exec, exit codes, recreate, rm.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		out := h.ok("run", "feat/one", "--agent", "shell", "echo hello from $(pwd)")
		ps := h.ps()
		in := ps["feat/one"]
		if in.State != "running" || in.Runtime != h.engine || in.Image != h.image || in.Agent != "shell" {
			t.Fatalf("ps after run: %+v", in)
		}
		if want := "hello from " + in.Worktree; strings.TrimSpace(out) != want {
			t.Errorf("session printed %q, want %q", out, want)
		}
		if got := h.containers(); len(got) != 1 || got[0] != in.Name {
			t.Errorf("engine has %v, want [%s]", got, in.Name)
		}

		// git inside: a commit lands on the branch on the host.
		h.ok("exec", "feat/one", "--", "sh", "-c",
			"echo inside > made-inside.txt && git add made-inside.txt && git -c user.name=In -c user.email=in@example.com commit -qm 'made inside'")
		if got := h.git("-C", h.repo, "log", "-1", "--format=%s", "feat/one"); got != "made inside" {
			t.Errorf("host branch feat/one at %q, want the commit made inside", got)
		}
		if got := h.git("-C", h.repo, "show", "feat/one:made-inside.txt"); got != "inside" {
			t.Errorf("file committed inside reads %q on the host", got)
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

		// Recreate: a new container, the worktree kept.
		before := h.inspectID(in.Name)
		os.WriteFile(filepath.Join(in.Worktree, "untracked.txt"), []byte("keep me"), 0o644)
		h.ok("recreate", "feat/one")
		if after := h.inspectID(in.Name); after == before || after == "" {
			t.Errorf("recreate kept container %s", before)
		}
		if out := h.ok("exec", "feat/one", "--", "cat", "untracked.txt"); out != "keep me" {
			t.Errorf("after recreate the worktree file reads %q", out)
		}

		// rm refuses uncommitted work without -f, then removes.
		r := h.hjk("rm", "feat/one")
		if r.code == 0 || !strings.Contains(r.stderr, "uncommitted changes") || !strings.Contains(r.stderr, "hjk rm feat/one -f") {
			t.Fatalf("rm with uncommitted work: exit %d, %s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(in.Worktree, "untracked.txt")); err != nil {
			t.Fatal("refused rm lost the file")
		}
		os.Remove(filepath.Join(in.Worktree, "untracked.txt"))
		h.ok("rm", "feat/one")
		if got := h.containers(); len(got) != 0 {
			t.Errorf("containers left after rm: %v", got)
		}
		if _, err := os.Stat(in.Worktree); !os.IsNotExist(err) {
			t.Errorf("worktree left after rm: %v", err)
		}
		h.git("-C", h.repo, "rev-parse", "--verify", "feat/one") // the branch stays
		if _, ok := h.ps()["feat/one"]; ok {
			t.Error("ps still lists the removed instance")
		}
		// An image the engine does not have: said so, nothing made.
		r = h.hjk("run", "noimage", "--agent", "shell", "--image", "hjke2e-none:0")
		if r.code == 0 || !strings.Contains(r.stderr, "image hjke2e-none:0 is not on this "+h.engine) {
			t.Errorf("run with a missing image: exit %d, %s", r.code, r.stderr)
		}
		if _, ok := h.ps()["noimage"]; ok || strings.Contains(h.git("-C", h.repo, "worktree", "list"), "noimage") {
			t.Error("a failed run left an instance or a worktree")
		}
		r = h.hjk("exec", "feat/one")
		if r.code == 0 || !strings.Contains(r.stderr, `no instance for branch "feat/one": run 'hjk run feat/one'`) {
			t.Errorf("exec after rm: exit %d, %s", r.code, r.stderr)
		}
	})
}

func (h *harness) inspectID(name string) string {
	out, _ := exec.Command(h.engine, "inspect", "--format", "{{.Id}}", name).Output()
	return strings.TrimSpace(string(out))
}

// TestRemovedBehindBack: a container removed with the engine's own CLI
// shows as missing, and `hjk run` brings the instance back with its work.
func TestRemovedBehindBack(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		h.ok("run", "gone", "--agent", "shell", "echo work > work.txt")
		name := h.ps()["gone"].Name
		if out, err := exec.Command(h.engine, "rm", "-f", name).CombinedOutput(); err != nil {
			t.Fatalf("%s rm: %v %s", h.engine, err, out)
		}
		if s := h.state("gone"); s != "missing" {
			t.Fatalf("state after the container was removed = %q, want missing", s)
		}
		r := h.hjk("run", "gone", "--agent", "shell", "cat work.txt")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "work" {
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
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i] = h.hjk("run", "race", "--agent", "shell", "echo ran")
			}()
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
		out := h.git("-C", h.repo, "worktree", "list")
		if n := strings.Count(out, "[race]"); n != 1 {
			t.Errorf("%d worktrees of race:\n%s", n, out)
		}

		// Five sessions at once in a stopped instance: one starts it, and
		// every session runs.
		h.ok("stop", "race")
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i] = h.hjk("exec", "race", "--", "echo", "ran")
			}()
		}
		wg.Wait()
		for i, r := range res {
			if r.code != 0 || strings.TrimSpace(r.stdout) != "ran" {
				t.Errorf("exec %d in a stopped instance: exit %d, stdout %q, stderr %q", i, r.code, r.stdout, r.stderr)
			}
		}
	})
}
