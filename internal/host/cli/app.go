package cli

import (
	"context"
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
	// commands open by name and engine (tests plug in a fake that counts
	// calls).
	OpenRuntime func(name string, ep runtime.Endpoint) (runtime.Runtime, error)
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

// Runtime returns the container runtime a new instance would be made on,
// aimed at its engine: flag (--runtime), HJK_RUNTIME, the config file's
// runtime, else Apple's container on macOS, docker, podman, the first on
// PATH; the engine the first of those names, else the one the engine's
// own environment names (DOCKER_HOST, the current context, ...). It asks
// the engine nothing: rt.Version does.
func (app *App) Runtime(flag string) (runtime.Runtime, error) {
	var cfg config.Config
	if dirs, err := config.DirsFrom(app.Getenv); err == nil {
		if cfg, err = config.Load(dirs.File()); err != nil {
			return nil, err
		}
	}
	t, err := app.target(context.Background(), flag, "", cfg)
	if err != nil {
		return nil, err
	}
	return app.runtimeNamed(t.Runtime, t.Engine)
}

// target is the runtime and engine a new instance is made on: flag
// (--runtime), HJK_RUNTIME, the config, else the first CLI found; named
// (--context, --connection) or the spec's engine, else the one the
// engine's environment names.
func (app *App) target(ctx context.Context, flag, named string, cfg config.Config) (instance.Target, error) {
	sel, err := runtime.Select(runtime.Choice{Flag: flag, Env: app.Getenv("HJK_RUNTIME"), Config: cfg.Runtime, Named: named, GOOS: goruntime.GOOS})
	if err != nil {
		return instance.Target{}, err
	}
	if sel.Endpoint != nil {
		return instance.Target{Runtime: sel.Name, Engine: *sel.Endpoint}, nil
	}
	ep, err := app.resolve(ctx, sel.Name)
	return instance.Target{Runtime: sel.Name, Engine: ep}, err
}

// resolve is the engine runtime name goes to now, as the environment has
// it.
func (app *App) resolve(ctx context.Context, name string) (runtime.Endpoint, error) {
	return runtime.Resolver{Getenv: app.Getenv, GOOS: goruntime.GOOS}.Resolve(ctx, name)
}
