package instance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/gateconf"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// guardText is what the host sees in a workspace folder's .git: not a git
// dir, so git on the host stops there with "invalid gitfile format"
// instead of looking further up, and tells a person where the repository
// is. The container sees a read-only file naming its own repository in its
// place.
const guardText = "hjk: this folder's repository lives in its container: 'hjk sync BRANCH' brings its commits to the branch, 'hjk exec BRANCH -- git ...' runs git there\n"

// folders are the host paths of an instance with a workspace folder.
type folders struct {
	work, gitfile string
}

func (m *Manager) folders(key string) folders {
	return folders{
		work:    filepath.Join(m.Data, "workspaces", key),
		gitfile: filepath.Join(m.Data, "instances", key, "gitfile"),
	}
}

// prepareFolders makes the workspace folder, its guard .git and the file
// the container sees in its place. The guard is replaced when it is not a
// regular file: nothing the container left there is followed.
func (m *Manager) prepareFolders(key string) (folders, error) {
	f := m.folders(key)
	for _, d := range []string{filepath.Dir(f.work), filepath.Dir(f.gitfile)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return f, fmt.Errorf("create %s: %w", d, err)
		}
	}
	if err := os.Mkdir(f.work, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return f, fmt.Errorf("create the workspace folder: %w", err)
	}
	if fi, err := os.Lstat(f.work); err != nil || !fi.IsDir() {
		return f, fmt.Errorf("the workspace %s is not a folder", f.work)
	}
	if err := writeFile(filepath.Join(f.work, ".git"), guardText, 0o444); err != nil {
		return f, fmt.Errorf("guard the workspace's .git: %w", err)
	}
	if err := writeFile(f.gitfile, "gitdir: "+layout.GitDir+"\n", 0o444); err != nil {
		return f, err
	}
	return f, nil
}

// writeFile makes path a regular file holding text, replacing whatever
// else is there without following it.
func writeFile(path, text string, mode os.FileMode) error {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().IsRegular() {
			if b, err := readNoFollow(path, int64(len(text))+1); err == nil && string(b) == text {
				return nil
			}
		}
		if err := os.RemoveAll(path); err != nil {
			return err
		}
	}
	tmp := path + ".hjk-" + randomHex(6)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// readNoFollow reads at most max bytes of a regular file, refusing a link
// or anything that could block.
func readNoFollow(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b := make([]byte, max)
	n, _ := f.Read(b)
	return b[:n], nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// execUser is who runs in an instance: the host user's ids (boot gives the
// image's user those), or, when hjk runs as root, the image's user itself.
func (m *Manager) execUser(imageUser string) string {
	if m.HostUID > 0 {
		return strconv.Itoa(m.HostUID) + ":" + strconv.Itoa(m.HostGID)
	}
	return imageUser
}

// checkImageUser refuses an image that would run the agent as root.
func checkImageUser(ref string, im runtime.Image) error {
	switch im.User {
	case "", "root", "0", "0:0", "root:root":
		return &RootImageError{Image: ref}
	}
	return nil
}

// RootImageError is an image without a non-root USER.
type RootImageError struct{ Image string }

func (e *RootImageError) Error() string {
	return fmt.Sprintf("image %s runs as root: hjk runs agents as the image's own non-root user (its USER)", e.Image)
}

// spec is the agent container of in: hjk-init boot as PID 1, started as
// root with only the capabilities boot needs and no way to gain any, the
// workspace, the instance's volume, the shim, and (local engines) the host
// repository's objects read-only.
func (m *Manager) spec(in Instance, imageUser, shim string, f folders, local bool) runtime.Spec {
	s := runtime.Spec{
		Name:  in.Name,
		Image: in.Image,
		Labels: map[string]string{
			LabelInstance: "1",
			LabelRole:     "agent",
			LabelRepo:     in.GitDir,
			LabelBranch:   in.Branch,
			LabelAgent:    in.Agent,
			LabelAccount:  in.Account,
			LabelWorkMode: in.Workspace,
			LabelUser:     imageUser,
		},
		Mounts: []runtime.Mount{
			{Source: shim, Target: layout.ShimDir, ReadOnly: true, Volume: true},
			{Source: in.DataVolume(), Target: layout.DataDir, Volume: true},
		},
		Workdir:    layout.Workdir,
		Entrypoint: []string{layout.InitPath, "boot"},
		User:       "0",
		Env: []string{
			layout.UserVar + "=" + imageUser,
			layout.HostUIDVar + "=" + strconv.Itoa(max(m.HostUID, 0)),
			layout.HostGIDVar + "=" + strconv.Itoa(max(m.HostGID, 0)),
			layout.WorkspaceVar + "=" + in.Workspace,
			layout.ReadyVar + "=" + layout.ReadyFile,
			agent.WorkdirVar + "=" + layout.Workdir,
		},
		Tmpfs:           []string{layout.RunDir},
		CapDrop:         []string{"ALL"},
		CapAdd:          layout.BootCapabilities,
		NoNewPrivileges: true,
		Network:         m.Network,
	}
	if in.Workspace == layout.WorkspaceFolder {
		s.Mounts = append(s.Mounts,
			runtime.Mount{Source: f.work, Target: layout.Workdir},
			runtime.Mount{Source: f.gitfile, Target: layout.Workdir + "/.git", ReadOnly: true})
	} else {
		s.Mounts = append(s.Mounts, runtime.Mount{Source: in.WorkVolume(), Target: layout.Workdir, Volume: true})
	}
	if local {
		s.Mounts = append(s.Mounts, runtime.Mount{Source: filepath.Join(in.GitDir, "objects"), Target: layout.HostObjects, ReadOnly: true})
	}
	if in.Credentials == CredentialsGate {
		// No network at all: the gate's sockets are the only way out.
		s.Network = "none"
		s.Env = append(s.Env, layout.GateVar+"="+gateconf.Ports())
		s.Mounts = append(s.Mounts, runtime.Mount{Source: in.GateVolume(), Target: layout.GateDir, ReadOnly: true, Volume: true})
	}
	return s
}

// ensureShim makes sure the engine has the volume holding this hjk's
// hjk-init (and hjk-gate) for the image's architecture, and returns its
// name. It is filled once per version and engine, by copying a tar stream
// into a container that is never started: this works on an engine that
// shares no filesystem with the host.
//
// Other hjk processes (other users, other machines on a remote engine) may
// fill it at the same time. The filler's fixed name is the lock: only the
// one that created it copies, and the others wait for the empty volume
// <name>-ready, made once the copy is whole. A filler older than
// shimStale was left by an hjk that died, and is replaced.
func (m *Manager) ensureShim(ctx context.Context, rt runtime.Runtime, image string, arch string) (string, error) {
	hash, tarball, err := m.Shim(arch)
	if err != nil {
		return "", err
	}
	name := "hjk-shim-" + hash
	ready, filler := name+"-ready", name+"-fill"
	var done func()
	defer func() {
		if done != nil {
			done()
		}
	}()
	for wait := time.Duration(0); ; {
		have, err := rt.Volumes(ctx, map[string]string{LabelShim: hash})
		if err != nil {
			return "", err
		}
		switch {
		case slices.Contains(have, ready) && slices.Contains(have, name):
			return name, nil
		case slices.Contains(have, ready):
			// The volume was removed and its mark left: fill it again.
			if err := rt.VolumeRemove(ctx, ready); err != nil {
				return "", err
			}
		}
		if done == nil {
			done = m.step("copying hjk-init into the engine (once per version)")
		}
		err = m.fillShim(ctx, rt, image, name, filler, hash, tarball)
		if err == nil {
			return name, rt.VolumeCreate(ctx, ready, map[string]string{LabelShim: hash, LabelRole: "shim-ready"})
		}
		if !errors.Is(err, errFilling) {
			return "", err
		}
		// Another hjk is filling it: wait for it, or take over from one
		// that died.
		if c, err := rt.Inspect(ctx, filler); err == nil && m.now().Sub(c.Created) > shimStale {
			rt.Remove(ctx, filler)
			continue
		}
		if wait > shimStale {
			return "", fmt.Errorf("the volume %s is being filled by another hjk for over %s (container %s)", name, shimStale, filler)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		wait += 500 * time.Millisecond
	}
}

// shimStale is how long a shim filler may live: a copy takes seconds,
// even of tens of megabytes over a slow link.
const shimStale = 5 * time.Minute

// errFilling says another hjk holds the shim filler's name.
var errFilling = errors.New("another hjk is filling the shim volume")

// fillShim creates the filler container (the lock), copies the binaries
// into the volume through it, and removes it.
func (m *Manager) fillShim(ctx context.Context, rt runtime.Runtime, image, name, filler, hash string, tarball []byte) error {
	if err := rt.VolumeCreate(ctx, name, map[string]string{LabelShim: hash, LabelRole: "shim"}); err != nil {
		return err
	}
	err := rt.Create(ctx, runtime.Spec{
		Name: filler, Image: image, NoStart: true, User: "0", // cp -a looks the user up
		Labels:     map[string]string{LabelRole: "shim-fill", LabelShim: hash},
		Mounts:     []runtime.Mount{{Source: name, Target: "/fill", Volume: true}},
		Entrypoint: []string{"/fill/hjk-init"},
	})
	if runtime.NameInUse(err) {
		return errFilling
	}
	if err != nil {
		return err
	}
	defer rt.Remove(context.WithoutCancel(ctx), filler)
	if err := rt.CopyTo(ctx, filler, "/fill", bytes.NewReader(tarball)); err != nil {
		return fmt.Errorf("copy hjk-init into the volume %s: %w", name, err)
	}
	return nil
}
