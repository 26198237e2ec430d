package runtime

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Names lists the runtimes hjk drives, as users name them.
var Names = []string{"docker", "podman", "container", Kubernetes}

// New returns the driver for a runtime named by the user, going where the
// environment points its CLI.
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

// Open returns the driver for runtime name aimed at engine ep, whatever
// the environment says.
func Open(name string, ep Endpoint) (Runtime, error) {
	r, err := New(name)
	if err != nil {
		return nil, err
	}
	flags, drop, err := globalFlags(name, ep)
	if err != nil {
		return nil, err
	}
	if e, ok := r.(*engine); ok {
		e.pinned, e.ep, e.global, e.drop = true, ep.Normal(), flags, drop
	}
	return r, nil
}

// Choice is what decides the runtime, strongest first.
type Choice struct {
	Flag   string // --runtime
	Env    string // HJK_RUNTIME
	Config string // the config file's runtime
	// Named is --context (docker) or --connection (podman): the engine,
	// by name, of whichever runtime is chosen.
	Named string
	GOOS  string // runtime.GOOS; "darwin" prefers Apple's container
	// LookPath finds a CLI (exec.LookPath when nil).
	LookPath func(string) (string, error)
}

// Selection is the runtime a new instance is made on, and its engine when
// the choice named one (nil: the engine's environment decides, Resolve).
type Selection struct {
	Name     string
	Endpoint *Endpoint
}

// Select picks the runtime: the first of Flag, Env, Config that is set
// (each "NAME" or "NAME:ENGINE", see ParseSpec), else Apple's container on
// macOS when present, then docker, then podman, the first on PATH. Named
// names the engine over what the spec says. It does not ask the engine
// anything: Version does.
func Select(c Choice) (Selection, error) {
	sel, err := c.pick()
	if err != nil || c.Named == "" {
		return sel, err
	}
	if sel.Name == "container" {
		return Selection{}, fmt.Errorf("Apple's container has no engines but its own: --%s names a %s engine", namedKind(sel.Name), "docker or podman")
	}
	ep, err := Named(sel.Name, c.Named)
	if err != nil {
		return Selection{}, fmt.Errorf("--%s: %w", namedKind(sel.Name), err)
	}
	sel.Endpoint = &ep
	return sel, nil
}

func (c Choice) pick() (Selection, error) {
	for _, n := range []struct{ v, from string }{{c.Flag, "--runtime"}, {c.Env, "HJK_RUNTIME"}, {c.Config, "the config file"}} {
		if n.v != "" {
			name, ep, err := ParseSpec(n.v)
			if err != nil {
				return Selection{}, fmt.Errorf("%s: %w", n.from, err)
			}
			return Selection{Name: name, Endpoint: ep}, nil
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
			return Selection{Name: n}, nil
		}
	}
	return Selection{}, &UnavailableError{Fix: "no container runtime found: install Docker (https://docs.docker.com/get-docker/) or Podman (https://podman.io/docs/installation)" +
		map[bool]string{true: ", or Apple's container (https://github.com/apple/container/releases)", false: ""}[c.GOOS == "darwin"]}
}

// Chosen is the runtime spec Select would take from Flag, Env or Config
// ("" when none is set): how a caller tells "kubernetes", which is no
// engine, before it asks for one.
func (c Choice) Chosen() string {
	for _, n := range []string{c.Flag, c.Env, c.Config} {
		if n != "" {
			return n
		}
	}
	return ""
}
