package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/host/instance"
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
	app, keys := opts.App, opts.DetachKeys
	keys, err := app.detachKeys(keys)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var is *instances
	var in instance.Instance
	var st session.State
	if opts.Branch == "" {
		is, in, st, err = app.recentSession(ctx)
	} else {
		is, _, in, err = app.lookup(ctx, opts.Branch)
		if err == nil {
			st, err = is.pickSession(in, opts.Session)
		}
	}
	if err != nil {
		return err
	}
	if st.State == session.Lost {
		return fmt.Errorf("session %s of %q was lost with its container", st.Name, in.Branch)
	}
	if st.State != session.Running {
		return Hintf(fmt.Errorf("session %s of %q has exited with code %d", st.Name, in.Branch, st.ExitCode), "Run 'hjk logs %s %s' for its output.", in.Branch, st.Name)
	}
	rt, err := is.mgr.Runtime(in.Runtime)
	if err != nil {
		return err
	}
	spec := in.Exec(nil)
	spec.Cmd = []string{instance.InitPath, "session", "attach", "--detach-keys", keys, st.Name}
	spec.Env, spec.Values = nil, nil
	spec.Stdin, spec.Stdout, spec.Stderr = app.Stdin, app.Stdout, app.Stderr
	spec.Interactive, spec.TTY = true, app.stdinTerminal()
	return app.afterSession(ctx, is, in, exitStatus(rt.Exec(ctx, spec)))
}

// recentSession is the running session of the current repository's
// instances that was used last.
func (app *App) recentSession(ctx context.Context) (*instances, instance.Instance, session.State, error) {
	is, err := app.instances()
	if err != nil {
		return nil, instance.Instance{}, session.State{}, err
	}
	repo, err := app.repo(ctx)
	if err != nil {
		return nil, instance.Instance{}, session.State{}, err
	}
	list, _, err := is.mgr.List(ctx)
	if err != nil {
		return nil, instance.Instance{}, session.State{}, err
	}
	var best session.State
	var bestIn instance.Instance
	for _, in := range filterRepo(list, repo) {
		sts, _ := readSessions(is.sessionsDir(in))
		for _, st := range sts {
			if st.State == session.Running && in.State == "running" && st.LastUsed().After(best.LastUsed()) {
				best, bestIn = st, in
			}
		}
	}
	if best.Name == "" {
		return nil, instance.Instance{}, session.State{}, Hintf(fmt.Errorf("no running session in this repository"), "Run 'hjk run -d BRANCH' to start one.")
	}
	return is, bestIn, best, nil
}

// sessionLog is the host path of a session's log.
func (is *instances) sessionLog(in instance.Instance, name string) string {
	return filepath.Join(is.sessionsDir(in), session.LogFile(name))
}
