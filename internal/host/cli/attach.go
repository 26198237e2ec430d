package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runner"
	"github.com/hjk-dev/hjk/internal/session"
)

// AttachOptions are hjk attach's: the branch and session, both optional.
type AttachOptions struct {
	App        *App
	DetachKeys string
	Branch     string
	Session    string
}

// NewCmdAttach is `hjk attach`; runF, when set, replaces attachRun.
func NewCmdAttach(app *App, runF func(*AttachOptions) error) *cobra.Command {
	opts := &AttachOptions{App: app}
	cmd := &cobra.Command{
		Use:   "attach [<branch> [<session>]] [--detach-keys <keys>]",
		Short: "attach the terminal to a session that runs in an instance",
		Long: "Attach the terminal to a session that runs in an instance: the named one, else the\n" +
			"branch's most recently used, else (no branch) the most recently used of the\n" +
			"repository. The screen is redrawn at your terminal's size; several terminals may\n" +
			"attach at once. Detach with Ctrl-B then d (the session runs on); when the session\n" +
			"ends, hjk exits with its status.",
		Example:           "hjk attach fix-login claude-2",
		Args:              argsRange(0, 2, "attach takes at most a branch and a session"),
		ValidArgsFunction: app.completeBranchSession,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Branch, opts.Session = argN(args, 0), argN(args, 1)
			if runF != nil {
				return runF(opts)
			}
			return attachRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.DetachKeys, "detach-keys", "", "keys that detach, docker's syntax (env "+session.DetachVar+", default "+session.DefaultDetachKeys+")")
	return cmd
}

// argN is args[i], or "" when there are fewer.
func argN(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

func attachRun(opts *AttachOptions) error {
	app := opts.App
	keys, err := app.detachKeys(opts.DetachKeys)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var is *instances
	var in instance.Instance
	var st session.State
	if opts.Branch == "" {
		is, in, err = app.recentInstance(ctx)
	} else {
		is, _, in, err = app.lookup(ctx, opts.Branch)
	}
	if err == nil {
		st, err = app.pickSession(ctx, is, in, opts.Session)
	}
	if err != nil {
		return err
	}
	if err := checkRunning(in, st); err != nil {
		return err
	}
	return result(app.runner(is).Attach(ctx, in, st.Name, keys))
}

// recentInstance is the instance of the current repository where hjk
// itself last started or attached a session (its own record, not a time a
// container wrote).
func (app *App) recentInstance(ctx context.Context) (*instances, instance.Instance, error) {
	is, err := app.instances()
	if err != nil {
		return nil, instance.Instance{}, err
	}
	repo, err := app.repo(ctx, is)
	if err != nil {
		return nil, instance.Instance{}, err
	}
	list, _, err := is.mgr.List(ctx)
	if err != nil {
		return nil, instance.Instance{}, err
	}
	in, ok := runner.Recent(filterRepo(list, repo))
	if !ok {
		return nil, instance.Instance{}, Hintf(fmt.Errorf("hjk started no session in this repository's instances"), "Run 'hjk run -d BRANCH' to start one, or name the branch.")
	}
	return is, in, nil
}
