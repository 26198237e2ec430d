//go:build !linux

package sessiond

import (
	"errors"
	"os"
)

// hjk-init runs in Linux containers only; these stubs let the rest of the
// module (hjk for macOS among it) build everywhere.

var errNotLinux = errors.New("sessions need Linux")

type winsize struct{ rows, cols, x, y uint16 }

type listener struct{ f *os.File }

func listen(string) (*listener, error)        { return nil, errNotLinux }
func (l *listener) accept() (*os.File, error) { return nil, errNotLinux }
func (l *listener) close() error              { return errNotLinux }
func dial(string) (*os.File, error)           { return nil, errNotLinux }

func openPTY() (master, tty *os.File, err error)   { return nil, nil, errNotLinux }
func getSize(*os.File) (winsize, error)            { return winsize{}, errNotLinux }
func setSize(*os.File, uint16, uint16) error       { return errNotLinux }
func makeRaw(*os.File) (restore func(), err error) { return nil, errNotLinux }
