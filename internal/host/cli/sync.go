package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/host/runner"
)

// SyncOptions are hjk sync's.
type SyncOptions struct {
	App    *App
	Branch string
}

// NewCmdSync is `hjk sync`; runF, when set, replaces syncRun.
func NewCmdSync(app *App, runF func(*SyncOptions) error) *cobra.Command {
	opts := &SyncOptions{App: app}
	return &cobra.Command{
		Use:   "sync <branch>",
		Short: "bring an instance's commits to its branch, and the branch's to the instance",
		Long: "Bring the commits the agent made in the instance of a branch to the branch, and the\n" +
			"branch's new commits to the instance. The instance hands its commits over as a git\n" +
			"bundle, which hjk verifies and fetches with fsck on; the branch moves only by\n" +
			"fast-forward. When it cannot (both sides have new commits, or the branch is checked\n" +
			"out in a worktree of yours), the instance's commits are kept as refs/hjk/<branch>\n" +
			"and hjk says how to merge them; no other ref is ever touched. The instance moves to\n" +
			"the branch's new commits when its files are clean. hjk run does the same before and\n" +
			"after each session, and stop, rm and recreate before they act.",
		Example:           "hjk sync fix-login",
		Args:              argsRange(1, 1, "sync needs one branch"),
		ValidArgsFunction: app.completeBranch,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Branch = args[0]
			if runF != nil {
				return runF(opts)
			}
			return syncRun(opts)
		},
	}
}

func syncRun(opts *SyncOptions) error {
	app := opts.App
	ctx := context.Background()
	is, repo, in, err := app.lookup(ctx, opts.Branch)
	if err != nil {
		return err
	}
	r := app.runner(is)
	moved := false
	r.Events = func(e runner.Event) {
		switch e := e.(type) {
		case runner.Pulled:
			moved = moved || e.Result.Tip != ""
		case runner.Pushed:
			moved = moved || e.Result.Moved || e.Result.Why != ""
		}
		app.event(e)
	}
	if err := r.Sync(ctx, in, repo); err != nil {
		return result(err)
	}
	if !moved {
		// Say so: the user asked.
		app.Notef("the instance of %q and its branch have the same commits", in.Branch)
	}
	return nil
}
