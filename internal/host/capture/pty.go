package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// ErrInterrupted is returned when the login was cut short: the user pressed
// Ctrl-C, the child was killed, or hjk got a signal. Nothing is stored.
var ErrInterrupted = errors.New("login interrupted")

// maxOutput bounds what is kept of the child's output for scanning; a
// login prints a few kilobytes.
const maxOutput = 4 << 20

// killTimeout is how long a login may take to stop once hjk forwarded a
// signal to it, before it is killed.
const killTimeout = 3 * time.Second

// drainTimeout bounds the wait for the last output once the child exited.
const drainTimeout = 2 * time.Second

// Terminal is the user's side of a login: what they type and where they
// see the child's screen. When In is an *os.File on a terminal, it is put in
// raw mode for the login, so every key (Ctrl-C included) reaches the child,
// and its window size, and changes to it, are passed on.
type Terminal struct {
	In  io.Reader
	Out io.Writer
	// Signals, when set, replaces hjk's own SIGINT, SIGTERM and SIGHUP
	// (tests send on it).
	Signals chan os.Signal
}

// Result is what a login under a PTY left behind.
type Result struct {
	Output []byte // everything the child wrote, escapes included
	Width  int    // the child's terminal width, for unwrapping
}

// Run starts cmd on a new pseudo-terminal and connects it to t until it
// exits. The child's output goes to t.Out as it comes and is kept for
// scanning. A non-zero exit is an error; a child that was killed by a
// signal, or a signal to hjk, is ErrInterrupted.
func Run(cmd *exec.Cmd, t Terminal) (Result, error) {
	in, inIsTerm := t.In.(*os.File)
	inIsTerm = inIsTerm && term.IsTerminal(int(in.Fd()))

	size := &pty.Winsize{Cols: 80, Rows: 24}
	if inIsTerm {
		if ws, err := pty.GetsizeFull(in); err == nil && ws.Cols > 0 {
			size = ws
		}
	} else if out, ok := t.Out.(*os.File); ok && term.IsTerminal(int(out.Fd())) {
		if ws, err := pty.GetsizeFull(out); err == nil && ws.Cols > 0 {
			size = ws
		}
	}
	ptmx, err := pty.StartWithSize(cmd, size)
	if err != nil {
		return Result{}, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	defer ptmx.Close()
	res := Result{Width: int(size.Cols)}

	if inIsTerm {
		old, err := term.MakeRaw(int(in.Fd()))
		if err == nil {
			defer term.Restore(int(in.Fd()), old)
		}
	}

	sigs := t.Signals
	if sigs == nil {
		sigs = make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGWINCH)
		defer signal.Stop(sigs)
	}

	// The user's keys to the child. This goroutine may stay blocked in a
	// read of the user's terminal after the child has gone; hjk exits soon
	// after, so it costs at most one keystroke.
	if t.In != nil {
		go func() { _, _ = io.Copy(ptmx, t.In) }()
	}

	// The child's screen to the user, and into the buffer.
	var out lockedBuffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		w := io.Writer(&out)
		if t.Out != nil {
			w = io.MultiWriter(t.Out, &out)
		}
		// EIO once the child and all its descendants closed the pty.
		_, _ = io.Copy(w, ptmx)
	}()

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	interrupted := false
	var werr error
	var kill <-chan time.Time // armed once hjk is told to stop
loop:
	for {
		select {
		case werr = <-waited:
			break loop
		case <-kill:
			// The login ignored the signal (claude ignores SIGINT at its
			// code prompt): hjk was told to stop, so it stops.
			_ = cmd.Process.Kill()
		case s := <-sigs:
			if s == syscall.SIGWINCH {
				if inIsTerm {
					_ = pty.InheritSize(in, ptmx)
				}
				continue
			}
			// hjk itself is being stopped: stop the login with it, and
			// remember that nothing it printed may be trusted.
			interrupted = true
			_ = cmd.Process.Signal(s)
			if kill == nil {
				kill = time.After(killTimeout)
			}
		}
	}
	// Let the reader drain what the child wrote before it exited (it ends
	// at EIO). Descendants that still hold the pty open are not waited for
	// long.
	select {
	case <-copied:
	case <-time.After(drainTimeout):
		ptmx.Close()
		<-copied
	}
	res.Output = out.Bytes()

	if interrupted {
		return res, ErrInterrupted
	}
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return res, fmt.Errorf("%w: %s was killed by signal %d", ErrInterrupted, cmd.Args[0], ws.Signal())
			}
			if ee.ExitCode() == 130 {
				return res, fmt.Errorf("%w: %s exited on Ctrl-C", ErrInterrupted, cmd.Args[0])
			}
			return res, fmt.Errorf("%s exited with status %d", cmd.Args[0], ee.ExitCode())
		}
		return res, fmt.Errorf("%s: %w", cmd.Args[0], werr)
	}
	return res, nil
}

// lockedBuffer keeps the first maxOutput bytes written to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxOutput - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}
