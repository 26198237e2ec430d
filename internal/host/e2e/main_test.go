// Package e2e runs the built hjk against real engines, docker and podman,
// on the Debian base scripts/test-images makes: instances, sessions,
// credentials kept out of argv, inspect and images.
//
// With HJK_E2E=1 an engine that is missing fails the tests; without it,
// they are skipped.
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
)

// engines are the runtimes every test runs against, side by side.
var engines = []string{"docker", "podman"}

// baseImage is the Debian with git that scripts/test-images makes once
// (debootstrap, import) and keeps for every test package.
const baseImage = "hjk-test/debian:bookworm"

var (
	root     string                // the module's folder
	hjkBin   string                // the hjk under test
	images   = map[string]string{} // engine -> agent image of this run
	problems = map[string]error{}  // engine -> why it cannot be used
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "hjke2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	root, _ = filepath.Abs("../../..")
	if err := build(tmp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tag := fmt.Sprintf("hjke2e-agent:%d", os.Getpid())
			err := prepare(e, tag, tmp)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				problems[e] = err
				return
			}
			images[e] = tag
		}()
	}
	wg.Wait()
	code := m.Run()
	for e, tag := range images {
		exec.Command(e, "rmi", "-f", tag).Run()
	}
	return code
}

// build builds hjk-init, then hjk embedding it. The hjk-init goes in
// through a build overlay, never into the source tree: other packages may
// be building from it meanwhile, and `make build` owns the copy there.
func build(tmp string) error {
	initBin := filepath.Join(tmp, "hjk-init")
	hjkBin = filepath.Join(tmp, "hjk")
	goBuild := func(out, pkg string, env []string, flags ...string) error {
		cmd := exec.Command("go", append(append([]string{"build", "-trimpath", "-o", out}, flags...), pkg)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
		return nil
	}
	if err := goBuild(initBin, "./cmd/hjk-init", []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goruntime.GOARCH}); err != nil {
		return err
	}
	embedded := filepath.Join(root, "internal/host/shimbin/bin/linux-"+goruntime.GOARCH, "hjk-init")
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{embedded: initBin}})
	if err != nil {
		return err
	}
	ovl := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovl, overlay, 0o644); err != nil {
		return err
	}
	return goBuild(hjkBin, "./cmd/hjk", nil, "-overlay", ovl)
}

// engine returns the agent image for engine e, or ends the test: a failure
// with HJK_E2E=1, else a skip.
func engine(t testing.TB, e string) string {
	t.Helper()
	if err := problems[e]; err != nil {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatalf("%s is needed with HJK_E2E=1: %v", e, err)
		}
		t.Skipf("%s: %v", e, err)
	}
	return images[e]
}

// standInClaude stands for the claude CLI: it shows that its session got
// the credential (a hash, never the value) and that hjk-init wrote its
// file, then waits for a line on stdin so the test can look around while
// the session runs. `claude --exit` ends at once (the benchmark).
const standInClaude = `#!/bin/sh
[ "$1" = --exit ] && exit 0
printf 'token-sha256=%s\n' "$(printf %s "$CLAUDE_CODE_OAUTH_TOKEN" | sha256sum | cut -d' ' -f1)"
[ -s "$HOME/.claude.json" ] && echo claude-json=written
echo ready
read line
echo bye
`

// prepare checks engine e answers, has scripts/test-images make the shared
// Debian base when it is missing, and builds this run's agent image on it.
func prepare(e, tag, tmp string) error {
	if _, err := exec.LookPath(e); err != nil {
		return fmt.Errorf("%s is not installed (.ci/install installs it)", e)
	}
	if out, err := exec.Command(e, "info").CombinedOutput(); err != nil {
		return fmt.Errorf("%s info: %v: %s (start the engine: see .ci/install)", e, err, lastLine(out))
	}
	if exec.Command(e, "image", "inspect", baseImage).Run() != nil {
		cmd := exec.Command("scripts/test-images", e)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if exec.Command(e, "image", "inspect", baseImage).Run() != nil {
			return fmt.Errorf("scripts/test-images %s did not make %s: %v: %s", e, baseImage, err, lastLine(out))
		}
	}
	dir := filepath.Join(tmp, "build-"+e)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(dir, "claude"), []byte(standInClaude), 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+baseImage+"\nCOPY claude /usr/local/bin/claude\n"), 0o644)
	if out, err := exec.Command(e, "build", "-q", "-t", tag, dir).CombinedOutput(); err != nil {
		return fmt.Errorf("%s build: %v: %s", e, err, lastLine(out))
	}
	return nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// forEngine runs f as a parallel subtest per engine.
func forEngine(t *testing.T, f func(t *testing.T, h *harness)) {
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			f(t, newHarness(t, e))
		})
	}
}
