package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/host/instance"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// standIn runs `hjk run BRANCH --agent claude ARGS...` (the stand-in,
// which waits for a line), reads what it says up to "ready", and returns
// it with a function that ends the session and returns hjk's stderr.
func standIn(t *testing.T, h *harness, args ...string) (map[string]string, func() string) {
	t.Helper()
	cmd := h.command(append([]string{"run"}, args...)...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	got := map[string]string{}
	for lines.Scan() && lines.Text() != "ready" {
		k, v, _ := strings.Cut(lines.Text(), "=")
		got[k] = v
	}
	return got, func() string {
		t.Helper()
		io.WriteString(stdin, "done\n")
		for lines.Scan() && lines.Text() != "bye" {
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("session: %v (stderr: %d bytes)", err, stderr.Len())
		}
		return stderr.String()
	}
}

// TestCredentialNotLeaked: with the gate (the default) a session gets a
// placeholder, and the stored token is nowhere the container can see: not
// in the host's process list, the inspect of the agent's, the gate's or
// the keeper's container, the image, the container's files, its volume or
// its workspace. With --credentials inject the session gets the token
// itself, handed over on stdin: not on a command line, in an exec's
// environment (podman keeps those in its state database) or inspect.
func TestCredentialNotLeaked(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		token := h.storeClaude()
		got, end := standIn(t, h, "creds", "--agent", "claude")
		if got["token-sha256"] == "" || got["token-sha256"] == sha(token) || got["token-sha256"] == sha("") {
			t.Errorf("with the gate the agent got %s, want a placeholder", map[bool]string{true: "the stored token", false: "no token"}[got["token-sha256"] == sha(token)])
		}
		if got["claude-json"] != "written" {
			t.Error("hjk-init did not write .claude.json for the agent")
		}
		// The session is running now.
		in := h.ps()["creds"]
		h.noSecretAnywhere(token, in)
		if n := scanFor(t, token, h.engine, "save", h.image); n < 1<<20 {
			t.Errorf("`%s save` gave only %d bytes", h.engine, n)
		}
		if out := end(); strings.Contains(out, token) {
			t.Error("the credential is in hjk's error output")
		}

		// --credentials inject: the token itself, over stdin.
		got, end = standIn(t, h, "inj", "--agent", "claude", "--credentials", "inject")
		if got["token-sha256"] != sha(token) {
			t.Error("with --credentials inject the agent did not get the stored token")
		}
		inj := h.ps()["inj"]
		if inj.Credentials != instance.CredentialsInject {
			t.Errorf("hjk ps: credentials %q, want inject", inj.Credentials)
		}
		// The session's exec on the host's process list (only its own
		// lines: other tests run engines' commands meanwhile). A loaded
		// machine may show the list before it is there: a few looks.
		var mine []string
		creds := func(l string) bool { return strings.Contains(l, "hjk-init --creds ") }
		for i := 0; i < 20 && !slices.ContainsFunc(mine, creds); i++ {
			mine = nil
			ps, err := exec.Command("ps", "-eo", "args").Output()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(ps, []byte(token)) {
				t.Error("the credential is in the host's process list")
			}
			for _, l := range strings.Split(string(ps), "\n") {
				if strings.Contains(l, " exec ") && strings.Contains(l, inj.Name) {
					mine = append(mine, l)
				}
			}
			if !slices.ContainsFunc(mine, creds) {
				time.Sleep(250 * time.Millisecond)
			}
		}
		if !slices.ContainsFunc(mine, creds) || slices.ContainsFunc(mine, func(l string) bool { return strings.Contains(l, "-e CLAUDE_CODE_OAUTH_TOKEN") }) {
			t.Errorf("the session is not `%s exec ... hjk-init --creds ID`, or has the token's variable in -e: %q", h.engine, mine)
		}
		inspect, _ := exec.Command(h.engine, "inspect", inj.Name).Output()
		if len(inspect) < 100 || bytes.Contains(inspect, []byte(token)) {
			t.Errorf("the credential is in `%s inspect` (%d bytes)", h.engine, len(inspect))
		}
		if out := end(); strings.Contains(out, token) {
			t.Error("the credential is in hjk's error output")
		}
		if h.engine == "podman" {
			// Podman records each exec, with its environment, in its state
			// database; the hand-over keeps the token out of it.
			graph, err := exec.Command("podman", "info", "--format", "{{.Store.GraphRoot}}").Output()
			if err != nil {
				t.Fatal(err)
			}
			scanFor(t, token, "cat", filepath.Join(strings.TrimSpace(string(graph)), "libpod", "bolt_state.db"))
		}
	})
}

// noSecretAnywhere fails the test when secret is in the host's process
// list, the inspect of the instance's containers, the agent container's
// files, its data volume or its workspace.
func (h *harness) noSecretAnywhere(secret string, in instance.Instance) {
	t := h.t
	t.Helper()
	ps, err := exec.Command("ps", "-eo", "args").Output()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ps, []byte(secret)) {
		t.Error("the credential is in the host's process list")
	}
	names := []string{in.Name}
	if in.Credentials == instance.CredentialsGate {
		names = append(names, in.GateName(), instance.KeeperName(h.data))
	}
	for _, name := range names {
		inspect, err := exec.Command(h.engine, "inspect", name).Output()
		if err != nil || len(inspect) < 100 {
			t.Fatalf("%s inspect %s: %v", h.engine, name, err)
		}
		if bytes.Contains(inspect, []byte(secret)) {
			t.Errorf("the credential is in `%s inspect %s`", h.engine, name)
		}
	}
	scanFor(t, secret, h.engine, "export", in.Name)
	scanFor(t, secret, h.engine, "run", "--rm", "--name", in.Name+"-scan", "--network", "none", "--user", "0",
		"-v", in.DataVolume()+":/d:ro", "--entrypoint", "tar", h.image, "-C", "/d", "-c", ".")
	if in.Folder != "" {
		filepath.WalkDir(in.Folder, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
					t.Errorf("the credential is in the workspace's %s", p)
				}
			}
			return nil
		})
	}
}

// TestCredentialNotLeakedSession: a session under hjk-init's session
// server (hjk run -d), handed the token itself (--credentials inject),
// gets it, while the value is nowhere in the host's process list, the
// container's inspect, files or volume (where the session's log and state
// live), the session's log, or hjk's output.
func TestCredentialNotLeakedSession(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		token := h.storeClaude()
		var said strings.Builder
		hjk := func(args ...string) string {
			t.Helper()
			r := h.hjk(args...)
			said.WriteString(r.stdout + r.stderr)
			if r.code != 0 {
				t.Fatalf("hjk %s: exit %d (stderr: %s)", strings.Join(args, " "), r.code, strings.ReplaceAll(r.stderr, token, "<token>"))
			}
			return r.stdout
		}
		if out := hjk("run", "-d", "screds", "--agent", "claude", "--name", "c", "--credentials", "inject"); strings.TrimSpace(out) != "c" {
			t.Fatalf("run -d printed %q, want the session's name", strings.ReplaceAll(out, token, "<token>"))
		}
		h.waitSession("screds", "c", "running")
		var logs string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !strings.Contains(logs, "ready"); time.Sleep(100 * time.Millisecond) {
			logs = hjk("logs", "screds", "c")
		}
		if !strings.Contains(logs, "token-sha256="+sha(token)) || !strings.Contains(logs, "claude-json=written") {
			t.Errorf("the session did not get the stored credential: its log has %d bytes, ready: %v", len(logs), strings.Contains(logs, "ready"))
		}
		in := h.ps()["screds"]
		// The session is running now.
		h.noSecretAnywhere(token, in)
		hjk("kill", "screds/c")
		h.waitSession("screds", "c", "exited")
		h.noSecretAnywhere(token, in)
		hjk("ps", "screds")
		hjk("logs", "screds", "c")
		if strings.Contains(said.String(), token) {
			t.Error("the credential is in hjk's output")
		}
	})
}

// scanFor runs a command and fails the test if its output holds secret,
// reading it as a stream (an image is hundreds of MB). It returns the
// number of bytes read.
func scanFor(t testing.TB, secret string, args ...string) int64 {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	out, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var n int64
	buf := make([]byte, 1<<20)
	keep := len(secret) - 1
	var tail []byte
	for {
		k, err := out.Read(buf)
		n += int64(k)
		chunk := append(tail, buf[:k]...)
		if bytes.Contains(chunk, []byte(secret)) {
			t.Errorf("the credential is in the output of %s", strings.Join(args, " "))
			break
		}
		if len(chunk) > keep {
			tail = append([]byte(nil), chunk[len(chunk)-keep:]...)
		} else {
			tail = chunk
		}
		if err != nil {
			break
		}
	}
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, lastLine(stderr.Bytes()))
	}
	return n
}
