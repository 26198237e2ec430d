package instance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hjk-dev/hjk/internal/guest/repo"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// fakeRuntime is an engine in memory that counts the calls made to it.
// Its volumes are folders, and an exec of `hjk-init repo ...` runs the real
// guest code (package repo) on the container's folders as mounted, with
// real git: what the host does with the answers is then tested for real.
type fakeRuntime struct {
	mu         sync.Mutex
	root       string // volumes live here
	containers map[string]runtime.Container
	mounts     map[string][]runtime.Mount
	images     map[string]string // ref -> user
	volumes    map[string]map[string]string
	calls      map[string]int
	specs      []runtime.Spec
	execs      [][]string
	// onExec, when set, answers an exec before the defaults do (ok true).
	onExec func(spec runtime.ExecSpec) (code int, ok bool)
	// ep is the engine it says it is; remote, that it sees no host path
	// (a bind mount is refused as a remote engine refuses it), and sent
	// counts what execs read on stdin.
	ep     runtime.Endpoint
	remote bool
	sent   int64
	// copying, when set, holds every CopyTo until it is closed;
	// copyDelay is how long a CopyTo takes; filled holds the volumes a
	// copy into a container's mount finished in.
	copying   chan struct{}
	copyDelay time.Duration
	filled    map[string]bool
	// onCreate, when set, may refuse a Create; down makes Remove fail as
	// an engine that does not answer.
	onCreate func(runtime.Spec) error
	down     bool
}

func newFake(root string, images ...string) *fakeRuntime {
	f := &fakeRuntime{root: root, containers: map[string]runtime.Container{}, mounts: map[string][]runtime.Mount{},
		images: map[string]string{}, volumes: map[string]map[string]string{}, calls: map[string]int{}}
	for _, i := range images {
		f.images[i] = "agent"
	}
	return f
}

func (f *fakeRuntime) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeRuntime) call(op string) {
	f.mu.Lock()
	f.calls[op]++
	f.mu.Unlock()
}

func (f *fakeRuntime) Name() string { return "fake" }

func (f *fakeRuntime) Endpoint() runtime.Endpoint { return f.ep.Normal() }

func (f *fakeRuntime) Version(context.Context) (string, error) { f.call("version"); return "1", nil }

func (f *fakeRuntime) volumeDir(name string) string { return filepath.Join(f.root, "volumes", name) }

func (f *fakeRuntime) Create(_ context.Context, s runtime.Spec) error {
	f.call("create")
	if f.onCreate != nil {
		if err := f.onCreate(s); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.containers[s.Name]; ok {
		return &runtime.ExitError{Args: []string{"fake", "run"}, Code: 125, Stderr: fmt.Sprintf("Error response from daemon: Conflict. The container name \"/%s\" is already in use", s.Name)}
	}
	if _, ok := f.images[s.Image]; !ok {
		return &runtime.ExitError{Args: []string{"fake", "run"}, Code: 125, Stderr: "no such image"}
	}
	for _, m := range s.Mounts {
		if f.remote && !m.Volume {
			return &runtime.ExitError{Args: []string{"fake", "run"}, Code: 125, Stderr: `Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ` + m.Source}
		}
	}
	for _, m := range s.Mounts {
		if m.Volume {
			if _, ok := f.volumes[m.Source]; !ok {
				f.volumes[m.Source] = map[string]string{}
			}
			os.MkdirAll(f.volumeDir(m.Source), 0o755)
		}
	}
	// Creating takes a while on a real engine: widen any race window.
	time.Sleep(20 * time.Millisecond)
	state := "running"
	if s.NoStart {
		state = "created"
	}
	f.containers[s.Name] = runtime.Container{ID: s.Name, Name: s.Name, Image: s.Image, State: state, Labels: s.Labels, Created: time.Now()}
	f.mounts[s.Name] = s.Mounts
	f.specs = append(f.specs, s)
	return nil
}

func (f *fakeRuntime) setState(name, state string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[name]
	if !ok {
		return fmt.Errorf("%s: %w", name, runtime.ErrNoSuchContainer)
	}
	c.State = state
	f.containers[name] = c
	return nil
}

func (f *fakeRuntime) Start(_ context.Context, name string) error {
	f.call("start")
	return f.setState(name, "running")
}

func (f *fakeRuntime) Stop(_ context.Context, name string, _ time.Duration) error {
	f.call("stop")
	return f.setState(name, "exited")
}

func (f *fakeRuntime) Remove(_ context.Context, name string) error {
	f.call("remove")
	if f.down {
		return &runtime.UnavailableError{Runtime: "fake", Fix: "the fake engine does not answer"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, name)
	delete(f.mounts, name)
	return nil
}

func (f *fakeRuntime) Inspect(_ context.Context, name string) (runtime.Container, error) {
	f.call("inspect")
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[name]
	if !ok {
		return runtime.Container{}, fmt.Errorf("%s: %w", name, runtime.ErrNoSuchContainer)
	}
	return c, nil
}

func (f *fakeRuntime) List(_ context.Context, labels map[string]string) ([]runtime.Container, error) {
	f.call("list")
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runtime.Container
next:
	for _, c := range f.containers {
		for k, v := range labels {
			if c.Labels[k] != v {
				continue next
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// hostPath is where a path of the container is on the host, through its
// mounts (the longest target that holds it).
func (f *fakeRuntime) hostPath(name, p string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	best, src := "", ""
	for _, m := range f.mounts[name] {
		if (p == m.Target || strings.HasPrefix(p, m.Target+"/")) && len(m.Target) > len(best) {
			best, src = m.Target, m.Source
			if m.Volume {
				src = f.volumeDir(m.Source)
			}
		}
	}
	if best == "" {
		return filepath.Join(f.root, "rootfs", name, p)
	}
	return src + strings.TrimPrefix(p, best)
}

func (f *fakeRuntime) Exec(_ context.Context, spec runtime.ExecSpec) error {
	f.call("exec")
	f.mu.Lock()
	c, ok := f.containers[spec.Container]
	f.execs = append(f.execs, spec.Cmd)
	on := f.onExec
	f.mu.Unlock()
	if !ok {
		return &runtime.ExitError{Args: []string{"fake", "exec"}, Code: 1, Stderr: "Error response from daemon: No such container: " + spec.Container}
	}
	if !c.Running() {
		return &runtime.ExitError{Args: []string{"fake", "exec"}, Code: 1, Stderr: "Error response from daemon: Container " + spec.Container + " is not running"}
	}
	if on != nil {
		if code, ok := on(spec); ok {
			return exitErr(code)
		}
	}
	stdout := spec.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	stdin := spec.Stdin
	if stdin == nil || !spec.Interactive {
		stdin = strings.NewReader("") // without -i, the engine passes nothing on
	}
	stdin = &counter{r: stdin, n: &f.sent, mu: &f.mu}
	if len(spec.Cmd) >= 2 && spec.Cmd[0] == layout.InitPath && spec.Cmd[1] == "repo" {
		args := slices.Clone(spec.Cmd[2:])
		for i, a := range args {
			if a == layout.HostObjects {
				args[i] = f.hostPath(spec.Container, a)
			}
		}
		var errb bytes.Buffer
		r := &repo.Repo{GitDir: f.hostPath(spec.Container, layout.GitDir), Workdir: f.hostPath(spec.Container, layout.Workdir), Stderr: &errb}
		os.MkdirAll(r.Workdir, 0o755)
		if code := r.Main(args, stdin, stdout); code != 0 {
			return &runtime.ExitError{Args: []string{"fake", "exec"}, Code: code, Stderr: errb.String()}
		}
		return nil
	}
	if len(spec.Cmd) >= 3 && spec.Cmd[1] == "session" && spec.Cmd[2] == "list" {
		io.WriteString(stdout, "[]\n")
	}
	return nil
}

// counter counts what is read through it.
type counter struct {
	r  io.Reader
	n  *int64
	mu *sync.Mutex
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.mu.Lock()
	*c.n += int64(n)
	c.mu.Unlock()
	return n, err
}

func exitErr(code int) error {
	if code == 0 {
		return nil
	}
	return &runtime.ExitError{Args: []string{"fake", "exec"}, Code: code}
}

func (f *fakeRuntime) Build(context.Context, runtime.BuildSpec) error { f.call("build"); return nil }

func (f *fakeRuntime) ImageExists(_ context.Context, ref string) (bool, error) {
	f.call("image")
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.images[ref]
	return ok, nil
}

func (f *fakeRuntime) ImageInspect(_ context.Context, ref string) (runtime.Image, error) {
	f.call("image")
	f.mu.Lock()
	defer f.mu.Unlock()
	user, ok := f.images[ref]
	if !ok {
		return runtime.Image{}, fmt.Errorf("image %s: %w", ref, runtime.ErrNoSuchImage)
	}
	return runtime.Image{ID: ref, User: user, OS: "linux", Arch: "amd64"}, nil
}

func (f *fakeRuntime) CopyTo(_ context.Context, name, dir string, r io.Reader) error {
	f.call("cp")
	if f.copying != nil {
		<-f.copying
	}
	io.Copy(io.Discard, r)
	time.Sleep(f.copyDelay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.filled == nil {
		f.filled = map[string]bool{}
	}
	for _, m := range f.mounts[name] {
		if m.Volume && m.Target == dir {
			f.filled[m.Source] = true
		}
	}
	return nil
}

// isFilled reports whether a copy into volume v finished.
func (f *fakeRuntime) isFilled(v string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.filled[v]
}

func (f *fakeRuntime) VolumeCreate(_ context.Context, name string, labels map[string]string) error {
	f.call("volume-create")
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.volumes[name]; !ok {
		f.volumes[name] = labels
	}
	return os.MkdirAll(f.volumeDir(name), 0o755)
}

func (f *fakeRuntime) VolumeRemove(_ context.Context, names ...string) error {
	f.call("volume-rm")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range names {
		delete(f.volumes, n)
		os.RemoveAll(f.volumeDir(n))
	}
	return nil
}

func (f *fakeRuntime) Volumes(_ context.Context, labels map[string]string) ([]string, error) {
	f.call("volumes")
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
next:
	for n, l := range f.volumes {
		for k, v := range labels {
			if l[k] != v {
				continue next
			}
		}
		out = append(out, n)
	}
	return out, nil
}
