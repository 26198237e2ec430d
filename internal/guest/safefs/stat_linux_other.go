//go:build linux && !amd64 && !arm64

package safefs

import (
	"io/fs"
	"os"
	"syscall"
)

// lstatAt stats name in d through /proc (see at) where fstatat has no
// number here; hjk-init ships for amd64 and arm64 only.
func (d *Dir) lstatAt(name string) (fs.FileMode, *syscall.Stat_t, error) {
	fi, err := os.Lstat(d.at(name))
	if err != nil {
		return 0, nil, cause(err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	return fi.Mode(), st, nil
}
