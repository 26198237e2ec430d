package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/shimbin"
)

// DefaultImage is the image an instance gets when neither --image nor the
// config names one: hjk's agent image (images/agents).
const DefaultImage = "hjk/agents:latest"

// instances is what the instance commands share: the settings, the
// repository hjk runs in, and the manager of its instances.
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
	is := &instances{
		cfg:  cfg,
		dirs: dirs,
		mgr: &instance.Manager{
			Data:    dirs.Data,
			Runtime: app.runtimeNamed,
			Shim:    func() (string, error) { return shimbin.Install(dirs.Data, goruntime.GOARCH) },
			Step:    app.Step,
		},
	}
	is.mgr.DefaultRuntime = func() (string, error) { return app.runtimeName("", cfg) }
	return is, nil
}

// runtimeNamed opens the runtime an existing instance was made on.
func (app *App) runtimeNamed(name string) (runtime.Runtime, error) {
	if app.OpenRuntime != nil {
		return app.OpenRuntime(name)
	}
	return runtime.New(name)
}

// runtimeName is the runtime a new instance is made on: --runtime,
// HJK_RUNTIME, the config, else the first engine found.
func (app *App) runtimeName(flag string, cfg config.Config) (string, error) {
	rt, err := runtime.Select(runtime.Choice{Flag: flag, Env: app.Getenv("HJK_RUNTIME"), Config: cfg.Runtime, GOOS: goruntime.GOOS})
	if err != nil {
		return "", err
	}
	return rt.Name(), nil
}

// repo is the repository of the current folder.
func (app *App) repo(ctx context.Context) (instance.Repo, error) {
	wd, err := os.Getwd()
	if err != nil {
		return instance.Repo{}, err
	}
	r, err := instance.FindRepo(ctx, wd)
	if err != nil {
		return instance.Repo{}, &UserError{Err: err}
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
	r, err := app.repo(ctx)
	if err != nil {
		return nil, instance.Repo{}, instance.Instance{}, err
	}
	in, err := is.mgr.Get(r, branch)
	var ne *instance.NoInstanceError
	if errors.As(err, &ne) {
		return nil, r, in, &UserError{Err: err}
	}
	return is, r, in, err
}

// stdinTerminal reports whether hjk's input is a terminal: sessions get
// one (-t) only then, and rm asks before deleting only then.
func (app *App) stdinTerminal() bool {
	f, ok := app.Stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// session runs spec in the instance in and returns the process's exit
// status as an *ExitError.
//
// A session in an instance the catalog knows starts at once, without first
// asking the engine whether its container runs: that question costs as
// much as a fifth of the session's start. When the container was in fact
// stopped or removed, the engine refuses the exec at once: its complaint is
// held back, ensure brings the container back, and the session starts
// again. fresh says ensure has just run, so a failure is the session's own.
func (app *App) session(ctx context.Context, is *instances, in instance.Instance, spec runtime.ExecSpec, fresh bool, ensure func() (instance.Instance, instance.Action, error)) error {
	rt, err := is.mgr.Runtime(in.Runtime)
	if err != nil {
		return err
	}
	spec.Container = in.Name
	spec.Stdin, spec.Stdout = app.Stdin, app.Stdout
	spec.Interactive = true
	spec.TTY = app.stdinTerminal()
	if fresh {
		spec.Stderr = app.Stderr
		return exitStatus(rt.Exec(ctx, spec))
	}
	hold := newHoldWriter(app.Stderr, holdFor)
	spec.Stderr = hold
	// Output on stdout means the session runs: show its errors at once,
	// in order with it. (With a terminal both go to stdout.)
	out := &releaser{w: app.Stdout, hold: hold}
	spec.Stdout = out
	err = rt.Exec(ctx, spec)
	if err == nil {
		hold.release()
		return nil
	}
	// Only the engine's own refusal is retried, never a session that
	// failed with such words on its stderr: the session would run twice.
	holding := hold.settle()
	if !holding || out.wrote.Load() || !engineRefused(rt.Name(), err, hold.head()) {
		hold.release()
		return exitStatus(err)
	}
	in2, act, eerr := ensure()
	if eerr != nil {
		// The engine cannot tell either (not answering, say): its own
		// error says what to start, better than the exec's complaint.
		hold.drop()
		return eerr
	}
	hold.drop()
	app.noteAction(in2, act)
	spec.Container = in2.Name
	spec.Stderr = app.Stderr
	return exitStatus(rt.Exec(ctx, spec))
}

// noteAction tells the user what hjk had to do to an instance before its
// session, on stderr (stdout is the session's).
func (app *App) noteAction(in instance.Instance, act instance.Action) {
	switch act {
	case instance.Created:
		app.Notef("new instance of %q: worktree %s, container %s (%s)", in.Branch, in.Worktree, in.Name, in.Runtime)
	case instance.Started:
		app.Notef("started the stopped container of %q", in.Branch)
	case instance.Restored:
		app.Notef("the container of %q had been removed; made a new one (the worktree is kept)", in.Branch)
	}
}

// refusals are how the engines refuse an exec in a container that is not
// running or not there. Another hjk may have started it meanwhile, so
// Ensure finding it running does not make the failure the session's own.
var refusals = []string{
	"is not running",               // docker
	"no such container",            // docker, podman
	"container state improper",     // podman
	"no container with name or id", // podman
}

// engineRefused reports whether an exec's failure err, with stderr
// beginning with head, is the engine refusing to run it (no container, or
// one not running), not the session's process failing: docker exits 1 with
// "Error response from daemon:" first, podman 125 (no such container) or
// 255 (container state improper) with "Error:" first. A
// process in the container can print anything and exit with any status, so
// head must start with the engine's prefix and its first line name a
// refusal.
func engineRefused(engine string, err error, head string) bool {
	code, ok := runtime.ExitCode(err)
	if !ok {
		return false
	}
	switch engine {
	case "docker":
		ok = code == 1 && strings.HasPrefix(head, "Error response from daemon: ")
	case "podman":
		ok = (code == 125 || code == 255) && strings.HasPrefix(head, "Error: ")
	default: // Apple's container: its CLI's errors start "Error: ".
		ok = code != 0 && strings.HasPrefix(head, "Error: ")
	}
	line, _, _ := strings.Cut(head, "\n")
	return ok && refused(line)
}

func refused(stderr string) bool {
	s := strings.ToLower(stderr)
	for _, r := range refusals {
		if strings.Contains(s, r) {
			return true
		}
	}
	return false
}

// exitStatus turns an engine's report of a process's exit into hjk's own
// exit status.
func exitStatus(err error) error {
	if code, ok := runtime.ExitCode(err); ok {
		return &ExitError{Code: code}
	}
	return err
}

// holdFor is how long a session's first error output is held back (unless
// the session writes to stdout first): an engine refuses an exec in a
// stopped or missing container well within it, even on a loaded machine.
const holdFor = 2 * time.Second

// holdWriter holds back what is written to it until released (by time, by
// size or by hand), so a session that could not start can be retried
// without showing the engine's refusal.
type holdWriter struct {
	mu       sync.Mutex
	w        io.Writer
	buf      bytes.Buffer
	first    []byte // the first bytes ever written, to tell a refusal
	released bool
	settled  bool
	timer    *time.Timer
}

func newHoldWriter(w io.Writer, d time.Duration) *holdWriter {
	h := &holdWriter{w: w}
	h.timer = time.AfterFunc(d, h.release)
	return h
}

func (h *holdWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := 4<<10 - len(h.first); n > 0 {
		h.first = append(h.first, p[:min(n, len(p))]...)
	}
	if h.released {
		return h.w.Write(p)
	}
	h.buf.Write(p)
	if h.buf.Len() > 64<<10 {
		h.releaseLocked()
	}
	return len(p), nil
}

// settle stops the timer and reports whether everything is still held.
func (h *holdWriter) settle() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.timer.Stop()
	h.settled = true
	return !h.released
}

func (h *holdWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releaseLocked()
}

func (h *holdWriter) releaseLocked() {
	if h.released {
		return
	}
	h.released = true
	h.w.Write(h.buf.Bytes())
	h.buf.Reset()
}

// head returns the first bytes written, held back or not.
func (h *holdWriter) head() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.first)
}

// releaser releases a holdWriter on the first write through it, and
// remembers that something was written.
type releaser struct {
	w     io.Writer
	hold  *holdWriter
	wrote atomic.Bool
}

func (r *releaser) Write(p []byte) (int, error) {
	if len(p) > 0 {
		r.wrote.Store(true)
		r.hold.release()
	}
	return r.w.Write(p)
}

// drop throws away what is held.
func (h *holdWriter) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
}
