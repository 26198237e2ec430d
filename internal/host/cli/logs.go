package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/session"
	"github.com/hjk-dev/hjk/internal/textsafe"
)

// LogsOptions are hjk logs's.
type LogsOptions struct {
	App     *App
	Follow  bool
	Tail    int // -1: all
	Branch  string
	Session string // "": the most recently used
}

// NewCmdLogs is `hjk logs`; runF, when set, replaces logsRun.
func NewCmdLogs(app *App, runF func(*LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{App: app}
	cmd := &cobra.Command{
		Use:   "logs <branch> [<session>] [-f] [-n <lines>]",
		Short: "print a session's output",
		Long: "Print what a session wrote to its terminal (the named one, else the one hjk last\n" +
			"started or attached there), as text: escape sequences and control characters are\n" +
			"removed, so nothing the agent wrote can act on your terminal. The logs live on the\n" +
			"instance's volume and outlive a stop or a recreate. With -f, go on printing what it\n" +
			"writes until it ends.",
		Example:           "hjk logs fix-login -f -n 50",
		Args:              argsRange(1, 2, "logs needs a branch, and may name a session"),
		ValidArgsFunction: app.completeBranchSession,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Branch, opts.Session = args[0], argN(args, 1)
			if runF != nil {
				return runF(opts)
			}
			return logsRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "follow the log until the session ends")
	cmd.Flags().IntVarP(&opts.Tail, "tail", "n", -1, "print only the last lines")
	return cmd
}

func logsRun(opts *LogsOptions) error {
	app := opts.App
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, opts.Branch)
	if err != nil {
		return err
	}
	name := opts.Session
	if name == "" {
		st, err := app.pickSession(ctx, is, in, "")
		if err != nil {
			list, lerr := app.sessions(ctx, is, in)
			if lerr != nil || len(list) == 0 {
				return Hintf(fmt.Errorf("no session in the instance of %q", in.Branch), "Run 'hjk run -d %s' to start one.", quoteArg(in.Branch))
			}
			st = list[0]
		}
		name = st.Name
	} else if err := session.CheckName(name); err != nil {
		return &UsageError{Err: err}
	}
	// The log is what the agent wrote to its terminal: shown as text, its
	// escape sequences and control characters removed, so nothing it wrote
	// can act on this terminal.
	w := textsafe.NewWriter(app.Stdout)
	err = is.mgr.Log(ctx, in, name, opts.Tail, opts.Follow, w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if code, ok := runtime.ExitCode(err); ok && code == 1 {
		return Hintf(fmt.Errorf("no session %q in the instance of %q", name, in.Branch), "Run 'hjk ps %s' for its sessions.", quoteArg(in.Branch))
	}
	if runtime.NotRunning(in.Runtime, err) {
		return Hintf(fmt.Errorf("the container of %q is not running", in.Branch), "Run 'hjk run %s' to start it; its sessions' logs are kept.", quoteArg(in.Branch))
	}
	return err
}
