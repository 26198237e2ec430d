package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runtime"
)

const testImage = "img:1"

// newRepo makes a git repository with one commit and returns it.
func newRepo(t *testing.T) Repo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "My Repo")
	run(t, "", "git", "init", "-q", "-b", "main", dir)
	run(t, dir, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "first")
	r, err := FindRepo(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newManager(t *testing.T, f *fakeRuntime) *Manager {
	shim := t.TempDir()
	return &Manager{
		Data: filepath.Join(t.TempDir(), "hjk"),
		Runtime: func(name string) (runtime.Runtime, error) {
			if name != "fake" {
				return nil, fmt.Errorf("no runtime %q", name)
			}
			return f, nil
		},
		Shim: func() (string, error) { return shim, nil },
	}
}

func want(r Repo, branch string) Want {
	return Want{Repo: r, Branch: branch, Agent: "claude", Image: testImage, Runtime: "fake"}
}

func TestKey(t *testing.T) {
	k := Key("/src/app/.git", "My App", "feature/Login UI")
	if !strings.HasPrefix(k, "my-app-feature-login-ui-") || len(k) != len("my-app-feature-login-ui-")+8 {
		t.Errorf("Key = %q", k)
	}
	// Branches that sanitise alike still get their own instance.
	if Key("/g", "r", "a/b") == Key("/g", "r", "a-b") {
		t.Error("a/b and a-b share a key")
	}
	if Key("/g1", "r", "b") == Key("/g2", "r", "b") {
		t.Error("two repositories named alike share a key")
	}
	long := Key("/g", strings.Repeat("r", 100), "-"+strings.Repeat("é", 100))
	if len(long) > 63 || strings.Contains(long, "--") {
		t.Errorf("Key = %q (%d bytes)", long, len(long))
	}
}

func TestFindRepoFromWorktree(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(testImage)
	m := newManager(t, f)
	in, _, err := m.Ensure(ctx, want(r, "topic"))
	if err != nil {
		t.Fatal(err)
	}
	// hjk run inside an instance's worktree means the same repository.
	got, err := FindRepo(ctx, in.Worktree)
	if err != nil || got != r {
		t.Fatalf("FindRepo(worktree) = %+v, %v; want %+v", got, err, r)
	}
	if _, err := FindRepo(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not in a git repository") {
		t.Fatalf("FindRepo(not a repo) error = %v", err)
	}
}

func TestEnsureCreates(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(testImage)
	m := newManager(t, f)
	in, act, err := m.Ensure(ctx, want(r, "feature/x"))
	if err != nil || act != Created {
		t.Fatalf("Ensure = %v, %v", act, err)
	}
	if got := run(t, in.Worktree, "git", "rev-parse", "--abbrev-ref", "HEAD"); got != "feature/x" {
		t.Errorf("worktree on %q, want feature/x", got)
	}
	s := f.specs[0]
	if s.Labels[LabelInstance] != "1" || s.Labels[LabelBranch] != "feature/x" || s.Labels[LabelRepo] != r.GitDir {
		t.Errorf("labels = %v", s.Labels)
	}
	if len(s.Entrypoint) != 1 || s.Entrypoint[0] != InitPath || len(s.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q: want hjk-init alone as init", s.Entrypoint, s.Cmd)
	}
	mounts := map[string]runtime.Mount{}
	for _, mt := range s.Mounts {
		mounts[mt.Target] = mt
	}
	if mt := mounts[r.GitDir]; mt.Source != r.GitDir || mt.ReadOnly {
		t.Errorf("git dir mount = %+v, want %s read-write at the same path", mt, r.GitDir)
	}
	if mt := mounts[in.Worktree]; mt.Source != in.Worktree {
		t.Errorf("worktree mount = %+v", mt)
	}
	if mt := mounts[ShimDir]; !mt.ReadOnly {
		t.Errorf("shim mount = %+v, want read-only", mt)
	}
	for _, e := range s.Env {
		if strings.Contains(e, "TOKEN") || strings.Contains(e, "KEY=") && !strings.HasPrefix(e, "GIT_CONFIG_KEY_0=") {
			t.Errorf("container env holds %q", e)
		}
	}

	// A second Ensure finds it running and does nothing.
	if _, act, err := m.Ensure(ctx, want(r, "feature/x")); err != nil || act != Ready {
		t.Fatalf("second Ensure = %q, %v", act, err)
	}
	if n := f.count("create"); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	// Stopped: started again.
	if err := m.Stop(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, act, err := m.Ensure(ctx, want(r, "feature/x")); err != nil || act != Started {
		t.Fatalf("Ensure after stop = %q, %v", act, err)
	}
	// Another runtime for the same branch: refused with the way out.
	w := want(r, "feature/x")
	w.Runtime = "podman"
	if _, _, err := m.Ensure(ctx, w); err == nil || !strings.Contains(err.Error(), "hjk rm feature/x") {
		t.Errorf("Ensure on another runtime: %v", err)
	}
}

func TestEnsureExistingBranchAndMissingImage(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	run(t, r.Dir, "git", "branch", "old")
	f := newFake(testImage)
	m := newManager(t, f)
	w := want(r, "other")
	w.Image = "nope:1"
	if _, _, err := m.Ensure(ctx, w); err == nil || !strings.Contains(err.Error(), "image nope:1") {
		t.Fatalf("Ensure with a missing image: %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.Data, "worktrees")); err == nil {
		t.Error("a worktree was made for an instance that could not be created")
	}
	in, _, err := m.Ensure(ctx, want(r, "old"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := run(t, in.Worktree, "git", "rev-parse", "HEAD"), run(t, r.Dir, "git", "rev-parse", "old"); a != b {
		t.Errorf("worktree at %s, branch old at %s", a, b)
	}
	// The branch checked out in the main worktree: git's own refusal.
	if _, _, err := m.Ensure(ctx, want(r, "main")); err == nil || !strings.Contains(err.Error(), "main") || !strings.Contains(err.Error(), "check out another branch there first") {
		t.Errorf("Ensure(main) = %v", err)
	}
	if _, _, err := m.Ensure(ctx, want(r, "bad..name")); err == nil || !strings.Contains(err.Error(), "not a valid branch name") {
		t.Errorf("Ensure(bad..name) = %v", err)
	}
}

// TestEnsureConcurrent: hjk processes racing for one branch make one
// instance (the catalog lock is a flock, which also serialises goroutines
// that open the lock file apiece).
func TestEnsureConcurrent(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(testImage)
	m := newManager(t, f)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := m.Ensure(ctx, want(r, "race"))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := f.count("create"); n != 1 {
		t.Errorf("%d containers created, want 1", n)
	}
	list, _, err := m.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %d instances, %v", len(list), err)
	}
}

// TestListOneCall: the catalog is reconciled with one List call to the
// engine, however many instances it holds.
func TestListOneCall(t *testing.T) {
	ctx := context.Background()
	f := newFake(testImage)
	m := newManager(t, f)
	var list []Instance
	for i := range 50 {
		b := fmt.Sprintf("b%02d", i)
		key := Key("/src/r/.git", "r", b)
		in := Instance{Name: ContainerName(key), Repo: "/src/r", GitDir: "/src/r/.git", Branch: b, Worktree: m.Worktree(key), Image: testImage, Runtime: "fake"}
		list = append(list, in)
		if i%10 != 0 { // every tenth removed behind hjk's back
			f.containers[in.Name] = runtime.Container{Name: in.Name, State: "running", Labels: map[string]string{LabelInstance: "1"}}
		}
	}
	if err := newCatalog(m.Data).Save(list); err != nil {
		t.Fatal(err)
	}
	got, errs, err := m.List(ctx)
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	if len(got) != 50 {
		t.Fatalf("%d instances, want 50", len(got))
	}
	if n := f.count("list"); n != 1 {
		t.Errorf("%d List calls for 50 instances, want 1", n)
	}
	if n := f.count("inspect"); n != 0 {
		t.Errorf("%d Inspect calls, want 0", n)
	}
	for i, in := range got {
		w := "running"
		if i%10 == 0 {
			w = StateMissing
		}
		if in.State != w {
			t.Errorf("%s: state %q, want %q", in.Branch, in.State, w)
		}
	}
}

func TestRestoreAndAdopt(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(testImage)
	m := newManager(t, f)
	in, _, err := m.Ensure(ctx, want(r, "gone"))
	if err != nil {
		t.Fatal(err)
	}
	f.Remove(ctx, in.Name) // behind hjk's back
	list, _, _ := m.List(ctx)
	if len(list) != 1 || list[0].State != StateMissing {
		t.Fatalf("List = %+v, want one missing", list)
	}
	if _, act, err := m.Ensure(ctx, want(r, "gone")); err != nil || act != Restored {
		t.Fatalf("Ensure = %q, %v; want restored", act, err)
	}
	// The catalog lost: rebuilt from the containers' labels.
	if err := os.Remove(filepath.Join(m.Data, "instances.json")); err != nil {
		t.Fatal(err)
	}
	list, _, err = m.List(ctx, "fake")
	if err != nil || len(list) != 1 || list[0].Branch != "gone" || list[0].Worktree != in.Worktree || list[0].State != "running" {
		t.Fatalf("List after losing the catalog = %+v, %v", list, err)
	}
	if _, err := m.Get(r, "gone"); err != nil {
		t.Errorf("adopted instance not saved: %v", err)
	}
	// Another HOME on the same engine does not take it.
	other := newManager(t, f)
	if list, _, err := other.List(ctx, "fake"); err != nil || len(list) != 0 {
		t.Errorf("another data folder adopted %+v, %v", list, err)
	}
	// A broken catalog is an error naming it, and is kept.
	p := filepath.Join(m.Data, "instances.json")
	os.WriteFile(p, []byte("{"), 0o600)
	if _, _, err := m.List(ctx); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("List with a broken catalog: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "{" {
		t.Error("broken catalog overwritten")
	}
}

func TestRemoveKeepsBranch(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(testImage, "img:2")
	m := newManager(t, f)
	in, _, err := m.Ensure(ctx, want(r, "work"))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := Dirty(ctx, in.Worktree); err != nil || d {
		t.Fatalf("fresh worktree dirty = %v, %v", d, err)
	}
	os.WriteFile(filepath.Join(in.Worktree, "new.txt"), []byte("x"), 0o644)
	if d, err := Dirty(ctx, in.Worktree); err != nil || !d {
		t.Fatalf("worktree with an untracked file dirty = %v, %v", d, err)
	}
	in2, err := m.Recreate(ctx, in, "img:2")
	if err != nil || in2.Image != "img:2" {
		t.Fatalf("Recreate = %+v, %v", in2, err)
	}
	if _, err := os.Stat(filepath.Join(in.Worktree, "new.txt")); err != nil {
		t.Error("recreate lost the worktree's files")
	}
	logs := SessionsDir(m.Data, in.Name)
	if err := os.MkdirAll(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(logs, "claude.log"), []byte("agent output"), 0o600)
	if got, _ := m.Get(r, "work"); got.Image != "img:2" {
		t.Errorf("catalog image = %q after recreate", got.Image)
	}
	if err := m.Remove(ctx, in, false); err == nil {
		t.Fatal("Remove without force removed a dirty worktree")
	} else if !errors.As(err, new(*DirtyError)) {
		t.Fatalf("Remove of a dirty worktree: %v, want a *DirtyError", err)
	}
	if _, err := os.Stat(filepath.Join(in.Worktree, "new.txt")); err != nil {
		t.Fatal("a refused Remove lost the worktree's files")
	}
	if err := m.Remove(ctx, in, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(in.Worktree); !os.IsNotExist(err) {
		t.Errorf("worktree still there: %v", err)
	}
	if _, err := os.Stat(logs); !os.IsNotExist(err) {
		t.Errorf("session logs still there after rm: %v", err)
	}
	run(t, r.Dir, "git", "rev-parse", "--verify", "refs/heads/work")
	if _, err := m.Get(r, "work"); err == nil || err.Error() != `no instance for branch "work": run 'hjk run work'` {
		t.Errorf("Get after rm = %v", err)
	}
	if len(f.containers) != 0 {
		t.Errorf("containers left: %v", f.containers)
	}
}

// stopWrites is an engine whose Stop comes after the agent wrote one more
// file: what rm checked before is not what it would delete.
type stopWrites struct {
	*fakeRuntime
	path string
}

func (s stopWrites) Stop(ctx context.Context, name string, d time.Duration) error {
	os.WriteFile(s.path, []byte("late work"), 0o644)
	return s.fakeRuntime.Stop(ctx, name, d)
}

// The container stops before git looks at the worktree, and git without
// --force refuses what the agent wrote up to then.
func TestRemoveKeepsLateWork(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(testImage)
	m := newManager(t, f)
	in, _, err := m.Ensure(ctx, want(r, "late"))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := Dirty(ctx, in.Worktree); err != nil || d {
		t.Fatalf("fresh worktree dirty = %v, %v", d, err)
	}
	late := filepath.Join(in.Worktree, "late.txt")
	m.Runtime = func(string) (runtime.Runtime, error) { return stopWrites{f, late}, nil }
	if err := m.Remove(ctx, in, false); !errors.As(err, new(*DirtyError)) {
		t.Fatalf("Remove = %v, want a *DirtyError", err)
	}
	if b, err := os.ReadFile(late); err != nil || string(b) != "late work" {
		t.Fatalf("the agent's late work is lost: %v", err)
	}
	if f.count("stop") != 1 {
		t.Errorf("%d stops, want 1", f.count("stop"))
	}
	if _, err := m.Get(r, "late"); err != nil {
		t.Errorf("the refused instance left the catalog: %v", err)
	}
}

func TestCatalogAtomic(t *testing.T) {
	c := newCatalog(t.TempDir())
	in := []Instance{{Name: "a", Branch: "b", State: "running", Created: time.Unix(0, 0).UTC()}}
	if err := c.Save(in); err != nil {
		t.Fatal(err)
	}
	got, err := c.Load()
	if err != nil || len(got) != 1 || got[0].Name != "a" || got[0].State != "" {
		t.Fatalf("Load = %+v, %v (state must not be stored)", got, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(c.path))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".instances-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestRemoveAfterRepoDeleted(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(testImage)
	m := newManager(t, f)
	in, _, err := m.Ensure(ctx, want(r, "orphan"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(r.Dir); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, in, false); !errors.As(err, new(*DirtyError)) {
		t.Fatalf("Remove without force, the repository gone: %v, want a *DirtyError", err)
	}
	if _, err := os.Stat(in.Worktree); err != nil {
		t.Fatalf("Remove without force deleted the worktree of a gone repository: %v", err)
	}
	if err := m.Remove(ctx, in, true); err != nil {
		t.Fatalf("Remove with the repository gone: %v", err)
	}
	if _, err := os.Stat(in.Worktree); !os.IsNotExist(err) {
		t.Errorf("worktree left: %v", err)
	}
	if list, _, _ := m.List(ctx); len(list) != 0 {
		t.Errorf("catalog still holds %+v", list)
	}
}

// commonDir reads what git would answer, without starting git.
func TestCommonDirAgreesWithGit(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	os.MkdirAll(filepath.Join(r.Dir, "sub", "deeper"), 0o755)
	wt := filepath.Join(t.TempDir(), "wt")
	run(t, r.Dir, "git", "worktree", "add", "-q", "-b", "side", wt)
	os.MkdirAll(filepath.Join(wt, "in"), 0o755)
	sub := filepath.Join(r.Dir, "sub", "nested")
	run(t, "", "git", "init", "-q", sub) // a repository inside another
	for _, dir := range []string{r.Dir, filepath.Join(r.Dir, "sub", "deeper"), wt, filepath.Join(wt, "in"), sub} {
		fast, ok := commonDir(dir)
		if !ok {
			t.Errorf("commonDir(%s) gave up", dir)
			continue
		}
		slow, err := git(ctx, dir, "rev-parse", "--path-format=absolute", "--git-common-dir")
		if err != nil {
			t.Fatal(err)
		}
		f, _ := filepath.EvalSymlinks(fast)
		s, _ := filepath.EvalSymlinks(slow)
		if f != s {
			t.Errorf("in %s: commonDir %s, git %s", dir, f, s)
		}
	}
}

// An engine that does not answer leaves its instances listed, in state
// "unknown", with its error beside.
func TestListEngineDown(t *testing.T) {
	ctx := context.Background()
	f := newFake(testImage)
	m := newManager(t, f)
	in := Instance{Name: "hjk-x", GitDir: "/g", Branch: "b", Runtime: "fake"}
	gone := Instance{Name: "hjk-y", GitDir: "/g", Branch: "c", Runtime: "podman"}
	if err := newCatalog(m.Data).Save([]Instance{in, gone}); err != nil {
		t.Fatal(err)
	}
	list, errs, err := m.List(ctx)
	if err != nil || len(list) != 2 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "podman") {
		t.Fatalf("List = %+v, %v, %v", list, errs, err)
	}
	for _, in := range list {
		if want := map[string]string{"b": StateMissing, "c": "unknown"}[in.Branch]; in.State != want {
			t.Errorf("%s: state %q, want %q", in.Branch, in.State, want)
		}
	}
}

// The JSON of an instance is `hjk ps --json`'s output and the catalog's
// format: scripts depend on these names.
func TestInstanceJSONFields(t *testing.T) {
	b, err := json.Marshal(Instance{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	want := "account agent branch created git_dir image name repo runtime state worktree"
	if strings.Join(got, " ") != want {
		t.Errorf("fields %q, want %q", strings.Join(got, " "), want)
	}
}
