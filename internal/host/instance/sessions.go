package instance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/session"
)

// SessionsDir is the host folder of the sessions of the container named
// name: their logs and states (package session), mounted at
// session.GuestDir so they outlive the container.
func SessionsDir(data, name string) string { return filepath.Join(data, "logs", name) }

// sessionsMount makes an instance's sessions folder and returns its mount.
// The container's user (the agent image's uid 1000, or root) writes there,
// whoever owns the host folder: the folder is open to all, and its parent
// (0700) keeps other host users out.
func (m *Manager) sessionsMount(in Instance) (runtime.Mount, error) {
	dir := SessionsDir(m.Data, in.Name)
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return runtime.Mount{}, fmt.Errorf("sessions folder: %w", err)
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !os.IsExist(err) {
		return runtime.Mount{}, fmt.Errorf("sessions folder: %w", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return runtime.Mount{}, fmt.Errorf("sessions folder: %w", err)
	}
	markLost(dir)
	return runtime.Mount{Source: dir, Target: session.GuestDir}, nil
}

// markLost records as lost every session of dir still marked running: a
// new container runs none, so their servers died unrecorded with the old
// one (rm -f, a killed engine). Best effort: a file that cannot be read or
// replaced stays as it is.
func markLost(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || session.CheckName(name) != nil {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		var st session.State
		if err != nil || json.Unmarshal(b, &st) != nil || st.State != session.Running {
			continue
		}
		st.State = session.Lost
		if b, err = json.MarshalIndent(st, "", "  "); err != nil {
			continue
		}
		tmp := p + ".tmp"
		if os.WriteFile(tmp, append(b, '\n'), 0o644) == nil {
			os.Rename(tmp, p)
		}
	}
}
