//go:build linux

package capture

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func termios(f *os.File) (unix.Termios, error) {
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return unix.Termios{}, err
	}
	return *t, nil
}

// The raw mode hjk set on the user's terminal is undone afterwards.
func TestRunRestoresTerminal(t *testing.T) {
	t.Parallel()
	u := newUser(t, 80)
	before, err := termios(u.tty)
	if err != nil {
		t.Skip(err)
	}
	ch := start(fakeClaude("notoken"), Terminal{In: u.tty, Out: u.tty})
	u.waitFor("Paste code here")
	u.typ("code-123#state\r")
	if r := wait(t, ch); r.err != nil {
		t.Fatal(r.err)
	}
	after, _ := termios(u.tty)
	if before != after {
		t.Fatalf("terminal modes changed: %+v -> %+v", before, after)
	}
}
