// Package remotee2e runs the built hjk against engines that share no
// filesystem with the host (scripts/remote-engine, through
// internal/testinfra): a dockerd and a Podman service, each in a container
// of its own, reached over a unix socket (and, for the benchmark, over TCP
// on loopback through a proxy that counts the bytes). DOCKER_HOST or
// CONTAINER_HOST is set for the first command only: every later one finds
// the engine in hjk's catalog.
//
// With HJK_E2E=1 a missing part fails the tests; without it, they are
// skipped. It touches the engines it is handed, temporary folders, and the
// host's docker (to build the test image, named uniquely, removed after).
package remotee2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/testinfra"
)

// baseImage is the Debian with git that scripts/test-images makes.
const baseImage = "hjk-test/debian:bookworm"

// image is this package's agent image: the base with a user of its own
// (uid 1000) and a stand-in claude. Its content is fixed, so docker's
// build cache gives it the same ID each run and scripts/remote-engine load
// copies it into an engine only once.
const image = "hjk-test/remote-agent:1"

var (
	root   string // the module's folder
	hjkBin string // the hjk under test
)

func TestMain(m *testing.M) { os.Exit(testinfra.Main(testMain(m))) }

// testMain builds hjk before the tests run; a failure is reported by
// every test that needs it (setup).
func testMain(m *testing.M) *testing.M {
	root, _ = filepath.Abs("../../..")
	tmp, err := os.MkdirTemp("", "hjk-remotee2e-")
	if err == nil {
		err = build(tmp)
	}
	buildErr = err
	return m
}

var buildErr error

// build builds hjk-init and hjk-gate for this machine's architecture, then
// hjk embedding them through a build overlay: the source tree is left as
// it is (make build owns the copies there).
func build(tmp string) error {
	hjkBin = filepath.Join(tmp, "hjk")
	goBuild := func(out, pkg string, env []string, flags ...string) error {
		cmd := exec.Command("go", append(append([]string{"build", "-trimpath", "-o", out}, flags...), pkg)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", pkg, err, b)
		}
		return nil
	}
	replace := map[string]string{}
	for _, prog := range []string{"hjk-init", "hjk-gate"} {
		out := filepath.Join(tmp, prog)
		if err := goBuild(out, "./cmd/"+prog, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goruntime.GOARCH}); err != nil {
			return err
		}
		replace[filepath.Join(root, "internal/host/shimbin/bin/linux-"+goruntime.GOARCH, prog)] = out
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return err
	}
	ovl := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovl, overlay, 0o644); err != nil {
		return err
	}
	return goBuild(hjkBin, "./cmd/hjk", nil, "-overlay", ovl)
}

// standInClaude stands for the claude CLI: it shows a hash of the token
// its session got (never the value), then waits for a line.
const standInClaude = `#!/bin/sh
printf 'token-sha256=%s\n' "$(printf %s "$CLAUDE_CODE_OAUTH_TOKEN" | sha256sum | cut -d' ' -f1)"
read line
echo bye
`

// agentImage builds the package's image in the host's docker (cached) and
// loads it into e.
func agentImage(t testing.TB, e *testinfra.Engine) string {
	t.Helper()
	if out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", baseImage).CombinedOutput(); err != nil {
		fail(t, "%s is missing (scripts/test-images docker): %v: %s", baseImage, err, out)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "claude"), []byte(standInClaude), 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+baseImage+"\n"+
		"RUN useradd -m -u 1000 agent\nCOPY claude /usr/local/bin/claude\nUSER agent\n"), 0o644)
	cmd := exec.Command("docker", "build", "-q", "-t", image, dir)
	// The COPY's file time is not part of the cache key: the same content
	// gives the same image.
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	e.Load(t, image)
	if e.Kind == "podman" {
		return "localhost/" + image
	}
	return image
}

// fail ends the test: a failure with HJK_E2E=1, else a skip.
func fail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("HJK_E2E") == "1" {
		t.Fatalf("HJK_E2E=1 but %s", msg)
	}
	t.Skip(msg)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
