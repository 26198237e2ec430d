//go:build linux

package sessiond

import (
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// The terminal work is done with ioctls directly: hjk-init carries no PTY
// package (see cmd/hjk-init's size test).

type winsize struct{ rows, cols, x, y uint16 }

// ioctl runs one ioctl on f without taking it out of Go's poller (f.Fd()
// would make it blocking, and deadlines would stop working).
func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// openPTY returns a new PTY's master and its terminal (the slave), both
// without becoming anyone's controlling terminal.
func openPTY() (master, tty *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	var unlock int32
	var n uint32
	if err = ioctl(master, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err == nil {
		err = ioctl(master, syscall.TIOCGPTN, unsafe.Pointer(&n))
	}
	if err == nil {
		tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	}
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, tty, nil
}

func getSize(f *os.File) (winsize, error) {
	var ws winsize
	err := ioctl(f, syscall.TIOCGWINSZ, unsafe.Pointer(&ws))
	return ws, err
}

// setSize resizes the terminal; the kernel sends SIGWINCH to its
// foreground process group when the size changed.
func setSize(f *os.File, rows, cols uint16) error {
	ws := winsize{rows: rows, cols: cols}
	return ioctl(f, syscall.TIOCSWINSZ, unsafe.Pointer(&ws))
}

// makeRaw puts the terminal f in raw mode, as cfmakeraw does, and returns
// a function restoring the mode it had. Not a terminal: nothing changes.
func makeRaw(f *os.File) (restore func(), err error) {
	var old syscall.Termios
	if err := ioctl(f, syscall.TCGETS, unsafe.Pointer(&old)); err != nil {
		return func() {}, err
	}
	t := old
	t.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP | syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON
	t.Oflag &^= syscall.OPOST
	t.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
	t.Cflag &^= syscall.CSIZE | syscall.PARENB
	t.Cflag |= syscall.CS8
	t.Cc[syscall.VMIN], t.Cc[syscall.VTIME] = 1, 0
	if err := ioctl(f, syscall.TCSETS, unsafe.Pointer(&t)); err != nil {
		return func() {}, err
	}
	return func() { ioctl(f, syscall.TCSETS, unsafe.Pointer(&old)) }, nil
}
