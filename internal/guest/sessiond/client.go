package sessiond

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/guest/safefs"
	"github.com/hjk-dev/hjk/internal/session"
)

// attach connects the terminal (stdin, stdout) to session name until the
// session ends (its exit status is returned) or the user types the detach
// keys (0). Signals: WINCH sends the terminal's new size; the terminal is
// raw, so Ctrl-C and the like reach the agent as input.
func attach(env []string, name string, keys []byte, stdin, stdout, stderr *os.File) int {
	conn, err := dial(sockPath(env, name))
	if err != nil {
		return notRunning(env, name, err, stderr)
	}
	defer conn.Close()
	var wmu sync.Mutex
	send := func(kind byte, data []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return writeFrame(conn, kind, data)
	}
	restore, _ := makeRaw(stdin)
	defer restore()
	ws, _ := getSize(stdin)
	if err := send(frameHello, sizePayload(ws.rows, ws.cols)); err != nil {
		restore()
		fmt.Fprintf(stderr, "hjk-init: session %s: %v\n", name, err)
		return 1
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	go func() {
		for range winch {
			if ws, err := getSize(stdin); err == nil {
				send(frameSize, sizePayload(ws.rows, ws.cols))
			}
		}
	}()
	detached := make(chan struct{})
	go func() {
		d := detacher{keys: keys}
		buf := make([]byte, 32<<10)
		for {
			n, err := stdin.Read(buf)
			out, det := d.feed(buf[:n])
			if len(out) > 0 {
				send(frameInput, out)
			}
			if det {
				close(detached)
				return
			}
			if err != nil {
				return // input ended: stay attached, watching
			}
		}
	}()
	ended := make(chan int, 1)
	go func() {
		for {
			f, err := readFrame(conn)
			if err != nil {
				ended <- -1
				return
			}
			switch f.kind {
			case frameOutput:
				stdout.Write(f.data)
			case frameExit:
				ended <- payloadCode(f.data)
				return
			}
		}
	}()
	select {
	case <-detached:
		restore()
		fmt.Fprintf(stderr, "\r\n[detached from session %s]\r\n", name)
		return 0
	case code := <-ended:
		restore()
		if code < 0 {
			fmt.Fprintf(stderr, "\r\nhjk-init: session %s: the session server went away\r\n", name)
			return 1
		}
		return code
	}
}

// notRunning explains why name could not be reached: it has exited (with
// its code), or there is no such session.
func notRunning(env []string, name string, err error, stderr io.Writer) int {
	if st, serr := readState(env, name); serr == nil && st.State == session.Exited {
		fmt.Fprintf(stderr, "hjk-init: session %s has exited with code %d\n", name, st.ExitCode)
		return 1
	}
	fmt.Fprintf(stderr, "hjk-init: no running session %s (%v)\n", name, err)
	return 1
}

// killWait bounds how long kill waits for the exit status: the server
// sends KILL after killAfter, so a server still silent well after that is
// not one to wait for (the socket's folder is the agent user's, and a
// program of theirs may sit on it).
const killWait = killAfter + 5*time.Second

// kill ends session name (HUP, or sig, then escalating) and waits for its
// exit status.
func kill(env []string, name string, sig byte, stderr io.Writer) int {
	conn, err := dial(sockPath(env, name))
	if err != nil {
		return notRunning(env, name, err, stderr)
	}
	defer conn.Close()
	if err := writeFrame(conn, frameKill, []byte{sig}); err != nil {
		fmt.Fprintf(stderr, "hjk-init: session %s: %v\n", name, err)
		return 1
	}
	conn.SetReadDeadline(time.Now().Add(killWait))
	for {
		f, err := readFrame(conn)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			fmt.Fprintf(stderr, "hjk-init: session %s: no exit status within %s\n", name, killWait)
			return 1
		}
		if err != nil {
			return 0 // the server is gone: so is the session
		}
		if f.kind == frameExit {
			return 0
		}
	}
}

// readState reads session name's state file, as the host does: never
// through a link, never blocking on a FIFO, at most session.MaxStateSize.
func readState(env []string, name string) (session.State, error) {
	var st session.State
	d, err := safefs.Open(stateDir(env))
	if err != nil {
		return st, err
	}
	defer d.Close()
	b, err := d.ReadFile(session.StateFile(name), session.MaxStateSize)
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	return st, err
}

func sockPath(env []string, name string) string { return filepath.Join(runDir(env), sockFile(name)) }

func sockFile(name string) string { return name + ".sock" }

func runDir(env []string) string {
	if d := environ.Get(env, session.RunVar); d != "" {
		return d
	}
	return session.RunDir
}

func stateDir(env []string) string {
	if d := environ.Get(env, session.DirVar); d != "" {
		return d
	}
	// The data volume of an hjk instance holds the sessions' folder.
	if fi, err := os.Stat(filepath.Dir(session.GuestDir)); err == nil && fi.IsDir() {
		return session.GuestDir
	}
	return session.RunDir
}
