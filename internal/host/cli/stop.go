package cli

import (
	"context"
	"fmt"
)

func stopCommand(app *App, args []string) error {
	fs := app.flags("stop", "hjk stop <branch>",
		"Stop the container of a branch's instance. Its worktree stays; 'hjk run' starts it again.",
		"hjk stop fix-login")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UserError{Err: fmt.Errorf("stop needs one branch"), Hint: "Run 'hjk stop --help' for usage.", Code: 2}
	}
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	app.takeBackAll(ctx, is, in)
	return is.mgr.Stop(ctx, in)
}
