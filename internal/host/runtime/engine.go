package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// engine drives docker and podman, whose CLIs take the same flags for
// everything hjk does. Where their output differs (ps, version, image
// presence, the words of their errors) the flavor decides.
type engine struct {
	name string // "docker" or "podman"
	bin  string // the CLI to run: its name, or a path in tests
	// pinned says the driver is aimed at ep: global holds the flags that
	// say so, drop the variables kept from the CLI's environment.
	pinned bool
	ep     Endpoint
	global []string
	drop   []string
}

// Docker returns the driver for the docker CLI, and whatever engine
// DOCKER_HOST or the current context points it at (Open aims it at one).
func Docker() Runtime { return &engine{name: "docker", bin: "docker"} }

// Podman returns the driver for the podman CLI, and whatever engine
// CONTAINER_HOST or CONTAINER_CONNECTION point it at.
func Podman() Runtime { return &engine{name: "podman", bin: "podman"} }

func (e *engine) Name() string { return e.name }

func (e *engine) Endpoint() Endpoint { return e.ep.Normal() }

// run runs the CLI with args and turns a missing CLI or a silent engine
// into an error that says what to install or start.
func (e *engine) run(ctx context.Context, c call) ([]byte, error) {
	c.drop = e.drop
	out, err := run(ctx, c)
	if err == nil {
		return out, nil
	}
	if errors.Is(err, exec.ErrNotFound) {
		return out, notInstalled(e.name, installHint[e.name])
	}
	if e.name == "docker" && stderrHas(err, "permission denied while trying to connect") {
		return out, &UnavailableError{Runtime: e.name, Installed: true, Err: err,
			Fix: "docker is installed but this user may not use its daemon: add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again)"}
	}
	silent := stderrHas(err, "cannot connect to the docker daemon", "is the docker daemon running", "error during connect",
		"cannot connect to podman", "unable to connect to podman")
	switch {
	case !e.ep.IsDefault() && stderrHas(err, "context not found", "service destination not found"):
		return out, &UnavailableError{Runtime: e.name, Installed: true, Err: err,
			Fix: fmt.Sprintf("%s has no %s %q (any more): %s", e.name, e.ep.Kind, e.ep.Value, reachHint[e.ep.Kind])}
	case silent && !e.ep.IsDefault():
		return out, notAnswering(e.name, fmt.Sprintf("the %s engine %s does not answer: check that it runs and that this machine reaches it (%s)", e.name, e.ep, reachHint[e.ep.Kind]), err)
	case silent:
		return out, notAnswering(e.name, startHint[e.name], err)
	}
	return out, err
}

// reachHint says how to look at an endpoint of each kind.
var reachHint = map[string]string{
	EndpointHost:       "try `docker --host ADDRESS info` or `podman --url ADDRESS info`",
	EndpointContext:    "see `docker context ls`, try `docker --context NAME info`",
	EndpointConnection: "see `podman system connection list`, try `podman --connection NAME info`",
}

func (e *engine) argv(args ...string) []string {
	return append(append([]string{e.bin}, e.global...), args...)
}

func (e *engine) Version(ctx context.Context) (string, error) {
	out, err := e.run(ctx, call{args: e.argv("version", "--format", "{{.Server.Version}}")})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func (e *engine) Create(ctx context.Context, spec Spec) error {
	args, err := e.createArgs(spec)
	if err != nil {
		return err
	}
	_, err = e.run(ctx, call{args: args})
	if err != nil {
		return fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	return nil
}

// createArgs builds `run -d`: the container is created and started in one
// call (`create` with NoStart).
func (e *engine) createArgs(spec Spec) ([]string, error) {
	args := e.argv("run", "-d", "--name", spec.Name)
	if spec.NoStart {
		args = e.argv("create", "--name", spec.Name)
	}
	flags, err := specFlags(spec)
	if err != nil {
		return nil, err
	}
	args = append(args, flags...)
	if spec.Entrypoint != nil {
		ep := ""
		if len(spec.Entrypoint) > 0 {
			ep = spec.Entrypoint[0]
		}
		args = append(args, "--entrypoint", ep)
	}
	args = append(args, spec.Image)
	if len(spec.Entrypoint) > 1 {
		args = append(args, spec.Entrypoint[1:]...)
	}
	return append(args, spec.Cmd...), nil
}

// specFlags are the flags of a Spec that every CLI spells alike: labels,
// bind mounts, working folder, plain environment, user.
func specFlags(spec Spec) ([]string, error) {
	if spec.Name == "" || spec.Image == "" {
		return nil, errors.New("container spec needs a name and an image")
	}
	var args []string
	keys := make([]string, 0, len(spec.Labels))
	for k := range spec.Labels {
		if k == "" || strings.Contains(k, "=") {
			return nil, fmt.Errorf("label key %q is empty or holds '='", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--label", k+"="+spec.Labels[k])
	}
	for _, m := range spec.Mounts {
		if strings.ContainsAny(m.Source+m.Target, ",\n") {
			return nil, fmt.Errorf("mount %s: a path with a comma or newline cannot be mounted", m.Source)
		}
		kind := "bind"
		if m.Volume {
			kind = "volume"
		}
		v := "type=" + kind + ",source=" + m.Source + ",target=" + m.Target
		switch {
		case m.ReadOnly && m.Volume:
			v += ",ro" // podman refuses "readonly" for a volume; both take "ro"
		case m.ReadOnly:
			v += ",readonly"
		}
		args = append(args, "--mount", v)
	}
	for _, t := range spec.Tmpfs {
		if strings.ContainsAny(t, ",:\n") {
			return nil, fmt.Errorf("tmpfs %s: a path with a comma, colon or newline cannot be mounted", t)
		}
		args = append(args, "--tmpfs", t)
	}
	if spec.Network != "" {
		args = append(args, "--network", spec.Network)
	}
	for _, c := range spec.CapDrop {
		args = append(args, "--cap-drop", c)
	}
	for _, c := range spec.CapAdd {
		args = append(args, "--cap-add", c)
	}
	if spec.NoNewPrivileges {
		args = append(args, "--security-opt", "no-new-privileges")
	}
	if spec.ReadOnly {
		args = append(args, "--read-only")
	}
	if spec.Workdir != "" {
		args = append(args, "--workdir", spec.Workdir)
	}
	for _, kv := range spec.Env {
		if !strings.Contains(kv, "=") {
			return nil, fmt.Errorf("container variable %q is not NAME=value", kv)
		}
		args = append(args, "--env", kv)
	}
	if spec.User != "" {
		args = append(args, "--user", spec.User)
	}
	return args, nil
}

func (e *engine) Start(ctx context.Context, name string) error {
	_, err := e.run(ctx, call{args: e.argv("start", name)})
	return containerErr("start", name, err)
}

func (e *engine) Stop(ctx context.Context, name string, timeout time.Duration) error {
	_, err := e.run(ctx, call{args: e.argv("stop", "-t", seconds(timeout), name)})
	return containerErr("stop", name, err)
}

func (e *engine) Remove(ctx context.Context, name string) error {
	_, err := e.run(ctx, call{args: e.argv("rm", "-f", name)})
	if err = containerErr("remove", name, err); errors.Is(err, ErrNoSuchContainer) {
		return nil
	}
	return err
}

func (e *engine) Inspect(ctx context.Context, name string) (Container, error) {
	out, err := e.run(ctx, call{args: e.argv("container", "inspect", name)})
	if err != nil {
		return Container{}, containerErr("inspect", name, err)
	}
	cs, err := decodeInspect(out)
	if err != nil {
		return Container{}, fmt.Errorf("inspect %s: %w", name, err)
	}
	if len(cs) == 0 {
		return Container{}, fmt.Errorf("container %s: %w", name, ErrNoSuchContainer)
	}
	return cs[0], nil
}

func (e *engine) List(ctx context.Context, labels map[string]string) ([]Container, error) {
	out, err := e.run(ctx, call{args: e.listArgs(labels)})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	if e.name == "podman" {
		return decodePodmanPS(out)
	}
	return decodeDockerPS(out)
}

// listArgs filters by label in the engine, so the list is one call however
// many containers there are.
func (e *engine) listArgs(labels map[string]string) []string {
	// docker's client older than 23 knows only the template form; both
	// print one object per line with it. podman prints one array.
	format := "{{json .}}"
	if e.name == "podman" {
		format = "json"
	}
	args := e.argv("ps", "-a", "--no-trunc", "--format", format)
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--filter", "label="+k+"="+labels[k])
	}
	return args
}

func (e *engine) Exec(ctx context.Context, spec ExecSpec) error {
	args, err := e.execArgs(spec)
	if err != nil {
		return err
	}
	_, err = e.run(ctx, call{args: args, env: spec.Values, stdin: spec.Stdin, stdout: spec.Stdout, stderr: spec.Stderr})
	return err
}

func (e *engine) execArgs(spec ExecSpec) ([]string, error) {
	flags, err := execFlags(spec)
	if err != nil {
		return nil, err
	}
	args := append(e.argv("exec"), flags...)
	args = append(args, spec.Container)
	return append(args, spec.Cmd...), nil
}

// execFlags are exec's flags, alike in every CLI. Secrets go as `-e NAME`
// only: a name holding '=' is refused, so no value can reach argv, and
// every value must belong to a named variable.
// varName is what an exec variable's name may be. Anything else is refused:
// podman reads "-e NAME*" as every host variable starting with NAME.
var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func execFlags(spec ExecSpec) ([]string, error) {
	if spec.Container == "" || len(spec.Cmd) == 0 || spec.Pod != "" {
		return nil, errors.New("exec needs a container (not a pod) and a command")
	}
	var args []string
	if spec.Interactive {
		args = append(args, "-i")
	}
	if spec.TTY {
		args = append(args, "-t")
	}
	if spec.Workdir != "" {
		args = append(args, "--workdir", spec.Workdir)
	}
	if spec.User != "" {
		args = append(args, "--user", spec.User)
	}
	named := map[string]bool{}
	for _, n := range spec.Env {
		if !varName.MatchString(n) {
			// Name only what comes before '=': the rest may be a secret.
			name, _, _ := strings.Cut(n, "=")
			return nil, fmt.Errorf("exec variable %q must be a bare name ([A-Za-z_][A-Za-z0-9_]*): values travel in the environment, not argv, and podman takes a name with '*' as a pattern of host variables", name)
		}
		named[n] = true
		args = append(args, "-e", n)
	}
	for _, kv := range spec.Values {
		n, _, ok := strings.Cut(kv, "=")
		if !ok || !named[n] {
			return nil, fmt.Errorf("exec value for %q has no matching -e name", n)
		}
	}
	return args, nil
}

func (e *engine) Build(ctx context.Context, spec BuildSpec) error {
	args, err := buildArgs(e.argv("build"), spec)
	if err != nil {
		return err
	}
	_, err = e.run(ctx, build(args, spec.Stdout))
	if err != nil {
		return fmt.Errorf("build %s: %w", spec.Tag, err)
	}
	return nil
}

// buildArgs adds build's flags, alike in every CLI, to prefix.
func buildArgs(prefix []string, spec BuildSpec) ([]string, error) {
	if spec.Tag == "" || spec.Context == "" {
		return nil, errors.New("build needs a tag and a context folder")
	}
	args := append(prefix, "-t", spec.Tag)
	if spec.Dockerfile != "" {
		args = append(args, "-f", spec.Dockerfile)
	}
	keys := make([]string, 0, len(spec.Args))
	for k := range spec.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--build-arg", k+"="+spec.Args[k])
	}
	return append(args, spec.Context), nil
}

func (e *engine) ImageInspect(ctx context.Context, ref string) (Image, error) {
	out, err := e.run(ctx, call{args: e.argv("image", "inspect", "--format", imageFormat(e.name), ref)})
	if stderrHas(err, "no such image", "image not known") {
		return Image{}, fmt.Errorf("image %s: %w", ref, ErrNoSuchImage)
	}
	if err != nil {
		return Image{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return decodeImage(out)
}

func (e *engine) CopyTo(ctx context.Context, name, dir string, r io.Reader) error {
	// -a keeps the tar's owners: without it docker makes the files root's,
	// podman the container user's.
	_, err := e.run(ctx, call{args: e.argv("cp", "-a", "-", name+":"+dir), stdin: r})
	return containerErr("copy into", name, err)
}

func (e *engine) VolumeCreate(ctx context.Context, name string, labels map[string]string) error {
	args := e.argv("volume", "create")
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		args = append(args, "--label", k+"="+labels[k])
	}
	_, err := e.run(ctx, call{args: append(args, name)})
	if stderrHas(err, "already exists") { // podman; docker keeps it silently
		return nil
	}
	if err != nil {
		return fmt.Errorf("create volume %s: %w", name, err)
	}
	return nil
}

func (e *engine) VolumeRemove(ctx context.Context, names ...string) error {
	for _, n := range names {
		// Never -f: podman's removes the containers using the volume.
		_, err := e.run(ctx, call{args: e.argv("volume", "rm", n)})
		if err != nil && !stderrHas(err, "no such volume", "not found", "no volume with name") {
			return fmt.Errorf("remove volume %s: %w", n, err)
		}
	}
	return nil
}

func (e *engine) Volumes(ctx context.Context, labels map[string]string) ([]string, error) {
	args := e.argv("volume", "ls", "-q")
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		args = append(args, "--filter", "label="+k+"="+labels[k])
	}
	out, err := e.run(ctx, call{args: args})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	return strings.Fields(string(out)), nil
}

func (e *engine) ImageExists(ctx context.Context, ref string) (bool, error) {
	if e.name == "podman" {
		_, err := e.run(ctx, call{args: e.argv("image", "exists", ref)})
		if code, ok := ExitCode(err); ok && code == 1 {
			return false, nil
		}
		return err == nil, err
	}
	_, err := e.run(ctx, call{args: e.argv("image", "inspect", "--format", "{{.Id}}", ref)})
	if stderrHas(err, "no such image") {
		return false, nil
	}
	return err == nil, err
}

// containerErr wraps err of a call about one container, naming it, and
// turns the engines' "no such container" into ErrNoSuchContainer.
func containerErr(verb, name string, err error) error {
	if err == nil {
		return nil
	}
	if stderrHas(err, "no such container", "no such object", "no container with name or id") {
		return fmt.Errorf("%s %s: %w", verb, name, ErrNoSuchContainer)
	}
	return fmt.Errorf("%s %s: %w", verb, name, err)
}

// seconds renders a stop timeout as the whole seconds the CLIs take,
// rounding up so a short timeout is not zero.
func seconds(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
