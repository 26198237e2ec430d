package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// apple drives Apple's `container` CLI (macOS 26, Apple silicon). Every way
// it differs from docker and podman lives in this file:
//
//   - `container list --all --format json`, not ps; it has no label filter,
//     so the one list call is filtered here.
//   - `container inspect` of a missing container prints [] and succeeds.
//   - `container delete`, not rm.
//   - bind mounts are folders only (virtiofs), and a label value may not
//     hold '=': both are refused here, with a clear error, before the CLI
//     is run.
//   - `container stop` of a missing container succeeds (it stops the
//     matching ones, none).
//   - its engine is a launchd service: `container system status` tells
//     whether it answers, `container system start` is the fix.
//   - its JSON is its own: {status, configuration{id, image{reference},
//     labels, creationDate}}; status is a string in 0.x, an object
//     {state} from 1.0.
//
// It can't run on Linux: its tests check the argv it builds and decode its
// documented JSON.
type apple struct {
	bin string
}

const (
	appleInstall = "install Apple's container (https://github.com/apple/container/releases)"
	appleStart   = "container is installed but its service does not answer: run `container system start`"
)

// Apple returns the driver for Apple's container CLI.
func Apple() Runtime { return &apple{bin: "container"} }

func (a *apple) Name() string { return "container" }

func (a *apple) Endpoint() Endpoint { return Endpoint{Kind: EndpointDefault} }

func (a *apple) argv(args ...string) []string { return append([]string{a.bin}, args...) }

func (a *apple) run(ctx context.Context, c call) ([]byte, error) {
	out, err := run(ctx, c)
	if err == nil {
		return out, nil
	}
	if errors.Is(err, exec.ErrNotFound) {
		return out, notInstalled("container", appleInstall)
	}
	if stderrHas(err, "xpc connection", "connection invalid", "apiserver is not running", "not registered with launchd") {
		return out, notAnswering("container", appleStart, err)
	}
	return out, err
}

func (a *apple) Version(ctx context.Context) (string, error) {
	// status prints "apiserver is running" and exits 0, or exits 1.
	if _, err := a.run(ctx, call{args: a.argv("system", "status")}); err != nil {
		if _, ok := ExitCode(err); ok {
			return "", notAnswering("container", appleStart, err)
		}
		return "", err
	}
	out, err := a.run(ctx, call{args: a.argv("--version")})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func (a *apple) Create(ctx context.Context, spec Spec) error {
	args, err := a.createArgs(spec)
	if err != nil {
		return err
	}
	if _, err := a.run(ctx, call{args: args}); err != nil {
		return fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	return nil
}

func (a *apple) createArgs(spec Spec) ([]string, error) {
	for k, v := range spec.Labels {
		if strings.Contains(v, "=") {
			return nil, fmt.Errorf("label %s: Apple's container refuses a label value holding '='", k)
		}
	}
	for _, m := range spec.Mounts {
		if m.Volume {
			continue
		}
		fi, err := os.Stat(m.Source)
		if err != nil {
			return nil, fmt.Errorf("mount %s: %w", m.Source, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("mount %s: Apple's container mounts folders only, and this is a file", m.Source)
		}
	}
	flags, err := specFlags(spec)
	if err != nil {
		return nil, err
	}
	verb := []string{"run", "-d"}
	if spec.NoStart {
		verb = []string{"create"}
	}
	args := append(a.argv(append(verb, "--name", spec.Name)...), flags...)
	if len(spec.Entrypoint) > 0 {
		args = append(args, "--entrypoint", spec.Entrypoint[0])
	}
	args = append(args, spec.Image)
	if len(spec.Entrypoint) > 1 {
		args = append(args, spec.Entrypoint[1:]...)
	}
	return append(args, spec.Cmd...), nil
}

func (a *apple) Start(ctx context.Context, name string) error {
	_, err := a.run(ctx, call{args: a.argv("start", name)})
	return a.containerErr("start", name, err)
}

func (a *apple) Stop(ctx context.Context, name string, timeout time.Duration) error {
	_, err := a.run(ctx, call{args: a.argv("stop", "-t", seconds(timeout), name)})
	return a.containerErr("stop", name, err)
}

func (a *apple) Remove(ctx context.Context, name string) error {
	_, err := a.run(ctx, call{args: a.argv("delete", "--force", name)})
	if err = a.containerErr("remove", name, err); errors.Is(err, ErrNoSuchContainer) {
		return nil
	}
	return err
}

func (a *apple) containerErr(verb, name string, err error) error {
	if err != nil && stderrHas(err, "not found", "notfound") {
		return fmt.Errorf("%s %s: %w", verb, name, ErrNoSuchContainer)
	}
	return containerErr(verb, name, err)
}

func (a *apple) Inspect(ctx context.Context, name string) (Container, error) {
	out, err := a.run(ctx, call{args: a.argv("inspect", name)})
	if err != nil {
		return Container{}, a.containerErr("inspect", name, err)
	}
	cs, err := decodeApple(out)
	if err != nil {
		return Container{}, fmt.Errorf("inspect %s: %w", name, err)
	}
	if len(cs) == 0 {
		return Container{}, fmt.Errorf("container %s: %w", name, ErrNoSuchContainer)
	}
	return cs[0], nil
}

func (a *apple) List(ctx context.Context, labels map[string]string) ([]Container, error) {
	out, err := a.run(ctx, call{args: a.argv("list", "--all", "--format", "json")})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	all, err := decodeApple(out)
	if err != nil {
		return nil, fmt.Errorf("container list: %w", err)
	}
	var cs []Container
	for _, c := range all {
		if hasLabels(c.Labels, labels) {
			cs = append(cs, c)
		}
	}
	return cs, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

func (a *apple) Exec(ctx context.Context, spec ExecSpec) error {
	args, err := a.execArgs(spec)
	if err != nil {
		return err
	}
	_, err = a.run(ctx, call{args: args, env: spec.Values, stdin: spec.Stdin, stdout: spec.Stdout, stderr: spec.Stderr})
	return err
}

func (a *apple) execArgs(spec ExecSpec) ([]string, error) {
	flags, err := execFlags(spec)
	if err != nil {
		return nil, err
	}
	args := append(a.argv("exec"), flags...)
	args = append(args, spec.Container)
	return append(args, spec.Cmd...), nil
}

func (a *apple) Build(ctx context.Context, spec BuildSpec) error {
	args, err := buildArgs(a.argv("build"), spec)
	if err != nil {
		return err
	}
	if _, err := a.run(ctx, build(args, spec.Stdout)); err != nil {
		return fmt.Errorf("build %s: %w", spec.Tag, err)
	}
	return nil
}

// ImageInspect reads the image's platform and user from `container image
// inspect`; its JSON is taken as documented, not seen (see the package doc).
func (a *apple) ImageInspect(ctx context.Context, ref string) (Image, error) {
	out, err := a.run(ctx, call{args: a.argv("image", "inspect", ref)})
	if stderrHas(err, "not found", "notfound") {
		return Image{}, fmt.Errorf("image %s: %w", ref, ErrNoSuchImage)
	}
	if err != nil {
		return Image{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	var raw []struct {
		Variants []struct {
			Platform struct{ Architecture, OS string }
			Config   struct {
				Config struct{ User string }
			}
		}
	}
	if err := json.Unmarshal(out, &raw); err != nil || len(raw) == 0 {
		return Image{}, fmt.Errorf("inspect image %s: unexpected output", ref)
	}
	im := Image{ID: ref, OS: "linux", Arch: "arm64"}
	for _, v := range raw[0].Variants {
		if v.Platform.OS == "linux" {
			im.Arch, im.User = goArch(v.Platform.Architecture), v.Config.Config.User
			break
		}
	}
	return im, nil
}

// CopyTo is not offered by Apple's container CLI.
func (a *apple) CopyTo(ctx context.Context, name, dir string, r io.Reader) error {
	return errors.New("Apple's container cannot copy files into a container: use docker or podman for this")
}

func (a *apple) VolumeCreate(ctx context.Context, name string, labels map[string]string) error {
	args := a.argv("volume", "create")
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		args = append(args, "--label", k+"="+labels[k])
	}
	_, err := a.run(ctx, call{args: append(args, name)})
	if stderrHas(err, "exists") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create volume %s: %w", name, err)
	}
	return nil
}

func (a *apple) VolumeRemove(ctx context.Context, names ...string) error {
	for _, n := range names {
		if _, err := a.run(ctx, call{args: a.argv("volume", "delete", n)}); err != nil && !stderrHas(err, "not found") {
			return fmt.Errorf("remove volume %s: %w", n, err)
		}
	}
	return nil
}

func (a *apple) Volumes(ctx context.Context, labels map[string]string) ([]string, error) {
	out, err := a.run(ctx, call{args: a.argv("volume", "list", "--format", "json")})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var raw []struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &raw); err != nil && len(bytes.TrimSpace(out)) > 0 {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var names []string
	for _, v := range raw {
		if hasLabels(v.Labels, labels) {
			names = append(names, v.Name)
		}
	}
	return names, nil
}

func (a *apple) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := a.run(ctx, call{args: a.argv("image", "inspect", ref)})
	if stderrHas(err, "not found", "notfound") {
		return false, nil
	}
	return err == nil, err
}

// appleJSON is an element of `container list/inspect`, in both the 0.x and
// the 1.0 shape.
type appleJSON struct {
	ID            string          `json:"id"` // 1.0; 0.x has configuration.id only
	Status        json.RawMessage `json:"status"`
	Configuration struct {
		ID    string `json:"id"`
		Image struct {
			Reference string `json:"reference"`
		} `json:"image"`
		Labels       map[string]string `json:"labels"`
		CreationDate string            `json:"creationDate"`
	} `json:"configuration"`
}

func decodeApple(out []byte) ([]Container, error) {
	raw, err := decodeObjects[appleJSON](out)
	if err != nil {
		return nil, err
	}
	cs := make([]Container, 0, len(raw))
	for _, r := range raw {
		id := r.Configuration.ID
		if id == "" {
			id = r.ID
		}
		var state string
		if err := json.Unmarshal(r.Status, &state); err != nil {
			var st struct {
				State string `json:"state"`
			}
			if err := json.Unmarshal(r.Status, &st); err != nil {
				return nil, fmt.Errorf("container %s: status is neither a string nor {state}", id)
			}
			state = st.State
		}
		created, _ := time.Parse(time.RFC3339, r.Configuration.CreationDate)
		labels := r.Configuration.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		// The id is the name: `--name` sets it.
		cs = append(cs, Container{ID: id, Name: id, Image: r.Configuration.Image.Reference,
			State: normalState(state), Labels: labels, Created: created})
	}
	return cs, nil
}
