package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// An engine that shares no filesystem with this machine (DOCKER_HOST=ssh://,
// a context or connection on another machine) sees none of the host's
// paths: an instance there has its workspace in a volume, gets its
// repository as a git bundle over the exec's stdin (only the branch's
// history), later host commits as bundles of what it lacks, and mounts
// nothing of the host. Everything else (the shim volume, the gate, the
// keeper, sessions, pulls) goes over the engine's API already.

// Values of Manager.Remote (the engine.remote setting).
const (
	RemoteAuto = "auto"
	RemoteYes  = "yes"
	RemoteNo   = "no"
)

// RemoteFolderError is a workspace folder asked of an engine that shares no
// filesystem with this machine.
type RemoteFolderError struct {
	Branch string
	Engine string
}

func (e *RemoteFolderError) Error() string {
	return fmt.Sprintf("the engine %s shares no filesystem with this machine: the instance of %q cannot have a workspace folder there, only a volume", e.Engine, e.Branch)
}

// IsRemote decides whether the engine rt is aimed at shares no filesystem
// with this machine. The runtime's own default engine is taken to share it
// (it is this machine's, or a VM of Docker Desktop's or Podman's that
// mounts the user's folders); any other is asked, unless the setting
// says: the engine is to create (never start) a container with a bind
// mount of a folder made here with a random name. An engine that does not
// have the folder refuses it; one that refuses the mount for any other
// reason is taken to share nothing too.
func (m *Manager) IsRemote(ctx context.Context, rt runtime.Runtime, image string) (bool, error) {
	switch m.Remote {
	case RemoteYes:
		return true, nil
	case RemoteNo:
		return false, nil
	}
	if rt.Endpoint().IsDefault() {
		return false, nil
	}
	dir := filepath.Join(m.Data, "tmp", "probe-"+randomHex(8))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("make the folder to probe the engine with: %w", err)
	}
	defer os.Remove(dir)
	name := "hjk-probe-" + randomHex(6)
	done := m.step("asking the engine %s whether it sees this machine's folders", rt.Endpoint())
	defer done()
	err := rt.Create(ctx, runtime.Spec{
		Name: name, Image: image, NoStart: true,
		Labels:     map[string]string{LabelRole: "probe"},
		Mounts:     []runtime.Mount{{Source: dir, Target: "/probe", ReadOnly: true}},
		Entrypoint: []string{"/probe/none"},
	})
	switch {
	case runtime.MissingMountSource(err):
		return true, nil
	case errors.Is(err, runtime.ErrUnavailable) || ctx.Err() != nil:
		return false, fmt.Errorf("probe the engine %s: %w", rt.Endpoint(), err)
	case err != nil:
		// Refused for another reason (a policy on bind mounts, folders
		// not shared with a VM): in doubt, nothing of the host is used.
		return true, nil
	}
	if err := rt.Remove(context.WithoutCancel(ctx), name); err != nil {
		return false, err
	}
	return false, nil
}

// Targets are the engines the catalog's instances live on, read without
// the catalog's lock and with no engine asked (doctor).
func (m *Manager) Targets() ([]Target, error) {
	list, err := m.catalog().Load()
	var out []Target
	for _, in := range list {
		if t := (Target{in.Runtime, in.Engine.Normal()}); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, err
}

// String is the target as hjk shows it: "docker", "docker (context=box)".
func (t Target) String() string { return Instance{Runtime: t.Runtime, Engine: t.Engine}.Where() }

// HostID is the id of this data folder on engines other machines may use
// too: random, made once, kept in the data folder. A remote instance's
// container names and its keeper's carry it (hashed), and hjk takes back
// only remote containers that carry it.
func (m *Manager) HostID() (string, error) {
	p := filepath.Join(m.Data, "host-id")
	if b, err := readNoFollow(p, 64); err == nil {
		if id := strings.TrimSpace(string(b)); len(id) == 32 && strings.Trim(id, "0123456789abcdef") == "" {
			return id, nil
		}
	}
	if err := os.MkdirAll(m.Data, 0o700); err != nil {
		return "", fmt.Errorf("create data folder: %w", err)
	}
	id := randomHex(16)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		// Another hjk made it meanwhile, or it is broken: theirs wins,
		// a broken one is replaced.
		if b, err := readNoFollow(p, 64); err == nil {
			if got := strings.TrimSpace(string(b)); len(got) == 32 && strings.Trim(got, "0123456789abcdef") == "" {
				return got, nil
			}
		}
		return id, writeFile(p, id+"\n", 0o600)
	}
	if err != nil {
		return "", fmt.Errorf("write the data folder's host id: %w", err)
	}
	_, err = f.WriteString(id + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return id, err
}

// transferTimeout bounds an exec that carries a bundle of size bytes: the
// guest's minute, and a second more per MiB (1 MiB/s is a slow link).
func transferTimeout(size int64) time.Duration {
	return guestTimeout + time.Duration(size>>20)*time.Second
}

// bundle writes a bundle of refs/heads/branch of the host repository
// without the commits in not (what the other side has) to a file of hjk's
// own, and returns it open at its start with its size.
func (m *Manager) bundle(ctx context.Context, repo Repo, branch string, not ...string) (*os.File, int64, error) {
	f, err := m.tempFile("push-*.bundle")
	if err != nil {
		return nil, 0, err
	}
	name := f.Name()
	f.Close()
	args := []string{"bundle", "create", "--quiet", name, "refs/heads/" + branch}
	for _, n := range not {
		args = append(args, "^"+n)
	}
	if _, err := repo.git(ctx, args...); err != nil {
		os.Remove(name)
		return nil, 0, err
	}
	f, err = os.Open(name)
	os.Remove(name) // the open file stays readable
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// sendBundle runs `hjk-init ARGS...` with a bundle on its stdin.
func (m *Manager) sendBundle(ctx context.Context, rt runtime.Execer, in Instance, f *os.File, size int64, stdout io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, transferTimeout(size))
	defer cancel()
	spec := m.guestSpec(in, f, stdout, args...)
	spec.Interactive = true
	done := m.step("sending %s of the branch's history to %s", byteSize(size), in.Where())
	defer done()
	return rt.Exec(ctx, spec)
}

// seedBundle makes the repository of a remote instance from a bundle of
// the branch's history, unless its volume has one already (a container
// made anew keeps it): the bundle is made only when it is needed.
func (m *Manager) seedBundle(ctx context.Context, rt runtime.Execer, in Instance, repo Repo, args []string) (layout.RepoStatus, error) {
	if st, err := m.repoStatus(ctx, rt, in); err == nil {
		return st, nil
	}
	f, size, err := m.bundle(ctx, repo, in.Branch)
	if err != nil {
		return layout.RepoStatus{}, err
	}
	defer f.Close()
	var st layout.RepoStatus
	var out strings.Builder
	err = m.sendBundle(ctx, rt, in, f, size, &capped{w: &out, max: 4 << 10}, append(args, "--bundle")...)
	if err == nil {
		if jerr := json.Unmarshal([]byte(out.String()), &st); jerr != nil {
			err = fmt.Errorf("%s's answer to %q is not what hjk-init prints: %v", in.Name, args[0], jerr)
		}
	}
	return st, err
}

// byteSize is n for a person: "812 B", "3.4 MiB".
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// capped passes at most max bytes on, then fails.
type capped struct {
	w   io.Writer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if len(p) > c.max {
		return 0, ErrTooLarge
	}
	c.max -= len(p)
	return c.w.Write(p)
}
