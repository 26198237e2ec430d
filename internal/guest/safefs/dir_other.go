//go:build !linux

package safefs

import (
	"errors"
	"os"
	"path/filepath"
)

// hjk-init runs in Linux containers only; these stubs let the rest of the
// module (hjk for macOS among it) build everywhere.

var errNotLinux = errors.New("needs Linux")

type Dir struct {
	Name string
	Path string
}

func Open(string) (*Dir, error)                             { return nil, errNotLinux }
func (d *Dir) Close() error                                 { return errNotLinux }
func (d *Dir) name(n string) string                         { return filepath.Join(d.Name, n) }
func (d *Dir) Sub(string, bool) (*Dir, error)               { return nil, errNotLinux }
func (d *Dir) Mkdir(string, uint32, int, int) (*Dir, error) { return nil, errNotLinux }
func (d *Dir) Stat(string) (Info, error)                    { return Info{}, errNotLinux }
func (d *Dir) Readlink(string) (string, error)              { return "", errNotLinux }
func (d *Dir) OpenFile(string, int, uint32) (*os.File, error) {
	return nil, errNotLinux
}
func (d *Dir) ReadFile(string, int64) ([]byte, error)                 { return nil, errNotLinux }
func (d *Dir) WriteFile(string, []byte, uint32, int, int, bool) error { return errNotLinux }
func (d *Dir) Rename(string, string) error                            { return errNotLinux }
func (d *Dir) Remove(string) error                                    { return errNotLinux }
func (d *Dir) SocketPath(string) string                               { return "" }
