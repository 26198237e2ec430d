package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// RecreateOptions are hjk recreate's.
type RecreateOptions struct {
	App    *App
	Image  string
	Branch string
}

// NewCmdRecreate is `hjk recreate`; runF, when set, replaces recreateRun.
func NewCmdRecreate(app *App, runF func(*RecreateOptions) error) *cobra.Command {
	opts := &RecreateOptions{App: app}
	cmd := &cobra.Command{
		Use:   "recreate <branch> [--image <ref>]",
		Short: "replace a branch's container, keeping its worktree",
		Long: "Replace the container of a branch's instance with a new one, of another image if given.\n" +
			"The worktree and everything in it stay.",
		Example:           "hjk recreate fix-login --image hjk/agents:next",
		Args:              argsRange(1, 1, "recreate needs one branch"),
		ValidArgsFunction: app.completeBranch,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Branch = args[0]
			if runF != nil {
				return runF(opts)
			}
			return recreateRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Image, "image", "", "image of the new container (default: the instance's)")
	return cmd
}

func recreateRun(opts *RecreateOptions) error {
	app := opts.App
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, opts.Branch)
	if err != nil {
		return err
	}
	_, err = app.runner(is).Recreate(ctx, in, opts.Image)
	return result(err)
}
