// Package runtime drives container engines through their own CLIs (docker,
// podman, Apple's container), never an SDK, so DOCKER_HOST, contexts and
// the user's engine configuration keep working. It may run processes on the
// host and read docker's config.json (its current context); it knows
// nothing of git, agents or secret stores.
//
// A driver from Open is aimed at one engine (endpoint.go): the CLI gets
// --host/--context (docker) or --url/--connection (podman) before every
// command, and none of the variables that would aim it elsewhere, so an
// instance made on an engine is always reached there.
//
// One exec helper (exec.go) runs every CLI call; a driver per CLI builds the
// argv of each subcommand and decodes its JSON. docker and podman share one
// driver (engine.go) where they really behave the same; Apple's container
// keeps all its differences in apple.go.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNoSuchContainer is returned (wrapped) for a container that does not exist.
var ErrNoSuchContainer = errors.New("no such container")

// ErrUnavailable is returned (wrapped) when the runtime's CLI is missing or
// its engine does not answer. The wrapping error says what to install or
// start.
var ErrUnavailable = errors.New("container runtime unavailable")

// Runtime is one engine CLI.
type Runtime interface {
	// Name is the CLI's name: "docker", "podman" or "container".
	Name() string
	// Endpoint is the engine the driver is aimed at (Open); a driver
	// that is not aimed goes where the environment says, and tells the
	// default.
	Endpoint() Endpoint
	// Version returns the engine's version. It is also the check that the
	// CLI is installed and its engine answers: its error wraps
	// ErrUnavailable and says what to install or start.
	Version(ctx context.Context) (string, error)
	// Create makes and starts a detached container.
	Create(ctx context.Context, spec Spec) error
	Start(ctx context.Context, name string) error
	// Stop sends the stop signal and waits up to timeout before killing.
	Stop(ctx context.Context, name string, timeout time.Duration) error
	// Remove deletes a container, running or not. A container that is
	// already gone is not an error.
	Remove(ctx context.Context, name string) error
	// Inspect returns one container; ErrNoSuchContainer when absent.
	Inspect(ctx context.Context, name string) (Container, error)
	// List returns every container (running or not) carrying all of labels,
	// in one call to the engine.
	List(ctx context.Context, labels map[string]string) ([]Container, error)
	// Exec runs a command in a running container, wired to the spec's
	// streams. Values of Env are taken from the process environment of the
	// CLI (`-e NAME`), never argv. A command that ran and exited non-zero
	// gives an *ExitError carrying its code (see ExitCode).
	Exec(ctx context.Context, spec ExecSpec) error
	Build(ctx context.Context, spec BuildSpec) error
	// ImageExists reports whether ref is present locally.
	ImageExists(ctx context.Context, ref string) (bool, error)
	// ImageInspect returns what hjk needs of a local image; an image that
	// is not there is ErrNoSuchImage.
	ImageInspect(ctx context.Context, ref string) (Image, error)
	// CopyTo unpacks the tar stream r into dir of a container, running or
	// not (`cp - NAME:DIR`): how files reach an engine that shares no
	// filesystem with the host. Ownership comes from the tar headers.
	CopyTo(ctx context.Context, name, dir string, r io.Reader) error
	// VolumeCreate makes a named volume; one that exists already is kept.
	VolumeCreate(ctx context.Context, name string, labels map[string]string) error
	// VolumeRemove deletes named volumes; one that is gone is not an
	// error.
	VolumeRemove(ctx context.Context, names ...string) error
	// Volumes lists the volumes carrying all of labels.
	Volumes(ctx context.Context, labels map[string]string) ([]string, error)
}

// ErrNoSuchImage is returned (wrapped) for an image that is not present.
var ErrNoSuchImage = errors.New("no such image")

// Image is what hjk needs to know of an image.
type Image struct {
	ID   string
	User string // its USER: "", a name, or uid[:gid]
	OS   string // "linux"
	Arch string // Go's names: "amd64", "arm64"
}

// Spec describes a container to create.
type Spec struct {
	Name    string
	Image   string
	Labels  map[string]string
	Mounts  []Mount
	Workdir string
	// Env holds non-secret variables (NAME=value) for the container config:
	// they show in inspect, so never put a credential here.
	Env []string
	// Entrypoint replaces the image's (nil: the image's). Its first element
	// is the program, the rest go before Cmd.
	Entrypoint []string
	Cmd        []string
	User       string
	// Network is "" for the engine's default, "none", "host", or the name
	// of a network.
	Network string
	// Tmpfs lists folders that get a fresh, empty tmpfs at every start.
	Tmpfs []string
	// CapDrop and CapAdd change the capabilities ("ALL", "CHOWN", ...).
	CapDrop, CapAdd []string
	// NoNewPrivileges keeps every process from gaining privileges
	// (setuid binaries, file capabilities).
	NoNewPrivileges bool
	// ReadOnly makes the container's root filesystem read-only.
	ReadOnly bool
	// NoStart creates the container without starting it.
	NoStart bool
}

// Mount is a bind mount of a host path, or, with Volume, a named volume of
// the engine (Source is its name; the engine creates it when missing).
// Apple's container mounts directories only.
type Mount struct {
	Source, Target string
	ReadOnly       bool
	Volume         bool
}

// ExecSpec describes a process to run in a container.
type ExecSpec struct {
	// Pod is the pod the container is in (Kubernetes; "" elsewhere).
	Pod       string
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
	// Stderr gets the command's error stream; nil keeps it (the tail) for
	// the returned error.
	Stderr io.Writer
}

// BuildSpec describes an image build.
type BuildSpec struct {
	Tag        string
	Context    string
	Dockerfile string // "" : Context/Dockerfile
	Args       map[string]string
	// Stdout gets the build's progress (both streams); nil discards it.
	// The tail of its error stream is in the error either way.
	Stdout io.Writer
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
