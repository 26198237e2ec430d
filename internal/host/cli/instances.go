package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"

	"golang.org/x/term"

	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/refresh"
	"github.com/hjk-dev/hjk/internal/host/runner"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/shimbin"
	"github.com/hjk-dev/hjk/internal/host/store"
	"github.com/hjk-dev/hjk/internal/layout"
	"github.com/hjk-dev/hjk/internal/version"
)

// DefaultImage is the image an instance gets when neither --image nor the
// config names one: hjk's agent image (images/agents).
const DefaultImage = runner.DefaultImage

// ShellAgent opens a shell in the instance instead of an agent.
const ShellAgent = runner.ShellAgent

// instances is what the instance commands share: the settings and the
// manager of the instances.
type instances struct {
	cfg  config.Config
	dirs config.Dirs
	mgr  *instance.Manager
}

// instances opens the catalog of instances under hjk's data folder.
func (app *App) instances() (*instances, error) {
	dirs, err := config.DirsFrom(app.Getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(dirs.File())
	if err != nil {
		return nil, Hintf(err, "Fix it, or set values with 'hjk config KEY VALUE'.")
	}
	var maxBundle int64
	if cfg.Sync.MaxBundle != "" {
		if maxBundle, err = config.ParseSize(cfg.Sync.MaxBundle); err != nil {
			return nil, Hintf(fmt.Errorf("sync.max_bundle in %s: %w", dirs.File(), err), "Set it with 'hjk config sync.max_bundle 4GiB'.")
		}
	}
	is := &instances{
		cfg:  cfg,
		dirs: dirs,
		mgr: &instance.Manager{
			Data:        dirs.Data,
			Runtime:     app.runtimeNamed,
			Shim:        shimbin.Tar,
			HostUID:     os.Getuid(),
			HostGID:     os.Getgid(),
			GateNetwork: cfg.Gate.Network,
			MaxBundle:   maxBundle,
			Remote:      cfg.Engine.Remote,
			Resolve:     app.resolve,
			Step:        app.Step,
			Kube: instance.KubeSettings{
				Open:    app.openKube,
				Context: cfg.Kubernetes.Context, Namespace: cfg.Kubernetes.Namespace,
				ShimImage:    cmp.Or(cfg.Kubernetes.ShimImage, DefaultShimImage),
				StorageClass: cfg.Kubernetes.StorageClass, StorageSize: cfg.Kubernetes.StorageSize,
			},
		},
	}
	is.mgr.DefaultRuntime = func() (string, *runtime.Endpoint, error) {
		sel, err := runtime.Select(runtime.Choice{Env: app.Getenv("HJK_RUNTIME"), Config: cfg.Runtime, GOOS: goruntime.GOOS})
		return sel.Name, sel.Endpoint, err
	}
	return is, nil
}

// runner is the orchestration of the instance commands, speaking through
// app's streams and words.
func (app *App) runner(is *instances) *runner.Runner {
	return &runner.Runner{
		Mgr:    is.mgr,
		Store:  app.Store,
		Lock:   refresh.FileLock(is.dirs.Data + "/credentials.lock"),
		Config: is.cfg,
		IO:     runner.IO{Stdin: app.Stdin, Stdout: app.Stdout, Stderr: app.Stderr, TTY: app.stdinTerminal()},
		Events: app.event,
	}
}

// runtimeNamed opens the driver of a runtime aimed at an engine: the one
// an existing instance was made on, whatever the environment says now.
func (app *App) runtimeNamed(name string, ep runtime.Endpoint) (runtime.Runtime, error) {
	if app.OpenRuntime != nil {
		return app.OpenRuntime(name, ep)
	}
	return runtime.Open(name, ep)
}

// DefaultShimImage is the image the init containers of a pod on
// Kubernetes run (hjk-init and hjk-gate of this version: images/hjk-init,
// as the release publishes it), unless kubernetes.shim_image names another.
var DefaultShimImage = "ghcr.io/hjk-dev/hjk-init:" + version.Version

// openKube aims kubectl at a cluster's context and namespace.
func (app *App) openKube(c instance.Cluster) (instance.Kubectl, error) {
	if app.OpenKube != nil {
		return app.OpenKube(c)
	}
	return &runtime.Kube{Context: c.Context, Namespace: c.Namespace, Workdir: layout.Workdir}, nil
}

// repo is the repository of the current folder: inside an instance's
// workspace, the one hjk recorded for it.
func (app *App) repo(ctx context.Context, is *instances) (instance.Repo, error) {
	wd, err := os.Getwd()
	if err != nil {
		return instance.Repo{}, err
	}
	r, err := is.mgr.FindRepo(ctx, wd)
	if errors.Is(err, instance.ErrInData) {
		return r, Hintf(err, "Run hjk in your repository, or in an instance's workspace.")
	}
	if err != nil {
		return r, &UserError{Err: fmt.Errorf("%w: run hjk inside one (or 'git init' first)", err)}
	}
	return r, nil
}

// lookup finds the instance of branch in the current repository, as the
// catalog has it.
func (app *App) lookup(ctx context.Context, branch string) (*instances, instance.Repo, instance.Instance, error) {
	is, err := app.instances()
	if err != nil {
		return nil, instance.Repo{}, instance.Instance{}, err
	}
	r, err := app.repo(ctx, is)
	if err != nil {
		return nil, instance.Repo{}, instance.Instance{}, err
	}
	in, err := is.mgr.Get(r, branch)
	var ne *instance.NoInstanceError
	if errors.As(err, &ne) {
		return nil, r, in, &UserError{Err: fmt.Errorf("%w: run 'hjk run %s'", err, quoteArg(branch))}
	}
	return is, r, in, err
}

// stdinTerminal reports whether hjk's input is a terminal: sessions get
// one (-t) only then, and rm asks before deleting only then.
func (app *App) stdinTerminal() bool {
	f, ok := app.Stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// result turns what the runner returns into the CLI's errors, adding the
// advice for what the user can fix.
func result(err error) error {
	var ee *runner.ExitError
	var nc *store.NotConfiguredError
	var ua *runner.UnknownAgentError
	var ni *instance.NoImageError
	var ri *instance.RootImageError
	var or *instance.OtherRuntimeError
	var rf *instance.RemoteFolderError
	var le *instance.LegacyError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return &ExitError{Code: ee.Code}
	case errors.As(err, &nc):
		return &UserError{Err: fmt.Errorf("%w: run '%s'", err, nc.Command())}
	case errors.As(err, &ua):
		return &UsageError{Err: err, Hint: "Run 'hjk run --help' for usage."}
	case errors.As(err, &ni) && strings.HasPrefix(ni.Runtime, "cluster"):
		return Hintf(err, "Push it where the cluster pulls from (or load it into the nodes), or choose another with --image.")
	case errors.As(err, &ni):
		return Hintf(err, "Build it ('make images'), or choose another with --image.")
	case errors.As(err, &ri):
		return Hintf(err, "Add `USER <name>` to its Dockerfile, or choose another with --image.")
	case errors.As(err, &or):
		return Hintf(err, "Run 'hjk rm %s' first to move it.", quoteArg(or.Branch))
	case errors.As(err, &rf):
		return Hintf(err, "Leave out --workspace folder (a volume is the default there), or make it on an engine of this machine's.")
	case errors.As(err, &le):
		return Hintf(err, "Its commits are on the branch already: remove it with 'hjk rm %s -f' (and look at your repository's .git/config and .git/hooks, which its container could change), then 'hjk run %s' makes a new one.", quoteArg(le.Branch), quoteArg(le.Branch))
	}
	return err
}

// quoteArg quotes s for a shell when it needs it, for hints.
func quoteArg(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '/' || r == '+' || r == '@' || r == ':' || r == ',') {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
