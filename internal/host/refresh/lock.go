package refresh

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Lock takes a lock shared by every hjk process on the host and returns
// how to release it. Take holds it from reloading the stored login to
// saving the container's copy, so two take-backs cannot each compare with
// a stale copy and the older login land last.
type Lock func() (unlock func(), err error)

// FileLock is a Lock on the file at path (flock, exclusive, waiting for
// other processes). The lock goes with the process, so a crashed hjk never
// leaves it held.
func FileLock(path string) Lock {
	return func() (func(), error) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("credentials lock: %w", err)
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("credentials lock: %w", err)
		}
		for {
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return func() { f.Close() }, nil // closing the file releases the lock
	}
}
