package instance

import (
	"context"
	"errors"
	"os"

	"github.com/hjk-dev/hjk/internal/host/runtime"
)

// Instances made by an hjk before instances had repositories of their own
// were a git worktree of the host repository, mounted into the container
// with the repository's whole git dir. hjk only removes them, and never
// runs git in their worktree (its .git may point anywhere the container
// chose): without force it keeps them, since what in the worktree is
// committed cannot be told safely; with force it removes the container,
// then the folder, then git's record of the worktree (`worktree prune` in
// the repository's own git dir).

// ErrLegacyCheck is the refusal to remove a legacy instance without force.
var ErrLegacyCheck = errors.New("its worktree cannot be checked for uncommitted changes without running git where its container could write")

func removeLegacy(ctx context.Context, rt runtime.Runtime, in Instance, force bool) error {
	if !force {
		return &DirtyError{Branch: in.Branch, Err: ErrLegacyCheck}
	}
	if err := rt.Remove(ctx, in.Name); err != nil && !errors.Is(err, runtime.ErrNoSuchContainer) {
		return err
	}
	if err := removeAll(in.Worktree); err != nil {
		return err
	}
	if _, err := os.Stat(in.GitDir); err == nil {
		git(ctx, in.GitDir, "--git-dir="+in.GitDir, "worktree", "prune")
	}
	return nil
}
