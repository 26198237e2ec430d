package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/shimbin"
)

// Paths inside every container. hjk-init is mounted read-only from hjk's
// data folder (shimbin.Install), so any image works and host and guest
// share one version.
const (
	ShimDir  = shimbin.GuestDir
	InitPath = shimbin.GuestPath
)

// StopTimeout is how long Stop waits for the container's init to end its
// processes before the engine kills them. hjk-init forwards SIGTERM, so a
// well-behaved agent takes far less.
const StopTimeout = 10 * time.Second

// Manager creates, finds and removes instances.
type Manager struct {
	// Data is hjk's data folder: the catalog, its lock and the worktrees.
	Data string
	// Runtime opens the engine of a name ("docker", "podman", "container").
	Runtime func(name string) (runtime.Runtime, error)
	// Shim installs hjk-init for the containers and returns the host folder
	// to mount at ShimDir.
	Shim func() (string, error)
	// DefaultRuntime names the runtime of a new instance when Want names
	// none. Choosing may look on PATH, so it is asked only on creation.
	DefaultRuntime func() (string, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Step, when set, is told of each slow step as it begins (a worktree
	// made, a container created or started) and returns the function that
	// ends it: the CLI draws a progress line with it.
	Step func(what string) (done func())
}

func (m *Manager) step(format string, a ...any) (done func()) {
	if m.Step == nil {
		return func() {}
	}
	return m.Step(fmt.Sprintf(format, a...))
}

// Want is what the user asked of an instance. Empty fields keep what an
// existing instance has (or take the defaults the caller filled in, when
// the instance is created).
type Want struct {
	Repo    Repo
	Branch  string
	Agent   string
	Account string
	Image   string
	Runtime string
}

// Action says what Ensure had to do.
type Action string

const (
	Ready     Action = ""          // it was running
	Created   Action = "created"   // a new worktree (if needed) and container
	Started   Action = "started"   // its container was stopped
	Restored  Action = "restored"  // its container had gone, and was made anew
	Recreated Action = "recreated" // Recreate made its container anew
)

func (m *Manager) catalog() catalog { return newCatalog(m.Data) }

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Worktree is the folder an instance's worktree lives in.
func (m *Manager) Worktree(key string) string { return filepath.Join(m.Data, "worktrees", key) }

// NoInstanceError says a branch has no instance, and how to make one.
type NoInstanceError struct{ Branch string }

func (e *NoInstanceError) Error() string {
	return fmt.Sprintf("no instance for branch %q: run 'hjk run %s'", e.Branch, e.Branch)
}

// Get returns the catalogued instance of a branch, as last recorded, with
// no call to the engine: the fast path of a session in a running instance.
func (m *Manager) Get(repo Repo, branch string) (Instance, error) {
	unlock, err := m.catalog().Lock()
	if err != nil {
		return Instance{}, err
	}
	defer unlock()
	list, err := m.catalog().Load()
	if err != nil {
		return Instance{}, err
	}
	if i := find(list, repo.GitDir, branch); i >= 0 {
		return list[i], nil
	}
	return Instance{}, &NoInstanceError{Branch: branch}
}

func find(list []Instance, gitDir, branch string) int {
	for i, in := range list {
		if in.GitDir == gitDir && in.Branch == branch {
			return i
		}
	}
	return -1
}

// Ensure makes the instance of w.Branch exist and run: it creates the
// worktree and container when missing, starts a stopped container and
// restores one removed behind hjk's back. The catalog stays locked
// throughout, so hjk processes racing for one branch make one instance.
func (m *Manager) Ensure(ctx context.Context, w Want) (Instance, Action, error) {
	unlock, err := m.catalog().Lock()
	if err != nil {
		return Instance{}, "", err
	}
	defer unlock()
	list, err := m.catalog().Load()
	if err != nil {
		return Instance{}, "", err
	}
	i := find(list, w.Repo.GitDir, w.Branch)
	if i < 0 {
		in, err := m.create(ctx, w)
		if err != nil {
			return Instance{}, "", err
		}
		in.State = "running"
		return in, Created, m.catalog().Save(append(list, in))
	}
	in := list[i]
	if w.Runtime != "" && w.Runtime != in.Runtime {
		return Instance{}, "", fmt.Errorf("the instance of branch %q runs on %s, not %s: 'hjk rm %s' first to move it", w.Branch, in.Runtime, w.Runtime, w.Branch)
	}
	changed := false
	if w.Account != "" && w.Account != in.Account {
		in.Account, changed = w.Account, true
	}
	if w.Agent != "" && w.Agent != in.Agent {
		in.Agent, changed = w.Agent, true
	}
	rt, err := m.Runtime(in.Runtime)
	if err != nil {
		return Instance{}, "", err
	}
	act := Ready
	c, err := rt.Inspect(ctx, in.Name)
	switch {
	case errors.Is(err, runtime.ErrNoSuchContainer):
		if err := m.createContainer(ctx, rt, w.Repo, in); err != nil {
			return Instance{}, "", err
		}
		act = Restored
	case err != nil:
		return Instance{}, "", err
	case !c.Running():
		done := m.step("starting the container of %q", in.Branch)
		err := rt.Start(ctx, in.Name)
		done()
		if err != nil {
			return Instance{}, "", err
		}
		act = Started
	}
	in.State = "running"
	if changed {
		list[i] = in
		if err := m.catalog().Save(list); err != nil {
			return Instance{}, "", err
		}
	}
	return in, act, nil
}

func (m *Manager) create(ctx context.Context, w Want) (Instance, error) {
	if err := CheckBranch(ctx, w.Branch); err != nil {
		return Instance{}, err
	}
	if w.Image == "" {
		return Instance{}, errors.New("instance: Want needs an image to create an instance")
	}
	if w.Runtime == "" && m.DefaultRuntime != nil {
		name, err := m.DefaultRuntime()
		if err != nil {
			return Instance{}, err
		}
		w.Runtime = name
	}
	rt, err := m.Runtime(w.Runtime)
	if err != nil {
		return Instance{}, err
	}
	if ok, err := rt.ImageExists(ctx, w.Image); err != nil {
		return Instance{}, err
	} else if !ok {
		return Instance{}, fmt.Errorf("image %s is not on this %s: build it ('make images') or choose another with --image", w.Image, rt.Name())
	}
	key := Key(w.Repo.GitDir, w.Repo.Name(), w.Branch)
	in := Instance{
		Name:     ContainerName(key),
		Repo:     w.Repo.Dir,
		GitDir:   w.Repo.GitDir,
		Branch:   w.Branch,
		Worktree: m.Worktree(key),
		Agent:    w.Agent,
		Account:  w.Account,
		Image:    w.Image,
		Runtime:  rt.Name(),
		Created:  m.now().UTC().Truncate(time.Second),
	}
	// A container of this name without a catalog entry (the catalog was
	// lost): take it back rather than fail on the name.
	if c, err := rt.Inspect(ctx, in.Name); err == nil && c.Labels[LabelInstance] == "1" {
		if err := addWorktree(ctx, w.Repo, w.Branch, in.Worktree); err != nil {
			return Instance{}, err
		}
		in.Image = c.Image
		if !c.Running() {
			if err := rt.Start(ctx, in.Name); err != nil {
				return Instance{}, err
			}
		}
		return in, nil
	}
	done := m.step("making the worktree of %q", w.Branch)
	err = addWorktree(ctx, w.Repo, w.Branch, in.Worktree)
	done()
	if err != nil {
		return Instance{}, err
	}
	if err := m.createContainer(ctx, rt, w.Repo, in); err != nil {
		return Instance{}, err
	}
	return in, nil
}

// createContainer creates and starts the container of in, making its
// worktree again first if it was deleted.
func (m *Manager) createContainer(ctx context.Context, rt runtime.Runtime, repo Repo, in Instance) error {
	if err := addWorktree(ctx, repo, in.Branch, in.Worktree); err != nil {
		return err
	}
	shim, err := m.Shim()
	if err != nil {
		return err
	}
	spec := containerSpec(in, shim)
	sessions, err := m.sessionsMount(in)
	if err != nil {
		return err
	}
	spec.Mounts = append(spec.Mounts, sessions)
	defer m.step("creating and starting the container of %q (%s)", in.Branch, in.Image)()
	return rt.Create(ctx, spec)
}

// containerSpec is the container of an instance: hjk-init as PID 1 with
// no command (it stays up as init), the worktree and the repository's git
// dir at their host paths so the worktree's .git file resolves and a commit
// inside lands on the branch outside.
func containerSpec(in Instance, shim string) runtime.Spec {
	return runtime.Spec{
		Name:  in.Name,
		Image: in.Image,
		Labels: map[string]string{
			LabelInstance: "1",
			LabelRepo:     in.GitDir,
			LabelBranch:   in.Branch,
			LabelAgent:    in.Agent,
			LabelAccount:  in.Account,
		},
		Mounts: []runtime.Mount{
			{Source: shim, Target: ShimDir, ReadOnly: true},
			{Source: in.GitDir, Target: in.GitDir},
			{Source: in.Worktree, Target: in.Worktree},
		},
		Workdir: in.Worktree,
		// The container's user may not own the host's files; git would
		// then refuse the repository as "dubious ownership".
		Env: []string{
			"GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=safe.directory",
			"GIT_CONFIG_VALUE_0=*",
			agent.WorkdirVar + "=" + in.Worktree,
		},
		Entrypoint: []string{InitPath},
	}
}

// List returns every catalogued instance with its state read from the
// engines: one List call per runtime in use (labels filtered), never one
// per instance. Containers carrying hjk's labels that the catalog lost are
// taken back into it. extra names runtimes to ask even when no catalogued
// instance uses them. An engine that does not answer leaves its instances
// in state "unknown" and its error in errs.
func (m *Manager) List(ctx context.Context, extra ...string) (list []Instance, errs []error, err error) {
	unlock, err := m.catalog().Lock()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	list, err = m.catalog().Load()
	if err != nil {
		return nil, nil, err
	}
	names := map[string]bool{}
	for _, n := range extra {
		names[n] = true
	}
	for _, in := range list {
		names[in.Runtime] = true
	}
	var order []string
	for n := range names {
		order = append(order, n)
	}
	sort.Strings(order)
	adopted := false
	for _, n := range order {
		cs, err := m.listRuntime(ctx, n)
		if err != nil {
			errs = append(errs, err)
			for i := range list {
				if list[i].Runtime == n {
					list[i].State = "unknown"
				}
			}
			continue
		}
		byName := map[string]runtime.Container{}
		for _, c := range cs {
			byName[c.Name] = c
		}
		for i := range list {
			if list[i].Runtime != n {
				continue
			}
			c, ok := byName[list[i].Name]
			delete(byName, list[i].Name)
			if ok {
				list[i].State = c.State
			} else {
				list[i].State = StateMissing
			}
		}
		for _, c := range byName {
			if in, ok := m.adopt(c, n); ok && find(list, in.GitDir, in.Branch) < 0 {
				list = append(list, in)
				adopted = true
			}
		}
	}
	if adopted {
		if err := m.catalog().Save(list); err != nil {
			return nil, nil, err
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Repo != list[j].Repo {
			return list[i].Repo < list[j].Repo
		}
		return list[i].Branch < list[j].Branch
	})
	return list, errs, nil
}

func (m *Manager) listRuntime(ctx context.Context, name string) ([]runtime.Container, error) {
	rt, err := m.Runtime(name)
	if err != nil {
		return nil, err
	}
	return rt.List(ctx, map[string]string{LabelInstance: "1"})
}

// adopt rebuilds a catalog entry from a container's labels.
func (m *Manager) adopt(c runtime.Container, rt string) (Instance, bool) {
	gd, branch := c.Labels[LabelRepo], c.Labels[LabelBranch]
	if gd == "" || branch == "" {
		return Instance{}, false
	}
	repo := Repo{Dir: gd, GitDir: gd}
	if filepath.Base(gd) == ".git" {
		repo.Dir = filepath.Dir(gd)
	}
	key := Key(gd, repo.Name(), branch)
	if ContainerName(key) != c.Name {
		return Instance{}, false
	}
	// Only this data folder's own: another user (or another HOME) on the
	// same engine has its own catalog and worktrees.
	if _, err := os.Stat(filepath.Join(m.Worktree(key), ".git")); err != nil {
		return Instance{}, false
	}
	return Instance{
		Name: c.Name, Repo: repo.Dir, GitDir: gd, Branch: branch,
		Worktree: m.Worktree(key), Agent: c.Labels[LabelAgent], Account: c.Labels[LabelAccount],
		Image: c.Image, Runtime: rt, Created: c.Created, State: c.State,
	}, true
}

// Stop stops the instance's container. A container already gone is not an
// error: there is nothing left to stop.
func (m *Manager) Stop(ctx context.Context, in Instance) error {
	rt, err := m.Runtime(in.Runtime)
	if err != nil {
		return err
	}
	err = rt.Stop(ctx, in.Name, StopTimeout)
	if errors.Is(err, runtime.ErrNoSuchContainer) {
		return nil
	}
	return err
}

// Remove removes the instance's container, its worktree (not its branch)
// and its catalog entry. Without force a worktree holding uncommitted
// changes is kept, and so is the instance: the container is stopped first,
// so nothing an agent writes can slip in between git's check and the
// removal, and git itself refuses a worktree that is not clean
// (*DirtyError). With force the worktree goes whatever it holds, even when
// its repository is gone.
func (m *Manager) Remove(ctx context.Context, in Instance, force bool) error {
	unlock, err := m.catalog().Lock()
	if err != nil {
		return err
	}
	defer unlock()
	rt, err := m.Runtime(in.Runtime)
	if err != nil {
		return err
	}
	repo := Repo{Dir: in.Repo, GitDir: in.GitDir}
	if !force {
		if err := rt.Stop(ctx, in.Name, StopTimeout); err != nil && !errors.Is(err, runtime.ErrNoSuchContainer) {
			return err
		}
		if err := removeWorktree(ctx, repo, in.Worktree, false); err != nil {
			return err
		}
	}
	if err := rt.Remove(ctx, in.Name); err != nil && !errors.Is(err, runtime.ErrNoSuchContainer) {
		return err
	}
	if force {
		if err := removeWorktree(ctx, repo, in.Worktree, true); err != nil {
			return err
		}
	}
	// The sessions' logs hold whatever the agents printed: they go with the
	// instance (a recreate keeps them; only rm ends the instance).
	if err := os.RemoveAll(SessionsDir(m.Data, in.Name)); err != nil {
		return fmt.Errorf("remove session logs: %w", err)
	}
	list, err := m.catalog().Load()
	if err != nil {
		return err
	}
	if i := find(list, in.GitDir, in.Branch); i >= 0 {
		list = append(list[:i], list[i+1:]...)
	}
	return m.catalog().Save(list)
}

// Recreate replaces the instance's container with a new one (of image, if
// not empty), keeping its worktree: how an instance picks up a new image.
func (m *Manager) Recreate(ctx context.Context, in Instance, image string) (Instance, error) {
	unlock, err := m.catalog().Lock()
	if err != nil {
		return Instance{}, err
	}
	defer unlock()
	rt, err := m.Runtime(in.Runtime)
	if err != nil {
		return Instance{}, err
	}
	if image != "" {
		if ok, err := rt.ImageExists(ctx, image); err != nil {
			return Instance{}, err
		} else if !ok {
			return Instance{}, fmt.Errorf("image %s is not on this %s: build it or choose another with --image", image, rt.Name())
		}
		in.Image = image
	}
	if err := rt.Remove(ctx, in.Name); err != nil && !errors.Is(err, runtime.ErrNoSuchContainer) {
		return Instance{}, err
	}
	repo := Repo{Dir: in.Repo, GitDir: in.GitDir}
	if err := m.createContainer(ctx, rt, repo, in); err != nil {
		return Instance{}, err
	}
	list, err := m.catalog().Load()
	if err != nil {
		return Instance{}, err
	}
	if i := find(list, in.GitDir, in.Branch); i >= 0 {
		list[i] = in
	} else {
		list = append(list, in)
	}
	in.State = "running"
	return in, m.catalog().Save(list)
}

// Exec returns the spec of a process in the instance, started through
// hjk-init (which writes the credentials found in the environment, then
// execs cmd) in the worktree. The caller adds credentials to Env/Values.
func (in Instance) Exec(cmd []string) runtime.ExecSpec {
	return runtime.ExecSpec{
		Container: in.Name,
		Cmd:       append([]string{InitPath, "--"}, cmd...),
		Workdir:   in.Worktree,
		Env:       []string{agent.WorkdirVar},
		Values:    []string{agent.WorkdirVar + "=" + in.Worktree},
	}
}
