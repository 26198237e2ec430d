// Package gatee2e shows the credential gate working end to end: the built
// hjk (with hjk-init and hjk-gate inside), the real claude, codex and
// gemini CLIs of the test image (scripts/test-images), and a fake HTTPS
// upstream with its own CA (package fakeapi) on the host's loopback, on
// docker and podman. The gate and the keeper run on the host network
// (`hjk config gate.network host`): that is where the fake listens, and the
// only network this machine's dockerd gives containers a way out on.
//
// It has a package of its own, with a harness of its own, so it does not
// depend on the rest of the host's end-to-end suite.
//
// With HJK_E2E=1 a missing engine or image fails the tests; without it,
// they are skipped.
package gatee2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
)

// engines are the runtimes every test runs against.
var engines = []string{"docker", "podman"}

// image is the agent image scripts/test-images makes: the real CLIs, USER
// agent.
const image = "hjk-test/agents:latest"

var (
	root     string                  // the module's folder
	hjkBin   string                  // the hjk under test
	problems = map[string]error{}    // engine -> why it cannot be used
	shims    = map[string][]string{} // engine -> shim volumes there before the run
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "hjk-gatee2e-")
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
	for _, e := range engines {
		problems[e] = check(e)
		shims[e] = shimVolumes(e)
		sweep(e)
	}
	code := m.Run()
	// The shim volume this run's hjk made (named by the binaries' hash) is
	// removed when no one else had it and nothing uses it any more.
	for _, e := range engines {
		for _, v := range shimVolumes(e) {
			if !slices.Contains(shims[e], v) {
				exec.Command(e, "volume", "rm", v).Run()
			}
		}
	}
	return code
}

// sweep removes the instances an earlier run of these tests left behind
// when it was killed before its cleanup: those whose repository, in a
// test's temporary folder, is gone.
func sweep(e string) {
	names, _ := exec.Command(e, "ps", "-aq", "--filter", "label=dev.hjk.instance=1").Output()
	if len(strings.Fields(string(names))) == 0 {
		return
	}
	out, _ := exec.Command(e, append([]string{"inspect", "--format", `{{.Name}} {{index .Config.Labels "dev.hjk.repo"}}`}, strings.Fields(string(names))...)...).Output()
	for _, line := range strings.Split(string(out), "\n") {
		name, repo, ok := strings.Cut(strings.TrimPrefix(line, "/"), " ")
		if !ok || !strings.HasPrefix(repo, os.TempDir()+"/TestGate") && !strings.HasPrefix(repo, os.TempDir()+"/TestInject") {
			continue
		}
		if _, err := os.Stat(repo); err == nil {
			continue
		}
		exec.Command(e, "rm", "-f", name, name+"-gate").Run()
		for _, v := range []string{"-data", "-work", "-gate"} {
			exec.Command(e, "volume", "rm", "-f", name+v).Run()
		}
	}
}

func shimVolumes(e string) []string {
	out, _ := exec.Command(e, "volume", "ls", "-q", "--filter", "label=dev.hjk.role=shim").Output()
	return strings.Fields(string(out))
}

// build builds hjk-init and hjk-gate for linux, then hjk embedding them
// through a build overlay, never in the source tree (`make build` owns
// the copies there).
func build(tmp string) error {
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
	for _, b := range []string{"hjk-init", "hjk-gate"} {
		out := filepath.Join(tmp, b)
		if err := goBuild(out, "./cmd/"+b, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goruntime.GOARCH}, "-ldflags=-s -w"); err != nil {
			return err
		}
		replace[filepath.Join(root, "internal/host/shimbin/bin/linux-"+goruntime.GOARCH, b)] = out
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return err
	}
	ovl := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovl, overlay, 0o644); err != nil {
		return err
	}
	hjkBin = filepath.Join(tmp, "hjk")
	return goBuild(hjkBin, "./cmd/hjk", nil, "-overlay", ovl)
}

// check says why engine e cannot be used, or nil.
func check(e string) error {
	if _, err := exec.LookPath(e); err != nil {
		return fmt.Errorf("%s is not installed (.ci/install installs it)", e)
	}
	if out, err := exec.Command(e, "info").CombinedOutput(); err != nil {
		return fmt.Errorf("%s info: %v: %s (start the engine: see .ci/install)", e, err, lastLine(out))
	}
	if exec.Command(e, "image", "inspect", image).Run() != nil {
		cmd := exec.Command("scripts/test-images", e)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if exec.Command(e, "image", "inspect", image).Run() != nil {
			return fmt.Errorf("scripts/test-images %s did not make %s: %v: %s", e, image, err, lastLine(out))
		}
	}
	return nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// needEngine ends the test when engine e cannot be used: a failure with
// HJK_E2E=1, else a skip.
func needEngine(t testing.TB, e string) {
	t.Helper()
	if err := problems[e]; err != nil {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatalf("%s is needed with HJK_E2E=1: %v", e, err)
		}
		t.Skipf("%s: %v", e, err)
	}
}

// forEngine runs f as a parallel subtest per engine.
func forEngine(t *testing.T, f func(t *testing.T, e string)) {
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			needEngine(t, e)
			f(t, e)
		})
	}
}
