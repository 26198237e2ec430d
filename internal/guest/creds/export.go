package creds

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/hjk-dev/hjk/internal/agent"
)

// ErrNothing says the agent's files hold no login to export.
var ErrNothing = errors.New("nothing to export")

// Export returns agent a's login from its files under home (or the folder
// its variable in env names), in the transport format of its variable,
// for hjk-init export. A login that is absent gives ErrNothing; errors
// name files, never their content.
func Export(a agent.Agent, env []string, home string) (string, error) {
	g, ok := guests()[a.Name]
	if !ok || g.export == nil {
		return "", fmt.Errorf("%w: no files known for %s", ErrNothing, a.Name)
	}
	return g.export(env, home, folderOf(env, home, a.Name))
}

// readBack reads the login file at path as ReadLogin does (never
// through a link, never blocking on a FIFO, a regular file of at most
// MaxLoginFile bytes); a missing file is ErrNothing.
func readBack(env []string, home, path string) ([]byte, bool, error) {
	b, err := ReadLogin(env, home, path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("%w: no %s", ErrNothing, path)
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}
