// Package pid1 does an init's duties for hjk-init when a container starts it
// as PID 1: run one command and pass its exit status on, forward the signals
// a user or the runtime sends, and reap every zombie in the container, since
// orphans are reparented to PID 1 and nobody else would.
//
// It touches processes and signals only; it neither reads nor writes files
// other than /proc.
//
// Signals (PID 1 only; not as PID 1 hjk-init execs and handles none):
//
//	TERM INT HUP QUIT USR1 USR2 WINCH   forwarded to the command's process
//	CHLD                                reaps every exited child, any pid
//	all others                          left at their defaults; the kernel
//	                                    drops them for PID 1 of a namespace
//
// Without a command, TERM and INT end the idle init (exit 0) after it has
// sent TERM to every other process in the container and waited for them up
// to a grace period; HUP, QUIT, USR1, USR2 and WINCH are ignored.
package pid1

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// Forwarded are the signals PID 1 passes on to its command: the ones a
// runtime (docker stop, docker kill -s), a terminal (resize) or a user sends
// to a container and means for the program inside.
var Forwarded = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

// Init is PID 1's duty roster. Listen creates it before anything else, so
// that a signal sent while hjk-init prepares is queued, not lost: Go's
// default for TERM, INT and HUP would end init with exit code 2.
type Init struct {
	sigs chan os.Signal
	// chld is CHLD's own channel: signal.Notify drops a signal when the
	// channel is full, and a burst of WINCH must never crowd out the CHLD
	// that says the command exited. One pending CHLD is enough, since
	// reaping loops until no exited child is left.
	chld chan os.Signal
}

// Listen starts catching the Forwarded signals and CHLD. The handlers are
// reset to the default in every child before it execs.
func Listen() *Init {
	i := &Init{sigs: make(chan os.Signal, 64), chld: make(chan os.Signal, 1)}
	signal.Notify(i.chld, syscall.SIGCHLD)
	signal.Notify(i.sigs, Forwarded...)
	return i
}

func (i *Init) stop() {
	signal.Stop(i.sigs)
	signal.Stop(i.chld)
}

// Run starts path with argv and env as init's command, in its own process
// group and, when standard input is init's controlling terminal, as the
// terminal's foreground group, so that job control and Ctrl-C reach the
// command and not init. It forwards the Forwarded signals to the command,
// reaps every child, and returns the command's exit status: its exit code,
// or 128+N when signal N killed it. err is set only when the command could
// not be started (the exec error, for the caller to turn into 126 or 127).
func (i *Init) Run(path string, argv, env []string) (status int, err error) {
	defer i.stop()
	sys := &syscall.SysProcAttr{Setpgid: true}
	if isForeground(0) {
		sys.Foreground, sys.Ctty = true, 0
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   sys,
	})
	if err != nil {
		return 0, err
	}
	for {
		if st, done := reap(pid); done {
			return st, nil
		}
		select {
		case <-i.chld:
		case s := <-i.sigs:
			// ESRCH: the command just exited; the CHLD that follows ends
			// the loop.
			_ = syscall.Kill(pid, s.(syscall.Signal))
		}
	}
}

// Idle is init without a command: it reaps orphans until TERM or INT, then
// asks every other process in the container to stop (TERM), waits up to
// grace for them to go, and returns 0. It replaces `sleep infinity` as the
// entrypoint of a container that sessions are exec'd into.
func (i *Init) Idle(grace time.Duration) int {
	defer i.stop()
	for {
		reap(0)
		select {
		case <-i.chld:
		case s := <-i.sigs:
			if s == syscall.SIGTERM || s == syscall.SIGINT {
				shutdown(grace)
				return 0
			}
		}
	}
}

// shutdown sends TERM to every process init may signal (in a PID namespace:
// the container's, never init itself) and reaps until none is left or grace
// has passed; the kernel kills what remains when init exits.
func shutdown(grace time.Duration) {
	_ = syscall.Kill(-1, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for {
		reap(0)
		if !othersAlive() || time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reap collects every exited child without blocking. When one of them is
// cmd (cmd > 0), it returns cmd's exit status and true.
func reap(cmd int) (status int, done bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return status, done
		}
		if pid == cmd {
			status, done = ExitStatus(ws), true
		}
	}
}

// ExitStatus is the shell's view of how a process ended: its exit code, or
// 128+N when signal N killed it.
func ExitStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// othersAlive tells whether /proc lists a process besides this one. Without
// a readable /proc it answers false: there is nothing to wait for that init
// could see.
func othersAlive() bool {
	d, err := os.Open("/proc")
	if err != nil {
		return false
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	self := os.Getpid()
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid != self {
			return true
		}
	}
	return false
}

// isForeground tells whether fd is this process's controlling terminal:
// TIOCGPGRP fails with ENOTTY on any other file or terminal.
func isForeground(fd int) bool {
	var pgrp int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp)))
	return errno == 0
}
