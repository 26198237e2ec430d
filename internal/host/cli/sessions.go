package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/session"
)

// Sessions that outlive the terminal: hjk-init's session server holds each
// agent on a PTY inside the container (internal/guest/sessiond); hjk starts
// sessions, attaches to them over `<runtime> exec -it`, and reads their logs
// and states from the host folder mounted into the container, so both
// outlive a stop or a recreate.

// readSessions returns the sessions recorded in dir, most recently used
// first. A missing folder holds none.
func readSessions(dir string) ([]session.State, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []session.State
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || session.CheckName(name) != nil {
			continue
		}
		st, err := readSession(dir, name)
		if err != nil {
			continue // being written, or not ours
		}
		list = append(list, st)
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].LastUsed().After(list[j].LastUsed()) })
	return list, nil
}

func readSession(dir, name string) (session.State, error) {
	return instance.ReadSessionState(filepath.Join(dir, session.StateFile(name)))
}

// sessionName is the name of a new session of agent: the agent's name,
// then agent-2, agent-3, ... whichever no session in dir has.
func sessionName(dir, agentName string) string {
	base := agentName
	if session.CheckName(base) != nil {
		base = "session"
	}
	for i := 1; ; i++ {
		n := base
		if i > 1 {
			n += "-" + strconv.Itoa(i)
		}
		if _, err := os.Lstat(filepath.Join(dir, session.StateFile(n))); errors.Is(err, os.ErrNotExist) {
			return n
		}
	}
}

// sessionsDir is the host folder of an instance's sessions.
func (is *instances) sessionsDir(in instance.Instance) string {
	return instance.SessionsDir(is.mgr.Data, in.Name)
}

// runSession runs a session of `hjk run`: under hjk-init's session server
// when it is detached, named, or on a terminal (so the agent outlives the
// terminal), else (a pipe, a script) as a plain exec whose streams are the
// agent's.
func (app *App) runSession(ctx context.Context, is *instances, in instance.Instance, spec runtime.ExecSpec, agentName, name string, detach, fresh bool, ensure func() (instance.Instance, instance.Action, error)) error {
	if !detach && name == "" && !app.stdinTerminal() {
		return app.session(ctx, is, in, spec, fresh, ensure)
	}
	if name == "" {
		name = sessionName(is.sessionsDir(in), agentName)
	}
	return app.startSession(ctx, is, in, spec, name, detach, fresh, ensure)
}

// startSession runs spec (an agent through `hjk-init --`) as session name
// under hjk-init's session server: attached to the terminal unless detach.
func (app *App) startSession(ctx context.Context, is *instances, in instance.Instance, spec runtime.ExecSpec, name string, detach, fresh bool, ensure func() (instance.Instance, instance.Action, error)) error {
	if err := session.CheckName(name); err != nil {
		return &UsageError{Err: err}
	}
	cmd := []string{instance.InitPath, "session", "start", "--name", name}
	if !detach {
		keys, err := app.detachKeys("")
		if err != nil {
			return err
		}
		cmd = append(cmd, "--attach", "--detach-keys", keys)
	}
	spec.Cmd = append(append(cmd, "--"), spec.Cmd...)
	if detach {
		var out strings.Builder
		err := app.sessionExec(ctx, is, in, spec, &out, fresh, ensure)
		if err != nil {
			return err
		}
		fmt.Fprintf(app.Stdout, "%s\n", name)
		fmt.Fprintf(app.Stderr, "hjk: session %s runs detached: 'hjk attach %s %s' to see it\n", name, in.Branch, name)
		return nil
	}
	return app.sessionExec(ctx, is, in, spec, nil, fresh, ensure)
}

// sessionExec runs spec through App.session (which brings a stopped
// container back); out, when set, takes the output instead of stdout.
func (app *App) sessionExec(ctx context.Context, is *instances, in instance.Instance, spec runtime.ExecSpec, out *strings.Builder, fresh bool, ensure func() (instance.Instance, instance.Action, error)) error {
	if out == nil {
		return app.session(ctx, is, in, spec, fresh, ensure)
	}
	sub := *app
	sub.Stdout = out
	sub.Stdin = strings.NewReader("")
	return sub.session(ctx, is, in, spec, fresh, ensure)
}

// detachKeys is the flag's value, else HJK_DETACH_KEYS, else the default,
// checked here so a typo is a clear error before anything starts.
func (app *App) detachKeys(flag string) (string, error) {
	k := firstOf(flag, app.Getenv(session.DetachVar), session.DefaultDetachKeys)
	if _, err := session.ParseDetachKeys(k); err != nil {
		return "", &UsageError{Err: err}
	}
	return k, nil
}

// pickSession finds the named session of in, or (name "") its most recently
// used one that runs.
func (is *instances) pickSession(in instance.Instance, name string) (session.State, error) {
	dir := is.sessionsDir(in)
	if name != "" {
		if err := session.CheckName(name); err != nil {
			return session.State{}, &UsageError{Err: err}
		}
		st, err := readSession(dir, name)
		if errors.Is(err, os.ErrNotExist) {
			return st, Hintf(fmt.Errorf("no session %q in the instance of %q", name, in.Branch), "Run 'hjk ps %s' for its sessions.", in.Branch)
		}
		return st, err
	}
	list, err := readSessions(dir)
	if err != nil {
		return session.State{}, err
	}
	for _, st := range list {
		if st.State == session.Running {
			return st, nil
		}
	}
	return session.State{}, Hintf(fmt.Errorf("no running session in the instance of %q", in.Branch), "Run 'hjk run -d %s' to start one, or 'hjk ps %s' for its sessions.", in.Branch, in.Branch)
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
