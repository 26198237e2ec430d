// Package runtime drives container engines through their own CLIs (docker,
// podman, Apple's container), never an SDK, so DOCKER_HOST, contexts and
// the user's engine configuration keep working. It may run processes on the
// host; it knows nothing of git, agents or secret stores.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNoSuchContainer is returned (wrapped) for a container that does not exist.
var ErrNoSuchContainer = errors.New("no such container")

// Runtime is one engine CLI.
type Runtime interface {
	// Name is the CLI's name: "docker", "podman" or "container".
	Name() string
	// Ping checks that the CLI is installed and its engine answers; its
	// error says what to install or start.
	Ping(ctx context.Context) error
	// Create makes and starts a detached container.
	Create(ctx context.Context, spec Spec) error
	Start(ctx context.Context, name string) error
	// Stop sends the stop signal and waits up to timeout before killing.
	Stop(ctx context.Context, name string, timeout time.Duration) error
	Remove(ctx context.Context, name string) error
	// Inspect returns one container; ErrNoSuchContainer when absent.
	Inspect(ctx context.Context, name string) (Container, error)
	// List returns every container (running or not) carrying all of labels,
	// in one call to the engine.
	List(ctx context.Context, labels map[string]string) ([]Container, error)
	// Exec runs a command in a running container. Values of Env are taken
	// from the process environment of the CLI (`-e NAME`), never argv.
	Exec(ctx context.Context, spec ExecSpec) error
	Build(ctx context.Context, spec BuildSpec) error
	// ImageExists reports whether ref is present locally.
	ImageExists(ctx context.Context, ref string) (bool, error)
}

// Spec describes a container to create.
type Spec struct {
	Name    string
	Image   string
	Labels  map[string]string
	Mounts  []Mount
	Workdir string
	// Env holds non-secret variables (NAME=value) for the container config.
	Env        []string
	Entrypoint []string // nil: the image's
	Cmd        []string
	User       string
}

// Mount is a bind mount of a host directory.
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// ExecSpec describes a process to run in a container.
type ExecSpec struct {
	Container string
	Cmd       []string
	Workdir   string
	User      string
	TTY       bool // allocate a terminal (-t)
	// Interactive keeps stdin open (-i).
	Interactive bool
	// Env names variables passed as `-e NAME`: the CLI reads their values
	// from its own environment, which is Values (appended to os.Environ()).
	Env    []string
	Values []string // NAME=value, only in the child CLI's environment
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// BuildSpec describes an image build.
type BuildSpec struct {
	Tag        string
	Context    string
	Dockerfile string
	Args       map[string]string
	Stdout     io.Writer
}

// Container is what hjk needs to know of one container.
type Container struct {
	ID      string
	Name    string
	Image   string
	State   string // "running", "exited", "created", ...
	Labels  map[string]string
	Created time.Time
}

// Running reports whether the container is up.
func (c Container) Running() bool { return c.State == "running" }
