// Package e2e runs the built hjk against real engines, docker and podman,
// as a user would: instances with repositories of their own, sessions that
// outlive the terminal, commits that come back as checked bundles, the
// credential gate, and a container that attacks the host it runs on.
//
// The harness (harness_test.go) is one user's world per test: a private
// HOME, a file store, a git repository, hjk set to one engine, the test
// image and `gate.network host` (dockerd here has no bridge). Other e2e
// files in this package (the gate's) build on it; keep it small.
//
// With HJK_E2E=1 an engine that is missing fails the tests; without it,
// they are skipped.
package e2e

import (
	"crypto/sha256"
	"encoding/hex"
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

// Images scripts/test-images makes once for every test package: the
// Debian base with git, and hjk's agent image on it (the real CLIs, USER
// agent, uid 1000).
const (
	baseImage   = "hjk-test/debian:bookworm"
	agentsImage = "hjk-test/agents:latest"
)

var (
	root     string                // the module's folder
	hjkBin   string                // the hjk under test
	shimHash string                // names the shim volume it fills (hjk-shim-<hash>)
	images   = map[string]string{} // engine -> test image of this run
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
		wg.Go(func() {
			tag := fmt.Sprintf("hjke2e-agent-%d:latest", os.Getpid())
			err := prepare(e, tag, tmp)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				problems[e] = err
				return
			}
			images[e] = tag
		})
	}
	wg.Wait()
	code := m.Run()
	for e, tag := range images {
		exec.Command(e, "rmi", "-f", tag).Run()
		// The shim volume this hjk filled; never -f (podman's would remove
		// the containers using it), so one still in use stays.
		exec.Command(e, "volume", "rm", "hjk-shim-"+shimHash).Run()
	}
	return code
}

// build builds hjk-init and hjk-gate, then hjk embedding them. They go in
// through a build overlay, never into the source tree: other packages may
// be building from it meanwhile, and `make build` owns the copies there.
func build(tmp string) error {
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
	replace := map[string]string{}
	sum := sha256.New()
	for _, prog := range []string{"hjk-init", "hjk-gate"} { // shimbin.Programs' order
		bin := filepath.Join(tmp, prog)
		if err := goBuild(bin, "./cmd/"+prog, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goruntime.GOARCH}); err != nil {
			return err
		}
		replace[filepath.Join(root, "internal/host/shimbin/bin/linux-"+goruntime.GOARCH, prog)] = bin
		b, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		sum.Write([]byte(prog + "\x00"))
		sum.Write(b)
	}
	shimHash = hex.EncodeToString(sum.Sum(nil)[:6])
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

// engine returns the test image for engine e, or ends the test: a failure
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

// standInClaude stands for the claude CLI: it shows which token its
// session got (a hash, never the value: with the gate a placeholder, with
// --credentials inject the stored one) and that hjk-init wrote its file,
// then waits for a line on stdin so the test can look around while the
// session runs. `claude --exit` ends at once (the benchmark).
const standInClaude = `#!/bin/sh
[ "$1" = --exit ] && exit 0
printf 'token-sha256=%s\n' "$(printf %s "$CLAUDE_CODE_OAUTH_TOKEN" | sha256sum | cut -d' ' -f1)"
[ -s "$HOME/.claude.json" ] && echo claude-json=written
echo ready
read line
echo bye
`

// standInCodex stands for codex: it prints a hash of the refresh token its
// auth.json holds (never the token), and with "rotate" does what codex does
// when it refreshes: it rewrites auth.json with a new single-use refresh
// token ("<old>-rotated") and a later last_refresh, by rename, 0600.
const standInCodex = `#!/bin/sh
set -eu
f="${CODEX_HOME:-$HOME/.codex}/auth.json"
rt=$(sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p' "$f")
printf 'refresh-sha256=%s\n' "$(printf %s "$rt" | sha256sum | cut -d' ' -f1)"
if [ "${1:-}" = rotate ]; then
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  sed -e "s/\"refresh_token\":\"[^\"]*\"/\"refresh_token\":\"$rt-rotated\"/" \
      -e "s/\"last_refresh\":\"[^\"]*\"/\"last_refresh\":\"$now\"/" "$f" >"$f.tmp"
  chmod 600 "$f.tmp"
  mv "$f.tmp" "$f"
  echo rotated
fi
`

// testDockerfile is the test image: the Debian base, a user agent of uid
// 1000 (hjk runs agents as the image's non-root USER) with a folder of its
// own first on PATH (as images with ~/.local/bin on PATH have: the agent
// can put a git of its own there), the stand-ins, and a file only root
// may read.
const testDockerfile = `FROM ` + baseImage + `
RUN useradd -m -u 1000 agent && install -d -o agent -g agent /home/agent/bin && \
    printf root-only-e2eFAKE >/root/only-root && chmod 600 /root/only-root
COPY claude codex /usr/local/bin/
ENV PATH=/home/agent/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER agent
`

// prepare checks engine e answers, has scripts/test-images make the shared
// images when they are missing, and builds this run's test image.
func prepare(e, tag, tmp string) error {
	if _, err := exec.LookPath(e); err != nil {
		return fmt.Errorf("%s is not installed (.ci/install installs it)", e)
	}
	if out, err := exec.Command(e, "info").CombinedOutput(); err != nil {
		return fmt.Errorf("%s info: %v: %s (start the engine: see .ci/install)", e, err, lastLine(out))
	}
	have := func() bool {
		return exec.Command(e, "image", "inspect", baseImage).Run() == nil && exec.Command(e, "image", "inspect", agentsImage).Run() == nil
	}
	if !have() {
		cmd := exec.Command("scripts/test-images", e)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if !have() {
			return fmt.Errorf("scripts/test-images %s did not make %s and %s: %v: %s", e, baseImage, agentsImage, err, lastLine(out))
		}
	}
	dir := filepath.Join(tmp, "build-"+e)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, text := range map[string]string{"claude": standInClaude, "codex": standInCodex} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			return err
		}
	}
	// A label of its own: another run building the same content would
	// share the image, and its rmi -f would take it from this one.
	df := testDockerfile + "LABEL dev.hjk.e2e.tag=" + tag + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(e, "build", "-q", "-t", tag, dir).CombinedOutput(); err != nil {
		return fmt.Errorf("%s build: %v: %s", e, err, lastLine(out))
	}
	return warm(e, tag, dir)
}

// warm makes and removes one instance, so that the shim volume of this hjk
// is filled before the tests run side by side: two hjk of different data
// folders filling it at once race (one may start a container on the
// volume before the other filled it).
func warm(e, image, dir string) error {
	home := filepath.Join(dir, "home")
	repo := filepath.Join(dir, "repo")
	env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"), "HJK_STORE=file", "HJK_RUNTIME="+e, "NO_COLOR=1")
	for _, args := range [][]string{
		{"git", "init", "-q", "-b", "main", repo},
		{"git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "first"},
		{hjkBin, "config", "image", image},
		{hjkBin, "config", "gate.network", "host"},
		{hjkBin, "run", "warm", "--agent", "shell", "true"},
		{hjkBin, "rm", "warm", "-f"},
	} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = dir, env
		if args[0] == hjkBin {
			cmd.Dir = repo
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("warm up (%s): %v: %s", strings.Join(args[1:], " "), err, lastLine(out))
		}
	}
	return nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// forEngine runs f as a parallel subtest per engine, each with a harness
// of its own.
func forEngine(t *testing.T, f func(t *testing.T, h *harness)) {
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			f(t, newHarness(t, e))
		})
	}
}
