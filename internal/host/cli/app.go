package cli

import (
	"io"
	goruntime "runtime"

	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// App is the factory every command is made from (gh's cmdutil.Factory):
// the streams and the environment, and the dependencies a command opens
// when its work needs them, never before (store, runtime, instances).
// Tests build one with fakes plugged in.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string

	// OpenStore, when set, replaces the store chosen from HJK_STORE and the
	// config (tests plug in a store.Memory).
	OpenStore func() (store.Store, error)
	store     store.Store

	// OpenRuntime, when set, replaces the runtime drivers the instance
	// commands open by name (tests plug in a fake that counts calls).
	OpenRuntime func(name string) (runtime.Runtime, error)
	// OpenKube, when set, replaces kubectl for instances on Kubernetes.
	OpenKube func(c instance.Cluster) (instance.Kubectl, error)

	// out is the global -q and -v (output.go).
	out output
}

// NewApp returns an App over the given streams and environment.
func NewApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *App {
	return &App{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv}
}

// Store opens the credential store on first use (see store.go).
func (app *App) Store() (store.Store, error) {
	if app.store != nil {
		return app.store, nil
	}
	open := app.OpenStore
	if open == nil {
		open = app.openStore
	}
	s, err := open()
	if err != nil {
		return nil, err
	}
	app.store = s
	return s, nil
}

// Runtime returns the container runtime: flag (--runtime), HJK_RUNTIME, the
// config file's runtime, else Apple's container on macOS, docker, podman,
// the first on PATH. It asks the engine nothing: rt.Version does.
func (app *App) Runtime(flag string) (runtime.Runtime, error) {
	var configured string
	if dirs, err := config.DirsFrom(app.Getenv); err == nil {
		c, err := config.Load(dirs.File())
		if err != nil {
			return nil, err
		}
		configured = c.Runtime
	}
	return runtime.Select(runtime.Choice{Flag: flag, Env: app.Getenv("HJK_RUNTIME"), Config: configured, GOOS: goruntime.GOOS})
}
