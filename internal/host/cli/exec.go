package cli

import (
	"context"
	"fmt"

	"github.com/hjk-dev/hjk/internal/host/instance"
)

func execCommand(app *App, args []string) error {
	fs := app.flags("exec", "hjk exec <branch> [-- <command>...]",
		"Run a command (default: a shell) in the instance of a branch, in its worktree, without\n"+
			"credentials. A stopped instance is started first. Exits with the command's status.",
		"hjk exec fix-login -- git log --oneline -3")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	pos, cmd := splitDash(fs.Args(), fs.ArgsLenAtDash())
	if len(pos) != 1 {
		return &UserError{Err: fmt.Errorf("exec needs one branch, then the command after --"), Hint: "Run 'hjk exec --help' for usage.", Code: 2}
	}
	branch := pos[0]
	ctx := context.Background()
	is, repo, in, err := app.lookup(ctx, branch)
	if err != nil {
		return err
	}
	if len(cmd) == 0 {
		cmd = shellCmd
	}
	ensure := func() (instance.Instance, instance.Action, error) {
		return is.mgr.Ensure(ctx, instance.Want{Repo: repo, Branch: branch})
	}
	return app.session(ctx, is, in, in.Exec(cmd), false, ensure)
}
