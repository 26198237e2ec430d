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
	"strings"
	"testing"
	"time"
)

// TestCredentialNotLeaked: during a session the agent has its credential
// (and hjk-init wrote its file), while the value is nowhere in the host's
// process list, in the container's inspect, or in the image.
func TestCredentialNotLeaked(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		token := h.storeClaude()
		cmd := h.command("run", "creds", "--agent", "claude")
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		lines := bufio.NewScanner(stdout)
		got := map[string]string{}
		for lines.Scan() && lines.Text() != "ready" {
			k, v, _ := strings.Cut(lines.Text(), "=")
			got[k] = v
		}
		sum := sha256.Sum256([]byte(token))
		if got["token-sha256"] != hex.EncodeToString(sum[:]) {
			t.Errorf("the agent did not get the stored credential (stderr: %s)", stderr.String())
		}
		if got["claude-json"] != "written" {
			t.Error("hjk-init did not write .claude.json for the agent")
		}

		// The session is running now.
		ps, err := exec.Command("ps", "-eo", "args").Output()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(ps, []byte(token)) {
			t.Error("the credential is in the host's process list")
		}
		if !bytes.Contains(ps, []byte("-e CLAUDE_CODE_OAUTH_TOKEN ")) {
			t.Errorf("no `%s exec -e CLAUDE_CODE_OAUTH_TOKEN` in the process list: did the session run?", h.engine)
		}
		name := h.ps()["creds"].Name
		inspect, err := exec.Command(h.engine, "inspect", name).Output()
		if err != nil || len(inspect) < 100 {
			t.Fatalf("%s inspect %s: %v", h.engine, name, err)
		}
		if bytes.Contains(inspect, []byte(token)) {
			t.Errorf("the credential is in `%s inspect` of the container", h.engine)
		}
		if n := scanFor(t, token, h.engine, "save", h.image); n < 1<<20 {
			t.Errorf("`%s save` gave only %d bytes", h.engine, n)
		}
		io.WriteString(stdin, "done\n")
		for lines.Scan() {
			if lines.Text() == "bye" {
				break
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("session: %v (stderr: %s)", err, stderr.String())
		}
		if strings.Contains(stderr.String(), token) {
			t.Error("the credential is in hjk's error output")
		}
	})
}

// TestCredentialNotLeakedSession: a session under hjk-init's session
// server (hjk run -d) gets its credential, while the value is nowhere in
// the host's process list, the container's inspect, the session's log and
// state files on the host, or hjk's output.
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
		if out := hjk("run", "-d", "screds", "--agent", "claude", "--name", "c"); strings.TrimSpace(out) != "c" {
			t.Fatalf("run -d printed %q, want the session's name", strings.ReplaceAll(out, token, "<token>"))
		}
		h.waitSession("screds", "c", "running")
		var logs string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !strings.Contains(logs, "ready"); time.Sleep(100 * time.Millisecond) {
			logs = hjk("logs", "screds", "c")
		}
		sum := sha256.Sum256([]byte(token))
		if !strings.Contains(logs, "token-sha256="+hex.EncodeToString(sum[:])) || !strings.Contains(logs, "claude-json=written") {
			t.Errorf("the session did not get the stored credential: its log has %d bytes, ready: %v", len(logs), strings.Contains(logs, "ready"))
		}

		// The session is running now.
		ps, err := exec.Command("ps", "-eo", "args").Output()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(ps, []byte(token)) {
			t.Error("the credential is in the host's process list")
		}
		name := h.ps()["screds"].Name
		inspect, err := exec.Command(h.engine, "inspect", name).Output()
		if err != nil || len(inspect) < 100 {
			t.Fatalf("%s inspect %s: %v", h.engine, name, err)
		}
		if bytes.Contains(inspect, []byte(token)) {
			t.Errorf("the credential is in `%s inspect` of the container", h.engine)
		}
		sessionFiles := func(when string) {
			t.Helper()
			dir := filepath.Join(h.getenv("XDG_DATA_HOME"), "hjk", "logs", name)
			var n int
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				n++
				if bytes.Contains(b, []byte(token)) {
					t.Errorf("%s: the credential is in %s", when, filepath.Base(p))
				}
				return nil
			})
			if err != nil || n < 2 {
				t.Errorf("%s: %d files under %s: %v", when, n, dir, err)
			}
		}
		sessionFiles("running")

		hjk("kill", "screds/c")
		h.waitSession("screds", "c", "exited")
		sessionFiles("ended")
		hjk("ps", "screds")
		if strings.Contains(said.String(), token) {
			t.Error("the credential is in hjk's output")
		}
	})
}

// scanFor runs a command and fails the test if its output holds secret,
// reading it as a stream (an image is hundreds of MB). It returns the
// number of bytes read.
func scanFor(t *testing.T, secret string, args ...string) int64 {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	out, _ := cmd.StdoutPipe()
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
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return n
}

// getenv is the value of k in hjk's environment.
func (h *harness) getenv(k string) string {
	for _, kv := range h.env {
		if name, v, _ := strings.Cut(kv, "="); name == k {
			return v
		}
	}
	return ""
}
