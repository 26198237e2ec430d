package main

import (
	"crypto/rand"
	"encoding/hex"
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

// The test image: FROM scratch with hjk-init as its entrypoint, busybox,
// the probe, and a user database the tests control. Its tag is this test
// process's own, so concurrent runs never remove each other's image; the
// layers come from docker's cache after the first build.
var imageName = "hjkinit-test-image:" + randomHex()

const imagePasswd = `root:x:0:0:root:/root:/bin/sh
agent:x:1000:1000:agent:/home/agent:/bin/sh
bob:x:1001:1001::/home/bob:/bin/sh
`

const imageGroup = `root:x:0:
agent:x:1000:
bob:x:1001:
devs:x:2000:bob
`

const dockerfile = `FROM scratch
COPY rootfs/ /
COPY --chown=1000:1000 home/agent/ /home/agent/
COPY --chown=1001:1001 home/bob/ /home/bob/
ENTRYPOINT ["/hjk-init", "--"]
`

var (
	imageOnce  sync.Once
	imageErr   error
	imageBuilt bool
)

// image builds the test image once per test binary (docker's cache makes a
// rebuild cheap) and returns its name. Without a docker engine the test is
// skipped, or fails with HJK_E2E=1.
func image(t *testing.T) string {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatalf("docker engine not answering (HJK_E2E=1): %v: start dockerd, see environment.md", err)
		}
		t.Skipf("no docker engine: %v", err)
	}
	imageOnce.Do(func() { imageErr = buildImage() })
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imageName
}

func buildImage() error {
	dir, err := os.MkdirTemp("", "hjkinit-test-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox (busybox-static) is missing: %w", err)
	}
	files := map[string]string{
		"rootfs/etc/passwd": imagePasswd,
		"rootfs/etc/group":  imageGroup,
		"Dockerfile":        dockerfile,
	}
	for name, content := range files {
		if err := writeFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return err
		}
	}
	for _, d := range []string{"rootfs/bin", "rootfs/tmp", "rootfs/root", "home/agent", "home/bob"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(dir, "rootfs/tmp"), 0o1777)
	os.Chmod(filepath.Join(dir, "rootfs/root"), 0o700)
	for src, dst := range map[string]string{bin: "rootfs/hjk-init", probe: "rootfs/probe", busybox: "rootfs/bin/busybox"} {
		if err := copyFile(src, filepath.Join(dir, dst)); err != nil {
			return err
		}
	}
	if err := os.Symlink("busybox", filepath.Join(dir, "rootfs/bin/sh")); err != nil {
		return err
	}
	out, err := exec.Command("docker", "build", "-q", "-t", imageName, dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker build: %v\n%s", err, out)
	}
	imageBuilt = true
	return nil
}

func removeImage() {
	if imageBuilt {
		exec.Command("docker", "rmi", "-f", imageName).Run()
	}
}

func writeFile(path, content string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), mode)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// container returns a fresh container name, removed when the test ends.
func container(t *testing.T) string {
	t.Helper()
	name := "hjkinit-test-" + randomHex()
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	return name
}

func randomHex() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func docker(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, exec.Command("docker", args...))
}

func inspect(t *testing.T, name, format string) string {
	t.Helper()
	r := docker(t, "inspect", "-f", format, name)
	if r.code != 0 {
		t.Fatalf("docker inspect %s: %s", name, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// docker stop sends TERM to PID 1: hjk-init must pass it on and exit with
// the command's status at once, not after docker's 10 s grace period.
func TestContainerStop(t *testing.T) {
	t.Parallel()
	img, name := image(t), container(t)
	out := t.TempDir()
	r := docker(t, "run", "-d", "--name", name, "-v", out+":/out", img, "/probe", "signals", "/out/signals", "3")
	if r.code != 0 {
		t.Fatalf("docker run: %s", r.stderr)
	}
	waitFile(t, filepath.Join(out, "signals"), "ready")
	start := time.Now()
	r = docker(t, "stop", name)
	took := time.Since(start)
	if r.code != 0 {
		t.Fatalf("docker stop: %s", r.stderr)
	}
	t.Logf("docker stop took %v", took)
	if took >= 2*time.Second {
		t.Errorf("docker stop took %v, want under 2s: TERM did not reach the command", took)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "signals")); string(got) != "ready\nterminated\n" {
		t.Errorf("the probe saw %q, want ready and terminated", got)
	}
	if code := inspect(t, name, "{{.State.ExitCode}}"); code != "3" {
		t.Errorf("container exit code %s, want the probe's 3", code)
	}
}

// Without a command hjk-init is the container's idle init: sessions come in
// through docker exec, and docker stop ends them (TERM) and the container at
// once.
func TestContainerIdleStop(t *testing.T) {
	t.Parallel()
	img, name := image(t), container(t)
	out := t.TempDir()
	if r := docker(t, "run", "-d", "--name", name, "-v", out+":/out", img); r.code != 0 {
		t.Fatalf("docker run: %s", r.stderr)
	}
	if r := docker(t, "exec", name, "/hjk-init", "--", "/probe", "exit", "5"); r.code != 5 {
		t.Errorf("docker exec: exit %d, want 5; %s", r.code, r.stderr)
	}
	if r := docker(t, "exec", "-d", name, "/probe", "signals", "/out/session", "0"); r.code != 0 {
		t.Fatalf("docker exec -d: %s", r.stderr)
	}
	waitFile(t, filepath.Join(out, "session"), "ready")
	start := time.Now()
	if r := docker(t, "stop", name); r.code != 0 {
		t.Fatalf("docker stop: %s", r.stderr)
	}
	took := time.Since(start)
	t.Logf("docker stop took %v", took)
	if took >= 2*time.Second {
		t.Errorf("docker stop of an idle hjk-init took %v, want under 2s", took)
	}
	if code := inspect(t, name, "{{.State.ExitCode}}"); code != "0" {
		t.Errorf("idle init exit code %s, want 0", code)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "session")); string(got) != "ready\nterminated\n" {
		t.Errorf("the exec'd session saw %q, want ready and terminated", got)
	}
}

func TestContainerExitCodes(t *testing.T) {
	t.Parallel()
	img := image(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"zero", []string{"/probe", "exit", "0"}, 0, ""},
		{"child's code", []string{"/probe", "exit", "42"}, 42, ""},
		{"child's 255", []string{"/probe", "exit", "255"}, 255, ""},
		{"shell", []string{"sh", "-c", "exit 9"}, 9, ""},
		{"killed", []string{"/probe", "kill", "9"}, 137, ""},
		{"terminated", []string{"/probe", "kill", "15"}, 143, ""},
		{"not found", []string{"/nonexistent"}, 127, "hjk-init: /nonexistent: no such file or directory"},
		{"not in PATH", []string{"nosuchprogram"}, 127, "hjk-init: nosuchprogram: command not found in PATH"},
		{"not executable", []string{"/etc/passwd"}, 126, "hjk-init: /etc/passwd: permission denied"},
		{"bad payload", []string{"-e", "CODEX_AUTH_JSON=" + `{"tokens":{"id_token":"FAKEinit.not-a-jwt"}}`, "/probe", "exit", "0"}, 125, "CODEX_AUTH_JSON"},
		{"bad user", []string{"-e", "HJK_USER=carol", "/probe", "exit", "0"}, 125, `HJK_USER=carol: no user "carol" in /etc/passwd`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := container(t)
			var args []string
			cmd := tt.args
			for len(cmd) > 0 && cmd[0] == "-e" { // docker options before the image
				args, cmd = append(args, cmd[:2]...), cmd[2:]
			}
			r := docker(t, append(append(append([]string{"run", "--name", name}, args...), img), cmd...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("docker run: exit %d, stderr %q; want %d, %q", r.code, r.stderr, tt.code, tt.stderr)
			}
			// docker run's own 125-127 mean a failure before the entrypoint:
			// the container's recorded code must be hjk-init's.
			if code := inspect(t, name, "{{.State.ExitCode}}"); code != strconv.Itoa(tt.code) {
				t.Errorf("container exit code %s, want %d", code, tt.code)
			}
			assertNoSecret(t, "stderr", r.stderr)
		})
	}
}

// Orphans in a real container are reaped by hjk-init as PID 1.
func TestContainerReapsOrphans(t *testing.T) {
	t.Parallel()
	img := image(t)
	r := docker(t, "run", "--rm", img, "/probe", "orphans", "3")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "orphaned=3 zombies=0" {
		t.Errorf("exit %d, %q, want orphaned=3 zombies=0; stderr %q", r.code, r.stdout, r.stderr)
	}
}

// As root with HJK_USER, hjk-init writes the files into that user's home,
// owned by them, and runs the command as them, with their groups, HOME and
// a scrubbed environment.
func TestContainerSwitchesUser(t *testing.T) {
	t.Parallel()
	img := image(t)
	tests := []struct {
		user, home, id, owner string
	}{
		{"1000:1000", "/home/agent", "uid=1000 gid=1000 groups=[1000] home=/home/agent", "1000:1000"},
		{"agent", "/home/agent", "uid=1000 gid=1000 groups=[1000] home=/home/agent", "1000:1000"},
		{"bob", "/home/bob", "uid=1001 gid=1001 groups=[1001 2000] home=/home/bob", "1001:1001"},
		{"bob:devs", "/home/bob", "uid=1001 gid=2000 groups=[2000] home=/home/bob", "1001:2000"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			t.Parallel()
			files := []string{tt.home + "/.claude.json", tt.home + "/.gemini", tt.home + "/.gemini/oauth_creds.json", tt.home + "/.codex", tt.home + "/.codex/auth.json"}
			cmd := exec.Command("docker", "run", "--rm", "-w", "/tmp",
				"-e", "HJK_USER="+tt.user, "-e", "CLAUDE_CODE_OAUTH_TOKEN", "-e", "GEMINI_OAUTH_CREDS", "-e", "CODEX_AUTH_JSON",
				img, "sh", "-c", `/probe id "$@" && /probe env`, "sh")
			cmd.Args = append(cmd.Args, files...)
			cmd.Env = append(os.Environ(), "CLAUDE_CODE_OAUTH_TOKEN="+fakeClaudeToken,
				"GEMINI_OAUTH_CREDS="+fakeGeminiPayload(), "CODEX_AUTH_JSON="+fakeCodexPayload())
			r := runCmd(t, cmd)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, " "+tt.id+"\n") {
				t.Errorf("the command runs as\n%s\nwant %s", r.stdout, tt.id)
			}
			for _, f := range files {
				mode := "0600"
				if !strings.HasSuffix(f, ".json") {
					mode = "0700"
				}
				if want := f + ": owner=" + tt.owner + " mode=" + mode; !strings.Contains(r.stdout, want) {
					t.Errorf("want %q in\n%s", want, r.stdout)
				}
			}
			for _, gone := range []string{"GEMINI_OAUTH_CREDS", "CODEX_AUTH_JSON"} {
				if strings.Contains(r.stdout, "\n"+gone+"\n") {
					t.Errorf("%s is still in the command's environment", gone)
				}
			}
			if !strings.Contains(r.stdout, "\nCLAUDE_CODE_OAUTH_TOKEN\n") {
				t.Errorf("CLAUDE_CODE_OAUTH_TOKEN is missing from the command's environment")
			}
			assertNoSecret(t, "output", r.stdout+r.stderr)
		})
	}
}

// With docker run -t, COMMAND leads its own process group and owns the
// terminal's foreground; without a terminal it still has its own group.
func TestContainerForeground(t *testing.T) {
	t.Parallel()
	img := image(t)
	for _, tt := range []struct {
		tty  bool
		want string
	}{{true, "pgrp=1 fg=1"}, {false, "pgrp=1 fg=0"}} {
		args := []string{"run", "--rm"}
		if tt.tty {
			args = append(args, "-t")
		}
		r := docker(t, append(args, img, "/probe", "fg")...)
		if got := strings.TrimSpace(r.stdout); r.code != 0 || got != tt.want {
			t.Errorf("tty %v: exit %d, probe reported %q, want %q; stderr %q", tt.tty, r.code, got, tt.want, r.stderr)
		}
	}
}

// With HJK_USER, the files are written as that user, not as root, and
// never through the links the user planted in their home to root's files
// (~/.codex/auth.json -> a root-owned file, ~/.claude.json -> a root-only
// secret): hjk-init replaces them with regular files, warns, and runs the
// command; the files outside are neither written, read, moved nor chowned.
func TestContainerUserLinksOutsideHome(t *testing.T) {
	t.Parallel()
	img := image(t)
	script := `bb=/bin/busybox
$bb mkdir -p /home/agent/.codex && $bb chown 1000:1000 /home/agent/.codex
echo outside > /etc/outside && $bb chmod 644 /etc/outside
echo 'root only' > /etc/secret && $bb chmod 600 /etc/secret
$bb ln -s /etc/outside /home/agent/.codex/auth.json
$bb ln -s /etc/secret /home/agent/.claude.json
/hjk-init -- /probe exit 0
echo "rc=$?"
$bb cat /etc/outside /etc/secret
$bb ls -ln /etc
/probe id /home/agent/.codex/auth.json /home/agent/.claude.json
`
	cmd := exec.Command("docker", "run", "--rm", "--entrypoint", "/bin/sh",
		"-e", "HJK_USER=agent", "-e", "CLAUDE_CODE_OAUTH_TOKEN", "-e", "CODEX_AUTH_JSON",
		img, "-c", script)
	cmd.Env = append(os.Environ(), "CLAUDE_CODE_OAUTH_TOKEN="+fakeClaudeToken, "CODEX_AUTH_JSON="+fakeCodexPayload())
	r := runCmd(t, cmd)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "rc=0\noutside\nroot only\n") {
		t.Errorf("hjk-init failed, or a file outside the user's home was changed through a link:\n%s\nstderr %q", r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "broken") {
		t.Errorf("a file outside the user's home was moved aside")
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasSuffix(l, " outside") && !strings.Contains(l, " 0 ") {
			t.Errorf("the outside file changed owner: %s", l)
		}
	}
	for _, f := range []string{"/home/agent/.codex/auth.json", "/home/agent/.claude.json"} {
		if !strings.Contains(r.stdout, f+": owner=1000:1000 mode=0600") {
			t.Errorf("%s is not a regular file of the user's:\n%s", f, r.stdout)
		}
		if !strings.Contains(r.stderr, "warning: "+f+" is a symbolic link") {
			t.Errorf("no warning names %s: %q", f, r.stderr)
		}
	}
	assertNoSecret(t, "output", r.stdout+r.stderr)
}

// In a container whose user is root with HJK_USER set, the agent's user
// plants links and a FIFO in the session folder (NAME.log -> /root/.profile
// and the like) before hjk starts the next session there. The session
// server switches to the user before it creates anything, refuses the
// planted log and FIFO at once, replaces the planted state links, and
// writes nothing outside: /root/.profile is as it was, and everything the
// server made is the user's. (Before, the server kept root and appended
// the agent's output to /root/.profile.)
func TestContainerSessionPlantedFiles(t *testing.T) {
	t.Parallel()
	img := image(t)
	script := `bb=/bin/busybox
export HJK_SESSION_DIR=/.hjk-sessions
$bb mkdir -p /.hjk-sessions && $bb chmod 777 /.hjk-sessions
echo 'root profile' > /root/.profile && $bb chmod 600 /root/.profile
# The agent's user, by hjk-init's own switch, plants in the folder.
HJK_USER=agent /hjk-init -- /bin/sh -c '
  cd /.hjk-sessions
  /bin/busybox ln -s /root/.profile t.log
  /bin/busybox ln -s /root/.profile s.json
  /bin/busybox ln -s /root/.profile s.json.tmp
  /bin/busybox mkfifo f.log'
for n in t f; do
  HJK_USER=agent $bb timeout 10 /hjk-init session start --name $n -- /bin/sh -c 'echo pwned'
  echo "$n rc=$?"
done
# As root without HJK_USER, the links are refused all the same.
$bb timeout 10 /hjk-init session start --name t -- /bin/sh -c 'echo pwned'
echo "root t rc=$?"
HJK_USER=agent $bb timeout 10 /hjk-init session start --name s -- /probe id
echo "s rc=$?"
$bb sleep 1
$bb cat /root/.profile
/probe id /.hjk-sessions/s.json /.hjk-sessions/s.log /tmp/.hjk-sessions
$bb cat /.hjk-sessions/s.log
`
	r := docker(t, "run", "--rm", "--entrypoint", "/bin/sh", img, "-c", script)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{
		"t rc=125\n", "f rc=125\n", "root t rc=125\n", "s rc=0\n",
		"\nroot profile\n",
		"/.hjk-sessions/s.json: owner=1000:1000 mode=0644",
		"/.hjk-sessions/s.log: owner=1000:1000 mode=0644",
		"/tmp/.hjk-sessions: owner=1000:1000 mode=0700",
		"uid=1000 gid=1000 groups=[1000] home=/home/agent",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("want %q in\n%s\nstderr %q", want, r.stdout, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "pwned") {
		t.Errorf("the agent's output reached a file outside:\n%s", r.stdout)
	}
	for _, want := range []string{"/.hjk-sessions/t.log: a symbolic link", "/.hjk-sessions/f.log: not a regular file"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q does not say %q", r.stderr, want)
		}
	}
}
