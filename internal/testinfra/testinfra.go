// Package testinfra hands end-to-end tests the infrastructure that the
// remote-engine and Kubernetes work is tested on, started by the repository's
// own scripts: a second Docker engine or a Podman service that shares no
// filesystem with the host (scripts/remote-engine), and a real single-node
// Kubernetes cluster (scripts/k8s).
//
// It is for tests only: nothing but _test.go files may import it (a test
// checks). It runs those two scripts, which need root and start daemons,
// a container on the host's Docker, a bridge and cgroups, as their headers
// say; and the docker, podman and kubectl clients. It touches nothing else.
//
// A test binary starts each part at most once, when the first test asks for
// it, and lets go of it when the binary ends: call Main from TestMain. The
// parts are shared by every test binary on the machine that uses them (the
// scripts count their holders and stop a part when the last one lets go),
// so tests must name what they create uniquely and remove it.
//
// When a part cannot be had, the test is skipped, or fails when HJK_E2E=1.
package testinfra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// How long a script may take. A cold Kubernetes build alone takes about ten
// minutes on two cores; CI builds it before the tests (scripts/k8s build).
const (
	engineTimeout  = 5 * time.Minute
	clusterTimeout = 25 * time.Minute // under go test -timeout 30m (scripts/test)
	loadTimeout    = 10 * time.Minute
)

// Names of the shared parts, as the scripts know them.
const (
	engineDocker = "e2e-docker"
	enginePodman = "e2e-podman"
)

// state is what this test binary started. It is package state because tests
// anywhere in the binary ask for the parts, and only Main, after the last
// test, may let go of them.
var state struct {
	sync.Mutex
	inMain bool
	parts  map[string]*part
}

// part is one started piece: what its script printed, or why it failed, and
// the script call that lets go of it.
type part struct {
	done    chan struct{}
	env     map[string]string
	err     error
	release []string
}

// Main runs the tests, then lets go of what they started. Use it as
// os.Exit(testinfra.Main(m)) in TestMain.
func Main(m *testing.M) int {
	state.Lock()
	state.inMain = true
	state.Unlock()
	code := m.Run()
	if err := releaseAll(); err != nil {
		fmt.Fprintf(os.Stderr, "testinfra: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func releaseAll() error {
	state.Lock()
	parts := state.parts
	state.parts = nil
	state.Unlock()
	var errs []error
	for _, p := range parts {
		<-p.done
		if p.err != nil || p.release == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
		_, err := script(ctx, p.release...)
		cancel()
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// unavailable skips the test, or fails it under HJK_E2E=1.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("HJK_E2E") == "1" {
		t.Fatalf("HJK_E2E=1 but %s", msg)
	}
	t.Skipf("%s (set HJK_E2E=1 to fail instead)", msg)
}

// get starts the part called key with the script call up, once per binary,
// and returns what the script printed.
func get(t testing.TB, key string, timeout time.Duration, up, release []string) map[string]string {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "%s needs root (it starts daemons)", key)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		unavailable(t, "%s needs docker on PATH: %v", key, err)
	}
	state.Lock()
	if !state.inMain {
		state.Unlock()
		t.Fatalf("testinfra: call os.Exit(testinfra.Main(m)) from TestMain, so that %s is let go of", key)
	}
	p, ok := state.parts[key]
	if !ok {
		p = &part{done: make(chan struct{}), release: release}
		if state.parts == nil {
			state.parts = map[string]*part{}
		}
		state.parts[key] = p
	}
	state.Unlock()
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		out, err := script(ctx, up...)
		cancel()
		if err == nil {
			p.env, err = parseEnv(out)
		}
		p.err = err
		close(p.done)
	}
	<-p.done
	if p.err != nil {
		unavailable(t, "%s is not available: %v", key, p.err)
	}
	return p.env
}

// script runs one of the repository's scripts (args[0] under scripts/) and
// returns its standard output; its log lines (stderr) go into the error.
func script(ctx context.Context, args ...string) ([]byte, error) {
	dir, err := repoRoot()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "scripts", args[0])
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", append([]string{path}, args[1:]...)...)
	cmd.Dir = dir
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// The daemons a script starts keep no pipe of ours open (they log to
	// files), but a stuck one must not hang the test binary.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("scripts/%s: %w\n%s", strings.Join(args, " "), err, lastLines(stderr.String(), 15))
	}
	return stdout.Bytes(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// repoRoot is the nearest folder up from the working directory (a test's
// package folder) that holds the scripts.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "remote-engine")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no scripts/remote-engine above the working directory")
		}
		dir = up
	}
}

// parseEnv reads the KEY=VALUE lines the scripts' up and env commands print.
// A line without "=", with a key that is not a shell name or with a carriage
// return inside is an error: the scripts print nothing else on stdout.
func parseEnv(out []byte) (map[string]string, error) {
	env := map[string]string{}
	for line := range strings.Lines(string(out)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !validName(k) || strings.Contains(v, "\r") {
			return nil, fmt.Errorf("unexpected output line %q", line)
		}
		env[k] = v
	}
	return env, nil
}

func validName(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Engine is a container engine that shares no filesystem with the host.
type Engine struct {
	Name string // the name scripts/remote-engine knows it by
	Kind string // "docker" or "podman"
	Host string // its API address, unix:///run/hjk-test-remote/NAME/KIND.sock
	env  map[string]string
}

// RemoteEngine returns the shared second engine of kind "docker" or
// "podman", starting it if this binary has not.
func RemoteEngine(t testing.TB, kind string) *Engine {
	t.Helper()
	var name string
	switch kind {
	case "docker":
		name = engineDocker
	case "podman":
		name = enginePodman
		if _, err := exec.LookPath("podman"); err != nil {
			unavailable(t, "a remote podman needs the podman client on PATH: %v", err)
		}
	default:
		t.Fatalf("testinfra: unknown engine kind %q", kind)
	}
	pid := strconv.Itoa(os.Getpid())
	env := get(t, "remote "+kind, engineTimeout,
		[]string{"remote-engine", "up", name, kind, "--holder", pid},
		[]string{"remote-engine", "down", name, "--holder", pid})
	host := env["DOCKER_HOST"]
	if kind == "podman" {
		host = env["CONTAINER_HOST"]
	}
	if host == "" {
		t.Fatalf("testinfra: scripts/remote-engine up %s printed no address: %v", name, env)
	}
	return &Engine{Name: name, Kind: kind, Host: host, env: env}
}

// Env returns the variables that aim a client at e: DOCKER_HOST (Podman's
// socket speaks Docker's API too) and, for Podman, CONTAINER_HOST.
func (e *Engine) Env() []string {
	env := []string{"DOCKER_HOST=" + e.env["DOCKER_HOST"]}
	if v, ok := e.env["CONTAINER_HOST"]; ok {
		env = append(env, "CONTAINER_HOST="+v)
	}
	return env
}

// Command returns the engine's own client (docker or podman) aimed at e.
func (e *Engine) Command(ctx context.Context, args ...string) *exec.Cmd {
	if e.Kind == "podman" {
		return exec.CommandContext(ctx, "podman", append([]string{"--url", e.Host}, args...)...)
	}
	return exec.CommandContext(ctx, "docker", append([]string{"-H", e.Host}, args...)...)
}

// Load copies images from the host's docker into e; an image e has with the
// same ID is not copied again.
func (e *Engine) Load(t testing.TB, images ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	if _, err := script(ctx, append([]string{"remote-engine", "load", e.Name}, images...)...); err != nil {
		t.Fatalf("testinfra: %v", err)
	}
}

// Cluster is the shared single-node Kubernetes cluster.
type Cluster struct {
	Kubeconfig string // the admin's kubeconfig
	Kubectl    string // the kubectl built with the cluster
}

// Kubernetes returns the shared cluster, starting it if this binary has not.
func Kubernetes(t testing.TB) *Cluster {
	t.Helper()
	pid := strconv.Itoa(os.Getpid())
	env := get(t, "kubernetes", clusterTimeout,
		[]string{"k8s", "up", "--holder", pid},
		[]string{"k8s", "down", "--holder", pid})
	c := &Cluster{Kubeconfig: env["KUBECONFIG"], Kubectl: env["KUBECTL"]}
	if c.Kubeconfig == "" || c.Kubectl == "" {
		t.Fatalf("testinfra: scripts/k8s up printed no KUBECONFIG or KUBECTL: %v", env)
	}
	return c
}

// Env returns the variables that aim kubectl at c: KUBECONFIG, and PATH with
// the cluster's kubectl first.
func (c *Cluster) Env() []string {
	return []string{
		"KUBECONFIG=" + c.Kubeconfig,
		"PATH=" + filepath.Dir(c.Kubectl) + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
}

// Command returns kubectl aimed at c.
func (c *Cluster) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, c.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
}

// Load imports images from the host's docker into the cluster's containerd
// (pods use them with imagePullPolicy: Never or IfNotPresent); an image
// loaded before with the same ID is not imported again.
func (c *Cluster) Load(t testing.TB, images ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	if _, err := script(ctx, append([]string{"k8s", "load"}, images...)...); err != nil {
		t.Fatalf("testinfra: %v", err)
	}
}

// ProbeImage returns a small image in the host's docker (FROM scratch, a
// static busybox: sh, cat, sleep, nc), built once, for tests of the engines
// and the cluster themselves.
func ProbeImage(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	out, err := script(ctx, "remote-engine", "image", "probe")
	if err != nil {
		unavailable(t, "the probe image: %v", err)
	}
	return strings.TrimSpace(string(out))
}
