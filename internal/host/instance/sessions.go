package instance

import (
	"context"
	"fmt"
	"io"

	"github.com/hjk-dev/hjk/internal/session"
)

// Sessions live in the container (package session, on the instance's data
// volume): hjk reads their states and logs through exec, with sizes capped,
// and never from a folder of the host's. What they say is the container's
// claim: names are checked, and everything shown is made safe by the
// caller.

// MaxSessionsList caps `hjk-init session list --json`.
const MaxSessionsList = 1 << 20

// Sessions returns the sessions of the instance, as its container lists
// them, the most recently used first; each name is checked.
func (m *Manager) Sessions(ctx context.Context, in Instance) ([]session.State, error) {
	rt, err := m.Execer(in)
	if err != nil {
		return nil, err
	}
	var list []session.State
	if err := m.guestJSON(ctx, rt, in, MaxSessionsList, &list, "session", "list", "--json"); err != nil {
		return nil, err
	}
	out := list[:0]
	for _, st := range list {
		if session.CheckName(st.Name) == nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// Log copies a session's log to w: its last lines when tail >= 0, and
// what it writes next until it ends when follow. The bytes are the
// agent's: w must make them safe.
func (m *Manager) Log(ctx context.Context, in Instance, name string, tail int, follow bool, w io.Writer) error {
	if err := session.CheckName(name); err != nil {
		return err
	}
	rt, err := m.Execer(in)
	if err != nil {
		return err
	}
	args := []string{"session", "log"}
	if tail >= 0 {
		args = append(args, "--tail", fmt.Sprint(tail))
	}
	if follow {
		args = append(args, "--follow")
		// No timeout: it follows until the session ends or hjk is stopped.
		return rt.Exec(ctx, m.guestSpec(in, nil, w, append(args, name)...))
	}
	return m.guest(ctx, rt, in, nil, w, append(args, name)...)
}
