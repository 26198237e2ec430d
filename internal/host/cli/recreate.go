package cli

import (
	"context"
	"fmt"
)

func recreateCommand(app *App, args []string) error {
	var image string
	fs := app.flags("recreate", "hjk recreate <branch> [--image <ref>]",
		"Replace the container of a branch's instance with a new one, of another image if given.\n"+
			"The worktree and everything in it stay.",
		"hjk recreate fix-login --image hjk/agents:next")
	fs.StringVar(&image, "image", "", "image of the new container (default: the instance's)")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UserError{Err: fmt.Errorf("recreate needs one branch"), Hint: "Run 'hjk recreate --help' for usage.", Code: 2}
	}
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	app.takeBackAll(ctx, is, in)
	_, err = is.mgr.Recreate(ctx, in, image)
	return err
}
