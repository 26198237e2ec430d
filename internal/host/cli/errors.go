package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit statuses: a run function returns an error, and its type alone picks
// the status (App.report). A child's own status passes through ExitError.
const (
	exitFailure = 1 // anything that failed: the error says what
	exitUsage   = 2 // a command line hjk cannot run as given (UsageError)
)

// UserError is a failure the user can fix: a lowercase fact, and a hint
// line that names what to run. hjk exits 1.
type UserError struct {
	Err  error
	Hint string
}

func (e *UserError) Error() string { return e.Err.Error() }
func (e *UserError) Unwrap() error { return e.Err }
func (e *UserError) hint() string  { return e.Hint }

// Hintf wraps err with a hint line.
func Hintf(err error, format string, a ...any) error {
	return &UserError{Err: err, Hint: fmt.Sprintf(format, a...)}
}

// UsageError is a command line hjk cannot run as given: an unknown command
// or flag, a flag's bad value, the wrong number of arguments, a name that
// is not valid. hjk exits 2, the status scripts test for "called wrongly".
// Hint, when set, says where to look (usually the command's help).
type UsageError struct {
	Err  error
	Hint string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }
func (e *UsageError) hint() string  { return e.Hint }

// ExitError ends hjk with Code: a child process's status passed through
// unchanged (exec, run, attach: the child has said what it had to say), or
// a status whose reason has been shown already (doctor's failed checks,
// the usage 'hjk' alone prints). Err, when set, is printed first, as when a
// login's child was interrupted (130).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

func (e *ExitError) Unwrap() error { return e.Err }

// hintOf is the hint line err carries, if any.
func hintOf(err error) string {
	var h interface{ hint() string }
	if errors.As(err, &h) {
		return h.hint()
	}
	return ""
}

// helpHint points at a command's help.
func helpHint(cmd *cobra.Command) string {
	return fmt.Sprintf("Run '%s --help' for usage.", cmd.CommandPath())
}

// usageError is a UsageError whose hint points at cmd's help.
func usageError(cmd *cobra.Command, format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...), Hint: helpHint(cmd)}
}

// flagError turns pflag's complaint into a usage error, without the value.
func flagError(cmd *cobra.Command, err error) error {
	return &UsageError{Err: withoutValue(err), Hint: helpHint(cmd)}
}

// withoutValue keeps what the user typed out of a flag's error, naming the
// flag instead: the value given to a mistyped flag is often the secret
// itself (`--api-key=sk-...`, `-ask-...`), and errors end up in terminals'
// scrollback and CI logs.
func withoutValue(err error) error {
	var iv *pflag.InvalidValueError
	if errors.As(err, &iv) {
		f := iv.GetFlag()
		if f.Value.Type() == "bool" {
			return fmt.Errorf("--%s takes no value (it is a switch)", f.Name)
		}
		return fmt.Errorf("invalid value for --%s", f.Name)
	}
	var ne *pflag.NotExistError
	if errors.As(err, &ne) && ne.GetSpecifiedShortnames() != "" {
		// pflag adds the whole word, "in -xsk-...".
		return fmt.Errorf("unknown shorthand flag: -%s", ne.GetSpecifiedName()[:1])
	}
	var se *pflag.InvalidSyntaxError
	if errors.As(err, &se) {
		return errors.New("bad flag syntax: a flag is -x, --name or --name=value")
	}
	return err
}

// Positional argument checks: each is a usage error with the command's own
// words and the way to its help. Arguments after "--" are not counted
// where a command hands them on (run, exec).

// argsRange takes from min to max arguments (max -1: any number).
func argsRange(min, max int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if n := len(args); n < min || max >= 0 && n > max {
			return usageError(cmd, "%s", msg)
		}
		return nil
	}
}

// argsBeforeDash is argsRange for the arguments before "--".
func argsBeforeDash(min, max int, msg string) cobra.PositionalArgs {
	check := argsRange(min, max, msg)
	return func(cmd *cobra.Command, args []string) error {
		before, _ := splitDash(args, cmd.ArgsLenAtDash())
		return check(cmd, before)
	}
}

// splitDash splits positional arguments at "--" (dash is pflag's
// ArgsLenAtDash, -1 when there was none).
func splitDash(args []string, dash int) (before, after []string) {
	if dash < 0 {
		return args, nil
	}
	return args[:dash], args[dash:]
}
