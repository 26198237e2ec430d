//go:build linux

package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Dir is an open folder. Name is its path as the caller knows it (for
// messages); Path is where the kernel says it is, every link resolved, as
// it was when it was opened. Work in it goes through its descriptor, so a
// link swapped in above it afterwards changes nothing.
type Dir struct {
	f    *os.File
	Name string
	Path string
}

// Open opens the folder at path, following links: the caller trusts how
// it got there (the home, a folder a variable names).
func Open(path string) (*Dir, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return newDir(fd, path)
}

func newDir(fd int, name string) (*Dir, error) {
	d := &Dir{f: os.NewFile(uintptr(fd), name), Name: name}
	real, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	switch {
	case err != nil:
		err = fmt.Errorf("cannot tell where it is (is /proc mounted?): %w", err)
	case !filepath.IsAbs(real) || strings.HasSuffix(real, " (deleted)"):
		err = errors.New("it was removed while in use")
	}
	if err != nil {
		d.f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	d.Path = real
	return d, nil
}

// Close closes the folder.
func (d *Dir) Close() error { return d.f.Close() }

func (d *Dir) fd() int { return int(d.f.Fd()) }

func (d *Dir) name(n string) string { return filepath.Join(d.Name, n) }

// Sub opens the folder name inside d, following a link only when follow
// is set.
func (d *Dir) Sub(name string, follow bool) (*Dir, error) {
	flags := syscall.O_RDONLY | syscall.O_DIRECTORY | syscall.O_CLOEXEC
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	fd, err := syscall.Openat(d.fd(), name, flags, 0)
	if err != nil {
		if !follow && (err == syscall.ELOOP || err == syscall.ENOTDIR) {
			// O_DIRECTORY wins over O_NOFOLLOW: a link gives ENOTDIR.
			if st, serr := d.Stat(name); serr == nil && st.Mode&fs.ModeSymlink != 0 {
				err = ErrLink
			}
		}
		return nil, &fs.PathError{Op: "open", Path: d.name(name), Err: err}
	}
	return newDir(fd, d.name(name))
}

// Mkdir creates the folder name in d with mode perm, owned by uid and gid
// (-1 leaves them), and opens it, never through a link. A folder that is
// there already is opened as it is.
func (d *Dir) Mkdir(name string, perm uint32, uid, gid int) (*Dir, error) {
	err := syscall.Mkdirat(d.fd(), name, perm)
	created := err == nil
	if err != nil && err != syscall.EEXIST {
		return nil, &fs.PathError{Op: "mkdir", Path: d.name(name), Err: err}
	}
	sub, err := d.Sub(name, false)
	if err != nil || !created {
		return sub, err
	}
	// Through the descriptor: the name may point elsewhere by now. The
	// mode passed to mkdir went through the umask.
	if err := syscall.Fchmod(sub.fd(), perm); err != nil {
		sub.Close()
		return nil, &fs.PathError{Op: "chmod", Path: sub.Name, Err: err}
	}
	if uid >= 0 || gid >= 0 {
		if err := syscall.Fchown(sub.fd(), uid, gid); err != nil {
			sub.Close()
			return nil, &fs.PathError{Op: "chown", Path: sub.Name, Err: err}
		}
	}
	return sub, nil
}

// Stat describes name in d without following a link.
func (d *Dir) Stat(name string) (Info, error) {
	m, st, err := d.lstatAt(name)
	if err != nil {
		return Info{}, &fs.PathError{Op: "stat", Path: d.name(name), Err: err}
	}
	in := Info{Mode: m, UID: -1, GID: -1}
	if st != nil {
		in.UID, in.GID = int(st.Uid), int(st.Gid)
	}
	return in, nil
}

// Readlink returns the target of the link name in d.
func (d *Dir) Readlink(name string) (string, error) {
	t, err := os.Readlink(d.at(name))
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: d.name(name), Err: cause(err)}
	}
	return t, nil
}

// at names name in d through the descriptor, for the calls that only take
// paths (lstat, readlink, bind, a temporary file): the kernel resolves it
// to this very folder, whatever happened to its path since it was opened,
// and follows no link at name itself unless the call does.
func (d *Dir) at(name string) string {
	return "/proc/self/fd/" + strconv.Itoa(d.fd()) + "/" + name
}

// OpenFile opens the regular file name in d: never through a link
// (ErrLink), never blocking on a FIFO, and only a regular file
// (ErrNotRegular). flag is os.OpenFile's; perm is for a file it creates.
func (d *Dir) OpenFile(name string, flag int, perm uint32) (*os.File, error) {
	fd, err := syscall.Openat(d.fd(), name, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, perm)
	if err != nil {
		switch err {
		case syscall.ELOOP:
			err = ErrLink
		case syscall.ENXIO: // a FIFO opened for writing, with no reader
			err = ErrNotRegular
		}
		return nil, &fs.PathError{Op: "open", Path: d.name(name), Err: err}
	}
	f := os.NewFile(uintptr(fd), d.name(name))
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = ErrNotRegular
	}
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: d.name(name), Err: err}
	}
	return f, nil
}

// ReadFile reads the regular file name in d (see OpenFile), at most max
// bytes: a larger one gives a *SizeError.
func (d *Dir) ReadFile(name string, max int64) ([]byte, error) {
	f, err := d.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: d.name(name), Err: err}
	}
	if int64(len(b)) > max {
		return nil, &fs.PathError{Op: "read", Path: d.name(name), Err: &SizeError{max}}
	}
	return b, nil
}

// WriteFile replaces name in d with data, mode perm, owned by uid and gid
// (-1 leaves them): a temporary file with a random name made with O_EXCL
// beside it, then renamed over name. A reader sees the old file or the
// new one; a link at name is replaced, never written through. With sync
// the data reaches the disk before the rename.
func (d *Dir) WriteFile(name string, data []byte, perm uint32, uid, gid int, sync bool) (err error) {
	// Through /proc/self/fd: the temporary file lands in this very folder,
	// whatever happened to its path, with Go's own random name and O_EXCL.
	f, err := os.CreateTemp(d.at(""), "."+name+".hjk-*")
	if err != nil {
		return &fs.PathError{Op: "create", Path: d.name(name), Err: cause(err)}
	}
	tmp := filepath.Base(f.Name())
	defer func() {
		if err != nil {
			f.Close()
			syscall.Unlinkat(d.fd(), tmp)
			err = &fs.PathError{Op: "write", Path: d.name(name), Err: cause(err)}
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(fs.FileMode(perm)); err != nil {
		return err
	}
	if uid >= 0 || gid >= 0 {
		if err = f.Chown(uid, gid); err != nil {
			return err
		}
	}
	if sync {
		if err = f.Sync(); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	return syscall.Renameat(d.fd(), tmp, d.fd(), name)
}

// Rename renames from to to, both in d; neither is followed.
func (d *Dir) Rename(from, to string) error {
	if err := syscall.Renameat(d.fd(), from, d.fd(), to); err != nil {
		return &fs.PathError{Op: "rename", Path: d.name(from), Err: err}
	}
	return nil
}

// Remove removes the file (not folder) name in d; a link goes, not what
// it points to.
func (d *Dir) Remove(name string) error {
	if err := syscall.Unlinkat(d.fd(), name); err != nil {
		return &fs.PathError{Op: "remove", Path: d.name(name), Err: err}
	}
	return nil
}

// SocketPath is the path to bind a unix socket name in d to (see at).
func (d *Dir) SocketPath(name string) string { return d.at(name) }

func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
