// Package safefs is how hjk-init opens, reads and replaces files in folders
// that someone else may change at the same moment: the agent's user owns its
// home and the sessions folder, and may swap a file for a symbolic link or a
// FIFO between two of hjk-init's steps.
//
// Work is done relative to an open folder (a Dir), never by path: a folder
// is opened once, where the kernel says it is (its real path comes from
// /proc/self/fd), and each file in it is opened with O_NOFOLLOW and
// O_NONBLOCK, read only when it is a regular file and only up to a cap,
// and replaced through an O_EXCL temporary file with a random name in the
// same folder and a rename, which replaces a link rather than writing
// through it. Links says which symbolic links may be followed at all.
//
// It touches only the folders and files its callers name. It needs Linux
// (openat, /proc); elsewhere every call fails.
package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Errors a file can give instead of its content.
var (
	// ErrLink is a symbolic link where a file that is never followed was.
	ErrLink = errors.New("a symbolic link")
	// ErrNotRegular is a FIFO, socket, device or folder where a file was.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is a file over the cap its reader set (a SizeError).
	ErrTooLarge = errors.New("file too large")
)

// SizeError is a file larger than the most its reader reads.
type SizeError struct{ Max int64 }

func (e *SizeError) Error() string {
	return fmt.Sprintf("larger than %s, the most hjk-init reads of it", size(e.Max))
}

func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Info is what Stat tells of a file, without following a link.
type Info struct {
	Mode     fs.FileMode
	UID, GID int
}

// RefusedError is a file or folder Links would not follow to, or a file
// that is not one hjk-init may read or write through: Name as the caller
// knows it, and why. Callers that own the name replace it with a regular
// file; others report it.
type RefusedError struct {
	Name string
	Why  string
	Link bool // Name is a symbolic link (not followed), not another kind of file
}

func (e *RefusedError) Error() string { return e.Name + " is " + e.Why }

// Links says where a symbolic link may lead: inside one of Allow and
// inside none of Deny (real paths, as Dir.Path gives them). A link that
// loops, or leads nowhere, is never followed.
type Links struct {
	Allow, Deny []string
}

// allows reports whether the real path p is a place links may lead to,
// and if not, why.
func (l Links) allows(p string) (bool, string) {
	for _, d := range l.Deny {
		if Within(p, d) {
			return false, "a symbolic link into the work folder"
		}
	}
	for _, a := range l.Allow {
		if Within(p, a) {
			return true, ""
		}
	}
	return false, "a symbolic link that leads outside the home"
}

// Within reports whether path p is root or inside it; both clean and
// absolute.
func Within(p, root string) bool {
	return p == root || root == "/" || strings.HasPrefix(p, root+"/")
}

// maxHops bounds a chain of links, as the kernel's 40.
const maxHops = 40

// components splits a clean relative path into its names; "." is none.
func components(rel string) []string {
	rel = filepath.Clean(rel)
	if rel == "." || rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}
