package shim

import (
	"errors"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
)

// exitCode maps a failure to hjk-init's exit code, as the shell does for a
// command: 127 when COMMAND (or its interpreter) does not exist, 126 when it
// exists but cannot be executed, and 125 for hjk-init's own failures.
func exitCode(err error) int {
	var e *environ.CommandError
	switch {
	case err == nil:
		return 0
	case !errors.As(err, &e):
		return agent.ExitFailure
	case environ.NotFound(err):
		return agent.ExitNotFound
	default:
		return agent.ExitNotExecutable
	}
}
