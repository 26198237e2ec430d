package testinfra_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/testinfra"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Main(m)) }

func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano()%1e9)
}

// run runs cmd with stdin and returns its stdout and exit code; a failure to
// start, or a signal, fails the test.
func run(t *testing.T, cmd *exec.Cmd, stdin string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return out.String(), ee.ExitCode()
	}
	t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, errb.String())
	return "", 0
}

func must(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return string(out)
}

// TestRemoteEngine runs a container on each second engine, execs into it
// with stdin, checks that a host path does not exist there, and removes it.
func TestRemoteEngine(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"docker", "podman"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := testinfra.RemoteEngine(t, kind)
			img := testinfra.ProbeImage(t)
			e.Load(t, img)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			// A folder with a file in it on the host is not there on the engine.
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "marker"), []byte("host-only\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, _ := run(t, e.Command(ctx, "run", "--rm", "-v", dir+":/probe", img, "sh", "-c", "cat /probe/marker"), "")
			if strings.Contains(out, "host-only") {
				t.Fatalf("the %s engine sees the host's %s: it shares the host's filesystem", kind, dir)
			}

			name := unique("testinfra-e2e")
			must(t, e.Command(ctx, "run", "-d", "--name", name, img, "sleep", "600"))
			t.Cleanup(func() { _ = e.Command(context.Background(), "rm", "-f", name).Run() })
			out, code := run(t, e.Command(ctx, "exec", "-i", name, "sh", "-c", "cat; exit 3"), "through stdin\n")
			if out != "through stdin\n" || code != 3 {
				t.Fatalf("exec -i: stdout %q exit %d, want %q exit 3", out, code, "through stdin\n")
			}
			// The docker CLI against the engine (for Podman, its Docker API).
			dk := exec.CommandContext(ctx, "docker", "exec", "-i", name, "cat")
			dk.Env = append(os.Environ(), e.Env()...)
			if out, code := run(t, dk, "docker api\n"); out != "docker api\n" || code != 0 {
				t.Fatalf("docker exec -i with %v: stdout %q exit %d", e.Env(), out, code)
			}
			must(t, e.Command(ctx, "rm", "-f", name))
			if out := must(t, e.Command(ctx, "ps", "-a", "-q", "--filter", "name="+name)); strings.TrimSpace(out) != "" {
				t.Fatalf("container %s is still there after rm: %s", name, out)
			}
		})
	}
}

// TestKubernetes runs a pod from a local image, execs into it with stdin
// and exit codes, and deletes it.
func TestKubernetes(t *testing.T) {
	t.Parallel()
	c := testinfra.Kubernetes(t)
	img := testinfra.ProbeImage(t)
	c.Load(t, img)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	ns := unique("testinfra-e2e")
	must(t, c.Command(ctx, "create", "namespace", ns))
	t.Cleanup(func() { _ = c.Command(context.Background(), "delete", "namespace", ns, "--wait=false").Run() })
	// The namespace's default service account comes a moment after it.
	for i := 0; c.Command(ctx, "-n", ns, "get", "serviceaccount", "default").Run() != nil; i++ {
		if i > 100 {
			t.Fatalf("no default service account in %s", ns)
		}
		time.Sleep(200 * time.Millisecond)
	}
	must(t, c.Command(ctx, "-n", ns, "run", "probe", "--image", img, "--image-pull-policy", "Never",
		"--restart", "Never", "--command", "--", "sh", "-c", `trap "exit 0" TERM; sleep 600 & wait`))
	must(t, c.Command(ctx, "-n", ns, "wait", "--for=condition=Ready", "pod/probe", "--timeout=120s"))
	out, code := run(t, c.Command(ctx, "-n", ns, "exec", "-i", "probe", "--", "sh", "-c", "cat; exit 5"), "through stdin\n")
	if out != "through stdin\n" || code != 5 {
		t.Fatalf("kubectl exec -i: stdout %q exit %d, want %q exit 5", out, code, "through stdin\n")
	}
	// kubectl on PATH from the cluster's Env, as hjk will find it.
	k := exec.CommandContext(ctx, "kubectl", "-n", ns, "get", "pod", "probe", "-o", "jsonpath={.status.phase}")
	k.Env = append(os.Environ(), c.Env()...)
	if path, ok := lookPathIn("kubectl", c.Env()); !ok || path != c.Kubectl {
		t.Fatalf("kubectl on the cluster's PATH is %q, want %q", path, c.Kubectl)
	}
	k.Path = c.Kubectl
	if out := must(t, k); out != "Running" {
		t.Fatalf("pod phase %q, want Running", out)
	}
	must(t, c.Command(ctx, "-n", ns, "delete", "pod", "probe", "--wait=true"))
	if out, code := run(t, c.Command(ctx, "-n", ns, "get", "pod", "probe"), ""); code == 0 {
		t.Fatalf("pod probe is still there after delete: %s", out)
	}
}

// lookPathIn finds file on the PATH that env sets.
func lookPathIn(file string, env []string) (string, bool) {
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(p) {
				if fi, err := os.Stat(filepath.Join(dir, file)); err == nil && !fi.IsDir() {
					return filepath.Join(dir, file), true
				}
			}
		}
	}
	return "", false
}
