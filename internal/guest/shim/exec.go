package shim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// defaultPath is searched when the environment has no PATH, as docker sets
// it for an image that does not.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// execError is a COMMAND that could not be found or started. Its exit code
// follows the shell: 127 for "not found", 126 for everything else.
type execError struct {
	name string
	err  error
}

func (e *execError) Error() string { return fmt.Sprintf("%s: %v", e.name, e.err) }
func (e *execError) Unwrap() error { return e.err }

var errNotInPath = errors.New("command not found in PATH")

// exitCode maps a failure to hjk-init's exit code: 127 when COMMAND (or its
// interpreter) does not exist, 126 when it exists but cannot be executed,
// 125 for anything else.
func exitCode(err error) int {
	var e *execError
	switch {
	case err == nil:
		return 0
	case !errors.As(err, &e):
		return ExitFailure
	case errors.Is(err, errNotInPath), errors.Is(err, fs.ErrNotExist):
		return ExitNotFound
	default:
		return ExitNotExecutable
	}
}

// lookPath finds name as a shell would: a name with a slash is used as is;
// otherwise the first executable regular file of that name in the PATH
// list wins. It tells "not found" (127) from "found but not executable"
// (126) so the error can say which.
func lookPath(name, path string) (string, error) {
	if name == "" {
		return "", &execError{`""`, errNotInPath}
	}
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", &execError{name, err}
		}
		return name, nil
	}
	if path == "" {
		path = defaultPath
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "." // an empty PATH entry is the current directory
		}
		p := filepath.Join(dir, name)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		// Like the shell, skip directories; remember the first file that
		// is there but may not be run.
		if denied == nil && !errors.Is(err, fs.ErrNotExist) && err != syscall.EISDIR {
			denied = fmt.Errorf("%s: %w", p, err)
		}
	}
	if denied != nil {
		return "", &execError{name, denied}
	}
	return "", &execError{name, errNotInPath}
}

// executable checks that p is a regular file the process may execute.
func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return unwrapPath(err)
	}
	if fi.IsDir() {
		return syscall.EISDIR
	}
	if !fi.Mode().IsRegular() {
		return syscall.EACCES
	}
	if err := syscall.Access(p, 1); err != nil { // X_OK
		return err
	}
	return nil
}

// unwrapPath drops the *PathError around err: execError already names the
// command, and the path is in its message.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
