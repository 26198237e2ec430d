package cli

import (
	"context"
	"fmt"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/session"
)

func killCommand(app *App, args []string) error {
	fs := app.flags("kill", "hjk kill <branch>/<session>",
		"End a session: its agent gets HUP (TERM with --term), then KILL if it stays over\n"+
			"3.5 s. hjk waits for the end; 'hjk ps <branch>' then shows its exit status.",
		"hjk kill fix-login/claude-2")
	var term bool
	fs.BoolVar(&term, "term", false, "send TERM first instead of HUP")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	branch, name := splitSession(fs.Args())
	if fs.NArg() < 1 || fs.NArg() > 2 || name == "" {
		return &UserError{Err: fmt.Errorf("kill needs a branch and a session: <branch>/<session>"), Hint: "Run 'hjk ps <branch>' for its sessions.", Code: 2}
	}
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, branch)
	if err != nil {
		return err
	}
	st, err := is.pickSession(in, name)
	if err != nil {
		return err
	}
	if st.State == session.Lost {
		return fmt.Errorf("session %s of %q was lost with its container", name, branch)
	}
	if st.State != session.Running {
		return fmt.Errorf("session %s of %q has already exited with code %d", name, branch, st.ExitCode)
	}
	rt, err := is.mgr.Runtime(in.Runtime)
	if err != nil {
		return err
	}
	spec := in.Exec(nil)
	spec.Cmd = []string{instance.InitPath, "session", "kill", name}
	if term {
		spec.Cmd = []string{instance.InitPath, "session", "kill", "--signal", "15", name}
	}
	spec.Env, spec.Values = nil, nil
	spec.Stdout, spec.Stderr = app.Stderr, app.Stderr
	return app.afterSession(ctx, is, in, rt.Exec(ctx, spec))
}
