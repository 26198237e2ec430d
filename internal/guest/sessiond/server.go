package sessiond

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/guest/safefs"
	"github.com/hjk-dev/hjk/internal/session"
)

// replayMax is how much recent output a client that attaches is shown
// first, before the redraw the resize triggers.
const replayMax = 16 << 10

// clientQueue is how many output chunks a client may lag behind before the
// server drops it: a client that stopped reading (its exec was killed and
// nobody drains its terminal) must never block the session.
const clientQueue = 1024

// Escalation when a session is ended (hjk kill, or TERM to the server when
// the container stops): the first signal at once, HUP after hupAfter (an
// interactive shell ignores TERM), KILL after killAfter. The idle init
// waits 5 s for everything to exit, so the state is recorded before that.
const (
	hupAfter  = 2 * time.Second
	killAfter = 3500 * time.Millisecond
)

// server holds one session: the agent on a PTY, its log, its state file
// and the clients attached on its socket.
type server struct {
	dir, sockDir *safefs.Dir // the state folder, the socket folder
	sock         string      // the socket's name in run
	lock         *os.File    // NAME.lock, flocked while the server runs
	l            *listener
	master       *os.File
	log          *os.File
	pid          int

	mu      sync.Mutex
	clients map[*client]bool
	recent  []byte
	size    winsize
	st      session.State
	ending  bool
}

type client struct {
	conn *os.File
	out  chan []byte // encoded frames
	once sync.Once
	done chan struct{} // closed when the writer has finished
}

func (c *client) close() { c.once.Do(func() { close(c.out) }) }

// serve runs the server of session name until its agent exits; ready (fd 3
// of the server) gets "ok" or what went wrong, for `session start`.
func serve(env []string, name string, rows, cols uint16, cmd, extraEnv []string, ready *os.File) int {
	s, err := newServer(env, name, rows, cols, cmd, extraEnv)
	if err != nil {
		fmt.Fprintf(ready, "%v", err)
		return 125
	}
	io.WriteString(ready, "ok")
	ready.Close()
	return s.run()
}

// newServer starts cmd with env and extraEnv (the payloads, which the
// server's own environment must not hold).
func newServer(env []string, name string, rows, cols uint16, cmd, extraEnv []string) (_ *server, err error) {
	s := &server{clients: map[*client]bool{}}
	defer func() {
		if err != nil {
			s.closeFiles()
		}
	}()
	if s.sockDir, err = openRunDir(runDir(env)); err != nil {
		return nil, err
	}
	dir := stateDir(env)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if s.dir, err = safefs.Open(dir); err != nil {
		return nil, err
	}
	// The lock, held for the server's life (the kernel drops it when the
	// process ends, however it ends), makes "is it running" and "take the
	// socket" one step: a second server of the same name would otherwise
	// remove the first one's socket between its check and its listen.
	if s.lock, err = s.sockDir.OpenFile(name+".lock", os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(s.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if err == syscall.EWOULDBLOCK {
			return nil, fmt.Errorf("session %s is already running", name)
		}
		return nil, fmt.Errorf("lock session %s: %w", name, err)
	}
	s.sock = sockFile(name)
	if c, err := dial(sockPath(env, name)); err == nil {
		c.Close()
		return nil, fmt.Errorf("session %s is already running", name)
	}
	switch st, err := s.sockDir.Stat(s.sock); {
	case err == nil && st.Mode&fs.ModeSocket == 0:
		return nil, fmt.Errorf("%s is not a socket: remove it", filepath.Join(s.sockDir.Name, s.sock))
	case err == nil:
		s.sockDir.Remove(s.sock) // a server that died left it
	}
	if s.l, err = listen(s.sockDir.SocketPath(s.sock)); err != nil {
		return nil, err
	}
	path, err := environ.LookPath(cmd[0], environ.Get(env, "PATH"))
	if err != nil {
		return nil, err
	}
	if s.log, err = s.dir.OpenFile(session.LogFile(name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
		return nil, err
	}
	master, tty, err := openPTY()
	if err != nil {
		return nil, fmt.Errorf("open a terminal: %w", err)
	}
	setSize(master, rows, cols) // 0x0, "unknown", until a client tells
	s.size = winsize{rows: rows, cols: cols}
	wd, _ := os.Getwd()
	// The agent leads a session of its own with the PTY as its terminal,
	// so job control, Ctrl-C and SIGWINCH work inside.
	s.pid, err = syscall.ForkExec(path, cmd, &syscall.ProcAttr{
		Dir:   wd,
		Env:   append(env[:len(env):len(env)], extraEnv...),
		Files: []uintptr{tty.Fd(), tty.Fd(), tty.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0},
	})
	tty.Close()
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("%s: %w", cmd[0], err)
	}
	s.master = master
	s.st = session.State{Name: name, Command: cmd, PID: s.pid, State: session.Running, Started: time.Now().UTC()}
	s.save()
	go s.acceptLoop(s.l)
	return s, nil
}

// closeFiles closes what newServer opened, when it fails.
func (s *server) closeFiles() {
	if s.lock != nil {
		s.lock.Close()
	}
	if s.log != nil {
		s.log.Close()
	}
	if s.l != nil {
		s.l.close()
	}
	for _, d := range []*safefs.Dir{s.dir, s.sockDir} {
		if d != nil {
			d.Close()
		}
	}
}

// openRunDir opens the socket folder, making it 0700 when it is not there.
// It holds the socket and the lock, so it must be the server's own user's
// and open to no one else: in /tmp anyone could have made it first.
func openRunDir(path string) (*safefs.Dir, error) {
	parent, base := filepath.Split(filepath.Clean(path))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	p, err := safefs.Open(parent)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	d, err := p.Mkdir(base, 0o700, -1, -1)
	if err != nil {
		return nil, err
	}
	st, err := d.Stat(".")
	if err == nil && (st.UID != os.Geteuid() || st.Mode.Perm()&0o077 != 0) {
		err = fmt.Errorf("%s belongs to uid %d with mode %v, not to uid %d alone: remove it", path, st.UID, st.Mode.Perm(), os.Geteuid())
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (s *server) run() int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		for sig := range sigs {
			if sig != syscall.SIGHUP { // no terminal of its own: HUP means nothing
				s.end(syscall.SIGTERM)
			}
		}
	}()
	drained := make(chan struct{})
	go s.pump(drained)
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(s.pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	// Output still in the PTY comes through; a background process that
	// kept the terminal open must not hold the session up.
	s.master.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	<-drained
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	now := time.Now().UTC()
	s.mu.Lock()
	s.st.State, s.st.ExitCode, s.st.Ended = session.Exited, code, &now
	s.saveLocked()
	// No new client once the agent is gone; the attached ones get the exit
	// status below.
	s.l.close()
	s.sockDir.Remove(s.sock)
	exit := appendFrame(nil, frameExit, codePayload(code))
	var writers []*client
	for c := range s.clients {
		select {
		case c.out <- exit:
		default:
		}
		c.close()
		writers = append(writers, c)
	}
	s.clients = nil
	s.mu.Unlock()
	s.log.Close()
	deadline := time.After(time.Second)
	for _, c := range writers {
		select {
		case <-c.done:
		case <-deadline:
		}
	}
	s.master.Close()
	s.lock.Close()
	s.dir.Close()
	s.sockDir.Close()
	return 0
}

// pump copies the PTY's output to the log, the replay buffer and every
// attached client, until the terminal is closed.
func (s *server) pump(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 32<<10)
	for {
		n, err := s.master.Read(buf)
		if n > 0 {
			s.log.Write(buf[:n])
			f := appendFrame(nil, frameOutput, buf[:n])
			s.mu.Lock()
			s.recent = append(s.recent, buf[:n]...)
			if len(s.recent) > replayMax {
				s.recent = append(s.recent[:0], s.recent[len(s.recent)-replayMax:]...)
			}
			for c := range s.clients {
				select {
				case c.out <- f:
				default: // too far behind: drop it
					delete(s.clients, c)
					c.close()
				}
			}
			s.mu.Unlock()
		}
		if err != nil {
			return // EIO once the agent and its children closed the terminal
		}
	}
}

func (s *server) acceptLoop(l *listener) {
	for {
		conn, err := l.accept()
		if err != nil {
			return
		}
		c := &client{conn: conn, out: make(chan []byte, clientQueue), done: make(chan struct{})}
		go c.write()
		go s.serveClient(c)
	}
}

func (c *client) write() {
	defer close(c.done)
	defer c.conn.Close()
	for f := range c.out {
		c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.conn.Write(f); err != nil {
			for range c.out {
			}
			return
		}
	}
}

// serveClient reads one client's frames until it goes away.
func (s *server) serveClient(c *client) {
	defer func() {
		s.mu.Lock()
		if s.clients != nil && s.clients[c] {
			delete(s.clients, c)
			c.close()
		}
		s.mu.Unlock()
	}()
	for {
		f, err := readFrame(c.conn)
		if err != nil {
			return
		}
		switch f.kind {
		case frameHello:
			if !s.attach(c, f.data) {
				return
			}
		case frameInput:
			s.master.Write(f.data)
		case frameSize:
			if len(f.data) == 4 {
				s.resize(u16(f.data), u16(f.data[2:]), false)
			}
		case frameKill:
			sig := syscall.SIGHUP
			if len(f.data) == 1 && f.data[0] != 0 && f.data[0] < 65 {
				sig = syscall.Signal(f.data[0])
			}
			s.end(sig)
			// Stay to tell it the exit status: the client waits for it.
			s.mu.Lock()
			if s.clients == nil {
				s.mu.Unlock()
				c.close()
				return
			}
			s.clients[c] = true
			s.mu.Unlock()
		}
	}
}

// attach adds c to the clients, shows it the recent output, and makes the
// agent redraw by resizing its terminal to the client's size.
func (s *server) attach(c *client, hello []byte) bool {
	s.mu.Lock()
	if s.clients == nil {
		s.mu.Unlock()
		return false
	}
	if len(s.recent) > 0 {
		c.out <- appendFrame(nil, frameOutput, s.recent)
	}
	s.clients[c] = true
	now := time.Now().UTC()
	s.st.Attached = &now
	s.saveLocked()
	s.mu.Unlock()
	// A client that tells no size keeps the size the terminal has when
	// resize runs, not the one it had here: another client's resize may
	// come between.
	var rows, cols uint16
	if len(hello) == 4 {
		rows, cols = u16(hello), u16(hello[2:])
	}
	s.resize(rows, cols, true)
	return true
}

// resize sets the PTY's size; the kernel signals WINCH to the agent when it
// changed. With redraw and no change, it is changed and changed back, so
// the agent redraws its screen all the same. The last client to attach or
// resize decides the size; a redraw with no size (0) keeps the current one.
func (s *server) resize(rows, cols uint16, redraw bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rows == 0 || cols == 0 {
		if !redraw {
			return
		}
		rows, cols = s.size.rows, s.size.cols
	}
	if redraw && s.size.rows == rows && s.size.cols == cols && rows > 1 {
		setSize(s.master, rows-1, cols)
	}
	setSize(s.master, rows, cols)
	s.size = winsize{rows: rows, cols: cols}
}

// end signals the agent's process group with sig and escalates to HUP and
// KILL while it stays.
func (s *server) end(sig syscall.Signal) {
	s.mu.Lock()
	if s.ending || s.clients == nil {
		s.mu.Unlock()
		return
	}
	s.ending = true
	s.mu.Unlock()
	pid := s.pid
	signalGroup(pid, sig)
	time.AfterFunc(hupAfter, func() { signalGroup(pid, syscall.SIGHUP) })
	time.AfterFunc(killAfter, func() { signalGroup(pid, syscall.SIGKILL) })
}

// signalGroup signals the agent's process group (it leads it), else the
// agent alone.
func signalGroup(pid int, sig syscall.Signal) {
	if syscall.Kill(-pid, sig) != nil {
		syscall.Kill(pid, sig)
	}
}

func (s *server) save() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saveLocked()
}

// saveLocked writes the state file atomically, through a temporary file
// with a random name: a reader (hjk on the host) never sees half of it,
// and a link planted at either name is replaced, never written through.
func (s *server) saveLocked() {
	b, err := json.MarshalIndent(fitState(s.st), "", "  ")
	if err != nil {
		return
	}
	s.dir.WriteFile(session.StateFile(s.st.Name), append(b, '\n'), 0o644, -1, -1, false)
}

// Bounds on the command as a state file records it, so that the file stays
// under session.MaxStateSize however long the command (a prompt) is.
const (
	stateArgs   = 32
	stateArgLen = 1 << 10
)

// fitState returns st with its command shortened for the state file: at
// most stateArgs arguments of at most stateArgLen bytes each.
func fitState(st session.State) session.State {
	if len(st.Command) <= stateArgs && !slices.ContainsFunc(st.Command, func(a string) bool { return len(a) > stateArgLen }) {
		return st
	}
	var cmd []string
	for i, a := range st.Command {
		if i == stateArgs {
			cmd = append(cmd, fmt.Sprintf("... (%d more)", len(st.Command)-i))
			break
		}
		if len(a) > stateArgLen {
			a = strings.ToValidUTF8(a[:stateArgLen], "") + "..."
		}
		cmd = append(cmd, a)
	}
	st.Command = cmd
	return st
}
