package instance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

var farEngine = runtime.Endpoint{Kind: runtime.EndpointHost, Value: "tcp://far:2375"}

// remoteSetup is setup on an engine that sees none of the host's paths,
// named by address.
func remoteSetup(t *testing.T, branch string) (Repo, *fakeRuntime, *Manager, Instance) {
	t.Helper()
	r := newRepo(t)
	f := newFake(t.TempDir(), testImage)
	f.ep, f.remote = farEngine, true
	m := newManager(t, f)
	w := want(r, branch)
	w.Endpoint = &farEngine
	in, act, err := m.Ensure(context.Background(), w)
	if err != nil || act != Created {
		t.Fatalf("Ensure = %v, %v", act, err)
	}
	return r, f, m, in
}

// bundleSize is the size of `git bundle create` of args in r.
func bundleSize(t *testing.T, r Repo, args ...string) int64 {
	t.Helper()
	p := filepath.Join(t.TempDir(), "b.bundle")
	run(t, r.Dir, append([]string{"git", "bundle", "create", "-q", p}, args...)...)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// An instance on a remote engine mounts nothing of the host, keeps its
// files in a volume, and gets its repository as a bundle of the branch on
// stdin: no alternates.
func TestRemoteCreates(t *testing.T) {
	r, f, m, in := remoteSetup(t, "far")
	if !in.Remote || in.Engine != farEngine || in.Workspace != layout.WorkspaceVolume || in.Folder != "" {
		t.Fatalf("instance %+v", in)
	}
	for _, s := range f.specs {
		for _, mt := range s.Mounts {
			if !mt.Volume {
				t.Errorf("%s mounts the host's %s", s.Name, mt.Source)
			}
		}
		if s.Labels[LabelRole] != "shim-fill" && s.Labels[LabelHost] == "" {
			t.Errorf("%s (%s) carries no host id", s.Name, s.Labels[LabelRole])
		}
	}
	if _, err := os.Stat(f.hostPath(in.Name, layout.GitDir+"/objects/info/alternates")); err == nil {
		t.Error("the instance's repository borrows objects from a host path")
	}
	head := run(t, r.Dir, "git", "rev-parse", "HEAD")
	if got := agentGit(t, f, in, "rev-parse", "refs/heads/far"); got != head || in.Base != head {
		t.Errorf("the instance's branch is at %s (base %s), want %s", got, in.Base, head)
	}
	if b, err := os.ReadFile(f.hostPath(in.Name, layout.Workdir+"/readme.txt")); err != nil || string(b) != "hello\n" {
		t.Errorf("workspace readme: %q, %v", b, err)
	}
	if all := bundleSize(t, r, "--all"); f.sent > all*11/10 || f.sent == 0 {
		t.Errorf("sent %d bytes for a repository whose whole bundle is %d", f.sent, all)
	}
	id, _ := m.HostID()
	if local := ContainerName(Key(r.GitDir, r.Name(), "far")); in.Name == local || in.Name != ContainerName(RemoteKey(id, r.GitDir, r.Name(), "far")) {
		t.Errorf("a remote instance named %s (a local one is %s)", in.Name, local)
	}
	if m.keeper(in) == m.Keeper() {
		t.Error("the remote keeper has the local one's name")
	}
	if _, ok := f.containers[m.keeper(in)]; !ok {
		t.Error("no keeper on the remote engine")
	}
	for n := range f.containers {
		if strings.HasPrefix(n, "hjk-probe-") {
			t.Errorf("the probe %s was left", n)
		}
	}
	got, err := m.Get(r, "far")
	if err != nil || got.Engine != farEngine || !got.Remote {
		t.Errorf("catalogued as %+v, %v", got, err)
	}
}

// Commits come home from a remote instance over the stream, and the host's
// go there as a bundle of only what it lacks.
func TestRemoteSync(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := remoteSetup(t, "far")
	agentGit(t, f, in, "commit", "-q", "--allow-empty", "-m", "inside")
	inside := agentGit(t, f, in, "rev-parse", "HEAD")
	if res, err := m.Pull(ctx, in, r); err != nil || !res.Moved || res.Tip != inside {
		t.Fatalf("Pull = %+v, %v", res, err)
	}
	in, _ = m.Get(r, "far")
	var tips []string
	for i := range 3 {
		os.WriteFile(filepath.Join(r.Dir, "readme.txt"), []byte("host "+strconv.Itoa(i)+"\n"), 0o644)
		tips = append(tips, hostCommit(t, r, "far", "host "+strconv.Itoa(i)))
	}
	// hostCommit keeps the tree: give the commits content of their own.
	before := f.sent
	res, err := m.Push(ctx, in, r)
	if err != nil || !res.Moved || res.To != tips[2] {
		t.Fatalf("Push = %+v, %v", res, err)
	}
	if got := agentGit(t, f, in, "rev-parse", "HEAD"); got != tips[2] {
		t.Errorf("the instance is at %s, want %s", got, tips[2])
	}
	want := bundleSize(t, r, "refs/heads/far", "^"+inside)
	if sent := f.sent - before; sent != want {
		t.Errorf("the push sent %d bytes, want the bundle of the new commits (%d)", sent, want)
	}
	if whole := bundleSize(t, r, "refs/heads/far"); want >= whole {
		t.Errorf("the bundle of 3 new commits (%d) is no smaller than the branch's (%d)", want, whole)
	}
}

// A workspace folder asked of a remote engine is refused; the setting's
// default gives way to a volume there.
func TestRemoteWorkspace(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(t.TempDir(), testImage)
	f.ep, f.remote = farEngine, true
	m := newManager(t, f)
	w := want(r, "far")
	w.Endpoint, w.Workspace = &farEngine, layout.WorkspaceFolder
	_, _, err := m.Ensure(ctx, w)
	var rf *RemoteFolderError
	if !errors.As(err, &rf) || !strings.Contains(err.Error(), farEngine.Value) {
		t.Fatalf("a folder on a remote engine: %v", err)
	}
	if f.count("create") > 1 { // the probe
		t.Errorf("a refused instance created %d containers", f.count("create"))
	}
	w.Workspace, w.DefaultWorkspace = "", layout.WorkspaceFolder
	in, _, err := m.Ensure(ctx, w)
	if err != nil || in.Workspace != layout.WorkspaceVolume {
		t.Fatalf("with workspace = folder set: %+v, %v", in, err)
	}
}

// An engine named by the user that sees the host's folders is used as a
// local one: the probe says so, and goes.
func TestNamedLocalEngine(t *testing.T) {
	r := newRepo(t)
	f := newFake(t.TempDir(), testImage)
	f.ep = runtime.Endpoint{Kind: runtime.EndpointContext, Value: "desktop-linux"}
	m := newManager(t, f)
	w := want(r, "near")
	w.Endpoint = &f.ep
	in, _, err := m.Ensure(context.Background(), w)
	if err != nil || in.Remote || in.Workspace != layout.WorkspaceFolder || in.Engine != f.ep {
		t.Fatalf("Ensure = %+v, %v", in, err)
	}
	if f.specs[0].Labels[LabelRole] != "probe" {
		t.Errorf("the engine was not asked first: %s", f.specs[0].Name)
	}
	for n := range f.containers {
		if strings.HasPrefix(n, "hjk-probe-") {
			t.Errorf("the probe %s was left", n)
		}
	}
	// An engine that refuses the mount for another reason (a policy, a
	// folder a VM does not share) is taken to share nothing.
	g := newFake(t.TempDir(), testImage)
	g.ep = f.ep
	g.onCreate = func(s runtime.Spec) error {
		if s.Labels[LabelRole] == "probe" {
			return &runtime.ExitError{Code: 125, Stderr: "docker: Error response from daemon: Mounts denied: the path is not shared from the host"}
		}
		return nil
	}
	mg := newManager(t, g)
	w = want(r, "denied")
	w.Endpoint = &g.ep
	if in, _, err := mg.Ensure(context.Background(), w); err != nil || !in.Remote {
		t.Errorf("an engine that denies the mount: %+v, %v", in, err)
	}

	// engine.remote = no skips the question; yes makes any engine remote.
	for _, c := range []struct {
		setting string
		remote  bool
	}{{RemoteNo, false}, {RemoteYes, true}} {
		f := newFake(t.TempDir(), testImage)
		m := newManager(t, f)
		m.Remote = c.setting
		in, _, err := m.Ensure(context.Background(), want(r, "s-"+c.setting))
		if err != nil || in.Remote != c.remote || slices.ContainsFunc(f.specs, func(s runtime.Spec) bool { return s.Labels[LabelRole] == "probe" }) {
			t.Errorf("engine.remote = %s: %+v, %v", c.setting, in, err)
		}
	}
}

// A container made anew keeps its volume's repository: no bundle is sent
// again; removing the last remote instance takes the remote keeper.
func TestRemoteRecreateRemove(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := remoteSetup(t, "far")
	agentGit(t, f, in, "commit", "-q", "--allow-empty", "-m", "kept")
	kept := agentGit(t, f, in, "rev-parse", "HEAD")
	sent := f.sent
	in, err := m.Recreate(ctx, in, "", r)
	if err != nil {
		t.Fatal(err)
	}
	if f.sent != sent {
		t.Errorf("Recreate sent %d bytes more", f.sent-sent)
	}
	if got := agentGit(t, f, in, "rev-parse", "HEAD"); got != kept {
		t.Errorf("after Recreate the instance is at %s, want %s", got, kept)
	}
	if err := m.Remove(ctx, in, true); err != nil {
		t.Fatal(err)
	}
	if len(f.containers) != 0 {
		t.Errorf("left %v", slices.Collect(func(yield func(string) bool) {
			for n := range f.containers {
				yield(n)
			}
		}))
	}
}

// A lost catalog: the remote engine's containers of this data folder are
// taken back, another machine's (another host id) never.
func TestRemoteAdopt(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := remoteSetup(t, "far")
	os.Remove(filepath.Join(m.Data, "instances.json"))
	other := in
	other.Name = ContainerName(RemoteKey("0123456789abcdef0123456789abcdef", r.GitDir, r.Name(), "other"))
	other.Branch = "other"
	labels := map[string]string{LabelInstance: "1", LabelRepo: r.GitDir, LabelBranch: "other", LabelWorkMode: layout.WorkspaceVolume,
		LabelHost: "0123456789abcdef0123456789abcdef"}
	f.containers[other.Name] = runtime.Container{Name: other.Name, State: "running", Labels: labels}
	list, errs, err := m.List(ctx, Target{Runtime: "fake", Engine: farEngine})
	if err != nil || len(errs) != 0 {
		t.Fatal(err, errs)
	}
	if len(list) != 1 || list[0].Name != in.Name || !list[0].Remote || list[0].Engine != farEngine {
		t.Errorf("List took back %+v", list)
	}
}

// Two hjk (two data folders) fill the shim volume at once: one copies,
// the other waits until the copy is whole; a filler left by an hjk that
// died is replaced.
func TestShimFillLock(t *testing.T) {
	ctx := context.Background()
	f := newFake(t.TempDir(), testImage)
	f.copying = make(chan struct{})
	a, b := newManager(t, f), newManager(t, f)
	first := make(chan error, 1)
	go func() { _, err := a.ensureShim(ctx, f, testImage, "amd64"); first <- err }()
	for f.count("cp") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	second := make(chan error, 1)
	go func() { _, err := b.ensureShim(ctx, f, testImage, "amd64"); second <- err }()
	select {
	case err := <-second:
		t.Fatalf("the second hjk went on while the first was copying: %v", err)
	case <-time.After(700 * time.Millisecond):
	}
	close(f.copying)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if n := f.count("cp"); n != 1 {
		t.Errorf("%d copies, want 1", n)
	}
	if _, ok := f.volumes["hjk-shim-abc123-ready"]; !ok {
		t.Error("no ready mark")
	}

	// A mark left without its volume (removed by name) is no volume.
	f.VolumeRemove(ctx, "hjk-shim-abc123")
	if _, err := a.ensureShim(ctx, f, testImage, "amd64"); err != nil || f.count("cp") != 2 {
		t.Errorf("with the mark but no volume: %v, %d copies", err, f.count("cp"))
	}

	g := newFake(t.TempDir(), testImage)
	g.containers["hjk-shim-abc123-fill"] = runtime.Container{Name: "hjk-shim-abc123-fill", State: "created", Created: time.Now().Add(-time.Hour)}
	if _, err := newManager(t, g).ensureShim(ctx, g, testImage, "amd64"); err != nil || g.count("cp") != 1 {
		t.Errorf("with a stale filler: %v, %d copies", err, g.count("cp"))
	}
	if _, ok := g.containers["hjk-shim-abc123-fill"]; ok {
		t.Error("the filler was left")
	}
}

// A push with nothing new on the host asks the engine nothing: it runs
// before every session.
func TestPushNothingNew(t *testing.T) {
	ctx := context.Background()
	for _, remote := range []bool{false, true} {
		var repo Repo
		var f *fakeRuntime
		var m *Manager
		var in Instance
		if remote {
			repo, f, m, in = remoteSetup(t, "same")
		} else {
			repo, f, m, in = setup(t, "same")
		}
		execs := f.count("exec")
		if res, err := m.Push(ctx, in, repo); err != nil || res.Moved || res.Why != "" {
			t.Errorf("remote %v: Push = %+v, %v", remote, res, err)
		}
		if n := f.count("exec") - execs; n != 0 {
			t.Errorf("remote %v: a push with nothing new ran %d execs", remote, n)
		}
	}
}

// A remote instance whose branch was rewritten inside (it lacks the Base
// hjk recorded) still gets the host's commits: after its own tip.
func TestRemotePushLostBase(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := remoteSetup(t, "lost")
	first := in.Base
	os.WriteFile(filepath.Join(r.Dir, "readme.txt"), []byte("one\n"), 0o644)
	run(t, r.Dir, "git", "add", "readme.txt")
	c1 := hostCommit(t, r, "lost", "one")
	if res, err := m.Push(ctx, in, r); err != nil || !res.Moved {
		t.Fatalf("Push = %+v, %v", res, err)
	}
	agentGit(t, f, in, "reset", "-q", "--hard", first)
	agentGit(t, f, in, "reflog", "expire", "--expire=now", "--all")
	agentGit(t, f, in, "gc", "-q", "--prune=now")
	if _, err := os.Stat(f.hostPath(in.Name, layout.GitDir+"/objects/"+c1[:2]+"/"+c1[2:])); err == nil {
		t.Fatal("the instance still has the commit")
	}
	c2 := hostCommit(t, r, "lost", "two")
	res, err := m.Push(ctx, in, r)
	if err != nil || !res.Moved || res.From != first {
		t.Fatalf("Push after the rewrite = %+v, %v", res, err)
	}
	if got := agentGit(t, f, in, "rev-parse", "HEAD"); got != c2 {
		t.Errorf("the instance is at %s, want %s", got, c2)
	}
	// With a commit of its own there, it is ahead: nothing is moved.
	agentGit(t, f, in, "commit", "-q", "--allow-empty", "-m", "inside")
	hostCommit(t, r, "lost", "three")
	if res, err := m.Push(ctx, in, r); err != nil || res.Moved || res.Why != "ahead" {
		t.Errorf("Push of an instance ahead = %+v, %v", res, err)
	}
}

// rm -f of an instance whose engine is gone forgets it, and says what is
// left; without -f it is kept.
func TestRemoveEngineGone(t *testing.T) {
	ctx := context.Background()
	r, f, m, in := remoteSetup(t, "gone")
	f.down = true
	if err := m.Remove(ctx, in, false); err == nil {
		t.Fatal("Remove without force of an instance on an engine that does not answer")
	}
	if _, err := m.Get(r, "gone"); err != nil {
		t.Fatalf("without force the instance was forgotten: %v", err)
	}
	err := m.Remove(ctx, in, true)
	var le *LeftError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), farEngine.Value) {
		t.Fatalf("Remove -f: %v", err)
	}
	if _, err := m.Get(r, "gone"); err == nil {
		t.Error("the instance is still catalogued")
	}
}
