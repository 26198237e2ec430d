package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runner"
	"github.com/hjk-dev/hjk/internal/session"
	"github.com/hjk-dev/hjk/internal/textsafe"
)

// Sessions that outlive the terminal: hjk-init's session server holds each
// agent on a PTY inside the container (internal/guest/sessiond); hjk starts
// sessions, attaches to them over `<runtime> exec -it`, and reads their logs
// and states through exec (package runner): what they say is the
// container's, and is shown made safe (textsafe).

// detachKeys is the flag's value, else HJK_DETACH_KEYS, else the default,
// checked here so a typo is a clear error before anything starts.
func (app *App) detachKeys(flag string) (string, error) {
	k := cmp.Or(flag, app.Getenv(session.DetachVar), session.DefaultDetachKeys)
	if _, err := session.ParseDetachKeys(k); err != nil {
		return "", &UsageError{Err: err}
	}
	return k, nil
}

// sessions lists the instance's sessions, those recorded as running marked
// lost when its container is not running.
func (app *App) sessions(ctx context.Context, is *instances, in instance.Instance) ([]session.State, error) {
	list, err := app.runner(is).Sessions(ctx, in)
	if errors.Is(err, runner.ErrNotRunning) {
		return nil, Hintf(fmt.Errorf("the container of %q is not running: its sessions ended with it", in.Branch), "Run 'hjk run %s' to start one.", quoteArg(in.Branch))
	}
	return list, err
}

// pickSession finds the named session of in, or (name "") hjk's own
// record of the session it last started or attached there, else the
// instance's first running one.
func (app *App) pickSession(ctx context.Context, is *instances, in instance.Instance, name string) (session.State, error) {
	if name != "" {
		if err := session.CheckName(name); err != nil {
			return session.State{}, &UsageError{Err: err}
		}
	}
	list, err := app.sessions(ctx, is, in)
	if err != nil {
		return session.State{}, err
	}
	want := cmp.Or(name, in.Session)
	for _, st := range list {
		if st.Name == want && (name != "" || st.State == session.Running) {
			return st, nil
		}
	}
	if name != "" {
		return session.State{}, Hintf(fmt.Errorf("no session %q in the instance of %q", name, in.Branch), "Run 'hjk ps %s' for its sessions.", quoteArg(in.Branch))
	}
	for _, st := range list {
		if st.State == session.Running {
			return st, nil
		}
	}
	return session.State{}, Hintf(fmt.Errorf("no running session in the instance of %q", in.Branch), "Run 'hjk run -d %s' to start one, or 'hjk ps %s' for its sessions.", quoteArg(in.Branch), quoteArg(in.Branch))
}

// checkRunning refuses a session that has ended.
func checkRunning(in instance.Instance, st session.State) error {
	name := textsafe.Field(st.Name, 64)
	switch st.State {
	case session.Running:
		return nil
	case session.Lost:
		return fmt.Errorf("session %s of %q was lost with its container", name, in.Branch)
	}
	return Hintf(fmt.Errorf("session %s of %q has exited with code %d", name, in.Branch, st.ExitCode), "Run 'hjk logs %s %s' for its output.", quoteArg(in.Branch), name)
}

// splitSession reads BRANCH/SESSION or BRANCH SESSION. A branch may hold
// slashes; a session name may not, so the last one splits.
func splitSession(args []string) (branch, name string) {
	switch len(args) {
	case 0:
		return "", ""
	case 1:
		if i := strings.LastIndex(args[0], "/"); i > 0 && session.CheckName(args[0][i+1:]) == nil {
			return args[0][:i], args[0][i+1:]
		}
		return args[0], ""
	}
	return args[0], args[1]
}
