// Package environ is how every part of hjk-init reads an environment and
// finds a command in it: one lookup of a variable, so that the shim, the
// credential writer, export, doctor and the session server can never
// disagree about which of two equal entries counts, and one PATH search.
//
// It reads the list it is given, and LookPath stats the files it tries; it
// writes nothing and never reads the process's own environment.
package environ

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Get returns the value of name in env, a list of NAME=VALUE entries as
// os.Environ returns it. Should name be there twice, the first entry wins:
// the agents read their environment with getenv (C's and Go's os.Getenv),
// which does the same, and hjk-init must read what they read. An absent
// variable and an empty one both give "": callers treat them alike.
func Get(env []string, name string) string {
	if name == "" {
		return ""
	}
	for _, kv := range env {
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			return kv[len(name)+1:]
		}
	}
	return ""
}

// Set returns a copy of env with name set to value: every earlier entry of
// name is dropped and one added at the end, so Get and any getenv agree.
func Set(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !(len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name) {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

// DefaultPath is searched when the environment has no PATH, as docker sets
// it for an image that does not.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ErrNotFound is a command found nowhere on PATH.
var ErrNotFound = errors.New("command not found in PATH")

// CommandError is a command that could not be found or started. Name is the
// command as it was given; Err says why: ErrNotFound or fs.ErrNotExist
// when there is nothing to run (a shell's 127), anything else when there
// is something that cannot be run (126).
type CommandError struct {
	Name string
	Err  error
}

func (e *CommandError) Error() string { return fmt.Sprintf("%s: %v", e.Name, e.Err) }
func (e *CommandError) Unwrap() error { return e.Err }

// NotFound reports whether err says there was nothing to run, rather than
// something that could not be run.
func NotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, fs.ErrNotExist)
}

// LookPath finds name as a shell would: a name with a slash is used as it
// is; otherwise the first executable regular file of that name in path (a
// PATH list; "" means DefaultPath) wins, directories are skipped, and an
// empty entry is the current directory. The error is a *CommandError that
// tells "not found" from "found but not executable", naming the first file
// that was there but could not be run.
func LookPath(name, path string) (string, error) {
	if name == "" {
		return "", &CommandError{`""`, ErrNotFound}
	}
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", &CommandError{name, err}
		}
		return name, nil
	}
	if path == "" {
		path = DefaultPath
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		if denied == nil && !errors.Is(err, fs.ErrNotExist) && err != syscall.EISDIR {
			denied = fmt.Errorf("%s: %w", p, err)
		}
	}
	if denied != nil {
		return "", &CommandError{name, denied}
	}
	return "", &CommandError{name, ErrNotFound}
}

// executable checks that p is a regular file this process may execute.
func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err // CommandError names the command already
		}
		return err
	}
	if fi.IsDir() {
		return syscall.EISDIR
	}
	if !fi.Mode().IsRegular() {
		return syscall.EACCES
	}
	return syscall.Access(p, 1) // X_OK, for the real uid, as the kernel's exec checks it
}
