package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os/exec"
	"strings"
	"testing"
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
