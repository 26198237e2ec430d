package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

const testImage = "img:1"

// newRepo makes a git repository with one commit and returns it.
func newRepo(t *testing.T) Repo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "My Repo")
	run(t, "", "git", "init", "-q", "-b", "main", dir)
	os.WriteFile(filepath.Join(dir, "readme.txt"), []byte("hello\n"), 0o644)
	run(t, dir, "git", "add", "readme.txt")
	run(t, dir, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first")
	gd, err := filepath.EvalSymlinks(filepath.Join(dir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	return Repo{Dir: filepath.Dir(gd), GitDir: gd}
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(gitEnv(), "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// hostCommit makes a commit on branch in the host repository, as the user.
func hostCommit(t *testing.T, r Repo, branch, msg string) string {
	t.Helper()
	tree := run(t, r.Dir, "git", "rev-parse", "refs/heads/"+branch+"^{tree}")
	c := run(t, r.Dir, "git", "-c", "user.name=h", "-c", "user.email=h@example.com", "commit-tree", "-p", "refs/heads/"+branch, "-m", msg, tree)
	run(t, r.Dir, "git", "update-ref", "refs/heads/"+branch, c)
	return c
}

func newManager(t *testing.T, f *fakeRuntime) *Manager {
	return &Manager{
		Data: filepath.Join(t.TempDir(), "hjk"),
		Runtime: func(name string, ep runtime.Endpoint) (runtime.Runtime, error) {
			if name != "fake" {
				return nil, fmt.Errorf("no runtime %q", name)
			}
			if !ep.Same(f.ep) {
				return nil, fmt.Errorf("no engine %s of fake (it is %s)", ep, f.ep)
			}
			return f, nil
		},
		Shim:    func(string) (string, []byte, error) { return "abc123", []byte("tar"), nil },
		HostUID: 1000, HostGID: 1000,
	}
}

func want(r Repo, branch string) Want {
	return Want{Repo: r, Branch: branch, Agent: "claude", Image: testImage, Runtime: "fake"}
}

// setup makes a repository, a fake engine and a manager, and an instance
// of branch.
func setup(t *testing.T, branch string) (Repo, *fakeRuntime, *Manager, Instance) {
	t.Helper()
	r := newRepo(t)
	f := newFake(t.TempDir(), testImage)
	m := newManager(t, f)
	in, act, err := m.Ensure(context.Background(), want(r, branch))
	if err != nil || act != Created {
		t.Fatalf("Ensure = %v, %v", act, err)
	}
	return r, f, m, in
}

// agentGit runs git in the instance as its agent would, on the folders the
// fake engine mounted.
func agentGit(t *testing.T, f *fakeRuntime, in Instance, args ...string) string {
	t.Helper()
	gd, wd := f.hostPath(in.Name, layout.GitDir), f.hostPath(in.Name, layout.Workdir)
	cmd := exec.Command("git", append([]string{"-c", "user.name=agent", "-c", "user.email=agent@example.com"}, args...)...)
	cmd.Dir = wd
	cmd.Env = append(gitEnv(), "GIT_DIR="+gd, "GIT_WORK_TREE="+wd, "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("agent git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestKey(t *testing.T) {
	k := Key("/src/app/.git", "My App", "feature/Login UI")
	if !strings.HasPrefix(k, "my-app-feature-login-ui-") || len(k) != len("my-app-feature-login-ui-")+8 {
		t.Errorf("Key = %q", k)
	}
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

// The container gets no git metadata the host reads: not the git dir, not
// a worktree; the workspace's .git is read-only in the container, and
// invalid for the host's git.
func TestEnsureCreates(t *testing.T) {
	r, f, m, in := setup(t, "feature/x")
	if in.Workspace != layout.WorkspaceFolder || in.Folder == "" || in.User != "1000:1000" || in.Worktree != "" {
		t.Fatalf("instance %+v", in)
	}
	// The branch was made on the host at HEAD, and the instance is there.
	head := run(t, r.Dir, "git", "rev-parse", "HEAD")
	if got := run(t, r.Dir, "git", "rev-parse", "refs/heads/feature/x"); got != head || in.Base != head {
		t.Errorf("host branch at %s, base %s, want %s", got, in.Base, head)
	}
	if b, err := os.ReadFile(filepath.Join(in.Folder, "readme.txt")); err != nil || string(b) != "hello\n" {
		t.Errorf("workspace readme: %q, %v", b, err)
	}
	spec := f.specs[len(f.specs)-1]
	if spec.Name != in.Name || spec.User != "0" || !slices.Equal(spec.Entrypoint, []string{layout.InitPath, "boot"}) ||
		!slices.Equal(spec.CapDrop, []string{"ALL"}) || !slices.Equal(spec.CapAdd, layout.BootCapabilities) || !spec.NoNewPrivileges {
		t.Errorf("spec %+v", spec)
	}
	for _, mt := range spec.Mounts {
		if !mt.Volume && strings.HasPrefix(mt.Source, r.GitDir) && (mt.Source != filepath.Join(r.GitDir, "objects") || !mt.ReadOnly) {
			t.Errorf("the container mounts %s of the host's git dir (read-only %v)", mt.Source, mt.ReadOnly)
		}
		if mt.Target == layout.Workdir+"/.git" && !mt.ReadOnly {
			t.Error("the workspace's .git is writable in the container")
		}
	}
	// The host's git stops at the guard, in the folder and below.
	os.MkdirAll(filepath.Join(in.Folder, "sub"), 0o755)
	for _, dir := range []string{in.Folder, filepath.Join(in.Folder, "sub")} {
		cmd := exec.Command("git", "status")
		cmd.Dir, cmd.Env = dir, gitEnv()
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "invalid gitfile format") {
			t.Errorf("git status in %s: %v %s", dir, err, out)
		}
	}
	got, err := m.Get(r, "feature/x")
	if err != nil || got.Name != in.Name || got.Base != head {
		t.Errorf("Get = %+v, %v", got, err)
	}
}

func TestEnsureRefuses(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(t.TempDir(), testImage)
	f.images["root:1"] = ""
	m := newManager(t, f)
	w := want(r, "x")
	w.Image = "nope:1"
	if _, _, err := m.Ensure(ctx, w); !errors.As(err, new(*NoImageError)) {
		t.Errorf("missing image: %v", err)
	}
	w.Image = "root:1"
	if _, _, err := m.Ensure(ctx, w); !errors.As(err, new(*RootImageError)) {
		t.Errorf("image without a USER: %v", err)
	}
	w = want(r, "-x")
	if _, _, err := m.Ensure(ctx, w); err == nil {
		t.Error("took a branch named -x")
	}
	for _, b := range []string{"a b", "zz\nx", "a\x1b[2Jb"} {
		if _, _, err := m.Ensure(ctx, want(r, b)); err == nil {
			t.Errorf("took a branch named %q", b)
		}
	}
	if n := run(t, r.Dir, "git", "for-each-ref", "--count=9", "refs/heads/"); strings.Count(n, "\n") != 0 {
		t.Errorf("a refused instance left a branch: %s", n)
	}
	if list, _, _ := m.List(ctx); len(list) != 0 || f.count("create") != 0 {
		t.Errorf("refused instances left %+v, %d creates", list, f.count("create"))
	}
}

func TestEnsureConcurrent(t *testing.T) {
	r := newRepo(t)
	f := newFake(t.TempDir(), testImage)
	m := newManager(t, f)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := m.Ensure(context.Background(), want(r, "race"))
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
	agents := 0
	for _, s := range f.specs {
		if s.Labels[LabelRole] == "agent" {
			agents++
		}
	}
	if agents != 1 {
		t.Errorf("%d agent containers made, want 1", agents)
	}
}

func TestEnsureStartsAndRestores(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := setup(t, "b")
	f.Stop(ctx, in.Name, 0)
	if _, act, err := m.Ensure(ctx, want(r, "b")); err != nil || act != Started {
		t.Fatalf("Ensure of a stopped instance: %v, %v", act, err)
	}
	agentGit(t, f, in, "commit", "-q", "--allow-empty", "-m", "inside")
	tip := agentGit(t, f, in, "rev-parse", "HEAD")
	f.Remove(ctx, in.Name)
	if _, act, err := m.Ensure(ctx, want(r, "b")); err != nil || act != Restored {
		t.Fatalf("Ensure of a removed container: %v, %v", act, err)
	}
	// The volume kept the repository: the commit made inside is there.
	if got := agentGit(t, f, in, "rev-parse", "HEAD"); got != tip {
		t.Errorf("after restore HEAD is %s, want %s", got, tip)
	}
}

func TestListOneCall(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(t.TempDir(), testImage)
	m := newManager(t, f)
	for _, b := range []string{"a", "b", "c"} {
		if _, _, err := m.Ensure(ctx, want(r, b)); err != nil {
			t.Fatal(err)
		}
	}
	before := f.count("list") + f.count("inspect")
	list, errs, err := m.List(ctx)
	if err != nil || len(errs) > 0 || len(list) != 3 {
		t.Fatalf("List = %v, %v, %v", list, errs, err)
	}
	if n := f.count("list") + f.count("inspect") - before; n != 1 {
		t.Errorf("List asked the engine %d times, want 1", n)
	}
	// A lost catalog is rebuilt from the labels.
	os.Remove(newCatalog(m.Data).path)
	list, _, err = m.List(ctx, Target{Runtime: "fake"})
	if err != nil || len(list) != 3 || list[0].Folder == "" || list[0].User != "1000:1000" {
		t.Fatalf("List after losing the catalog: %+v, %v", list, err)
	}
}

// hjk inside an instance's workspace means that instance's repository,
// whatever .git the agent planted there.
func TestFindRepoInWorkspace(t *testing.T) {
	ctx := context.Background()
	r, _, m, in := setup(t, "topic")
	planted := filepath.Join(in.Folder, "sub")
	run(t, "", "git", "init", "-q", planted)
	got, err := m.FindRepo(ctx, planted)
	if err != nil || got != r {
		t.Errorf("FindRepo(planted repository) = %+v, %v; want %+v", got, err, r)
	}
	if _, err := m.FindRepo(ctx, filepath.Join(m.Data, "instances")); !errors.Is(err, ErrInData) {
		t.Errorf("FindRepo(data folder) = %v", err)
	}
	if got, err := m.FindRepo(ctx, r.Dir); err != nil || got != r {
		t.Errorf("FindRepo(repo) = %+v, %v", got, err)
	}
	if _, err := m.FindRepo(ctx, t.TempDir()); err == nil {
		t.Error("FindRepo outside any repository succeeded")
	}
}

func TestPullFastForward(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := setup(t, "work")
	os.WriteFile(filepath.Join(in.Folder, "new.txt"), []byte("made inside\n"), 0o644)
	agentGit(t, f, in, "add", "new.txt")
	agentGit(t, f, in, "commit", "-q", "-m", "inside one")
	agentGit(t, f, in, "commit", "-q", "--allow-empty", "-m", "inside two")
	tip := agentGit(t, f, in, "rev-parse", "HEAD")
	mainBefore := run(t, r.Dir, "git", "rev-parse", "refs/heads/main")
	res, err := m.Pull(ctx, in, r)
	if err != nil || !res.Moved || res.Tip != tip || res.Kept != "" {
		t.Fatalf("Pull = %+v, %v", res, err)
	}
	if got := run(t, r.Dir, "git", "rev-parse", "refs/heads/work"); got != tip {
		t.Errorf("host branch at %s, want %s", got, tip)
	}
	if got := run(t, r.Dir, "git", "show", "work:new.txt"); got != "made inside" {
		t.Errorf("new.txt on the host: %q", got)
	}
	if out := run(t, r.Dir, "git", "for-each-ref", "refs/hjk/"); out != "" {
		t.Errorf("refs left under refs/hjk: %s", out)
	}
	if got := run(t, r.Dir, "git", "rev-parse", "refs/heads/main"); got != mainBefore {
		t.Error("a pull moved another branch")
	}
	run(t, r.Dir, "git", "fsck", "--strict")
	// Nothing new: nothing happens.
	if res, err := m.Pull(ctx, in, r); err != nil || res.Moved || res.Tip != "" {
		t.Errorf("second Pull = %+v, %v", res, err)
	}
}

func TestPullKeepsDiverged(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := setup(t, "both")
	agentGit(t, f, in, "commit", "-q", "--allow-empty", "-m", "inside")
	inside := agentGit(t, f, in, "rev-parse", "HEAD")
	outside := hostCommit(t, r, "both", "outside")
	res, err := m.Pull(ctx, in, r)
	if err != nil || res.Moved || res.Kept != KeptRef("both") || res.Why != KeptDiverged {
		t.Fatalf("Pull = %+v, %v", res, err)
	}
	if got := run(t, r.Dir, "git", "rev-parse", "refs/heads/both"); got != outside {
		t.Error("a diverged pull rewrote the host branch")
	}
	if got := run(t, r.Dir, "git", "rev-parse", KeptRef("both")); got != inside {
		t.Errorf("kept ref at %s, want %s", got, inside)
	}
	// The user merges it, as hjk says: the next pull, with nothing new to
	// bring, drops the kept ref (the branch holds all of it).
	tree := run(t, r.Dir, "git", "rev-parse", "refs/heads/both^{tree}")
	merge := run(t, r.Dir, "git", "-c", "user.name=h", "-c", "user.email=h@example.com", "commit-tree", "-p", outside, "-p", KeptRef("both"), "-m", "merge", tree)
	run(t, r.Dir, "git", "update-ref", "refs/heads/both", merge)
	if res, err := m.Pull(ctx, in, r); err != nil || res.Kept != "" {
		t.Fatalf("Pull after the merge = %+v, %v", res, err)
	}
	if out := run(t, r.Dir, "git", "for-each-ref", "refs/hjk/"); out != "" {
		t.Errorf("the kept ref outlived the merge: %s", out)
	}
	if got := run(t, r.Dir, "git", "rev-parse", "refs/heads/both"); got != merge {
		t.Error("the pull moved the merged branch")
	}
}

func TestPullCheckedOut(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := setup(t, "main")
	agentGit(t, f, in, "commit", "-q", "--allow-empty", "-m", "inside")
	before := run(t, r.Dir, "git", "rev-parse", "refs/heads/main")
	res, err := m.Pull(ctx, in, r)
	if err != nil || res.Moved || res.Why != KeptCheckedOut || len(res.Worktrees) != 1 {
		t.Fatalf("Pull of a checked-out branch = %+v, %v", res, err)
	}
	if got := run(t, r.Dir, "git", "rev-parse", "refs/heads/main"); got != before {
		t.Error("a pull moved a branch checked out on the host")
	}
}

// A bundle holding a commit fsck refuses (an author without an email)
// moves nothing and leaves none of its objects on the host: git before
// 2.46 fetches from a bundle without checking its objects, whatever
// fetch.fsckObjects says.
func TestPullFscksTheBundle(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := setup(t, "bad")
	base := run(t, r.Dir, "git", "rev-parse", "refs/heads/bad")
	refsBefore := run(t, r.Dir, "git", "for-each-ref")
	other := filepath.Join(t.TempDir(), "other")
	run(t, "", "git", "clone", "-q", "--no-local", r.Dir, other)
	text := "tree " + run(t, other, "git", "rev-parse", base+"^{tree}") + "\nparent " + base +
		"\nauthor no email here\ncommitter x <x@example.com> 1 +0000\n\nbad\n"
	cmd := exec.Command("git", "hash-object", "-t", "commit", "-w", "--literally", "--stdin")
	cmd.Dir, cmd.Stdin = other, strings.NewReader(text)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.TrimSpace(string(out))
	run(t, other, "git", "update-ref", "refs/heads/bad", bad)
	p := filepath.Join(t.TempDir(), "b")
	run(t, other, "git", "bundle", "create", "-q", p, "refs/heads/bad", "^"+base)
	b, _ := os.ReadFile(p)
	f.onExec = func(spec runtime.ExecSpec) (int, bool) {
		if slices.Contains(spec.Cmd, "bundle") {
			spec.Stdout.Write(b)
			return 0, true
		}
		return 0, false
	}
	if res, err := m.Pull(ctx, in, r); err == nil || !strings.Contains(err.Error(), "missingEmail") {
		t.Errorf("Pull of a bundle with a broken commit = %+v, %v", res, err)
	}
	if got := run(t, r.Dir, "git", "for-each-ref"); got != refsBefore {
		t.Errorf("refs changed:\n%s\nwas\n%s", got, refsBefore)
	}
	if exec.Command("git", "-C", r.Dir, "cat-file", "-e", bad).Run() == nil {
		t.Error("the broken commit is in the host repository")
	}
	run(t, r.Dir, "git", "fsck", "--strict")
	if ents, _ := os.ReadDir(filepath.Join(m.Data, "tmp")); len(ents) != 0 {
		t.Errorf("left in hjk's tmp folder: %v", ents)
	}
}

// What the container hands back is data to check: a bundle naming other
// refs, a broken one, one over the cap, moves nothing but refs/hjk/B.
func TestPullHostile(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := setup(t, "evil")
	refsBefore := run(t, r.Dir, "git", "for-each-ref")
	other := t.TempDir()
	run(t, "", "git", "init", "-q", "-b", "main", other)
	run(t, other, "git", "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "--allow-empty", "-m", "evil")
	bundleOf := func(refs ...string) []byte {
		p := filepath.Join(t.TempDir(), "b")
		run(t, other, append([]string{"git", "bundle", "create", "-q", p}, refs...)...)
		b, _ := os.ReadFile(p)
		return b
	}
	cases := map[string][]byte{
		"garbage":      []byte("# v2 git bundle\nnot really\n"),
		"other refs":   bundleOf("main"),
		"empty stream": nil,
	}
	for name, b := range cases {
		f.onExec = func(spec runtime.ExecSpec) (int, bool) {
			if slices.Contains(spec.Cmd, "bundle") {
				spec.Stdout.Write(b)
				return 0, true
			}
			return 0, false
		}
		if res, err := m.Pull(ctx, in, r); err == nil {
			t.Errorf("%s: Pull = %+v, want an error", name, res)
		}
	}
	m.MaxBundle = 1 << 20 // sync.max_bundle
	f.onExec = func(spec runtime.ExecSpec) (int, bool) {
		if slices.Contains(spec.Cmd, "bundle") {
			_, err := io.Copy(spec.Stdout, io.LimitReader(zeros{}, m.MaxBundle+1))
			if err == nil {
				t.Error("the writer took more than the cap")
			}
			return 0, true
		}
		return 0, false
	}
	if _, err := m.Pull(ctx, in, r); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1.0 MiB") {
		t.Errorf("an oversized bundle: %v", err)
	}
	f.onExec = nil
	if got := run(t, r.Dir, "git", "for-each-ref"); got != refsBefore {
		t.Errorf("refs changed:\n%s\nwas\n%s", got, refsBefore)
	}
	run(t, r.Dir, "git", "fsck", "--strict")
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestPush(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := setup(t, "ahead")
	next := hostCommit(t, r, "ahead", "host moved")
	res, err := m.Push(ctx, in, r)
	if err != nil || !res.Moved || res.To != next {
		t.Fatalf("Push = %+v, %v", res, err)
	}
	if got := agentGit(t, f, in, "rev-parse", "HEAD"); got != next {
		t.Errorf("instance at %s, want %s", got, next)
	}
	// With uncommitted work inside, the instance is left as it is.
	os.WriteFile(filepath.Join(in.Folder, "wip.txt"), []byte("wip"), 0o644)
	next2 := hostCommit(t, r, "ahead", "host again")
	res, err = m.Push(ctx, in, r)
	if err != nil || res.Moved || res.Why != "dirty" {
		t.Fatalf("Push with a dirty tree = %+v, %v", res, err)
	}
	if got := agentGit(t, f, in, "rev-parse", "HEAD"); got == next2 {
		t.Error("a dirty instance was moved")
	}
	// Diverged: the instance has a commit the host lacks.
	os.Remove(filepath.Join(in.Folder, "wip.txt"))
	agentGit(t, f, in, "commit", "-q", "--allow-empty", "-m", "inside")
	if res, err := m.Push(ctx, in, r); err != nil || res.Moved || res.Why != "ahead" {
		t.Errorf("Push of a diverged instance = %+v, %v", res, err)
	}
}

func TestRemove(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := setup(t, "gone")
	os.WriteFile(filepath.Join(in.Folder, "wip.txt"), []byte("wip"), 0o644)
	err := m.Remove(ctx, in, false)
	var de *DirtyError
	if !errors.As(err, &de) || de.Err != nil {
		t.Fatalf("Remove of a dirty instance: %v", err)
	}
	if _, err := os.Stat(filepath.Join(in.Folder, "wip.txt")); err != nil {
		t.Fatal("a refused remove lost the work")
	}
	os.Remove(filepath.Join(in.Folder, "wip.txt"))
	f.Stop(ctx, in.Name, 0) // asked even when stopped: it is started for the question
	if err := m.Remove(ctx, in, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(in.Folder); !os.IsNotExist(err) {
		t.Errorf("workspace left: %v", err)
	}
	if vols, _ := f.Volumes(ctx, map[string]string{LabelOwner: in.Name}); len(vols) != 0 {
		t.Errorf("volumes left: %v", vols)
	}
	if _, err := m.Get(r, "gone"); !errors.As(err, new(*NoInstanceError)) {
		t.Errorf("catalog still has it: %v", err)
	}
	run(t, r.Dir, "git", "rev-parse", "--verify", "refs/heads/gone") // the branch stays
}

func TestRecreateKeepsWork(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := setup(t, "keep")
	os.WriteFile(filepath.Join(in.Folder, "wip.txt"), []byte("wip"), 0o644)
	agentGit(t, f, in, "commit", "-q", "--allow-empty", "-m", "inside")
	tip := agentGit(t, f, in, "rev-parse", "HEAD")
	in2, err := m.Recreate(ctx, in, "", r)
	if err != nil {
		t.Fatal(err)
	}
	if got := agentGit(t, f, in2, "rev-parse", "HEAD"); got != tip {
		t.Errorf("after recreate HEAD %s, want %s", got, tip)
	}
	if b, _ := os.ReadFile(filepath.Join(in2.Folder, "wip.txt")); string(b) != "wip" {
		t.Error("recreate lost an uncommitted file")
	}
}

func TestLegacy(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(t.TempDir(), testImage)
	m := newManager(t, f)
	wt := filepath.Join(t.TempDir(), "wt")
	run(t, r.Dir, "git", "worktree", "add", "-q", "-b", "old", wt)
	old := Instance{Name: "hjk-old", Repo: r.Dir, GitDir: r.GitDir, Branch: "old", Worktree: wt, Runtime: "fake", Image: testImage}
	os.MkdirAll(m.Data, 0o700)
	os.WriteFile(newCatalog(m.Data).path, []byte(`{"version":1,"instances":[`+string(must(json.Marshal(old)))+`]}`), 0o600)
	list, _, err := m.List(ctx)
	if err != nil || len(list) != 1 || list[0].State != StateLegacy {
		t.Fatalf("List with a legacy instance: %+v, %v", list, err)
	}
	if _, _, err := m.Ensure(ctx, want(r, "old")); !errors.As(err, new(*LegacyError)) {
		t.Errorf("Ensure of a legacy instance: %v", err)
	}
	// Its worktree's .git, rewritten by its container, must never run.
	marker := filepath.Join(t.TempDir(), "ran")
	evil := filepath.Join(wt, "evil")
	run(t, "", "git", "init", "-q", evil)
	run(t, "", "git", "--git-dir", filepath.Join(evil, ".git"), "config", "core.fsmonitor", "touch "+marker)
	os.WriteFile(filepath.Join(wt, ".git"), []byte("gitdir: "+filepath.Join(evil, ".git")+"\n"), 0o644)
	if err := m.Remove(ctx, list[0], false); !errors.Is(err, ErrLegacyCheck) {
		t.Errorf("Remove of a legacy instance without force: %v", err)
	}
	if err := m.Remove(ctx, list[0], true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(wt); !os.IsNotExist(err) {
		t.Error("legacy worktree left")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("removing a legacy instance ran its planted fsmonitor")
	}
	if out := run(t, r.Dir, "git", "worktree", "list"); strings.Contains(out, wt) {
		t.Errorf("git still lists the worktree: %s", out)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
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
	f := newFake(t.TempDir(), testImage)
	m := newManager(t, f)
	in := Instance{Name: "hjk-x", GitDir: "/g", Branch: "b", Runtime: "fake", Workspace: "volume"}
	gone := Instance{Name: "hjk-y", GitDir: "/g", Branch: "c", Runtime: "podman", Workspace: "volume"}
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
	b, err := json.Marshal(Instance{Folder: "f", Base: "b", Session: "s", Attached: time.Now(), Worktree: "w"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	want := "account agent attached base branch created credentials engine folder git_dir image name repo runtime session state user workspace worktree"
	if strings.Join(got, " ") != want {
		t.Errorf("fields %q, want %q", strings.Join(got, " "), want)
	}
}

// A branch the user moved off the instance's commits (reset, forced)
// keeps them at refs/hjk/B, reported as diverged.
func TestPullMovedOff(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := setup(t, "off")
	agentGit(t, f, in, "commit", "-q", "--allow-empty", "-m", "inside")
	if res, err := m.Pull(ctx, in, r); err != nil || !res.Moved {
		t.Fatalf("first Pull = %+v, %v", res, err)
	}
	inside := run(t, r.Dir, "git", "rev-parse", "refs/heads/off")
	run(t, r.Dir, "git", "update-ref", "refs/heads/off", "refs/heads/off~1")
	other := hostCommit(t, r, "off", "the user's instead")
	in, _ = m.Get(r, "off")
	res, err := m.Pull(ctx, in, r)
	if err != nil || res.Why != KeptDiverged || res.Tip != inside {
		t.Fatalf("Pull after the branch moved off = %+v, %v", res, err)
	}
	if got := run(t, r.Dir, "git", "rev-parse", KeptRef("off")); got != inside {
		t.Errorf("kept %s, want %s", got, inside)
	}
	if got := run(t, r.Dir, "git", "rev-parse", "refs/heads/off"); got != other {
		t.Error("the user's branch was moved")
	}
}

// TestShimFilledBeforeUse: hjk processes of other data folders (other
// users, parallel tests) share an engine's shim volume. One that finds it
// while another is still copying the binaries in waits for the copy: the
// containers it makes next run hjk-init and hjk-gate from it. The copy is
// made once.
func TestShimFilledBeforeUse(t *testing.T) {
	f := newFake(t.TempDir(), testImage)
	f.copyDelay = 300 * time.Millisecond
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 50 * time.Millisecond)
			m := newManager(t, f)
			name, err := m.ensureShim(context.Background(), f, testImage, "amd64")
			if err != nil {
				t.Errorf("hjk %d: %v", i, err)
				return
			}
			if !f.isFilled(name) {
				t.Errorf("hjk %d got the shim volume %s before the binaries were in it", i, name)
			}
		}()
	}
	wg.Wait()
	if n := f.count("cp"); n != 1 {
		t.Errorf("the binaries were copied %d times, want once", n)
	}
}
