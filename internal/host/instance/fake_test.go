package instance

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runtime"
)

// fakeRuntime is an engine in memory that counts the calls made to it.
type fakeRuntime struct {
	mu         sync.Mutex
	containers map[string]runtime.Container
	images     map[string]bool
	calls      map[string]int
	specs      []runtime.Spec
}

func newFake(images ...string) *fakeRuntime {
	f := &fakeRuntime{containers: map[string]runtime.Container{}, images: map[string]bool{}, calls: map[string]int{}}
	for _, i := range images {
		f.images[i] = true
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

func (f *fakeRuntime) Version(context.Context) (string, error) { f.call("version"); return "1", nil }

func (f *fakeRuntime) Create(_ context.Context, s runtime.Spec) error {
	f.call("create")
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.containers[s.Name]; ok {
		return fmt.Errorf("name %s in use", s.Name)
	}
	// Creating takes a while on a real engine: widen any race window.
	time.Sleep(20 * time.Millisecond)
	f.containers[s.Name] = runtime.Container{ID: s.Name, Name: s.Name, Image: s.Image, State: "running", Labels: s.Labels, Created: time.Now()}
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
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, name)
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

func (f *fakeRuntime) Exec(context.Context, runtime.ExecSpec) error { f.call("exec"); return nil }

func (f *fakeRuntime) Build(context.Context, runtime.BuildSpec) error { f.call("build"); return nil }

func (f *fakeRuntime) ImageExists(_ context.Context, ref string) (bool, error) {
	f.call("image")
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[ref], nil
}

func (f *fakeRuntime) ImageInspect(ctx context.Context, ref string) (runtime.Image, error) {
	ok, _ := f.ImageExists(ctx, ref)
	if !ok {
		return runtime.Image{}, fmt.Errorf("image %s: %w", ref, runtime.ErrNoSuchImage)
	}
	return runtime.Image{ID: ref, User: "agent", OS: "linux", Arch: "amd64"}, nil
}

func (f *fakeRuntime) CopyTo(context.Context, string, string, io.Reader) error {
	f.call("cp")
	return nil
}

func (f *fakeRuntime) VolumeCreate(context.Context, string, map[string]string) error {
	f.call("volume-create")
	return nil
}

func (f *fakeRuntime) VolumeRemove(context.Context, ...string) error {
	f.call("volume-rm")
	return nil
}

func (f *fakeRuntime) Volumes(context.Context, map[string]string) ([]string, error) {
	f.call("volumes")
	return nil, nil
}
