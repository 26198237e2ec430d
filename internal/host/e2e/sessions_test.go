package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hjk-dev/hjk/internal/session"
)

// echoAgent answers each line with it and the terminal's size, and says
// when TERM reaches it.
const echoAgent = `trap 'echo got-TERM; exit 7' TERM; echo up; while read l; do echo "got:$l size:$(stty size)"; done`

// TestSessions: sessions outlive their clients; attach, detach, several
// clients, resize, logs -f, kill, exit codes in ps, and stop (TERM, its
// end recorded on the instance's volume).
func TestSessions(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		token := h.storeClaude()
		if out := h.ok("run", "-d", "s", "--agent", "shell", "--name", "echo", echoAgent); strings.TrimSpace(out) != "echo" {
			t.Fatalf("run -d printed %q, want the session's name", out)
		}
		h.ok("run", "-d", "s", "--agent", "shell", "--name", "tick", `i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.2; done`)
		// A generated name, and credentials written by the session path.
		if out := strings.TrimSpace(h.ok("run", "-d", "s", "--agent", "claude")); out != "claude" {
			t.Fatalf("run -d without --name: %q, want claude", out)
		}
		for _, n := range []string{"echo", "tick", "claude"} {
			h.waitSession("s", n, "running")
		}

		a := h.terminal(t, "attach", "s", "echo")
		a.waitFor("up")
		// dockerd 20.10 sizes an exec's terminal just after it starts.
		sized := func(tm *terminal, line, size string) {
			t.Helper()
			for i := 0; i < 50 && !strings.Contains(tm.screen(), "got:"+line+" size:"+size); i++ {
				tm.typeLine(line)
				time.Sleep(200 * time.Millisecond)
			}
			tm.waitFor("got:" + line + " size:" + size)
		}
		sized(a, "one", "40 120")
		pty.Setsize(a.pty, &pty.Winsize{Rows: 30, Cols: 90})
		sized(a, "two", "30 90")

		b := h.terminal(t, "attach", "s", "echo")
		b.waitFor("got:two") // the recent screen, on attach
		a.typeLine("three")
		b.waitFor("got:three")

		// kill -9 the runtime's exec under the first hjk attach.
		killExec(t, a.cmd.Process.Pid)
		a.exit()
		if s := h.sessions("s")["echo"]; s.State != session.Running {
			t.Fatalf("after kill -9 of the client: %+v", s)
		}
		b.typeLine("four")
		b.waitFor("got:four")
		io.WriteString(b.pty, "\x02d")
		if code := b.exit(); code != 0 {
			t.Errorf("detach: exit %d", code)
		}

		// hjk attach with no names: the most recently used session.
		c := h.terminal(t, "attach")
		c.waitFor("got:four")
		c.typeLine("five")
		c.waitFor("got:five")
		io.WriteString(c.pty, "\x02d")
		if code := c.exit(); code != 0 {
			t.Errorf("detach: exit %d", code)
		}

		// logs -f follows while the session writes, and ends with it.
		follow := h.command("logs", "-f", "s", "tick")
		out := &lockedBuffer{}
		follow.Stdout, follow.Stderr = out, out
		if err := follow.Start(); err != nil {
			t.Fatal(err)
		}
		waitOut(t, out, "tick3")
		n := lastTick(out.String())
		waitOut(t, out, "tick"+strconv.Itoa(n+3))
		h.ok("kill", "s/tick")
		done := make(chan error, 1)
		go func() { done <- follow.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("logs -f: %v\n%s", err, out.String())
			}
		case <-time.After(20 * time.Second):
			follow.Process.Kill()
			t.Errorf("logs -f did not end with the session")
		}
		if s := h.sessions("s")["tick"]; s.State != session.Exited || s.ExitCode != 128+int(syscall.SIGHUP) {
			t.Errorf("tick after kill: %+v", s)
		}
		if tail := h.ok("logs", "s", "tick", "-n", "2"); strings.Count(tail, "\n") != 2 {
			t.Errorf("logs -n 2: %q", tail)
		}

		// An exit code shows in ps.
		h.ok("run", "-d", "s", "--agent", "shell", "--name", "three", "exit 3")
		if s := h.waitSession("s", "three", session.Exited); s.ExitCode != 3 {
			t.Errorf("exit 3 shows as %+v", s)
		}
		if table := h.ok("ps", "s"); !strings.Contains(table, "exited (3)") {
			t.Errorf("hjk ps s:\n%s", table)
		}

		// The claude session went through hjk-init and the gate: it got a
		// placeholder, never the stored token.
		logs := h.ok("logs", "s", "claude")
		if !strings.Contains(logs, "claude-json=written") || !strings.Contains(logs, "token-sha256=") {
			t.Errorf("the claude session's log: %q", logs)
		}
		if strings.Contains(logs, "token-sha256="+sha(token)) || strings.Contains(logs, token) {
			t.Error("the claude session got the stored token, not the gate's placeholder")
		}
		if out, _ := exec.Command("ps", "-eo", "args").Output(); strings.Contains(string(out), token) {
			t.Error("the credential is in a process's argv")
		}

		// Stopping the container: TERM reaches the agent, and the session
		// server records its end on the instance's volume, where hjk reads
		// it once the container runs again.
		h.ok("stop", "s")
		if r := h.hjk("ps", "s"); r.code != 0 || !strings.Contains(r.stderr, "not running") {
			t.Errorf("hjk ps s on a stopped instance: exit %d, %s", r.code, r.stderr)
		}
		h.ok("exec", "s", "--", "true")
		if s := h.sessions("s")["echo"]; s.State != session.Exited || s.ExitCode != 7 {
			t.Errorf("echo after stop: %+v", s)
		}
		if logs := h.ok("logs", "s", "echo"); !strings.Contains(logs, "got-TERM") {
			t.Errorf("echo's log after stop: %q", logs)
		}

		// Logs and states outlive a recreate. A session that went with the
		// old container is recorded as ended (podman rm -f stops it first)
		// or, when it was killed unrecorded (docker rm -f), as lost.
		h.ok("run", "-d", "s", "--agent", "shell", "--name", "doomed", "sleep 600")
		h.waitSession("s", "doomed", "running")
		h.ok("recreate", "s")
		if logs := h.ok("logs", "s", "echo"); !strings.Contains(logs, "got:five") {
			t.Errorf("echo's log after recreate: %q", logs)
		}
		if s := h.sessions("s"); (s["doomed"].State != session.Lost && s["doomed"].State != session.Exited) || s["three"].State != session.Exited {
			t.Errorf("sessions after recreate: %+v", s)
		}
	})
}

// killExec kills -9 the runtime CLI hjk (pid) started.
func killExec(t *testing.T, pid int) {
	t.Helper()
	// Any of hjk's threads may have forked it.
	var kids []string
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, task := range tasks {
		out, _ := os.ReadFile(task)
		kids = append(kids, strings.Fields(string(out))...)
	}
	if len(kids) != 1 {
		t.Fatalf("hjk %d has children %q, want the runtime's exec", pid, kids)
	}
	k, _ := strconv.Atoi(kids[0])
	comm, _ := os.ReadFile("/proc/" + kids[0] + "/comm")
	if c := strings.TrimSpace(string(comm)); c != "docker" && c != "podman" {
		t.Fatalf("hjk's child is %q, not the runtime's CLI", c)
	}
	syscall.Kill(k, syscall.SIGKILL)
}

func lastTick(s string) int {
	i := strings.LastIndex(s, "tick")
	n := 0
	for _, c := range s[i+4:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func waitOut(t *testing.T, b *lockedBuffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(b.String(), s) {
			return
		}
	}
	t.Fatalf("never printed %q: %q", s, b.String())
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
