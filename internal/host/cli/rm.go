package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hjk-dev/hjk/internal/host/instance"
)

func rmCommand(app *App, args []string) error {
	var force bool
	fs := app.flags("rm", "hjk rm <branch> [-f]",
		"Remove the instance of a branch: its container and its worktree. The branch and its\n"+
			"commits stay. On a terminal hjk asks first; a worktree holding uncommitted changes\n"+
			"is kept unless -f is given.",
		"hjk rm fix-login")
	fs.BoolVarP(&force, "force", "f", false, "do not ask, and discard uncommitted changes")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UserError{Err: fmt.Errorf("rm needs one branch"), Hint: "Run 'hjk rm --help' for usage.", Code: 2}
	}
	branch := fs.Arg(0)
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, branch)
	if err != nil {
		return err
	}
	hint := fmt.Sprintf("Commit them, or run 'hjk rm %s -f' to discard them.", branch)
	if !force {
		// A first look, so a dirty worktree is refused before anything is
		// stopped. The agent may still write until its container stops:
		// Remove stops it first, and git refuses what is dirty by then.
		dirty, err := instance.Dirty(ctx, in.Worktree)
		if err != nil {
			return &UserError{Err: fmt.Errorf("cannot tell whether the worktree of branch %q holds uncommitted changes: %w", branch, err), Hint: hint}
		}
		if dirty {
			return &UserError{
				Err:  fmt.Errorf("the worktree of branch %q has uncommitted changes (%s)", branch, in.Worktree),
				Hint: hint,
			}
		}
	}
	if !force && app.stdinTerminal() {
		fmt.Fprintf(app.Stderr, "Remove the instance of %q (container %s and worktree %s; the branch stays)? [y/N] ", branch, in.Name, in.Worktree)
		line, _ := bufio.NewReader(app.Stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return &UserError{Err: fmt.Errorf("not removed")}
		}
	}
	app.takeBackAll(ctx, is, in)
	err = is.mgr.Remove(ctx, in, force)
	var de *instance.DirtyError
	if errors.As(err, &de) {
		return &UserError{
			Err:  fmt.Errorf("kept the instance of %q (its container is stopped): %w", branch, err),
			Hint: hint,
		}
	}
	return err
}
