package sessiond

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/session"
)

// TestServerInProcess runs the server in the test process, so the race
// detector watches it: two clients, input from one, output to both, a
// client that goes away mid-session, the exit status to every client.
func TestServerInProcess(t *testing.T) {
	env := testEnv(t)
	s, err := newServer(env, "inproc", 24, 80, []string{"/bin/sh", "-c", `read l; echo "got:$l size:$(stty size)"; read l; exit 4`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	code := make(chan int, 1)
	go func() { code <- s.run() }()

	type peer struct {
		out    bytes.Buffer
		exit   chan int
		frames chan []byte
	}
	connect := func() (*peer, func(byte, []byte)) {
		c, err := dial(sockPath(env, "inproc"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		p := &peer{exit: make(chan int, 1), frames: make(chan []byte, 1024)}
		go func() {
			for {
				f, err := readFrame(c)
				if err != nil {
					close(p.frames)
					return
				}
				switch f.kind {
				case frameOutput:
					p.frames <- f.data
				case frameExit:
					p.exit <- payloadCode(f.data)
				}
			}
		}()
		return p, func(k byte, b []byte) { writeFrame(c, k, b) }
	}
	a, sendA := connect()
	b, sendB := connect()
	gone, sendGone := connect()
	sendA(frameHello, sizePayload(33, 99))
	sendB(frameHello, sizePayload(0, 0)) // keeps the size
	sendGone(frameHello, sizePayload(0, 0))
	time.Sleep(100 * time.Millisecond)
	_ = gone
	sendA(frameInput, []byte("hello\r"))
	waitOutput := func(p *peer, s string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for !strings.Contains(p.out.String(), s) {
			select {
			case data, ok := <-p.frames:
				p.out.Write(data)
				if !ok {
					t.Fatalf("connection closed; output %q", p.out.String())
				}
			case <-deadline:
				t.Fatalf("never got %q; output %q", s, p.out.String())
			}
		}
	}
	waitOutput(a, "got:hello size:33 99")
	waitOutput(b, "got:hello size:33 99")
	sendB(frameInput, []byte("bye\r"))
	for _, p := range []*peer{a, b} {
		select {
		case c := <-p.exit:
			if c != 4 {
				t.Errorf("exit frame %d, want 4", c)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no exit frame")
		}
	}
	if c := <-code; c != 0 {
		t.Errorf("server returned %d", c)
	}
	st, err := readState(env, "inproc")
	if err != nil || st.State != session.Exited || st.ExitCode != 4 {
		t.Errorf("state %+v, %v", st, err)
	}
}

// Servers of one name started at once: exactly one runs, the others say
// the session is already running (none takes over the first's socket).
// Once its agent exits, the server closes its listener and lock, and the
// name can be used again.
func TestServerSameNameOnce(t *testing.T) {
	env := testEnv(t)
	const n = 8
	type result struct {
		s   *server
		err error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			s, err := newServer(env, "dup", 24, 80, []string{"/bin/sh", "-c", "sleep 0.3"}, nil)
			results <- result{s, err}
		}()
	}
	close(start)
	var running []*server
	for range n {
		r := <-results
		switch {
		case r.err == nil:
			running = append(running, r.s)
		case !strings.Contains(r.err.Error(), "session dup is already running"):
			t.Errorf("second server: %v, want it to say the session is already running", r.err)
		}
	}
	if len(running) != 1 {
		t.Errorf("%d servers of session dup run at once, want 1", len(running))
	}
	for _, s := range running {
		if c := s.run(); c != 0 {
			t.Errorf("server returned %d", c)
		}
		accepted := make(chan error, 1)
		go func() {
			c, err := s.l.accept()
			if c != nil {
				c.Close()
			}
			accepted <- err
		}()
		select {
		case err := <-accepted:
			if err == nil {
				t.Errorf("the listener accepted a client after the agent exited")
			}
		case <-time.After(2 * time.Second):
			t.Errorf("the listener is still open after the agent exited")
		}
	}
	s, err := newServer(env, "dup", 24, 80, []string{"/bin/true"}, nil)
	if err != nil {
		t.Fatalf("the name is not free after the session ended: %v", err)
	}
	s.run()
}

// testEnv is the environment of a server run in the test process, with
// its own folders.
func testEnv(t *testing.T) []string {
	d := t.TempDir()
	return append([]string{session.DirVar + "=" + filepath.Join(d, "state"), session.RunVar + "=" + filepath.Join(d, "run")}, os.Environ()...)
}
