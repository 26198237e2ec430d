package instance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/session"
)

// SessionsDir is the host folder of the sessions of the container named
// name: their logs and states (package session), mounted at
// session.GuestDir so they outlive the container.
func SessionsDir(data, name string) string { return filepath.Join(data, "logs", name) }

// sessionsMount makes an instance's sessions folder and returns its mount.
// The container's user (the agent image's uid 1000, or root) writes there,
// whoever owns the host folder: the folder is open to all, and its parent
// (0700) keeps other host users out.
func (m *Manager) sessionsMount(in Instance) (runtime.Mount, error) {
	dir := SessionsDir(m.Data, in.Name)
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return runtime.Mount{}, fmt.Errorf("sessions folder: %w", err)
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !os.IsExist(err) {
		return runtime.Mount{}, fmt.Errorf("sessions folder: %w", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return runtime.Mount{}, fmt.Errorf("sessions folder: %w", err)
	}
	markLost(dir)
	return runtime.Mount{Source: dir, Target: session.GuestDir}, nil
}

// The sessions folder is open to the container: whatever is in it may
// have been planted there (a symlink to a host secret, a FIFO, a huge
// file). hjk reads and replaces only regular files, opened without
// following a symlink, and reads a state file only up to MaxStateSize.

// MaxStateSize bounds the size of a session state file hjk reads.
const MaxStateSize = 64 << 10

// OpenSessionFile opens path (a file in a sessions folder) for reading:
// not through a symlink, without blocking on a FIFO, and only if it is a
// regular file.
func OpenSessionFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: not a regular file", path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadSessionState reads and decodes the state file at path, refusing
// anything but a regular file of at most MaxStateSize bytes.
func ReadSessionState(path string) (session.State, error) {
	var st session.State
	f, err := OpenSessionFile(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxStateSize+1))
	if err != nil {
		return st, err
	}
	if len(b) > MaxStateSize {
		return st, fmt.Errorf("%s: larger than %d bytes", path, MaxStateSize)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// markLost records as lost every session of dir still marked running: a
// new container runs none, so their servers died unrecorded with the old
// one (rm -f, a killed engine). Best effort: a file that cannot be read or
// replaced stays as it is. The new state goes to a fresh temporary file
// (never a name the container could have planted), renamed over the old.
func markLost(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || session.CheckName(name) != nil {
			continue
		}
		p := filepath.Join(dir, e.Name())
		st, err := ReadSessionState(p)
		if err != nil || st.State != session.Running {
			continue
		}
		st.State = session.Lost
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			continue
		}
		writeOver(p, append(b, '\n'))
	}
}

// writeOver replaces p, if it is still a regular file, with b, through a
// temporary file made (O_EXCL) in p's folder.
func writeOver(p string, b []byte) {
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".hjk-state-*")
	if err != nil {
		return
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644) // the container's user reads and rewrites it
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
	}
}
