//go:build linux && (amd64 || arm64)

package safefs

import (
	"io/fs"
	"syscall"
	"unsafe"
)

// lstatAt is fstatat(fd, name, AT_SYMLINK_NOFOLLOW): the syscall package
// exports it on arm64 only, and a stat through /proc costs a path walk.
func (d *Dir) lstatAt(name string) (fs.FileMode, *syscall.Stat_t, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return 0, nil, err
	}
	var st syscall.Stat_t
	for {
		_, _, errno := syscall.Syscall6(sysFstatat, uintptr(d.fd()), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&st)), atSymlinkNofollow, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return 0, nil, errno
		}
		break
	}
	return modeOf(st.Mode), &st, nil
}

const atSymlinkNofollow = 0x100

func modeOf(m uint32) fs.FileMode {
	perm := fs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return perm | fs.ModeDir
	case syscall.S_IFLNK:
		return perm | fs.ModeSymlink
	case syscall.S_IFIFO:
		return perm | fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		return perm | fs.ModeSocket
	case syscall.S_IFCHR:
		return perm | fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		return perm | fs.ModeDevice
	case syscall.S_IFREG:
		return perm
	}
	return perm | fs.ModeIrregular
}
