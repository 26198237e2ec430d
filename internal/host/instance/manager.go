package instance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// StopTimeout is how long Stop waits for the container's init to end its
// processes before the engine kills them. hjk-init ends its sessions on
// TERM, so a well-behaved agent takes far less.
const StopTimeout = 10 * time.Second

// Manager creates, finds and removes instances.
type Manager struct {
	// Data is hjk's data folder: the catalog, its lock, the workspace
	// folders.
	Data string
	// Runtime opens the driver of a runtime ("docker", "podman",
	// "container") aimed at an engine.
	Runtime func(name string, ep runtime.Endpoint) (runtime.Runtime, error)
	// Shim returns the tar stream of the binaries hjk carries for
	// linux/arch, and their hash (shimbin.Tar).
	Shim func(arch string) (hash string, tar []byte, err error)
	// DefaultRuntime names the runtime of a new instance when Want names
	// none, and its engine when the choice names one. Choosing may look on
	// PATH, so it is asked only on creation.
	DefaultRuntime func() (string, *runtime.Endpoint, error)
	// Resolve is the engine a runtime goes to now, as the environment has
	// it: where a new instance is made when nobody named an engine (nil:
	// the runtime's default).
	Resolve func(ctx context.Context, name string) (runtime.Endpoint, error)
	// Remote is the engine.remote setting: RemoteAuto ("" too), RemoteYes
	// or RemoteNo (see remote.go).
	Remote string
	// HostUID and HostGID are the host user's ids: the image's user gets
	// them inside, unless they are 0 (see package boot).
	HostUID, HostGID int
	// Network is the agent container's network with credentials
	// injected ("" the engine's default). With the gate it has none.
	Network string
	// MaxBundle caps what one pull takes from an instance (0:
	// DefaultMaxBundle).
	MaxBundle int64
	// GateNetwork is the gate's and the keeper's ("" the engine's
	// default): they need a way to the agents' APIs.
	GateNetwork string
	// Kube is how instances on Kubernetes are made (kube.go).
	Kube KubeSettings
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Step, when set, is told of each slow step as it begins and returns
	// the function that ends it: the CLI draws a progress line with it.
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
	// Endpoint is the engine asked for (nil: a new instance goes where
	// DefaultRuntime or Resolve say; an existing one stays where it is).
	Endpoint *runtime.Endpoint
	// Workspace is "folder" or "volume" as asked for a new instance;
	// DefaultWorkspace is the setting's, taken when it fits the engine.
	// Neither: a folder, or a volume on an engine that shares no
	// filesystem with this machine.
	Workspace, DefaultWorkspace string
	// Credentials is "gate" or "inject" ("" keeps the instance's; a new
	// one gets the gate where it runs).
	Credentials string
	// Cluster is the context and namespace asked for (runtime
	// "kubernetes"; nil: the settings', else kubectl's own).
	Cluster *Cluster
}

// Action says what Ensure had to do.
type Action string

const (
	Ready     Action = ""          // it was running
	Created   Action = "created"   // a new instance
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

// NoInstanceError says a branch has no instance.
type NoInstanceError struct{ Branch string }

func (e *NoInstanceError) Error() string { return fmt.Sprintf("no instance for branch %q", e.Branch) }

// NoImageError is an image the engine does not have.
type NoImageError struct{ Image, Runtime string }

func (e *NoImageError) Error() string {
	return fmt.Sprintf("image %s is not on this %s", e.Image, e.Runtime)
}

// OtherRuntimeError is a want of another runtime or engine than the
// instance's.
type OtherRuntimeError struct{ Branch, Have, Want string }

func (e *OtherRuntimeError) Error() string {
	return fmt.Sprintf("the instance of branch %q runs on %s, not %s", e.Branch, e.Have, e.Want)
}

// LegacyError is an operation on an instance made by an older hjk.
type LegacyError struct{ Branch string }

func (e *LegacyError) Error() string {
	return fmt.Sprintf("the instance of branch %q was made by an older hjk (a worktree of the repository, which its container could change)", e.Branch)
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

// Peek is Get without the catalog's lock, for completion: a 'hjk run'
// making an instance may hold the lock for minutes, and a shell waits. The
// catalog is replaced atomically, so what it reads is whole.
func (m *Manager) Peek(repo Repo, branch string) (Instance, bool) {
	list, err := m.catalog().Load()
	if i := find(list, repo.GitDir, branch); err == nil && i >= 0 {
		return list[i], true
	}
	return Instance{}, false
}

func find(list []Instance, gitDir, branch string) int {
	return slices.IndexFunc(list, func(in Instance) bool { return in.GitDir == gitDir && in.Branch == branch })
}

// Update changes a catalogued instance with edit, under the catalog's
// lock (hjk's own records: the last session, the last sync).
func (m *Manager) Update(in Instance, edit func(*Instance)) (Instance, error) {
	unlock, err := m.catalog().Lock()
	if err != nil {
		return in, err
	}
	defer unlock()
	list, err := m.catalog().Load()
	if err != nil {
		return in, err
	}
	i := find(list, in.GitDir, in.Branch)
	if i < 0 {
		return in, &NoInstanceError{Branch: in.Branch}
	}
	edit(&list[i])
	state := in.State
	in = list[i]
	in.State = state
	return in, m.catalog().Save(list)
}

// Ensure makes the instance of w.Branch exist and run: it creates it when
// missing, starts a stopped container and restores one removed behind
// hjk's back (its volumes and folder, and so its work, are kept). The
// catalog stays locked throughout, so hjk processes racing for one branch
// make one instance.
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
	if in.Legacy() {
		return in, "", &LegacyError{Branch: in.Branch}
	}
	if w.Runtime != "" && w.Runtime != in.Runtime || w.Endpoint != nil && !w.Endpoint.Same(in.Engine) {
		want := Instance{Runtime: cmp.Or(w.Runtime, in.Runtime), Engine: in.Engine}
		if w.Endpoint != nil {
			want.Engine = *w.Endpoint
		}
		return Instance{}, "", &OtherRuntimeError{Branch: w.Branch, Have: in.Where(), Want: want.Where()}
	}
	changed := false
	if w.Account != "" && w.Account != in.Account {
		in.Account, changed = w.Account, true
	}
	if w.Agent != "" && w.Agent != in.Agent {
		in.Agent, changed = w.Agent, true
	}
	if in.Runtime == runtime.Kubernetes {
		return m.kubeEnsure(ctx, list, i, in, w, changed)
	}
	rt, err := m.RuntimeOf(in)
	if err != nil {
		return Instance{}, "", err
	}
	act := Ready
	c, err := rt.Inspect(ctx, in.Name)
	switch {
	case errors.Is(err, runtime.ErrNoSuchContainer):
		im, err := m.image(ctx, rt, in.Image)
		if err != nil {
			return Instance{}, "", err
		}
		if err := m.createContainer(ctx, rt, &in, im, w.Repo); err != nil {
			return Instance{}, "", err
		}
		act, changed = Restored, true
	case err != nil:
		return Instance{}, "", err
	case !c.Running():
		done := m.step("starting the container of %q", in.Branch)
		err := m.startGate(ctx, rt, in)
		if err == nil {
			err = rt.Start(ctx, in.Name)
		}
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

// image inspects ref, refusing one that is missing or would run as root.
func (m *Manager) image(ctx context.Context, rt runtime.Runtime, ref string) (runtime.Image, error) {
	im, err := rt.ImageInspect(ctx, ref)
	if errors.Is(err, runtime.ErrNoSuchImage) {
		return im, &NoImageError{Image: ref, Runtime: rt.Name()}
	}
	if err != nil {
		return im, err
	}
	return im, checkImageUser(ref, im)
}

func (m *Manager) create(ctx context.Context, w Want) (Instance, error) {
	if err := CheckBranch(ctx, w.Branch); err != nil {
		return Instance{}, err
	}
	if w.Image == "" {
		return Instance{}, errors.New("instance: Want needs an image to create an instance")
	}
	if w.Runtime == "" && m.DefaultRuntime != nil {
		name, ep, err := m.DefaultRuntime()
		if err != nil {
			return Instance{}, err
		}
		w.Runtime = name
		if w.Endpoint == nil {
			w.Endpoint = ep
		}
	}
	if w.Runtime == runtime.Kubernetes {
		return m.kubeCreate(ctx, w)
	}
	ep := runtime.Endpoint{Kind: runtime.EndpointDefault}
	switch {
	case w.Endpoint != nil:
		ep = w.Endpoint.Normal()
	case m.Resolve != nil:
		var err error
		if ep, err = m.Resolve(ctx, w.Runtime); err != nil {
			return Instance{}, err
		}
	}
	rt, err := m.Runtime(w.Runtime, ep)
	if err != nil {
		return Instance{}, err
	}
	im, err := m.image(ctx, rt, w.Image)
	if err != nil {
		return Instance{}, err
	}
	for _, v := range []string{w.Workspace, w.DefaultWorkspace} {
		if v != "" && v != layout.WorkspaceFolder && v != layout.WorkspaceVolume {
			return Instance{}, fmt.Errorf("workspace %q: want %s or %s", v, layout.WorkspaceFolder, layout.WorkspaceVolume)
		}
	}
	remote, err := m.IsRemote(ctx, rt, w.Image)
	if err != nil {
		return Instance{}, err
	}
	switch {
	case remote && w.Workspace == layout.WorkspaceFolder:
		return Instance{}, &RemoteFolderError{Branch: w.Branch, Engine: ep.String()}
	case remote:
		w.Workspace = layout.WorkspaceVolume
	default:
		w.Workspace = cmp.Or(w.Workspace, w.DefaultWorkspace, layout.WorkspaceFolder)
	}
	key := Key(w.Repo.GitDir, w.Repo.Name(), w.Branch)
	if remote {
		id, err := m.HostID()
		if err != nil {
			return Instance{}, err
		}
		key = RemoteKey(id, w.Repo.GitDir, w.Repo.Name(), w.Branch)
	}
	in := Instance{
		Name:      ContainerName(key),
		Repo:      w.Repo.Dir,
		GitDir:    w.Repo.GitDir,
		Branch:    w.Branch,
		Workspace: w.Workspace,
		Agent:     w.Agent,
		Account:   w.Account,
		Image:     w.Image,
		Runtime:   rt.Name(),
		Engine:    ep,
		Remote:    remote,
		User:      m.execUser(im.User),
		Created:   m.now().UTC().Truncate(time.Second),
	}
	if in.Workspace == layout.WorkspaceFolder {
		in.Folder = m.folders(key).work
	}
	switch w.Credentials {
	case CredentialsGate, CredentialsInject:
		in.Credentials = w.Credentials
	case "":
		in.Credentials = CredentialsGate
		if rt.Name() == "container" { // Apple's: no gate yet
			in.Credentials = CredentialsInject
		}
	default:
		return Instance{}, fmt.Errorf("credentials %q: want %s or %s", w.Credentials, CredentialsGate, CredentialsInject)
	}
	// A container of this name without a catalog entry (the catalog was
	// lost): take it back rather than fail on the name.
	if c, err := rt.Inspect(ctx, in.Name); err == nil && c.Labels[LabelInstance] == "1" {
		if a, ok := m.adopt(c, rt.Name(), ep); ok {
			if !c.Running() {
				if err := rt.Start(ctx, in.Name); err != nil {
					return Instance{}, err
				}
			}
			a.User = in.User
			return a, nil
		}
	}
	if err := m.createContainer(ctx, rt, &in, im, w.Repo); err != nil {
		m.removeParts(context.WithoutCancel(ctx), rt, in, false)
		return Instance{}, err
	}
	return in, nil
}

// createContainer makes the instance's volumes (kept when they exist),
// its folders, and its container, then seeds its repository unless it has
// one already.
func (m *Manager) createContainer(ctx context.Context, rt runtime.Runtime, in *Instance, im runtime.Image, repo Repo) error {
	shim, err := m.ensureShim(ctx, rt, in.Image, im.Arch)
	if err != nil {
		return err
	}
	vols := []struct{ name, role string }{{in.DataVolume(), "data"}}
	if in.Workspace == layout.WorkspaceVolume {
		vols = append(vols, struct{ name, role string }{in.WorkVolume(), "work"})
	}
	if in.Credentials == CredentialsGate {
		vols = append(vols, struct{ name, role string }{in.GateVolume(), "gate"})
	}
	for _, v := range vols {
		labels := map[string]string{LabelRole: v.role, LabelOwner: in.Name, LabelRepo: in.GitDir, LabelBranch: in.Branch}
		if err := m.hostLabel(*in, labels); err != nil {
			return err
		}
		if err := rt.VolumeCreate(ctx, v.name, labels); err != nil {
			return err
		}
	}
	var f folders
	if in.Workspace == layout.WorkspaceFolder {
		if f, err = m.prepareFolders(in.key()); err != nil {
			return err
		}
	}
	if in.Credentials == CredentialsGate {
		if err := m.createGate(ctx, rt, *in, shim); err != nil {
			return err
		}
	}
	spec := m.spec(*in, im.User, shim, f, !in.Remote)
	if err := m.hostLabel(*in, spec.Labels); err != nil {
		return err
	}
	done := m.step("creating and starting the container of %q (%s)", in.Branch, in.Image)
	err = rt.Create(ctx, spec)
	done()
	if err != nil {
		return err
	}
	return m.seed(ctx, rt, in, repo)
}

// seed makes the instance's repository, unless its volume has one: its
// branch at the host branch's commit (made at HEAD when new), the objects
// borrowed from the host repository, and the user's name and email for
// the agent's commits.
func (m *Manager) seed(ctx context.Context, rt runtime.Execer, in *Instance, repo Repo) error {
	tip, err := repo.ensureBranch(ctx, in.Branch)
	if err != nil {
		return err
	}
	args := []string{"repo", "init", "--branch", in.Branch}
	if name, email := repo.identity(ctx); name != "" || email != "" {
		args = append(args, "--user-name", name, "--user-email", email)
	}
	done := m.step("checking out %q in its container", in.Branch)
	var st layout.RepoStatus
	if in.Remote {
		// Nothing of the host is mounted there: the branch's history goes
		// as a bundle, when the volume has no repository yet.
		st, err = m.seedBundle(ctx, rt, *in, repo, args)
	} else {
		err = m.guestJSON(ctx, rt, *in, 4<<10, &st, append(args, "--tip", tip, "--alternates", layout.HostObjects)...)
	}
	done()
	if err != nil {
		return fmt.Errorf("seed the repository of %s: %w", in.Name, err)
	}
	if in.Base == "" {
		in.Base = tip
	}
	return nil
}

// Target is one engine of one runtime.
type Target struct {
	Runtime string
	Engine  runtime.Endpoint
}

func (t Target) of(in Instance) bool { return in.Runtime == t.Runtime && in.Engine.Same(t.Engine) }

// List returns every catalogued instance with its state read from the
// engines: one List call per engine in use (labels filtered), never one
// per instance. Containers carrying hjk's labels that the catalog lost are
// taken back into it. extra names engines to ask even when no catalogued
// instance uses them. An engine that does not answer leaves its instances
// in state "unknown" and its error in errs.
func (m *Manager) List(ctx context.Context, extra ...Target) (list []Instance, errs []error, err error) {
	unlock, err := m.catalog().Lock()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	list, err = m.catalog().Load()
	if err != nil {
		return nil, nil, err
	}
	var targets []Target
	add := func(t Target) {
		t.Engine = t.Engine.Normal()
		if !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	for _, in := range list {
		add(Target{in.Runtime, in.Engine})
	}
	for _, t := range extra {
		add(t)
	}
	slices.SortFunc(targets, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.Runtime, b.Runtime), cmp.Compare(a.Engine.String(), b.Engine.String()))
	})
	adopted := false
	for _, n := range targets {
		if n.Runtime == runtime.Kubernetes {
			var kerrs []error
			asked := slices.ContainsFunc(extra, func(t Target) bool { return t.Runtime == runtime.Kubernetes })
			list, adopted, kerrs = m.kubeList(ctx, list, adopted, asked)
			errs = append(errs, kerrs...)
			continue
		}
		cs, err := m.listRuntime(ctx, n)
		if err != nil {
			errs = append(errs, err)
			for i := range list {
				if n.of(list[i]) {
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
			if !n.of(list[i]) {
				continue
			}
			c, ok := byName[list[i].Name]
			delete(byName, list[i].Name)
			switch {
			case list[i].Legacy():
				list[i].State = StateLegacy
			case ok:
				list[i].State = c.State
			default:
				list[i].State = StateMissing
			}
		}
		for _, c := range byName {
			if in, ok := m.adopt(c, n.Runtime, n.Engine); ok && find(list, in.GitDir, in.Branch) < 0 {
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
	sortList(list)
	return list, errs, nil
}

func (m *Manager) listRuntime(ctx context.Context, t Target) ([]runtime.Container, error) {
	rt, err := m.Runtime(t.Runtime, t.Engine)
	if err != nil {
		return nil, err
	}
	return rt.List(ctx, map[string]string{LabelInstance: "1"})
}

// RuntimeOf opens the driver of the instance's runtime, aimed at its
// engine.
func (m *Manager) RuntimeOf(in Instance) (runtime.Runtime, error) {
	return m.Runtime(in.Runtime, in.Engine.Normal())
}

// Where is the instance's runtime and engine, as hjk shows them: "docker",
// "docker (context=box)", "podman (ssh://me@box/run/podman/podman.sock)".
func (in Instance) Where() string {
	if in.Cluster != nil {
		return in.Runtime + " (" + in.Cluster.String() + ")"
	}
	if in.Engine.IsDefault() {
		return in.Runtime
	}
	return in.Runtime + " (" + in.Engine.String() + ")"
}

// hostLabel puts the data folder's HostID on the labels of a remote
// instance's container or volume.
func (m *Manager) hostLabel(in Instance, labels map[string]string) error {
	if !in.Remote {
		return nil
	}
	id, err := m.HostID()
	if err != nil {
		return err
	}
	labels[LabelHost] = id
	return nil
}

// adopt rebuilds a catalog entry from a container's labels: only one of
// this data folder's own (its workspace folder is here, or its workspace
// is a volume; on a remote engine, it carries this data folder's HostID),
// never a container of the old kind.
func (m *Manager) adopt(c runtime.Container, rt string, ep runtime.Endpoint) (Instance, bool) {
	gd, branch, mode := c.Labels[LabelRepo], c.Labels[LabelBranch], c.Labels[LabelWorkMode]
	if gd == "" || branch == "" || mode == "" {
		return Instance{}, false
	}
	repo := Repo{Dir: gd, GitDir: gd}
	if filepath.Base(gd) == ".git" {
		repo.Dir = filepath.Dir(gd)
	}
	key := Key(gd, repo.Name(), branch)
	remote := c.Labels[LabelHost] != ""
	if remote {
		id, err := m.HostID()
		if err != nil || c.Labels[LabelHost] != id || mode != layout.WorkspaceVolume {
			return Instance{}, false // another machine's
		}
		key = RemoteKey(id, gd, repo.Name(), branch)
	}
	if ContainerName(key) != c.Name {
		return Instance{}, false
	}
	in := Instance{
		Name: c.Name, Repo: repo.Dir, GitDir: gd, Branch: branch, Workspace: mode,
		Agent: c.Labels[LabelAgent], Account: c.Labels[LabelAccount],
		Image: c.Image, Runtime: rt, Engine: ep.Normal(), Remote: remote, Created: c.Created, State: c.State,
	}
	if mode == layout.WorkspaceFolder {
		f := m.folders(key)
		if fi, err := os.Lstat(f.work); err != nil || !fi.IsDir() {
			return Instance{}, false // another user's, or another HOME's
		}
		in.Folder = f.work
	}
	in.User = m.execUser(c.Labels[LabelUser])
	return in, true
}

// Stop stops the instance's containers. A container already gone is not
// an error: there is nothing left to stop.
func (m *Manager) Stop(ctx context.Context, in Instance) error {
	if in.Runtime == runtime.Kubernetes {
		return m.kubeStop(ctx, in)
	}
	rt, err := m.RuntimeOf(in)
	if err != nil {
		return err
	}
	for _, n := range []string{in.Name, in.GateName()} {
		if err := rt.Stop(ctx, n, StopTimeout); err != nil && !errors.Is(err, runtime.ErrNoSuchContainer) {
			return err
		}
	}
	return nil
}

// DirtyError is Remove's refusal of an instance whose work tree holds
// uncommitted work.
type DirtyError struct {
	Branch string
	Err    error // why it could not be checked, or nil: it is dirty
}

func (e *DirtyError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("cannot tell whether the instance of %q has uncommitted changes: %v", e.Branch, e.Err)
	}
	return fmt.Sprintf("the instance of %q has uncommitted changes", e.Branch)
}

func (e *DirtyError) Unwrap() error { return e.Err }

// Remove removes the instance: its containers, volumes, workspace folder
// and catalog entry (not its branch on the host). Without force an
// instance whose work tree is not clean, as its container says, is kept:
// the container is started for the question if it was stopped, and an
// instance that cannot answer is kept too (*DirtyError). The caller brings
// its commits home first (Pull) and ends its sessions.
func (m *Manager) Remove(ctx context.Context, in Instance, force bool) error {
	return m.RemoveKeep(ctx, in, force, false)
}

// RemoveKeep is Remove; with keep, the instance's work stays (its data
// and work volumes, its folder; on Kubernetes its claim), for an instance
// of the same branch made later to take up.
func (m *Manager) RemoveKeep(ctx context.Context, in Instance, force, keep bool) error {
	var left *LeftError
	unlock, err := m.catalog().Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if in.Runtime == runtime.Kubernetes {
		return m.kubeRemove(ctx, in, force, keep)
	}
	rt, err := m.RuntimeOf(in)
	if err != nil {
		return err
	}
	if in.Legacy() {
		if err := removeLegacy(ctx, rt, in, force); err != nil {
			return err
		}
	} else {
		if !force {
			if err := m.checkClean(ctx, rt, in); err != nil {
				return err
			}
		}
		if err := m.removeParts(ctx, rt, in, keep); err != nil {
			// With force, an engine that does not answer (a machine that
			// is gone) lets the instance be forgotten: what it holds
			// there is left, and comes back into the catalog should the
			// engine answer again.
			if !force || !errors.Is(err, runtime.ErrUnavailable) {
				return err
			}
			left = &LeftError{Branch: in.Branch, Engine: in.Where(), Err: err}
		}
	}
	list, err := m.catalog().Load()
	if err != nil {
		return err
	}
	if i := find(list, in.GitDir, in.Branch); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if err := m.catalog().Save(list); err != nil {
		return err
	}
	if left != nil {
		return left
	}
	// The keeper holds logins in memory for the instances of this engine:
	// with the last of them gone, it goes too.
	same := Target{in.Runtime, in.Engine}
	if !slices.ContainsFunc(list, func(o Instance) bool { return same.of(o) && o.Remote == in.Remote && o.Credentials == CredentialsGate }) {
		k := m.keeper(in)
		if err := rt.Remove(ctx, k); err != nil && !errors.Is(err, runtime.ErrNoSuchContainer) {
			return err
		}
		return rt.VolumeRemove(ctx, k)
	}
	return nil
}

// LeftError is Remove's word that the instance was forgotten but its
// engine did not answer: its containers and volumes are still there.
type LeftError struct {
	Branch, Engine string
	Err            error
}

func (e *LeftError) Error() string {
	return fmt.Sprintf("forgot the instance of %q, but %s did not answer: its containers and volumes there are left (%v)", e.Branch, e.Engine, e.Err)
}

func (e *LeftError) Unwrap() error { return e.Err }

func (m *Manager) checkClean(ctx context.Context, rt runtime.Runtime, in Instance) error {
	c, err := rt.Inspect(ctx, in.Name)
	if errors.Is(err, runtime.ErrNoSuchContainer) {
		return &DirtyError{Branch: in.Branch, Err: errors.New("its container is gone")}
	}
	if err != nil {
		return &DirtyError{Branch: in.Branch, Err: err}
	}
	if !c.Running() {
		if err := rt.Start(ctx, in.Name); err != nil {
			return &DirtyError{Branch: in.Branch, Err: err}
		}
	}
	st, err := m.repoStatus(ctx, rt, in)
	if err != nil {
		return &DirtyError{Branch: in.Branch, Err: err}
	}
	if st.Dirty {
		return &DirtyError{Branch: in.Branch}
	}
	return nil
}

// removeParts removes everything of in on its engine and under the data
// folder (with keep, not its data and work). What is already gone is no
// error.
func (m *Manager) removeParts(ctx context.Context, rt runtime.Runtime, in Instance, keep bool) error {
	for _, n := range []string{in.GateName(), in.Name} {
		if err := rt.Remove(ctx, n); err != nil && !errors.Is(err, runtime.ErrNoSuchContainer) {
			return err
		}
	}
	if keep {
		return rt.VolumeRemove(ctx, in.GateVolume())
	}
	if err := rt.VolumeRemove(ctx, in.DataVolume(), in.WorkVolume(), in.GateVolume()); err != nil {
		return err
	}
	f := m.folders(in.key())
	for _, d := range []string{f.work, filepath.Dir(f.gitfile)} {
		if err := removeAll(d); err != nil {
			return fmt.Errorf("remove %s: %w", d, err)
		}
	}
	return nil
}

// removeAll removes a folder the container wrote into: it follows no link
// (os.RemoveAll never does), and makes the folders the agent left
// unwritable writable first, as their owner may.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// Recreate replaces the instance's container with a new one (of image, if
// not empty), keeping its volumes and folder, and so its repository and
// files: how an instance picks up a new image.
func (m *Manager) Recreate(ctx context.Context, in Instance, image string, repo Repo) (Instance, error) {
	unlock, err := m.catalog().Lock()
	if err != nil {
		return Instance{}, err
	}
	defer unlock()
	if in.Legacy() {
		return in, &LegacyError{Branch: in.Branch}
	}
	if in.Runtime == runtime.Kubernetes {
		return m.kubeRecreate(ctx, in, image, repo)
	}
	rt, err := m.RuntimeOf(in)
	if err != nil {
		return Instance{}, err
	}
	if image != "" {
		in.Image = image
	}
	im, err := m.image(ctx, rt, in.Image)
	if err != nil {
		return Instance{}, err
	}
	in.User = m.execUser(im.User)
	for _, n := range []string{in.GateName(), in.Name} {
		if err := rt.Remove(ctx, n); err != nil && !errors.Is(err, runtime.ErrNoSuchContainer) {
			return Instance{}, err
		}
	}
	if err := m.createContainer(ctx, rt, &in, im, repo); err != nil {
		return Instance{}, err
	}
	return m.recordRunning(in)
}

// Exec returns the spec of a process in the instance, started through
// hjk-init (which writes the credentials found in the environment, then
// execs cmd) in the workspace, as the instance's user. The caller adds
// credentials and streams.
func (in Instance) Exec(cmd []string) runtime.ExecSpec {
	return in.Guest(append([]string{"--"}, cmd...)...)
}

// Guest is the spec of `hjk-init ARGS` in the instance's agent container,
// as its user, in the workspace: on Kubernetes the pod's agent container,
// whose user and folder the pod spec set (kubectl exec takes neither).
func (in Instance) Guest(args ...string) runtime.ExecSpec {
	cmd := append([]string{layout.InitPath}, args...)
	if in.Runtime == runtime.Kubernetes {
		return runtime.ExecSpec{Pod: in.Name, Container: kubeAgent, Cmd: cmd}
	}
	return runtime.ExecSpec{Container: in.Name, Cmd: cmd, Workdir: layout.Workdir, User: in.User}
}

// Execer opens what runs processes in the instance: its engine's CLI, or
// kubectl aimed at its cluster.
func (m *Manager) Execer(in Instance) (runtime.Execer, error) {
	if in.Runtime == runtime.Kubernetes {
		return m.kubectl(in.Cluster)
	}
	return m.RuntimeOf(in)
}

func sortList(list []Instance) {
	slices.SortStableFunc(list, func(a, b Instance) int {
		if c := strings.Compare(a.Repo, b.Repo); c != 0 {
			return c
		}
		return strings.Compare(a.Branch, b.Branch)
	})
}

// recordRunning puts a recreated instance into the catalog (replacing its
// entry, or adding one) and returns it as running.
func (m *Manager) recordRunning(in Instance) (Instance, error) {
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
