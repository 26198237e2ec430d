package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/textsafe"
)

// RmOptions are hjk rm's.
type RmOptions struct {
	App        *App
	Force      bool
	KeepVolume bool
	Branch     string
}

// NewCmdRm is `hjk rm`; runF, when set, replaces rmRun.
func NewCmdRm(app *App, runF func(*RmOptions) error) *cobra.Command {
	opts := &RmOptions{App: app}
	cmd := &cobra.Command{
		Use:   "rm <branch> [-f] [--keep-volume]",
		Short: "remove a branch's instance (its containers, volumes and files)",
		Long: "Remove the instance of a branch: its containers, its volumes and its workspace. Its\n" +
			"commits come to the branch first; the branch stays. On a terminal hjk asks first; an\n" +
			"instance holding uncommitted changes (as its container says) is kept unless -f is given.\n" +
			"With -f, an instance whose engine does not answer (a machine that is gone) is forgotten,\n" +
			"and what it holds there left. With --keep-volume its work stays (its volumes or folder;\n" +
			"on Kubernetes its claim): a later 'hjk run' of the branch takes it up.",
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
	cmd.Flags().BoolVar(&opts.KeepVolume, "keep-volume", false, "keep the instance's work (volumes, folder, claim) for a later run")
	return cmd
}

func rmRun(opts *RmOptions) error {
	app, branch, force := opts.App, opts.Branch, opts.Force
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, branch)
	if err != nil {
		return err
	}
	where := "its files in the volume " + in.WorkVolume()
	switch {
	case in.Folder != "":
		where = "its files in " + in.Folder
	case in.Cluster != nil:
		where = "its files in the claim " + in.Name + " in " + in.Cluster.String()
	}
	if !force && app.stdinTerminal() {
		fmt.Fprintf(app.Stderr, "Remove the instance of %q (container %s, %s; its commits come to the branch first, and the branch stays)? [y/N] ", branch, in.Name, where)
		line, _ := bufio.NewReader(app.Stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return &UserError{Err: fmt.Errorf("not removed")}
		}
	}
	err = app.runner(is).Remove(ctx, in, force, opts.KeepVolume)
	var le *instance.LeftError
	if errors.As(err, &le) {
		app.Warnf("%s", textsafe.Text(le.Error(), 2000))
		return nil
	}
	var de *instance.DirtyError
	if errors.As(err, &de) {
		hint := fmt.Sprintf("Commit them in the instance ('hjk exec %s -- git ...'), or run 'hjk rm %s -f' to discard them.", quoteArg(branch), quoteArg(branch))
		if de.Err != nil {
			hint = fmt.Sprintf("Run 'hjk run %s' to bring it back and look, or 'hjk rm %s -f' to remove it whatever it holds.", quoteArg(branch), quoteArg(branch))
		}
		return &UserError{Err: fmt.Errorf("kept the instance: %w", err), Hint: hint}
	}
	return result(err)
}
