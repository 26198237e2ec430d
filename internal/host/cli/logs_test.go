package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
)

// inspectOnly is an engine that answers Inspect and nothing else: the
// container stops after `runs` calls.
type inspectOnly struct {
	runtime.Runtime
	calls atomic.Int32
	runs  int32
	gone  bool
}

func (e *inspectOnly) Inspect(_ context.Context, name string) (runtime.Container, error) {
	if e.calls.Add(1) > e.runs {
		if e.gone {
			return runtime.Container{}, runtime.ErrNoSuchContainer
		}
		return runtime.Container{Name: name, State: "exited"}, nil
	}
	return runtime.Container{Name: name, State: "running"}, nil
}

// `hjk logs -f` of a session whose state still says running stops once
// its container no longer runs (stopped, or removed), with all the log out.
func TestFollowStopsWithContainer(t *testing.T) {
	t.Parallel()
	for _, gone := range []bool{false, true} {
		eng := &inspectOnly{runs: 2, gone: gone}
		app := NewApp(nil, nil, nil, func(string) string { return "" })
		app.OpenRuntime = func(string) (runtime.Runtime, error) { return eng, nil }
		running := app.containerRunning(context.Background(), instance.Instance{Name: "cli-logs-test", Runtime: "docker"})
		p := filepath.Join(t.TempDir(), "a.log")
		os.WriteFile(p, []byte("first\nlast\n"), 0o644)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		done := make(chan error, 1)
		go func() {
			done <- followLog(&out, f, func() bool { return false }, running, time.Millisecond, 5*time.Millisecond)
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("logs -f goes on after the container stopped")
		}
		f.Close()
		if out.String() != "first\nlast\n" {
			t.Errorf("gone=%v: printed %q", gone, out.String())
		}
		if n := eng.calls.Load(); n != 3 {
			t.Errorf("gone=%v: %d Inspect calls, want 3", gone, n)
		}
	}
}

// An engine that cannot answer does not end a follow; the session's state
// does.
func TestFollowEndsWithState(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "a.log")
	os.WriteFile(p, []byte("x"), 0o644)
	f, _ := os.Open(p)
	defer f.Close()
	var n atomic.Int32
	var out bytes.Buffer
	err := followLog(&out, f, func() bool { return n.Add(1) > 5 }, func() bool { return true }, time.Millisecond, time.Millisecond)
	if err != nil || out.String() != "x" {
		t.Errorf("%q, %v", out.String(), err)
	}
}

// `hjk logs` prints no file the container linked its log to, and does not
// hang on a FIFO planted in its place.
func TestLogsRefusesPlanted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "auth.json")
	os.WriteFile(secret, []byte("host-secret"), 0o600)
	os.Symlink(secret, filepath.Join(dir, "link.log"))
	syscall.Mkfifo(filepath.Join(dir, "fifo.log"), 0o644)
	os.WriteFile(filepath.Join(dir, "link.json"), []byte(`{"name":"link","state":"running"}`), 0o644)
	for _, n := range []string{"link.log", "fifo.log"} {
		done := make(chan error, 1)
		go func() {
			f, err := instance.OpenSessionFile(filepath.Join(dir, n))
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s opened", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: hangs", n)
		}
	}
	os.Remove(filepath.Join(dir, "link.json"))
	os.Symlink(secret, filepath.Join(dir, "link.json"))
	if st, err := readSession(dir, "link"); err == nil {
		t.Errorf("read a linked state: %+v", st)
	}
	if list, _ := readSessions(dir); len(list) != 0 {
		t.Errorf("listed %+v", list)
	}
}
