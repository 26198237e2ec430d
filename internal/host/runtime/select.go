package runtime

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Names lists the runtimes hjk drives, as users name them.
var Names = []string{"docker", "podman", "container", Kubernetes}

// New returns the driver for a runtime named by the user.
func New(name string) (Runtime, error) {
	switch name {
	case "docker":
		return Docker(), nil
	case "podman":
		return Podman(), nil
	case "container":
		return Apple(), nil
	case Kubernetes:
		return nil, errors.New("kubernetes is no container engine: hjk reaches it with kubectl (runtime.Kube)")
	}
	return nil, fmt.Errorf("unknown runtime %q: choose one of %s", name, strings.Join(Names, ", "))
}

// Choice is what decides the runtime, strongest first.
type Choice struct {
	Flag   string // --runtime
	Env    string // HJK_RUNTIME
	Config string // the config file's runtime
	GOOS   string // runtime.GOOS; "darwin" prefers Apple's container
	// LookPath finds a CLI (exec.LookPath when nil).
	LookPath func(string) (string, error)
}

// Chosen is the runtime name Select would take from Flag, Env or Config
// ("" when none is set): how a caller tells "kubernetes", which is no
// engine, before it asks Select for one.
func (c Choice) Chosen() string {
	for _, n := range []string{c.Flag, c.Env, c.Config} {
		if n != "" {
			return n
		}
	}
	return ""
}

// Select picks the runtime: the first of Flag, Env, Config that is set,
// else Apple's container on macOS when present, then docker, then podman,
// the first on PATH. It does not ask the engine anything: Version does.
func Select(c Choice) (Runtime, error) {
	for _, n := range []struct{ v, from string }{{c.Flag, "--runtime"}, {c.Env, "HJK_RUNTIME"}, {c.Config, "the config file"}} {
		if n.v != "" {
			r, err := New(n.v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n.from, err)
			}
			return r, nil
		}
	}
	look := c.LookPath
	if look == nil {
		look = exec.LookPath
	}
	var order []string
	if c.GOOS == "darwin" {
		order = append(order, "container")
	}
	for _, n := range append(order, "docker", "podman") {
		if _, err := look(n); err == nil {
			return New(n)
		}
	}
	return nil, &UnavailableError{Fix: "no container runtime found: install Docker (https://docs.docker.com/get-docker/) or Podman (https://podman.io/docs/installation)" +
		map[bool]string{true: ", or Apple's container (https://github.com/apple/container/releases)", false: ""}[c.GOOS == "darwin"]}
}
