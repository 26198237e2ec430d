package cli

import (
	"context"

	"github.com/hjk-dev/hjk/internal/host/runner"
	"github.com/spf13/cobra"
)

// ExecOptions are hjk exec's: the branch, and the command after "--".
type ExecOptions struct {
	App     *App
	Branch  string
	Command []string // empty: a shell
}

// NewCmdExec is `hjk exec`; runF, when set, replaces execRun.
func NewCmdExec(app *App, runF func(*ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{App: app}
	return &cobra.Command{
		Use:   "exec <branch> [-- <command>...]",
		Short: "run a command in a branch's instance",
		Long: "Run a command (default: a shell) in the instance of a branch, in its worktree, without\n" +
			"credentials. A stopped instance is started first. Exits with the command's status.",
		Example:           "hjk exec fix-login -- git log --oneline -3",
		Args:              argsBeforeDash(1, 1, "exec needs one branch, then the command after --"),
		ValidArgsFunction: app.completeBranchThenFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, command := splitDash(args, cmd.ArgsLenAtDash())
			opts.Branch, opts.Command = pos[0], command
			if runF != nil {
				return runF(opts)
			}
			return execRun(opts)
		},
	}
}

func execRun(opts *ExecOptions) error {
	app := opts.App
	ctx := context.Background()
	is, repo, _, err := app.lookup(ctx, opts.Branch)
	if err != nil {
		return err
	}
	return result(app.runner(is).Exec(ctx, runner.Request{Repo: repo, Branch: opts.Branch, Cmd: opts.Command}))
}
