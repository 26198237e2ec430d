package e2e

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// terminal is hjk run on a real PTY, as a user at a terminal runs it.
type terminal struct {
	t   *testing.T
	cmd *exec.Cmd
	pty *os.File
	mu  sync.Mutex
	out bytes.Buffer
}

func (h *harness) terminal(t *testing.T, args ...string) *terminal {
	cmd := h.command(args...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, cmd: cmd, pty: f}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); f.Close() })
	return tm
}

// waitFor waits until the screen shows s.
func (tm *terminal) waitFor(s string) {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		tm.mu.Lock()
		ok := strings.Contains(tm.out.String(), s)
		tm.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.t.Fatalf("terminal never showed %q; it shows:\n%s", s, tm.screen())
}

func (tm *terminal) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

func (tm *terminal) typeLine(s string) { io.WriteString(tm.pty, s+"\r") }

// exit waits for hjk to end and returns its exit code.
func (tm *terminal) exit() int {
	tm.t.Helper()
	done := make(chan error, 1)
	go func() { done <- tm.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			tm.t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		tm.t.Fatalf("hjk did not end; the terminal shows:\n%s", tm.screen())
		return -1
	}
}

// TestTerminal: on a terminal the session gets one (and its size), its exit
// status is hjk's, and rm asks before removing.
func TestTerminal(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		tm := h.terminal(t, "run", "tty", "--agent", "shell")
		tm.waitFor("$ ") // the agent user's prompt
		// dockerd 20.10 (API 1.41) sizes an exec's terminal just after it
		// starts: give the size a moment to arrive. podman may drop the
		// last output of an exec that ends at once: linger a second.
		tm.typeLine(`for i in 1 2 3 4 5 6 7 8 9 10; do [ "$(stty size)" != "0 0" ] && break; sleep 0.2; done; ` +
			`test -t 0 && echo "TTY-$((40+2)) $(stty size)"; sleep 1; exit 5`)
		if code := tm.exit(); code != 5 {
			t.Errorf("exit status %d, want 5", code)
		}
		if s := tm.screen(); !strings.Contains(s, "TTY-42 40 120") {
			t.Errorf("the session had no terminal of the user's size:\n%s", s)
		}

		tm = h.terminal(t, "rm", "tty")
		tm.waitFor("[y/N]")
		tm.typeLine("n")
		if code := tm.exit(); code == 0 {
			t.Error("rm answered 'n' exited 0")
		}
		if len(h.containers()) != 1 || len(h.volumes()) == 0 {
			t.Fatal("rm answered 'n' removed the container")
		}
		tm = h.terminal(t, "rm", "tty")
		tm.waitFor("[y/N]")
		tm.typeLine("y")
		if code := tm.exit(); code != 0 {
			t.Errorf("rm answered 'y': exit %d\n%s", code, tm.screen())
		}
		if n, v := len(h.containers()), len(h.volumes()); n != 0 || v != 0 {
			t.Errorf("%d containers and %d volumes after rm answered 'y'", n, v)
		}
	})
}
