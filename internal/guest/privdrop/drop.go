package privdrop

import (
	"fmt"
	"runtime"
	"syscall"
)

// Drop switches the whole process to u: supplementary groups, then the
// group, then the user, in that order because each step needs the
// privilege the next one gives up. Go applies these calls to every thread of
// the process; the calling thread is locked anyway so that nothing runs
// between the steps on a thread the runtime might hand to other work.
// Drop is for a process about to exec or to become a plain init: it does not
// restore anything on failure, the caller must exit.
func Drop(u User) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := syscall.Setgroups(u.Groups); err != nil {
		return fmt.Errorf("set groups %v: %w", u.Groups, err)
	}
	if err := syscall.Setgid(u.GID); err != nil {
		return fmt.Errorf("set gid %d: %w", u.GID, err)
	}
	if err := syscall.Setuid(u.UID); err != nil {
		return fmt.Errorf("set uid %d: %w", u.UID, err)
	}
	// A uid that can be taken back (a saved set-user-ID of 0) is no drop.
	if u.UID != 0 && syscall.Setuid(0) == nil {
		return fmt.Errorf("still able to regain root after switching to uid %d", u.UID)
	}
	return nil
}
