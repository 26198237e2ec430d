package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// requireEngine returns the driver for name when its engine answers. When
// it doesn't, the test fails under HJK_E2E=1 (CI) and is skipped otherwise.
func requireEngine(t *testing.T, name string) Runtime {
	t.Helper()
	r, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := r.Version(ctx); err != nil {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatalf("HJK_E2E=1 but %s is unusable: %v", name, err)
		}
		t.Skipf("%s is unusable (set HJK_E2E=1 to fail instead): %v", name, err)
	}
	return r
}

// buildBusybox builds a tiny image FROM scratch holding the static busybox:
// there is no registry to pull from. Each engine builds its own.
func buildBusybox(t *testing.T, r Runtime, tag string) {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatal("HJK_E2E=1 but busybox (apt busybox-static) is missing")
		}
		t.Skip("busybox (apt busybox-static) is missing")
	}
	dir := t.TempDir()
	b, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	df := "FROM scratch\nCOPY busybox /bin/busybox\nARG MARK\nLABEL dev.hjk.test.mark=$MARK\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = r.Build(context.Background(), BuildSpec{Tag: tag, Context: dir, Args: map[string]string{"MARK": "m1"}, Stdout: &out})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	t.Cleanup(func() { _ = exec.Command(r.Name(), "rmi", "-f", tag).Run() })
}

func TestEngines(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"docker", "podman"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testEngine(t, requireEngine(t, name))
		})
	}
}

func testEngine(t *testing.T, r Runtime) {
	ctx := context.Background()
	id := fmt.Sprintf("runtime-test-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	tag := "localhost/" + id + ":1"
	buildBusybox(t, r, tag)

	if ok, err := r.ImageExists(ctx, tag); !ok || err != nil {
		t.Fatalf("ImageExists(%s) = %v, %v", tag, ok, err)
	}
	if ok, err := r.ImageExists(ctx, "localhost/"+id+"-missing:1"); ok || err != nil {
		t.Fatalf("ImageExists(missing) = %v, %v", ok, err)
	}

	mnt := t.TempDir()
	if err := os.WriteFile(filepath.Join(mnt, "hello"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := id + "-c"
	t.Cleanup(func() { _ = exec.Command(r.Name(), "rm", "-f", name).Run() })
	err := r.Create(ctx, Spec{
		Name: name, Image: tag,
		Labels:     map[string]string{"dev.hjk.test": id, "dev.hjk.branch": "feat/x"},
		Mounts:     []Mount{{Source: mnt, Target: "/m", ReadOnly: true}},
		Workdir:    "/m",
		Env:        []string{"PLAIN=visible"},
		Entrypoint: []string{"/bin/busybox"},
		Cmd:        []string{"sleep", "300"},
	})
	if err != nil {
		t.Fatal(err)
	}

	c, err := r.Inspect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Running() || c.Name != name || c.Labels["dev.hjk.branch"] != "feat/x" || c.Created.IsZero() {
		t.Errorf("Inspect: %+v", c)
	}

	cs, err := r.List(ctx, map[string]string{"dev.hjk.test": id})
	if err != nil || len(cs) != 1 || cs[0].Name != name || !cs[0].Running() || cs[0].Labels["dev.hjk.branch"] != "feat/x" {
		t.Errorf("List by label: %+v, %v", cs, err)
	}
	cs, err = r.List(ctx, map[string]string{"dev.hjk.test": id, "dev.hjk.branch": "other"})
	if err != nil || len(cs) != 0 {
		t.Errorf("List by a label no container has: %+v, %v", cs, err)
	}

	// A secret passed as -e NAME: it arrives, and is in neither argv nor
	// inspect. The test compares a hash so the value is never printed.
	const secretVar = "HJK_RUNTIME_TEST_TOKEN"
	secret := "sk-ant-oat01-FAKE-" + id
	spec := ExecSpec{
		Container: name,
		Cmd:       []string{"/bin/busybox", "sh", "-c", `printf %s "$` + secretVar + `" | /bin/busybox sha256sum; cat hello; echo "$PLAIN"`},
		Env:       []string{secretVar},
		Values:    []string{secretVar + "=" + secret},
	}
	var out, errOut bytes.Buffer
	spec.Stdout, spec.Stderr = &out, &errOut
	if err := r.Exec(ctx, spec); err != nil {
		t.Fatalf("Exec: %v\n%s", err, errOut.String())
	}
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(secret)))
	if got := out.String(); !strings.HasPrefix(got, sum) || !strings.Contains(got, "from the host\nvisible\n") {
		t.Errorf("Exec output does not show the secret's hash, the mount and the plain variable:\n%s", strings.ReplaceAll(got, secret, "<secret>"))
	}
	args, err := execArgsOf(r, spec)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(args, " "), secret) {
		t.Error("the secret is in the exec argv")
	}
	raw, err := exec.Command(r.Name(), "container", "inspect", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte(secretVar)) {
		t.Error("the secret or its variable is in the container's inspect output")
	}
	if !bytes.Contains(raw, []byte("PLAIN=visible")) {
		t.Error("inspect lacks the plain variable: is this the right container?")
	}

	// Exit codes come back: the command's own, and 126/127 from the engine.
	err = r.Exec(ctx, ExecSpec{Container: name, Cmd: []string{"/bin/busybox", "sh", "-c", "exit 7"}})
	if code, ok := ExitCode(err); !ok || code != 7 {
		t.Errorf("Exec exit 7: %v", err)
	}
	err = r.Exec(ctx, ExecSpec{Container: name, Cmd: []string{"/no/such/program"}})
	if code, ok := ExitCode(err); !ok || (code != 126 && code != 127) {
		t.Errorf("Exec of a missing program: %v", err)
	}
	// -t gives the command a terminal in the container.
	var tty bytes.Buffer
	if err := r.Exec(ctx, ExecSpec{Container: name, Cmd: []string{"/bin/busybox", "tty"}, TTY: true, Stdout: &tty, Stderr: &tty}); err != nil {
		t.Errorf("Exec with TTY: %v\n%s", err, tty.String())
	} else if !strings.HasPrefix(tty.String(), "/dev/pts/") {
		t.Errorf("Exec with TTY: tty says %q", tty.String())
	}
	// The read-only mount is read-only.
	err = r.Exec(ctx, ExecSpec{Container: name, Cmd: []string{"/bin/busybox", "touch", "/m/new"}})
	if _, ok := ExitCode(err); !ok {
		t.Errorf("writing to a read-only mount: %v", err)
	}

	// busybox sleep as PID 1 ignores SIGTERM: stop kills it after 1 s.
	if err := r.Stop(ctx, name, time.Second); err != nil {
		t.Fatal(err)
	}
	if c, err := r.Inspect(ctx, name); err != nil || c.State != "exited" {
		t.Errorf("after Stop: %+v, %v", c, err)
	}
	if err := r.Start(ctx, name); err != nil {
		t.Fatal(err)
	}
	if c, err := r.Inspect(ctx, name); err != nil || !c.Running() {
		t.Errorf("after Start: %+v, %v", c, err)
	}
	if err := r.Remove(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Inspect(ctx, name); !errors.Is(err, ErrNoSuchContainer) {
		t.Errorf("Inspect after Remove: %v", err)
	}
	if err := r.Remove(ctx, name); err != nil {
		t.Errorf("Remove twice: %v", err)
	}
	for verb, f := range map[string]func() error{
		"Stop":  func() error { return r.Stop(ctx, name, time.Second) },
		"Start": func() error { return r.Start(ctx, name) },
	} {
		if err := f(); !errors.Is(err, ErrNoSuchContainer) {
			t.Errorf("%s of a missing container: %v", verb, err)
		}
	}
	if cs, err := r.List(ctx, map[string]string{"dev.hjk.test": id}); err != nil || len(cs) != 0 {
		t.Errorf("List after Remove: %+v, %v", cs, err)
	}
}

func execArgsOf(r Runtime, spec ExecSpec) ([]string, error) {
	switch d := r.(type) {
	case *engine:
		return d.execArgs(spec)
	case *apple:
		return d.execArgs(spec)
	}
	return nil, fmt.Errorf("unknown driver %T", r)
}

// DOCKER_HOST is the user's: hjk passes it through to the CLI untouched, so
// pointing it nowhere gives the "does not answer" error with its fix.
func TestDockerHostHonoured(t *testing.T) {
	requireEngine(t, "docker")
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/hjk-runtime-test.sock")
	_, err := Docker().Version(context.Background())
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "daemon does not answer") || !strings.Contains(err.Error(), "hjk-runtime-test.sock") {
		t.Errorf("got %v", err)
	}
}

// While a session runs, no process on the host carries the secret in its
// command line (what `ps -eo args` shows).
func TestExecSecretNotInHostArgv(t *testing.T) {
	t.Parallel()
	r := requireEngine(t, "docker")
	ctx := context.Background()
	id := fmt.Sprintf("runtime-test-argv-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	tag := "localhost/" + id + ":1"
	buildBusybox(t, r, tag)
	name := id + "-c"
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	if err := r.Create(ctx, Spec{Name: name, Image: tag, Entrypoint: []string{"/bin/busybox"}, Cmd: []string{"sleep", "300"}}); err != nil {
		t.Fatal(err)
	}
	secret := "sk-FAKE-argv-" + id
	done := make(chan error, 1)
	started := make(chan struct{})
	var out syncBuffer
	go func() {
		done <- r.Exec(ctx, ExecSpec{Container: name,
			Cmd: []string{"/bin/busybox", "sh", "-c", `echo started; sleep 2; test -n "$HJK_ARGV_TOKEN"`},
			Env: []string{"HJK_ARGV_TOKEN"}, Values: []string{"HJK_ARGV_TOKEN=" + secret},
			Stdout: &out, Stderr: &out})
	}()
	go func() {
		for !strings.Contains(out.String(), "started") {
			time.Sleep(20 * time.Millisecond)
		}
		close(started)
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("exec ended early: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("exec did not start")
	}
	ps, err := exec.Command("ps", "-eo", "args").Output()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ps, []byte(secret)) {
		t.Error("the secret is in a host process's argv")
	}
	if !bytes.Contains(ps, []byte("exec -e HJK_ARGV_TOKEN "+name)) {
		t.Error("the docker exec process was not seen: the check above proves nothing")
	}
	if err := <-done; err != nil {
		t.Errorf("the secret did not arrive: %v", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
