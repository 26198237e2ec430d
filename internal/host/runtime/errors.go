package runtime

import (
	"fmt"
	"strings"
)

// UnavailableError is a runtime whose CLI is missing or whose engine does
// not answer. Its message is the fix.
type UnavailableError struct {
	Runtime   string
	Installed bool
	Fix       string // the whole message: what is wrong and what to do
	Err       error  // the CLI's own failure, if any
}

func (e *UnavailableError) Error() string {
	if e.Err != nil {
		if d := firstLine(e.Err); d != "" {
			return e.Fix + " (" + d + ")"
		}
	}
	return e.Fix
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// How to get and wake docker and podman; Apple's container keeps its own
// words in apple.go.
var (
	installHint = map[string]string{
		"docker": "install Docker (https://docs.docker.com/get-docker/)",
		"podman": "install Podman (https://podman.io/docs/installation)",
	}
	startHint = map[string]string{
		"docker": "docker is installed but its daemon does not answer: start Docker Desktop or `sudo systemctl start docker`",
		"podman": "podman is installed but does not answer: run `podman machine start` (macOS, Windows) or check `podman info`",
	}
)

func notInstalled(name, install string) error {
	return &UnavailableError{Runtime: name, Fix: fmt.Sprintf("%s is not installed: %s, or choose another runtime with --runtime", name, install)}
}

func notAnswering(name, fix string, err error) error {
	return &UnavailableError{Runtime: name, Installed: true, Fix: fix, Err: err}
}

// firstLine is the first line the CLI printed on its error stream.
func firstLine(err error) string {
	ee, ok := err.(*ExitError)
	if !ok {
		return ""
	}
	line, _, _ := strings.Cut(ee.Stderr, "\n")
	return strings.TrimSpace(line)
}

// MissingMountSource reports whether err is an engine refusing a bind
// mount because its source does not exist on the engine's side: docker's
// "bind source path does not exist", podman's "statfs ...: no such file or
// directory". hjk asks it of a folder that exists on the host, to learn
// whether the engine shares the host's filesystem.
func MissingMountSource(err error) bool {
	if stderrHas(err, "bind source path does not exist") {
		return true
	}
	var ee *ExitError
	if !asExit(err, &ee) {
		return false
	}
	s := strings.ToLower(ee.Stderr)
	return strings.Contains(s, "statfs ") && strings.Contains(s, "no such file or directory")
}

// NameInUse reports whether err is an engine refusing to create a
// container because another has its name.
func NameInUse(err error) bool {
	return stderrHas(err, "is already in use")
}
