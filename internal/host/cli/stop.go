package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// StopOptions are hjk stop's.
type StopOptions struct {
	App    *App
	Branch string
}

// NewCmdStop is `hjk stop`; runF, when set, replaces stopRun.
func NewCmdStop(app *App, runF func(*StopOptions) error) *cobra.Command {
	opts := &StopOptions{App: app}
	return &cobra.Command{
		Use:               "stop <branch>",
		Short:             "stop a branch's instance",
		Long:              "Stop the container of a branch's instance. Its worktree stays; 'hjk run' starts it again.",
		Example:           "hjk stop fix-login",
		Args:              argsRange(1, 1, "stop needs one branch"),
		ValidArgsFunction: app.completeBranch,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Branch = args[0]
			if runF != nil {
				return runF(opts)
			}
			return stopRun(opts)
		},
	}
}

func stopRun(opts *StopOptions) error {
	app := opts.App
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, opts.Branch)
	if err != nil {
		return err
	}
	return result(app.runner(is).Stop(ctx, in))
}
