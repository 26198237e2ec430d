package cli

import (
	"errors"
	"fmt"
)

// errHelp is returned by a command that printed its help on request.
var errHelp = errors.New("help requested")

// UserError is a failure the user can fix: a lowercase fact, and a hint
// line that names what to run.
type UserError struct {
	Err  error
	Hint string
	Code int // exit code; 0 means 1
}

func (e *UserError) Error() string { return e.Err.Error() }
func (e *UserError) Unwrap() error { return e.Err }

// Hintf wraps err with a hint line.
func Hintf(err error, format string, a ...any) error {
	return &UserError{Err: err, Hint: fmt.Sprintf(format, a...)}
}

// ExitError carries a child process's exit code through hjk unchanged.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }
