package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/host/instance"
)

// RmOptions are hjk rm's.
type RmOptions struct {
	App    *App
	Force  bool
	Branch string
}

// NewCmdRm is `hjk rm`; runF, when set, replaces rmRun.
func NewCmdRm(app *App, runF func(*RmOptions) error) *cobra.Command {
	opts := &RmOptions{App: app}
	cmd := &cobra.Command{
		Use:   "rm <branch> [-f]",
		Short: "remove a branch's instance (container and worktree)",
		Long: "Remove the instance of a branch: its container and its worktree. The branch and its\n" +
			"commits stay. On a terminal hjk asks first; a worktree holding uncommitted changes\n" +
			"is kept unless -f is given.",
		Example:           "hjk rm fix-login",
		Args:              argsRange(1, 1, "rm needs one branch"),
		ValidArgsFunction: app.completeBranch,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Branch = args[0]
			if runF != nil {
				return runF(opts)
			}
			return rmRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "do not ask, and discard uncommitted changes")
	return cmd
}

func rmRun(opts *RmOptions) error {
	app, branch, force := opts.App, opts.Branch, opts.Force
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
