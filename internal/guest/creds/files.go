package creds

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// File and directory modes. The files hold secrets, so only their owner may
// read them; the agents themselves write theirs 0600 too.
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// write is one file Apply means to write, fully decided before anything is
// written, so that a problem found while planning leaves the disk as it was.
type write struct {
	path    string
	data    []byte
	varName string // the variable this file is written for, named in errors
	// brokenAside, when set, says the existing file could not be read by its
	// agent: it is renamed aside before the fresh one takes its place.
	brokenAside string // why, for the warning; "" when the file was fine
	// note is an extra warning to print once the file is written.
	note string
	// sync asks for the data on disk before the rename: only where the
	// old file held the user's own keys, which a crash must not lose.
	sync bool
}

// owner says who the files and the directories Apply creates belong to.
type owner struct{ uid, gid int }

func (o owner) chown(path string) error {
	if o.uid < 0 && o.gid < 0 {
		return nil
	}
	return os.Lchown(path, o.uid, o.gid)
}

// mkdirAll creates dir and any missing parents 0700, owned by o. Existing
// directories are left as they are: they are the user's.
func mkdirAll(dir string, o owner) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent, o); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// Mkdir's mode passes through the umask; 0700 is what we promise.
	if err := os.Chmod(dir, dirMode); err != nil {
		return err
	}
	return o.chown(dir)
}

// writeAtomic replaces path with data: a temporary file in the same
// directory, then renamed over path, so a reader (the agent) sees the old
// file or the new one, never half of either.
//
// With sync, the data reaches the disk before the rename, so that a crash
// cannot leave an empty file where the user's settings were. Without it
// (new files, and files that only carry a credential, rewritten from the
// host's store at every session) a crash can lose nothing that the next
// start does not write again, and hjk-init saves an fsync per file: about
// 2 ms each here, more than the rest of its work together.
func writeAtomic(path string, data []byte, o owner, sync bool) (err error) {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".hjk-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(fileMode); err != nil {
		return err
	}
	if o.uid >= 0 || o.gid >= 0 {
		if err = f.Chown(o.uid, o.gid); err != nil {
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
	return os.Rename(tmp, path)
}

// keepAside renames a file its agent could not read to a name beside it
// that says so, never overwriting an earlier one, and returns that name.
func keepAside(path string, now time.Time) (string, error) {
	base := path + ".broken-" + now.UTC().Format("20060102T150405Z")
	aside := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		aside = base + "-" + strconv.Itoa(i)
	}
	return aside, os.Rename(path, aside)
}

// followLinks returns the file path finally names, following symbolic
// links, even to a file that does not exist yet.
func followLinks(path string) (string, error) {
	for range 40 {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return "", errors.New("too many levels of symbolic links")
}

// readExisting reads a file that may not exist yet; a missing file reads as
// empty with ok false.
func readExisting(path string) (data []byte, ok bool, err error) {
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// cause strips an *fs.PathError down to its reason: the errors Apply returns
// name the file themselves, and a temporary file's name would only confuse.
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
