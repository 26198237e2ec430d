package runtime

import (
	"slices"
	"strings"
)

// refusals are how the engines refuse an exec in a container that is not
// running or not there.
var refusals = []string{
	"is not running",               // docker
	"no such container",            // docker, podman
	"container state improper",     // podman
	"no container with name or id", // podman
}

// kubeRefusals are how kubectl refuses an exec in a pod that is not there
// or a container that is not running: the whole start of the first line.
var kubeRefusals = []string{
	"Error from server (NotFound): pods ",
	"error: unable to upgrade connection: container not found",
	"error: unable to upgrade connection: pod does not exist",
	"error: cannot exec into a container in a completed pod",
	"error: Internal error occurred: unable to upgrade connection: container not found",
}

// Refused reports whether an exec's failure err, with an error stream that
// began with head, is the engine refusing to run it (no container, or one
// not running), not the process in the container failing: docker exits 1
// with "Error response from daemon:" first, podman 125 (no such container)
// or 255 (container state improper) with "Error:" first. A process in the
// container can print anything and exit with any status, so head must start
// with the engine's own prefix and its first line name a refusal.
func Refused(engine string, err error, head string) bool {
	code, ok := ExitCode(err)
	if !ok {
		return false
	}
	switch engine {
	case Kubernetes:
		line, _, _ := strings.Cut(head, "\n")
		return code == 1 && slices.ContainsFunc(kubeRefusals, func(p string) bool { return strings.HasPrefix(line, p) })
	case "docker":
		ok = code == 1 && strings.HasPrefix(head, "Error response from daemon: ")
	case "podman":
		ok = (code == 125 || code == 255) && strings.HasPrefix(head, "Error: ")
	default: // Apple's container: its CLI's errors start "Error: ".
		ok = code != 0 && strings.HasPrefix(head, "Error: ")
	}
	line, _, _ := strings.Cut(head, "\n")
	return ok && refusedLine(line)
}

// NotRunning reports whether err (an exec's, its error stream captured)
// says the container is not running or not there.
func NotRunning(engine string, err error) bool {
	var ee *ExitError
	if !asExit(err, &ee) {
		return false
	}
	return Refused(engine, err, ee.Stderr)
}

func refusedLine(line string) bool {
	s := strings.ToLower(line)
	for _, r := range refusals {
		if strings.Contains(s, r) {
			return true
		}
	}
	return false
}
