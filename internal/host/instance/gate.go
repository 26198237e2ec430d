package instance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// The credential gate (package gate): with Credentials "gate", the agent's
// container has no network at all, and reaches the world only through the
// instance's gate container, hjk-<key>-gate, over unix sockets in a volume
// mounted read-only in the agent's container. The gate holds no long-lived
// login: it asks the keeper, one container per engine and hjk data folder,
// which holds the logins in memory and is their only refresher. Both run
// hjk-gate from the shim volume, from the instance's image (for its CA
// certificates), as root with no capability, a read-only root and no way to
// gain privileges.

// Credential modes of an instance.
const (
	// CredentialsGate: the real credential stays in the gate; the agent
	// gets placeholders (the default where the gate runs).
	CredentialsGate = "gate"
	// CredentialsInject: the agent's container gets the real credential,
	// handed over on stdin for each session, and has the engine's network.
	CredentialsInject = "inject"
)

// Paths in the gate's and the keeper's containers.
const (
	gateDir   = "/run/hjk-gate"
	keeperDir = "/run/hjk-keeper"
)

// KeeperName is the keeper's container (and volume) for hjk's data folder
// data: one per engine and user.
func KeeperName(data string) string {
	sum := sha256.Sum256([]byte(data))
	return "hjk-keeper-" + hex.EncodeToString(sum[:4])
}

// Keeper is this manager's keeper container on a local engine.
func (m *Manager) Keeper() string { return KeeperName(m.Data) }

// keeper is the keeper of in's engine: on a remote engine, which other
// machines may use with the same data folder path, the data folder's
// HostID is in its name too.
func (m *Manager) keeper(in Instance) string {
	if !in.Remote {
		return m.Keeper()
	}
	id, err := m.HostID()
	if err != nil {
		id = "unknown"
	}
	return KeeperName(id + "\x00" + m.Data)
}

// sideSpec is what the gate and the keeper share.
func (m *Manager) sideSpec(name, image, shim, role string) runtime.Spec {
	return runtime.Spec{
		Name: name, Image: image, User: "0:0",
		Labels:          map[string]string{LabelRole: role},
		Mounts:          []runtime.Mount{{Source: shim, Target: layout.ShimDir, ReadOnly: true, Volume: true}},
		Tmpfs:           []string{"/tmp"},
		CapDrop:         []string{"ALL"},
		ReadOnly:        true,
		NoNewPrivileges: true,
		Network:         m.GateNetwork,
	}
}

// ensureKeeper makes the keeper run: created when missing (with its
// volume), started when stopped.
func (m *Manager) ensureKeeper(ctx context.Context, rt runtime.Runtime, in Instance, shim string) error {
	name, image := m.keeper(in), in.Image
	c, err := rt.Inspect(ctx, name)
	switch {
	case err == nil && c.Running():
		return nil
	case err == nil:
		return rt.Start(ctx, name)
	case !errors.Is(err, runtime.ErrNoSuchContainer):
		return err
	}
	labels := map[string]string{LabelRole: "keeper"}
	if err := m.hostLabel(in, labels); err != nil {
		return err
	}
	if err := rt.VolumeCreate(ctx, name, labels); err != nil {
		return err
	}
	s := m.sideSpec(name, image, shim, "keeper")
	m.hostLabel(in, s.Labels)
	s.Mounts = append(s.Mounts, runtime.Mount{Source: name, Target: keeperDir, Volume: true})
	s.Entrypoint = []string{layout.GatePath, "keep", "--dir", keeperDir}
	done := m.step("starting the credential keeper")
	defer done()
	if err := rt.Create(ctx, s); err != nil {
		return fmt.Errorf("start the credential keeper: %w", err)
	}
	return nil
}

// createGate makes the instance's gate container (its volume is made with
// the instance's others).
func (m *Manager) createGate(ctx context.Context, rt runtime.Runtime, in Instance, shim string) error {
	if err := m.ensureKeeper(ctx, rt, in, shim); err != nil {
		return err
	}
	s := m.sideSpec(in.GateName(), in.Image, shim, "gate")
	s.Labels[LabelOwner] = in.Name
	m.hostLabel(in, s.Labels)
	s.Mounts = append(s.Mounts,
		runtime.Mount{Source: in.GateVolume(), Target: gateDir, Volume: true},
		runtime.Mount{Source: m.keeper(in), Target: keeperDir, ReadOnly: true, Volume: true})
	s.Entrypoint = []string{layout.GatePath, "serve", "--dir", gateDir, "--keeper", keeperDir + "/keeper.sock"}
	if err := rt.Remove(ctx, s.Name); err != nil && !errors.Is(err, runtime.ErrNoSuchContainer) {
		return err
	}
	if err := rt.Create(ctx, s); err != nil {
		return fmt.Errorf("start the gate of %q: %w", in.Branch, err)
	}
	return nil
}

// startGate starts the instance's gate (and the keeper), making it anew
// when it is gone.
func (m *Manager) startGate(ctx context.Context, rt runtime.Runtime, in Instance) error {
	if in.Credentials != CredentialsGate {
		return nil
	}
	c, err := rt.Inspect(ctx, in.GateName())
	if errors.Is(err, runtime.ErrNoSuchContainer) {
		im, err := m.image(ctx, rt, in.Image)
		if err != nil {
			return err
		}
		shim, err := m.ensureShim(ctx, rt, in.Image, im.Arch)
		if err != nil {
			return err
		}
		return m.createGate(ctx, rt, in, shim)
	}
	if err != nil {
		return err
	}
	if k, err := rt.Inspect(ctx, m.keeper(in)); err == nil && !k.Running() {
		if err := rt.Start(ctx, m.keeper(in)); err != nil {
			return err
		}
	}
	if !c.Running() {
		return rt.Start(ctx, in.GateName())
	}
	return nil
}

// GateExec is the spec of `hjk-gate ARGS` in the instance's gate (or with
// keeper, in the keeper).
func (m *Manager) GateExec(in Instance, keeper bool, args ...string) runtime.ExecSpec {
	if in.Runtime == runtime.Kubernetes {
		return m.kubeGateExec(in, keeper, args...)
	}
	name := in.GateName()
	if keeper {
		name = m.keeper(in)
	}
	return runtime.ExecSpec{Container: name, Cmd: append([]string{layout.GatePath}, args...)}
}
