package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"os/exec"
	"slices"
	"strings"
	"time"
)

// Kubernetes is the runtime name of instances that are pods on a cluster.
const Kubernetes = "kubernetes"

// Execer runs processes in an instance's containers: every Runtime, and
// kubectl (Kube) for pods.
type Execer interface {
	// Name is the runtime's name ("docker", ..., "kubernetes").
	Name() string
	// Exec runs spec and returns an *ExitError for a process that ran
	// and exited non-zero (see Runtime.Exec).
	Exec(ctx context.Context, spec ExecSpec) error
}

// ErrNotFound is returned (wrapped) for a Kubernetes object that does not
// exist.
var ErrNotFound = errors.New("not found")

// Kube drives kubectl, as the other drivers drive their engines' CLIs:
// never a client library, so the user's kubeconfig, its contexts, exec
// plugins and proxies keep working. It is aimed at one context and
// namespace; empty ones are kubectl's own (the current context, its
// namespace, else "default").
//
// It ships objects hjk built (JSON) and reads what the cluster answers;
// what the objects are is package instance's business.
type Kube struct {
	Context   string
	Namespace string
	// Bin is the kubectl to run ("" finds kubectl on PATH).
	Bin string
	// Workdir is the working folder of every container hjk makes:
	// kubectl exec has no --workdir, so an ExecSpec may name only this.
	Workdir string
}

// Name is Kubernetes.
func (k *Kube) Name() string { return Kubernetes }

func (k *Kube) argv(args ...string) []string {
	a := []string{cmpOr(k.Bin, "kubectl")}
	if k.Context != "" {
		a = append(a, "--context", k.Context)
	}
	if k.Namespace != "" {
		a = append(a, "--namespace", k.Namespace)
	}
	return append(a, args...)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

const kubeInstall = "install kubectl (https://kubernetes.io/docs/tasks/tools/)"

// run runs kubectl and turns a missing kubectl or a cluster that does not
// answer into an UnavailableError that says what to do.
func (k *Kube) run(ctx context.Context, c call) ([]byte, error) {
	out, err := run(ctx, c)
	if err == nil {
		return out, nil
	}
	if errors.Is(err, exec.ErrNotFound) {
		return out, notInstalled(Kubernetes, kubeInstall)
	}
	if stderrHas(err, "unable to connect to the server", "the connection to the server", "connection refused", "no configuration has been provided", "context was not found", "current-context is not set") {
		return out, notAnswering(Kubernetes, "the cluster does not answer kubectl: check `kubectl cluster-info` (and --context)", err)
	}
	return out, err
}

// Version returns the cluster's version (`kubectl version`): the check that
// kubectl is there and the cluster answers.
func (k *Kube) Version(ctx context.Context) (string, error) {
	out, err := k.run(ctx, call{args: k.argv("version", "-o", "json", "--request-timeout", "10s")})
	var v struct {
		Server struct {
			GitVersion string `json:"gitVersion"`
		} `json:"serverVersion"`
	}
	if jerr := json.Unmarshal(out, &v); jerr == nil && v.Server.GitVersion != "" {
		return v.Server.GitVersion, nil
	}
	if err == nil {
		err = errors.New("kubectl version named no server version")
	}
	return "", err
}

// Where is the context and namespace kubectl goes to: the driver's, or
// kubectl's own rules (the kubeconfig's current context, its namespace,
// else "default").
func (k *Kube) Where(ctx context.Context) (context_, namespace string, err error) {
	out, err := k.run(ctx, call{args: k.argv("config", "view", "--minify", "-o", "json")})
	if err != nil {
		return "", "", fmt.Errorf("read the kubeconfig: %w", err)
	}
	var cfg struct {
		Current  string `json:"current-context"`
		Contexts []struct {
			Name    string `json:"name"`
			Context struct {
				Namespace string `json:"namespace"`
			} `json:"context"`
		} `json:"contexts"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil || len(cfg.Contexts) == 0 {
		return "", "", errors.New("the kubeconfig names no context: set one with `kubectl config use-context`, or give --context")
	}
	context_ = cmpOr(k.Context, cmpOr(cfg.Current, cfg.Contexts[0].Name))
	namespace = cmpOr(k.Namespace, cmpOr(cfg.Contexts[0].Context.Namespace, "default"))
	return context_, namespace, nil
}

// Apply creates or updates the objects of manifest (JSON: one object or a
// List), server-side, as hjk's field manager.
func (k *Kube) Apply(ctx context.Context, manifest []byte) error {
	_, err := k.run(ctx, call{args: k.argv("apply", "--server-side", "--force-conflicts", "--field-manager", "hjk", "-o", "name", "-f", "-"), stdin: bytes.NewReader(manifest)})
	return err
}

// DryRun asks the cluster's admission (Pod Security, policies) whether it
// would accept manifest, without creating anything.
func (k *Kube) DryRun(ctx context.Context, manifest []byte) error {
	_, err := k.run(ctx, call{args: k.argv("create", "--dry-run=server", "-o", "name", "-f", "-"), stdin: bytes.NewReader(manifest)})
	return err
}

// Get returns `kubectl get KINDS -l SELECTOR -o json`: one List of every
// matching object of those kinds, in one call.
func (k *Kube) Get(ctx context.Context, kinds string, labels map[string]string) ([]byte, error) {
	args := k.argv("get", kinds, "-o", "json")
	if sel := selector(labels); sel != "" {
		args = append(args, "-l", sel)
	}
	out, err := k.run(ctx, call{args: args})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kinds, err)
	}
	return out, nil
}

// Object returns one object as JSON; ErrNotFound when it does not exist.
func (k *Kube) Object(ctx context.Context, kind, name string) ([]byte, error) {
	out, err := k.run(ctx, call{args: k.argv("get", kind, name, "-o", "json")})
	if stderrHas(err, "(NotFound)") {
		return nil, fmt.Errorf("%s %s: %w", kind, name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", kind, name, err)
	}
	return out, nil
}

// Delete deletes objects ("pod/NAME", "pvc/NAME"); one already gone is no
// error. With wait it returns once they are gone (a pod after its grace
// period: its processes have ended).
func (k *Kube) Delete(ctx context.Context, wait bool, refs ...string) error {
	if len(refs) == 0 {
		return nil
	}
	args := k.argv("delete", "--ignore-not-found", "--wait="+fmt.Sprint(wait))
	_, err := k.run(ctx, call{args: append(args, refs...)})
	if err != nil {
		return fmt.Errorf("delete %s: %w", strings.Join(refs, " "), err)
	}
	return nil
}

// Watch follows one object (`kubectl get KIND NAME --watch -o json`) and
// calls fn with each state of it, the current one first, until fn says it
// is done or fails, or ctx ends.
func (k *Kube) Watch(ctx context.Context, kind, name string, fn func(obj []byte) (done bool, err error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := k.argv("get", kind, name, "--watch", "-o", "json")
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	errb := &tailBuffer{max: stderrTail}
	cmd.Stderr = errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return notInstalled(Kubernetes, kubeInstall)
		}
		return err
	}
	// The watch never ends by itself: stop it, then reap it.
	defer func() { cancel(); cmd.Wait() }()
	dec := json.NewDecoder(bufio.NewReader(out))
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			cmd.Wait()
			if msg := strings.TrimSpace(errb.String()); msg != "" {
				if strings.Contains(msg, "(NotFound)") {
					return fmt.Errorf("%s %s: %w", kind, name, ErrNotFound)
				}
				return fmt.Errorf("watch %s %s: %s", kind, name, msg)
			}
			return fmt.Errorf("watch %s %s: %w", kind, name, err)
		}
		done, err := fn(raw)
		if err != nil || done {
			return err
		}
	}
}

// CanI asks `kubectl auth can-i VERB RESOURCE` in the namespace.
func (k *Kube) CanI(ctx context.Context, verb, resource string) (bool, error) {
	out, err := k.run(ctx, call{args: k.argv("auth", "can-i", verb, resource)})
	ans := strings.TrimSpace(string(out))
	if code, ok := ExitCode(err); ok && code == 1 && strings.HasPrefix(ans, "no") {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return strings.HasPrefix(ans, "yes"), nil
}

// Exec runs a command in a container of a pod (`kubectl exec`). kubectl
// exec passes no environment and takes no user or working folder: a spec
// with Env, Values or User is refused (hand the variables over on stdin
// instead: the runner does), and its Workdir may only be the containers'
// own (Kube.Workdir).
func (k *Kube) Exec(ctx context.Context, spec ExecSpec) error {
	args, err := k.execArgs(spec)
	if err != nil {
		return err
	}
	_, err = k.run(ctx, call{args: args, stdin: spec.Stdin, stdout: spec.Stdout, stderr: spec.Stderr})
	return err
}

func (k *Kube) execArgs(spec ExecSpec) ([]string, error) {
	switch {
	case spec.Pod == "" || spec.Container == "" || len(spec.Cmd) == 0:
		return nil, errors.New("kubectl exec needs a pod, a container and a command")
	case len(spec.Env) > 0 || len(spec.Values) > 0:
		return nil, errors.New("kubectl exec passes no environment: hand the variables over on stdin")
	case spec.User != "":
		return nil, errors.New("kubectl exec runs as the container's user, not " + spec.User)
	case spec.Workdir != "" && spec.Workdir != k.Workdir:
		return nil, fmt.Errorf("kubectl exec runs in the container's folder, not %s", spec.Workdir)
	}
	args := k.argv("exec")
	if spec.Interactive || spec.Stdin != nil {
		args = append(args, "-i")
	}
	if spec.TTY {
		args = append(args, "-t")
	}
	args = append(args, spec.Pod, "-c", spec.Container, "--")
	return append(args, spec.Cmd...), nil
}

// selector is labels as kubectl's -l, sorted.
func selector(labels map[string]string) string {
	var parts []string
	for k, v := range labels {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// KubectlTimeout bounds the calls hjk makes that should answer at once.
const KubectlTimeout = 60 * time.Second
