package shim

import (
	"fmt"
	"io"
	"runtime"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/boot"
	"github.com/hjk-dev/hjk/internal/guest/doctor"
	"github.com/hjk-dev/hjk/internal/guest/export"
	"github.com/hjk-dev/hjk/internal/guest/repo"
	"github.com/hjk-dev/hjk/internal/guest/sessiond"
	"github.com/hjk-dev/hjk/internal/version"
)

// command is one of hjk-init's own subcommands. run gets the arguments after
// the subcommand's name and returns the exit code (125 for its own failure,
// as for hjk-init).
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is the explicit list of subcommands: adding one is one row.
// They run instead of the credential writing and COMMAND, as the user who
// started hjk-init.
func commands() []command {
	return []command{
		{"version", "print hjk-init's version", versionCommand},
		{"doctor", "check that agent sessions can work in this image", doctor.Main},
		{"export", "print an agent's login from its files, for hjk to take back (exit 3: none)", export.Main},
		{"session", "hold sessions that outlive the terminal (start, attach, list, kill)", sessiond.Main},
		{"boot", "be PID 1 of an hjk instance's container (hjk's entrypoint)", boot.Main},
		{"repo", "the instance's own repository: init, status, bundle, update (for hjk)", repo.Main},
		{"creds", "receive credentials on stdin for a session (for hjk)", credsCommand},
		{"install", "copy hjk-init (and hjk-gate beside it) into a folder (a pod's init container)", installCommand},
		{"whoami", "write the uid:gid it runs as to a file, refusing root (a pod's init container)", whoamiCommand},
	}
}

func lookupCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return &c
		}
	}
	return nil
}

func versionCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "hjk-init: version takes no arguments\n")
		return agent.ExitFailure
	}
	fmt.Fprintf(stdout, "hjk-init %s %s/%s\n", version.Version, runtime.GOOS, runtime.GOARCH)
	return 0
}
