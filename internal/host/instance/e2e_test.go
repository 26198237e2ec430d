package instance

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runtime"
)

// The instance's container on the real engines, with the real hjk-init
// and the agent image scripts/test-images builds (USER agent, uid 1000):
// boot hands the container to the user and drops every capability, the
// repository is seeded from the host's objects, commits travel both ways.

const e2eImage = "hjk-test/agents:latest"

func realEngine(t *testing.T, name string) runtime.Runtime {
	t.Helper()
	r, err := runtime.New(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = r.Version(ctx)
	if err == nil {
		var ok bool
		ok, err = r.ImageExists(ctx, e2eImage)
		if err == nil && !ok {
			err = fmt.Errorf("%s is missing (scripts/test-images %s)", e2eImage, name)
		}
	}
	if err != nil {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatalf("HJK_E2E=1 but %s is unusable: %v", name, err)
		}
		t.Skipf("%s is unusable: %v", name, err)
	}
	return r
}

// shimTar builds hjk-init and hjk-gate for this machine and tars them as
// shimbin does.
func shimTar(t *testing.T) func(string) (string, []byte, error) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, prog := range []string{"hjk-init", "hjk-gate"} {
		p := filepath.Join(t.TempDir(), prog)
		cmd := exec.Command("go", "build", "-trimpath", "-o", p, "../../../cmd/"+prog)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", prog, err, out)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tw.WriteHeader(&tar.Header{Name: prog, Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	tw.Close()
	hash := fmt.Sprintf("e2e%d", time.Now().UnixNano()%1e9)
	return func(string) (string, []byte, error) { return hash, buf.Bytes(), nil }
}

func TestRealEngines(t *testing.T) {
	shim := shimTar(t)
	for _, e := range []string{"docker", "podman"} {
		t.Run(e, func(t *testing.T) {
			rt := realEngine(t, e)
			t.Cleanup(func() {
				h, _, _ := shim("")
				if err := rt.VolumeRemove(context.Background(), "hjk-shim-"+h, "hjk-shim-"+h+"-ready"); err != nil {
					t.Errorf("remove the shim volume: %v", err)
				}
			})
			// The shim volume is filled once, before the subtests: two
			// hjk of different data folders filling it at once race (one
			// may start a container on the volume before the other filled
			// it; see ensureShim).
			im, err := rt.ImageInspect(context.Background(), e2eImage)
			if err == nil {
				_, err = (&Manager{Shim: shim}).ensureShim(context.Background(), rt, e2eImage, im.Arch)
			}
			if err != nil {
				t.Fatalf("fill the shim volume: %v", err)
			}
			for _, uid := range []int{0, 1500} {
				t.Run(fmt.Sprintf("uid%d", uid), func(t *testing.T) {
					t.Parallel()
					testReal(t, rt, shim, uid)
				})
			}
		})
	}
}

func testReal(t *testing.T, rt runtime.Runtime, shim func(string) (string, []byte, error), uid int) {
	ctx := context.Background()
	r := newRepo(t)
	// The user's identity goes to the instance's repository (CI's HOME
	// has no global one): the commit inside is made with it.
	run(t, r.Dir, "git", "config", "user.name", "Host User")
	run(t, r.Dir, "git", "config", "user.email", "host@example.com")
	m := &Manager{
		Data:    filepath.Join(t.TempDir(), "hjk"),
		Runtime: func(string, runtime.Endpoint) (runtime.Runtime, error) { return rt, nil },
		Shim:    shim,
		HostUID: uid, HostGID: uid,
		GateNetwork: "host",
	}
	var in Instance
	t.Cleanup(func() {
		if in.Name != "" {
			m.removeParts(context.Background(), rt, in, false)
		}
		rt.Remove(context.Background(), m.Keeper())
		rt.VolumeRemove(context.Background(), m.Keeper())
	})
	in, act, err := m.Ensure(ctx, Want{Repo: r, Branch: "e2e", Image: e2eImage, Runtime: rt.Name()})
	if err != nil || act != Created {
		t.Fatalf("Ensure = %v, %v", act, err)
	}
	sh := func(script string) (string, error) {
		var out, errb bytes.Buffer
		spec := in.Exec([]string{"sh", "-c", script})
		spec.Stdout = &out
		spec.Stderr = &errb
		err := rt.Exec(ctx, spec)
		if err != nil {
			err = fmt.Errorf("%w: %s", err, errb.String())
		}
		return strings.TrimSpace(out.String()), err
	}
	// The agent runs as the host user's ids (or the image's user), with no
	// capability at all.
	wantID := "1000"
	if uid != 0 {
		wantID = fmt.Sprint(uid)
	}
	if out, err := sh("id -u; grep CapEff /proc/self/status; grep CapEff /proc/1/status; cat readme.txt; git status --porcelain; git log -1 --format=%s"); err != nil ||
		!strings.HasPrefix(out, wantID+"\nCapEff:\t0000000000000000\nCapEff:\t0000000000000000\nhello\nfirst") {
		t.Fatalf("inside: %v\n%s", err, out)
	}
	// It cannot change the .git the host sees, nor reach the host's git dir.
	if out, err := sh("(echo 'gitdir: /tmp/x' > .git) 2>/dev/null || echo refused; ls /.hjk/host/objects >/dev/null && echo objects; touch /.hjk/host/objects/x 2>/dev/null || echo ro; ls /.hjk/host/ | wc -l"); err != nil ||
		out != "refused\nobjects\nro\n1" {
		t.Errorf("guards: %v\n%q", err, out)
	}
	// A commit inside comes back; the file it wrote is the host user's.
	if out, err := sh("echo inside > made.txt && git add made.txt && git commit -qm 'made inside' && echo done"); err != nil || out != "done" {
		t.Fatalf("commit inside: %v\n%s", err, out)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(in.Folder, "made.txt"), &st); err != nil || int(st.Uid) != map[bool]int{true: 1000, false: uid}[uid == 0] {
		t.Errorf("made.txt on the host: uid %d, %v", st.Uid, err)
	}
	res, err := m.Pull(ctx, in, r)
	if err != nil || !res.Moved {
		t.Fatalf("Pull = %+v, %v", res, err)
	}
	if got := run(t, r.Dir, "git", "log", "-1", "--format=%s %an", "e2e"); got != "made inside Host User" {
		t.Errorf("host branch at %q", got)
	}
	run(t, r.Dir, "git", "fsck", "--strict")
	// The user edits in the folder on the host (as editors and shells make
	// files: 0666 less the umask); the agent can change it.
	os.WriteFile(filepath.Join(in.Folder, "host.txt"), []byte("by the user\n"), 0o666)
	if uid != 0 {
		os.Chown(filepath.Join(in.Folder, "host.txt"), uid, uid)
	}
	if out, err := sh("echo agent >> host.txt && cat host.txt && rm host.txt"); err != nil || out != "by the user\nagent" {
		t.Errorf("the agent editing the user's file: %v\n%s", err, out)
	}
	// A host commit reaches the instance.
	next := hostCommit(t, r, "e2e", "from the host")
	if res, err := m.Push(ctx, in, r); err != nil || !res.Moved {
		t.Fatalf("Push = %+v, %v", res, err)
	}
	if out, _ := sh("git log -1 --format=%s"); out != "from the host" {
		t.Errorf("instance at %q after push of %s", out, next)
	}
	// Stopped and started, recreated: the work stays.
	if err := m.Stop(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, act, err := m.Ensure(ctx, Want{Repo: r, Branch: "e2e"}); err != nil || act != Started {
		t.Fatalf("Ensure after stop: %v, %v", act, err)
	}
	os.WriteFile(filepath.Join(in.Folder, "wip.txt"), []byte("wip"), 0o666)
	if in, err = m.Recreate(ctx, in, "", r); err != nil {
		t.Fatal(err)
	}
	if out, err := sh("cat wip.txt; echo; git log -1 --format=%s"); err != nil || out != "wip\nfrom the host" {
		t.Errorf("after recreate: %v\n%s", err, out)
	}
	if err := m.Remove(ctx, in, false); err == nil {
		t.Fatal("removed an instance with uncommitted work")
	}
	os.Remove(filepath.Join(in.Folder, "wip.txt"))
	if err := m.Remove(ctx, in, false); err != nil {
		t.Fatal(err)
	}
	if vols, _ := rt.Volumes(ctx, map[string]string{LabelOwner: in.Name}); len(vols) != 0 {
		t.Errorf("volumes left: %v", vols)
	}
	in = Instance{}
}
