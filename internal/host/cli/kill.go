package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// KillOptions are hjk kill's.
type KillOptions struct {
	App     *App
	Term    bool
	Branch  string
	Session string
}

// NewCmdKill is `hjk kill`; runF, when set, replaces killRun.
func NewCmdKill(app *App, runF func(*KillOptions) error) *cobra.Command {
	opts := &KillOptions{App: app}
	cmd := &cobra.Command{
		Use:   "kill <branch>/<session>",
		Short: "end a session",
		Long: "End a session: its agent gets HUP (TERM with --term), then KILL if it stays over\n" +
			"3.5 s. hjk waits for the end; 'hjk ps <branch>' then shows its exit status.",
		Example: "hjk kill fix-login/claude-2",
		Args: func(_ *cobra.Command, args []string) error {
			if _, name := splitSession(args); len(args) < 1 || len(args) > 2 || name == "" {
				return &UsageError{Err: fmt.Errorf("kill needs a branch and a session: <branch>/<session>"), Hint: "Run 'hjk ps <branch>' for its sessions."}
			}
			return nil
		},
		ValidArgsFunction: app.completeKill,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Branch, opts.Session = splitSession(args)
			if runF != nil {
				return runF(opts)
			}
			return killRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Term, "term", false, "send TERM first instead of HUP")
	return cmd
}

func killRun(opts *KillOptions) error {
	app := opts.App
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, opts.Branch)
	if err != nil {
		return err
	}
	st, err := app.pickSession(ctx, is, in, opts.Session)
	if err != nil {
		return err
	}
	if err := checkRunning(in, st); err != nil {
		return err
	}
	return result(app.runner(is).Kill(ctx, in, st.Name, opts.Term))
}
