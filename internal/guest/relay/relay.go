//go:build linux

// Package relay is the agent container's way to the credential gate: the
// container has no network but loopback, and the gate (another container)
// serves unix sockets in a folder mounted read-only here (layout.GateDir).
// PID 1 listens on 127.0.0.1:PORT for each socket HJK_GATE names
// ("7800=proxy,7801=claude") and copies bytes between each connection and
// a fresh connection to that socket, both ways, half-closing each side when
// the other ends. It reads nothing of what it copies: every byte of HTTP,
// TLS or WebSocket is the gate's to understand.
//
// Sockets come from the syscall package, not net, so hjk-init stays small.
package relay

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Start listens on each route's port and relays in the background. A port
// that cannot be bound is an error (and nothing is left listening).
func Start(routes []Route, dir string) error {
	var ls []*os.File
	for _, r := range routes {
		l, err := listenLoopback(r.Port)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return fmt.Errorf("listen on 127.0.0.1:%d for %s: %w", r.Port, r.Sock, err)
		}
		ls = append(ls, l)
	}
	for i, r := range routes {
		go serve(ls[i], filepath.Join(dir, r.Sock+".sock"))
	}
	return nil
}

func serve(l *os.File, sock string) {
	for {
		c, err := accept(l)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			continue
		}
		go relay(c, sock)
	}
}

// relay copies between c and a new connection to sock until both are done.
func relay(c *os.File, sock string) {
	defer c.Close()
	u, err := dialUnix(sock)
	if err != nil {
		return // the gate is not there: the agent sees the connection close
	}
	defer u.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src *os.File) {
		io.Copy(dst, src)
		shutdownWrite(dst)
		done <- struct{}{}
	}
	go pipe(u, c)
	go pipe(c, u)
	<-done
	<-done
}

func listenLoopback(port int) (*os.File, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	if err := syscall.Listen(fd, 128); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("listen", err)
	}
	return os.NewFile(uintptr(fd), "relay"), nil
}

func accept(l *os.File) (*os.File, error) {
	rc, err := l.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var aerr error
	err = rc.Read(func(fd uintptr) bool {
		nfd, _, aerr = syscall.Accept4(int(fd), syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK)
		return aerr != syscall.EAGAIN
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, os.NewSyscallError("accept", aerr)
	}
	return os.NewFile(uintptr(nfd), "conn"), nil
}

func dialUnix(path string) (*os.File, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "connect", Path: path, Err: err}
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

func shutdownWrite(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_WR) })
	}
}
