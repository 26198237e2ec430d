package sessiond

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/session"
)

// attach connects the terminal (stdin, stdout) to session name until the
// session ends (its exit status is returned) or the user types the detach
// keys (0). Signals: WINCH sends the terminal's new size; the terminal is
// raw, so Ctrl-C and the like reach the agent as input.
func attach(name string, keys []byte, stdin, stdout, stderr *os.File) int {
	conn, err := dial(sockPath(name))
	if err != nil {
		return notRunning(name, err, stderr)
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
func notRunning(name string, err error, stderr io.Writer) int {
	if st, serr := readState(name); serr == nil && st.State == session.Exited {
		fmt.Fprintf(stderr, "hjk-init: session %s has exited with code %d\n", name, st.ExitCode)
		return 1
	}
	fmt.Fprintf(stderr, "hjk-init: no running session %s (%v)\n", name, err)
	return 1
}

// kill ends session name (HUP, or sig, then escalating) and waits for its
// exit status.
func kill(name string, sig byte, stderr io.Writer) int {
	conn, err := dial(sockPath(name))
	if err != nil {
		return notRunning(name, err, stderr)
	}
	defer conn.Close()
	if err := writeFrame(conn, frameKill, []byte{sig}); err != nil {
		fmt.Fprintf(stderr, "hjk-init: session %s: %v\n", name, err)
		return 1
	}
	for {
		f, err := readFrame(conn)
		if err != nil {
			return 0 // the server is gone: so is the session
		}
		if f.kind == frameExit {
			return 0
		}
	}
}

func readState(name string) (session.State, error) {
	var st session.State
	b, err := os.ReadFile(filepath.Join(stateDir(), session.StateFile(name)))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	return st, err
}

func sockPath(name string) string { return filepath.Join(runDir(), name+".sock") }

func runDir() string {
	if d := environ.Get(os.Environ(), session.RunVar); d != "" {
		return d
	}
	return session.RunDir
}

func stateDir() string {
	if d := environ.Get(os.Environ(), session.DirVar); d != "" {
		return d
	}
	if fi, err := os.Stat(session.GuestDir); err == nil && fi.IsDir() {
		return session.GuestDir
	}
	return session.RunDir
}
