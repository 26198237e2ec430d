package instance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/wire"
	"github.com/hjk-dev/hjk/internal/host/gateconf"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// On Kubernetes (runtime "kubernetes") an instance is a bare Pod that hjk
// owns, named like the instance, and one PersistentVolumeClaim of the same
// name holding its data (/.hjk/data, subPath data) and its workspace
// (/workspace, subPath work): `stop` deletes the pod and keeps the claim,
// `run` makes the pod again, `rm` deletes both. A bare Pod rather than a
// one-replica StatefulSet: hjk already is the controller (it makes the
// pod when it is wanted and deletes it on stop), a StatefulSet would bring
// the pod back behind a stop and adds an object and a controller's delay
// to every start. Nothing of the host is mounted: the repository arrives
// as a bundle over `kubectl exec -i`, later host commits as bundles of
// what the instance lacks, and commits come back as on every engine.
//
// The pod: three init containers, then the agent's container and the gate.
//
//	hjk-shim   the shim image (kubernetes.shim_image): `/hjk-init install
//	           /.hjk/bin` copies hjk-init and hjk-gate into an emptyDir
//	hjk-user   the agent's image, as its own user: `hjk-init whoami`
//	           writes its uid:gid (refusing root and the gate's uid); only
//	           a container of the image started as its USER can tell it
//	hjk-setup  the shim image, root with CHOWN and NET_ADMIN only: `hjk-gate
//	           setup` hands that user the tops of its folders (a fresh
//	           claim is root's, and fsGroup is not applied everywhere) and
//	           locks the pod's egress (nftables in the pod's network
//	           namespace: loopback and the gate's uid only)
//	agent      the agent's image as its own user, no capability, no
//	           privilege escalation: `hjk-init boot` as PID 1
//	gate       the agent's image (its CA certificates) as the gate's uid,
//	           no capability, read-only: `hjk-gate serve`
//
// The keeper is a pod of its own per namespace and hjk data folder
// (hjk-keeper-<id>), reached by the gates over TLS on its pod address with
// a token (package gate's peer.go); hjk tells each gate where it is in the
// gate's Prepare. No Service is needed, and no Kubernetes Secret holds
// anything: logins cross `kubectl exec -i` on stdin, into the gate, which
// forwards them to the keeper.

// Containers of an instance's pod, and of the keeper's.
const (
	kubeAgent  = "agent"
	kubeGate   = "gate"
	kubeKeeper = "keeper"
	// KeeperPort is the keeper's TLS port on its pod address.
	KeeperPort = 7443
)

// Cluster is a kubeconfig context and a namespace.
type Cluster struct {
	Context   string `json:"context"`
	Namespace string `json:"namespace"`
}

func (c *Cluster) String() string {
	if c == nil {
		return "the current context"
	}
	return c.Context + "/" + c.Namespace
}

// Kubectl is what the Manager asks of a cluster: runtime.Kube.
type Kubectl interface {
	runtime.Execer
	Where(ctx context.Context) (context_, namespace string, err error)
	Apply(ctx context.Context, manifest []byte) error
	Get(ctx context.Context, kinds string, labels map[string]string) ([]byte, error)
	Object(ctx context.Context, kind, name string) ([]byte, error)
	Delete(ctx context.Context, wait bool, refs ...string) error
	Watch(ctx context.Context, kind, name string, fn func(obj []byte) (done bool, err error)) error
}

// KubeSettings are how instances on Kubernetes are made.
type KubeSettings struct {
	// Open aims kubectl at a context and namespace ("" kubectl's own).
	Open func(c Cluster) (Kubectl, error)
	// Context and Namespace are the settings' (kubernetes.context,
	// kubernetes.namespace): where a new instance goes unless asked.
	Context, Namespace string
	// ShimImage holds /hjk-init and /hjk-gate (images/hjk-init).
	ShimImage string
	// StorageClass of the claims ("" the cluster's default) and their
	// size ("" DefaultStorageSize).
	StorageClass, StorageSize string
	// ReadyTimeout bounds the wait for a pod (0: DefaultReadyTimeout).
	ReadyTimeout time.Duration
}

// Defaults of KubeSettings.
const (
	DefaultStorageSize  = "10Gi"
	DefaultReadyTimeout = 5 * time.Minute
)

func (m *Manager) kubectl(c *Cluster) (Kubectl, error) {
	if m.Kube.Open == nil {
		return nil, errors.New("instance: no way to reach Kubernetes (Manager.Kube.Open)")
	}
	if c == nil {
		c = &Cluster{Context: m.Kube.Context, Namespace: m.Kube.Namespace}
	}
	return m.Kube.Open(*c)
}

// KubeName is the name of an instance's pod and claim: a DNS label
// (lowercase letters, digits, '-'; at most 63), readable and unique per
// hjk data folder (hostID), repository and branch.
func KubeName(hostID, gitDir, repoName, branch string) string {
	sum := sha256.Sum256([]byte(hostID + "\x00" + gitDir + "\x00" + branch))
	return "hjk-" + dnsPart(repoName, 16) + "-" + dnsPart(branch, 24) + "-" + hex.EncodeToString(sum[:])[:8]
}

// dnsPart keeps [a-z0-9-] of s, lowercased, no '-' at its ends, at most n.
func dnsPart(s string, n int) string {
	var b strings.Builder
	for _, r := range sanitise(s, 4*n) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > n {
		out = strings.TrimRight(out[:n], "-")
	}
	if out == "" {
		out = "x"
	}
	return out
}

// KeeperPod is the keeper's pod of the data folder hostID.
func KeeperPod(hostID string) string {
	sum := sha256.Sum256([]byte("keeper\x00" + hostID))
	return "hjk-keeper-" + hex.EncodeToString(sum[:4])
}

// KubeFolderError is a workspace folder asked of a cluster.
type KubeFolderError struct{ Branch string }

func (e *KubeFolderError) Error() string {
	return fmt.Sprintf("the instance of %q is on Kubernetes, which shares no filesystem with this machine: its workspace can only be a volume", e.Branch)
}

// PodError is a pod that could not start: a container that failed, an
// image that could not be had, a policy that refused it.
type PodError struct {
	Pod, Container, Reason, Message string
}

func (e *PodError) Error() string {
	s := "pod " + e.Pod
	if e.Container != "" {
		s += ", container " + e.Container
	}
	s += ": " + e.Reason
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (m *Manager) kubeCreate(ctx context.Context, w Want) (Instance, error) {
	if err := CheckBranch(ctx, w.Branch); err != nil {
		return Instance{}, err
	}
	if w.Image == "" {
		return Instance{}, errors.New("instance: Want needs an image to create an instance")
	}
	if w.Workspace == layout.WorkspaceFolder {
		return Instance{}, &KubeFolderError{Branch: w.Branch}
	}
	k, err := m.kubectl(w.Cluster)
	if err != nil {
		return Instance{}, err
	}
	cname, ns, err := k.Where(ctx)
	if err != nil {
		return Instance{}, err
	}
	id, err := m.HostID()
	if err != nil {
		return Instance{}, err
	}
	in := Instance{
		Name:      KubeName(id, w.Repo.GitDir, w.Repo.Name(), w.Branch),
		Repo:      w.Repo.Dir,
		GitDir:    w.Repo.GitDir,
		Branch:    w.Branch,
		Workspace: layout.WorkspaceVolume,
		Agent:     w.Agent,
		Account:   w.Account,
		Image:     w.Image,
		Runtime:   runtime.Kubernetes,
		Cluster:   &Cluster{Context: cname, Namespace: ns},
		Created:   m.now().UTC().Truncate(time.Second),
	}
	switch w.Credentials {
	case "", CredentialsGate:
		in.Credentials = CredentialsGate
	case CredentialsInject:
		in.Credentials = CredentialsInject
	default:
		return Instance{}, fmt.Errorf("credentials %q: want %s or %s", w.Credentials, CredentialsGate, CredentialsInject)
	}
	if k, err = m.kubectl(in.Cluster); err != nil {
		return Instance{}, err
	}
	st, err := m.kubeState(ctx, k, in.Name)
	if err != nil {
		return Instance{}, err
	}
	if st.pod != nil || st.claim != nil {
		// Ours, made by this data folder, with its catalog entry lost:
		// taken back rather than failing on the name.
		if a, ok := m.kubeAdopt(firstOf(st.pod, st.claim), id, *in.Cluster); ok {
			a.State = st.state()
			if _, err := m.kubeUp(ctx, k, &a, w.Repo, st); err != nil {
				return Instance{}, err
			}
			return a, nil
		}
		return Instance{}, fmt.Errorf("a pod or claim %s that hjk did not make is in %s", in.Name, in.Cluster)
	}
	if _, err := m.kubeUp(ctx, k, &in, w.Repo, st); err != nil {
		k.Delete(context.WithoutCancel(ctx), true, "pod/"+in.Name, "pvc/"+in.Name)
		return Instance{}, err
	}
	return in, nil
}

// kubeEnsure brings an existing instance's pod up: made again when it is
// gone (stopped, or deleted behind hjk's back), replaced when it ended.
func (m *Manager) kubeEnsure(ctx context.Context, list []Instance, i int, in Instance, w Want, changed bool) (Instance, Action, error) {
	if w.Cluster != nil && in.Cluster != nil && (w.Cluster.Context != "" && w.Cluster.Context != in.Cluster.Context || w.Cluster.Namespace != "" && w.Cluster.Namespace != in.Cluster.Namespace) {
		return Instance{}, "", &OtherRuntimeError{Branch: w.Branch, Have: "kubernetes " + in.Cluster.String(), Want: "kubernetes " + w.Cluster.String()}
	}
	k, err := m.kubectl(in.Cluster)
	if err != nil {
		return Instance{}, "", err
	}
	st, err := m.kubeState(ctx, k, in.Name)
	if err != nil {
		return Instance{}, "", err
	}
	act := Ready
	if st.state() != "running" {
		act, err = m.kubeUp(ctx, k, &in, w.Repo, st)
		if err != nil {
			return Instance{}, "", err
		}
		changed = changed || act == Restored
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

// kubeUp makes the instance's pod run (its claim too, when missing, and
// the keeper with the gate), waits until it is ready and seeds its
// repository when the claim has none. st is what the cluster had.
func (m *Manager) kubeUp(ctx context.Context, k Kubectl, in *Instance, repo Repo, st kubeStatus) (Action, error) {
	act := Started
	if st.pod != nil {
		if st.state() == "running" {
			return Ready, nil
		}
		if st.pod.Metadata.DeletionTimestamp == nil && st.pod.Status.Phase == "Pending" && st.podErr() == nil {
			act = Ready // starting already: wait for it
		} else if err := k.Delete(ctx, true, "pod/"+in.Name); err != nil {
			return "", err
		}
	}
	id, err := m.HostID()
	if err != nil {
		return "", err
	}
	if in.Credentials == CredentialsGate {
		// Its pod starts beside the instance's; prepare waits for it.
		if err := m.kubeEnsureKeeper(ctx, k, *in, id); err != nil {
			return "", err
		}
	}
	var objs []any
	if st.claim == nil {
		if in.Created.Before(m.now().Add(-time.Minute)) {
			act = Restored
		}
		objs = append(objs, m.kubeClaim(*in, id))
	}
	if st.pod == nil || act != Ready {
		objs = append(objs, m.kubePod(*in, id))
	}
	done := m.step("making the pod of %q in %s (%s)", in.Branch, in.Cluster, in.Image)
	err = k.Apply(ctx, kubeList(objs))
	if err == nil {
		err = m.kubeWait(ctx, k, *in)
	}
	done()
	if err != nil {
		return "", err
	}
	if act == Ready {
		act = Started
	}
	return act, m.kubeSeed(ctx, k, in, repo)
}

// kubeSeed makes the repository from a bundle of the branch's history,
// unless the claim has one already (a pod made anew keeps it).
func (m *Manager) kubeSeed(ctx context.Context, k Kubectl, in *Instance, repo Repo) error {
	if _, err := m.repoStatus(ctx, k, *in); err == nil {
		return nil
	}
	tip, err := repo.ensureBranch(ctx, in.Branch)
	if err != nil {
		return err
	}
	f, size, err := m.bundle(ctx, repo, in.Branch)
	if err != nil {
		return err
	}
	defer f.Close()
	args := []string{"repo", "init", "--branch", in.Branch, "--bundle"}
	if name, email := repo.identity(ctx); name != "" || email != "" {
		args = append(args, "--user-name", name, "--user-email", email)
	}
	if err := m.sendBundle(ctx, k, *in, f, size, io.Discard, args...); err != nil {
		return fmt.Errorf("seed the repository of %s: %w", in.Name, err)
	}
	if in.Base == "" {
		in.Base = tip
	}
	return nil
}

// kubeStop deletes the pod and keeps the claim: its work stays, `run`
// makes the pod again. It returns once the pod's processes have ended.
func (m *Manager) kubeStop(ctx context.Context, in Instance) error {
	k, err := m.kubectl(in.Cluster)
	if err != nil {
		return err
	}
	return k.Delete(ctx, true, "pod/"+in.Name)
}

// kubeRemove is Remove on Kubernetes (the catalog's lock held): the pod,
// the claim (unless keep), the catalog entry, and the keeper with the last
// gated instance of its namespace.
func (m *Manager) kubeRemove(ctx context.Context, in Instance, force, keep bool) error {
	k, err := m.kubectl(in.Cluster)
	if err != nil {
		return err
	}
	if !force {
		st, err := m.kubeState(ctx, k, in.Name)
		if err == nil && st.state() != "running" {
			if st.claim == nil {
				err = errors.New("its claim is gone")
			} else {
				_, err = m.kubeUp(ctx, k, &in, Repo{Dir: in.Repo, GitDir: in.GitDir}, st)
			}
		}
		if err != nil {
			return &DirtyError{Branch: in.Branch, Err: err}
		}
		rs, err := m.repoStatus(ctx, k, in)
		if err != nil {
			return &DirtyError{Branch: in.Branch, Err: err}
		}
		if rs.Dirty {
			return &DirtyError{Branch: in.Branch}
		}
	}
	refs := []string{"pod/" + in.Name}
	if !keep {
		refs = append(refs, "pvc/"+in.Name)
	}
	if err := k.Delete(ctx, true, refs...); err != nil {
		return err
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
	same := func(o Instance) bool {
		return o.Runtime == runtime.Kubernetes && o.Credentials == CredentialsGate && o.Cluster != nil && in.Cluster != nil && *o.Cluster == *in.Cluster
	}
	if !slices.ContainsFunc(list, same) {
		id, err := m.HostID()
		if err != nil {
			return err
		}
		return k.Delete(ctx, true, "pod/"+KeeperPod(id))
	}
	return nil
}

// kubeRecreate replaces the pod (with image, if not empty), keeping the
// claim and so the repository and files (the catalog's lock held).
func (m *Manager) kubeRecreate(ctx context.Context, in Instance, image string, repo Repo) (Instance, error) {
	k, err := m.kubectl(in.Cluster)
	if err != nil {
		return Instance{}, err
	}
	if image != "" {
		in.Image = image
	}
	if err := k.Delete(ctx, true, "pod/"+in.Name); err != nil {
		return Instance{}, err
	}
	st, err := m.kubeState(ctx, k, in.Name)
	if err != nil {
		return Instance{}, err
	}
	if _, err := m.kubeUp(ctx, k, &in, repo, st); err != nil {
		return Instance{}, err
	}
	return m.recordRunning(in)
}

// kubeList fills the states of the catalog's instances on Kubernetes: one
// `kubectl get pods,pvc` per context and namespace in use (and the
// settings' own, with current), and takes back those of this data folder
// that the catalog lost.
func (m *Manager) kubeList(ctx context.Context, list []Instance, adopted, current bool) ([]Instance, bool, []error) {
	var clusters []Cluster
	for _, in := range list {
		if in.Runtime == runtime.Kubernetes && in.Cluster != nil && !slices.Contains(clusters, *in.Cluster) {
			clusters = append(clusters, *in.Cluster)
		}
	}
	var errs []error
	if current {
		if k, err := m.kubectl(nil); err == nil {
			if c, ns, err := k.Where(ctx); err == nil && !slices.Contains(clusters, Cluster{c, ns}) {
				clusters = append(clusters, Cluster{c, ns})
			}
		}
	}
	id, err := m.HostID()
	if err != nil {
		return list, adopted, []error{err}
	}
	for _, c := range clusters {
		k, err := m.kubectl(&c)
		var objs []kubeObject
		if err == nil {
			objs, err = kubeGet(ctx, k, map[string]string{LabelInstance: "1", LabelHost: id})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("kubernetes %s: %w", c.String(), err))
			for i := range list {
				if list[i].Runtime == runtime.Kubernetes && list[i].Cluster != nil && *list[i].Cluster == c {
					list[i].State = "unknown"
				}
			}
			continue
		}
		byName := map[string]kubeStatus{}
		for i := range objs {
			o := &objs[i]
			st := byName[o.Metadata.Name]
			switch o.Kind {
			case "Pod":
				st.pod = o
			case "PersistentVolumeClaim":
				st.claim = o
			}
			byName[o.Metadata.Name] = st
		}
		for i := range list {
			in := &list[i]
			if in.Runtime != runtime.Kubernetes || in.Cluster == nil || *in.Cluster != c {
				continue
			}
			st, ok := byName[in.Name]
			delete(byName, in.Name)
			in.State = StateMissing
			if ok {
				in.State = st.state()
			}
		}
		for _, st := range byName {
			if a, ok := m.kubeAdopt(firstOf(st.pod, st.claim), id, c); ok && find(list, a.GitDir, a.Branch) < 0 {
				a.State = st.state()
				list = append(list, a)
				adopted = true
			}
		}
	}
	return list, adopted, errs
}

// kubeAdopt rebuilds a catalog entry from an object's labels and
// annotations: only one this data folder made.
func (m *Manager) kubeAdopt(o *kubeObject, id string, c Cluster) (Instance, bool) {
	if o == nil || o.Metadata.Labels[LabelHost] != id {
		return Instance{}, false
	}
	a := o.Metadata.Annotations
	gd, branch := a[LabelRepo], a[LabelBranch]
	if gd == "" || branch == "" {
		return Instance{}, false
	}
	repo := Repo{Dir: gd, GitDir: gd}
	if filepath.Base(gd) == ".git" {
		repo.Dir = filepath.Dir(gd)
	}
	if KubeName(id, gd, repo.Name(), branch) != o.Metadata.Name {
		return Instance{}, false
	}
	in := Instance{
		Name: o.Metadata.Name, Repo: repo.Dir, GitDir: gd, Branch: branch,
		Workspace: layout.WorkspaceVolume, Agent: a[LabelAgent], Account: a[LabelAccount],
		Image: a[annoImage], Runtime: runtime.Kubernetes, Cluster: &c,
		Credentials: a[annoCredentials], Created: o.Metadata.CreationTimestamp,
	}
	if in.Credentials != CredentialsInject {
		in.Credentials = CredentialsGate
	}
	return in, true
}

// Annotations beside the labels (values a label cannot hold).
const (
	annoImage       = "dev.hjk.image"
	annoCredentials = "dev.hjk.credentials"
)

func (m *Manager) kubeGateExec(in Instance, keeper bool, args ...string) runtime.ExecSpec {
	cmd := append([]string{layout.GatePath}, args...)
	if keeper {
		id, err := m.HostID()
		if err != nil {
			id = "unknown"
		}
		return runtime.ExecSpec{Pod: KeeperPod(id), Container: kubeKeeper, Cmd: cmd}
	}
	return runtime.ExecSpec{Pod: in.Name, Container: kubeGate, Cmd: cmd}
}

// KeeperPeer is where the gates of in's namespace reach the keeper: its
// pod's address, its token and its certificate's pin (`hjk-gate peer`, by
// exec). It waits for the keeper's pod, which starts beside the first
// instance's.
func (m *Manager) KeeperPeer(ctx context.Context, in Instance) (wire.Peer, error) {
	k, err := m.kubectl(in.Cluster)
	if err != nil {
		return wire.Peer{}, err
	}
	id, err := m.HostID()
	if err != nil {
		return wire.Peer{}, err
	}
	name := KeeperPod(id)
	if _, err := k.Object(ctx, "pod", name); errors.Is(err, runtime.ErrNotFound) {
		// Deleted behind hjk's back: the gate's instance needs one.
		if err := m.kubeEnsureKeeper(ctx, k, in, id); err != nil {
			return wire.Peer{}, err
		}
	}
	var ip string
	ctx2, cancel := context.WithTimeout(ctx, m.readyTimeout())
	defer cancel()
	err = k.Watch(ctx2, "pod", name, func(b []byte) (bool, error) {
		var o kubeObject
		if err := json.Unmarshal(b, &o); err != nil {
			return false, err
		}
		st := kubeStatus{pod: &o}
		if err := st.podErr(); err != nil {
			return false, err
		}
		ip = o.Status.PodIP
		return st.state() == "running" && ip != "", nil
	})
	if err != nil {
		return wire.Peer{}, fmt.Errorf("the credential keeper's pod: %w", err)
	}
	var out strings.Builder
	spec := m.kubeGateExec(in, true, "peer")
	spec.Stdout = &capWriter{w: &out, max: 4 << 10}
	ctx3, cancel3 := context.WithTimeout(ctx, guestTimeout)
	defer cancel3()
	if err := k.Exec(ctx3, spec); err != nil {
		return wire.Peer{}, fmt.Errorf("ask the credential keeper for its address: %w", err)
	}
	var p wire.Peer
	if err := json.Unmarshal([]byte(out.String()), &p); err != nil || p.Validate(false) != nil {
		return wire.Peer{}, errors.New("the credential keeper answered peer with something else")
	}
	host := ip
	if strings.Contains(ip, ":") {
		host = "[" + ip + "]"
	}
	p.URL = "https://" + host + ":" + strconv.Itoa(KeeperPort)
	return p, p.Validate(true)
}

// kubeEnsureKeeper makes the keeper's pod when it is missing (or ended).
func (m *Manager) kubeEnsureKeeper(ctx context.Context, k Kubectl, in Instance, id string) error {
	name := KeeperPod(id)
	b, err := k.Object(ctx, "pod", name)
	if err == nil {
		var o kubeObject
		if json.Unmarshal(b, &o) == nil {
			st := kubeStatus{pod: &o}
			if o.Metadata.DeletionTimestamp == nil && st.podErr() == nil && o.Status.Phase != "Failed" && o.Status.Phase != "Succeeded" {
				return nil
			}
		}
		if err := k.Delete(ctx, true, "pod/"+name); err != nil {
			return err
		}
	} else if !errors.Is(err, runtime.ErrNotFound) {
		return err
	}
	if err := k.Apply(ctx, kubeList([]any{m.kubeKeeperPod(in, id)})); err != nil {
		return fmt.Errorf("start the credential keeper: %w", err)
	}
	return nil
}

// kubeWait waits until the pod is ready, failing at once on a container
// that failed or an image that cannot be had.
func (m *Manager) kubeWait(ctx context.Context, k Kubectl, in Instance) error {
	ctx, cancel := context.WithTimeout(ctx, m.readyTimeout())
	defer cancel()
	var why string // the last thing the scheduler said it waits for
	err := k.Watch(ctx, "pod", in.Name, func(b []byte) (bool, error) {
		var o kubeObject
		if err := json.Unmarshal(b, &o); err != nil {
			return false, err
		}
		st := kubeStatus{pod: &o}
		why = st.pendingWhy()
		if err := st.podErr(); err != nil {
			var pe *PodError
			if errors.As(err, &pe) {
				switch {
				case pe.Container == "hjk-user" && strings.Contains(pe.Message, "root"):
					return false, &RootImageError{Image: in.Image}
				case strings.Contains(pe.Reason, "Image") && imageOf(&o, pe.Container) == in.Image:
					return false, &NoImageError{Image: in.Image, Runtime: "cluster (" + pe.Reason + ")"}
				}
			}
			return false, err
		}
		return st.state() == "running", nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		if why != "" {
			return fmt.Errorf("pod %s was not ready within %s: %s", in.Name, m.readyTimeout(), why)
		}
		return fmt.Errorf("pod %s was not ready within %s", in.Name, m.readyTimeout())
	}
	return err
}

func (m *Manager) readyTimeout() time.Duration {
	if m.Kube.ReadyTimeout > 0 {
		return m.Kube.ReadyTimeout
	}
	return DefaultReadyTimeout
}

// kubeStatus is what the cluster has of an instance: its pod and claim.
type kubeStatus struct {
	pod, claim *kubeObject
}

// kubeState asks the cluster for the instance's pod and claim, in one call.
func (m *Manager) kubeState(ctx context.Context, k Kubectl, name string) (kubeStatus, error) {
	objs, err := kubeGet(ctx, k, map[string]string{LabelOwner: name})
	var st kubeStatus
	if err != nil {
		return st, err
	}
	for i := range objs {
		o := &objs[i]
		if o.Metadata.Name != name {
			continue
		}
		switch o.Kind {
		case "Pod":
			st.pod = o
		case "PersistentVolumeClaim":
			st.claim = o
		}
	}
	return st, nil
}

// state is the instance's state as hjk shows it: running (its pod ready),
// starting, stopping, exited (its pod ended), stopped (no pod, the claim
// kept), missing.
func (s kubeStatus) state() string {
	p := s.pod
	switch {
	case p == nil && s.claim != nil:
		return "stopped"
	case p == nil:
		return StateMissing
	case p.Metadata.DeletionTimestamp != nil:
		return "stopping"
	case p.Status.Phase == "Failed" || p.Status.Phase == "Succeeded":
		return "exited"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" && c.Status == "True" {
			return "running"
		}
	}
	return "starting"
}

// podErr says why the pod cannot become ready, or nil while it may.
func (s kubeStatus) podErr() error {
	p := s.pod
	if p == nil {
		return nil
	}
	if p.Status.Phase == "Failed" {
		return &PodError{Pod: p.Metadata.Name, Reason: "failed", Message: p.Status.Message}
	}
	for _, c := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		for _, t := range []*kubeTerminated{c.State.Terminated, c.LastState.Terminated} {
			if t != nil && t.ExitCode != 0 {
				return &PodError{Pod: p.Metadata.Name, Container: c.Name, Reason: "exited with " + strconv.Itoa(t.ExitCode), Message: lastLine(t.Message)}
			}
		}
		if w := c.State.Waiting; w != nil && slices.Contains(fatalWaits, w.Reason) {
			return &PodError{Pod: p.Metadata.Name, Container: c.Name, Reason: w.Reason, Message: lastLine(w.Message)}
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable" && !waitsForClaim(c.Message) {
			return &PodError{Pod: p.Metadata.Name, Reason: "unschedulable", Message: lastLine(c.Message)}
		}
	}
	return nil
}

// waitsForClaim says the scheduler waits for the pod's claim to be bound:
// it says so while a provisioner makes the volume, which passes by itself
// (else the wait's timeout says it did not).
func waitsForClaim(msg string) bool {
	return strings.Contains(msg, "unbound immediate PersistentVolumeClaims")
}

// pendingWhy is what keeps a pod from being scheduled, "" when nothing.
func (s kubeStatus) pendingWhy() string {
	if s.pod == nil {
		return ""
	}
	for _, c := range s.pod.Status.Conditions {
		if c.Type == "PodScheduled" && c.Status == "False" {
			return lastLine(c.Message)
		}
	}
	return ""
}

// fatalWaits are the reasons a container waits that will not pass by
// themselves.
var fatalWaits = []string{"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "CrashLoopBackOff"}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 400 {
		s = s[:400]
	}
	return s
}

func imageOf(o *kubeObject, container string) string {
	for _, c := range slices.Concat(o.Spec.InitContainers, o.Spec.Containers) {
		if c.Name == container {
			return c.Image
		}
	}
	return ""
}

func firstOf(a, b *kubeObject) *kubeObject {
	if a != nil {
		return a
	}
	return b
}

// kubeObject is what hjk reads of a pod or a claim.
type kubeObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name              string            `json:"name"`
		Labels            map[string]string `json:"labels"`
		Annotations       map[string]string `json:"annotations"`
		CreationTimestamp time.Time         `json:"creationTimestamp"`
		DeletionTimestamp *time.Time        `json:"deletionTimestamp"`
	} `json:"metadata"`
	Spec struct {
		InitContainers []struct{ Name, Image string } `json:"initContainers"`
		Containers     []struct{ Name, Image string } `json:"containers"`
	} `json:"spec"`
	Status struct {
		Phase      string `json:"phase"`
		Message    string `json:"message"`
		PodIP      string `json:"podIP"`
		Conditions []struct {
			Type, Status, Reason, Message string
		} `json:"conditions"`
		InitContainerStatuses []kubeContainerStatus `json:"initContainerStatuses"`
		ContainerStatuses     []kubeContainerStatus `json:"containerStatuses"`
	} `json:"status"`
}

type kubeContainerStatus struct {
	Name      string     `json:"name"`
	State     kubeCState `json:"state"`
	LastState kubeCState `json:"lastState"`
}

type kubeCState struct {
	Waiting *struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"waiting"`
	Terminated *kubeTerminated `json:"terminated"`
}

type kubeTerminated struct {
	ExitCode int    `json:"exitCode"`
	Reason   string `json:"reason"`
	Message  string `json:"message"`
}

// kubeGet lists the pods and claims carrying labels.
func kubeGet(ctx context.Context, k Kubectl, labels map[string]string) ([]kubeObject, error) {
	b, err := k.Get(ctx, "pods,persistentvolumeclaims", labels)
	if err != nil {
		return nil, err
	}
	var l struct {
		Items []kubeObject `json:"items"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("kubectl get answered something else than a list: %v", err)
	}
	return l.Items, nil
}

// gatePorts is the agent's HJK_GATE: its loopback ports to the gate's
// sockets.
func gatePorts() string { return gateconf.Ports() }
