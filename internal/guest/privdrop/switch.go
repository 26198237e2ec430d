package privdrop

import (
	"fmt"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
)

// Switch applies HJK_USER, as every part of hjk-init that touches the
// user's files or runs their command does, before it creates or opens
// anything: run as root, it resolves HJK_USER from PasswdFile and
// GroupFile, drops the whole process to that user (Drop) and returns env
// with HOME set to the user's home. Not root, HJK_USER must name uid, and
// env comes back as it was: nothing can change, and running on as the
// wrong user would be worse than stopping. With HJK_USER unset or empty,
// env comes back as it was.
func Switch(env []string, uid int) ([]string, error) {
	spec := environ.Get(env, agent.UserVar)
	if spec == "" {
		return env, nil
	}
	u, err := Lookup(spec, PasswdFile, GroupFile)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", agent.UserVar, spec, err)
	}
	switch {
	case uid == 0:
		if err := Drop(u); err != nil {
			return nil, fmt.Errorf("%s=%s: %w", agent.UserVar, spec, err)
		}
		return environ.Set(env, "HOME", u.Home), nil
	case u.UID != uid:
		return nil, fmt.Errorf("%s=%s: hjk-init runs as uid %d, not root, and cannot switch to uid %d", agent.UserVar, spec, uid, u.UID)
	}
	return env, nil
}
