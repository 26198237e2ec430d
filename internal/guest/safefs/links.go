package safefs

import (
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
)

// Walk opens the folder rel (a relative path) below base, following the
// links on the way by the kernel's rules. Where the walk ends up must be
// where rel names, or a place l allows: a link that leads elsewhere gives
// a *RefusedError. When some of rel does not exist yet, Walk returns the
// deepest folder that does and the names still to create below it (see
// Dir.Mkdir). The folder returned is the caller's to close, unless it is
// base itself (rel is "." or nothing below base exists).
func (l Links) Walk(base *Dir, rel string) (d *Dir, missing []string, err error) {
	names := components(rel)
	d = base
	closeD := func() {
		if d != base {
			d.Close()
		}
	}
	for i, n := range names {
		sub, err := d.Sub(n, true)
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := d.Stat(n); serr == nil {
				closeD()
				return nil, nil, &RefusedError{Name: d.name(n), Why: "a symbolic link to a folder that does not exist"}
			}
			missing = names[i:]
			break
		}
		if errors.Is(err, syscall.ELOOP) {
			closeD()
			return nil, nil, &RefusedError{Name: d.name(n), Why: "a loop of symbolic links"}
		}
		if err != nil {
			closeD()
			return nil, nil, err
		}
		closeD()
		d = sub
	}
	want := filepath.Join(append([]string{base.Path}, names[:len(names)-len(missing)]...)...)
	if d.Path != want {
		if ok, why := l.allows(d.Path); !ok {
			closeD()
			return nil, nil, &RefusedError{Name: d.Name, Why: why}
		}
	}
	return d, missing, nil
}

// File says where the file name in d is to be read and written. Without
// follow, a link there is refused (a *RefusedError, as for a FIFO, a socket
// or a device). With follow, links are followed, each resolved in the
// folder it is in, to a regular file or a name that does not exist yet, in
// a folder that l allows or that is d itself; a loop, a link into a
// missing folder or to anything but a regular file is refused. A folder at
// name is an error: nothing can replace it.
//
// The folder returned is d, or one File opened (the caller closes it when
// it is not d); the name is the file's in that folder. Nothing is read:
// the caller opens the file with OpenFile, which refuses a link swapped in
// since.
func (l Links) File(d *Dir, name string, follow bool) (*Dir, string, error) {
	at, n := d, name
	done := func() {
		if at != d {
			at.Close()
		}
	}
	l.Allow = append(l.Allow[:len(l.Allow):len(l.Allow)], d.Path)
	for hop := 0; ; hop++ {
		st, err := at.Stat(n)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return at, n, nil
		case err != nil:
			done()
			return nil, "", err
		case st.Mode.IsRegular():
			return at, n, nil
		case st.Mode.IsDir() && hop == 0:
			return nil, "", &fs.PathError{Op: "open", Path: d.name(name), Err: syscall.EISDIR}
		case st.Mode&fs.ModeSymlink == 0:
			done()
			why := "not a regular file"
			if hop > 0 {
				why = "a symbolic link to something other than a regular file"
			}
			return nil, "", &RefusedError{Name: d.name(name), Why: why, Link: hop > 0}
		case !follow:
			return nil, "", &RefusedError{Name: d.name(name), Why: "a symbolic link", Link: true}
		case hop == maxHops:
			done()
			return nil, "", &RefusedError{Name: d.name(name), Why: "a loop of symbolic links", Link: true}
		}
		target, err := at.Readlink(n)
		if err != nil {
			done()
			return nil, "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(at.Path, target)
		}
		dir, file := filepath.Split(filepath.Clean(target))
		next, err := Open(dir)
		done()
		if err != nil {
			return nil, "", &RefusedError{Name: d.name(name), Why: "a symbolic link into a folder that cannot be opened", Link: true}
		}
		at, n = next, file
		if file == "" || file == "." || file == ".." {
			done()
			return nil, "", &RefusedError{Name: d.name(name), Why: "a symbolic link that does not name a file", Link: true}
		}
		if ok, why := l.allows(filepath.Join(at.Path, n)); !ok {
			done()
			return nil, "", &RefusedError{Name: d.name(name), Why: why, Link: true}
		}
	}
}
