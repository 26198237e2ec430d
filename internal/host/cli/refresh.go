package cli

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/refresh"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// exportTimeout bounds one `hjk-init export` in a container: stop, rm and
// recreate must not hang on a container that does not answer.
const exportTimeout = 30 * time.Second

// takeBack brings home the login agent name refreshed in the instance's
// container during a session (see package refresh). It never fails the
// command: the session's own status is what the user asked for; a login
// that could not be read back is a warning naming what to do.
func (app *App) takeBack(ctx context.Context, is *instances, in instance.Instance, name, account string) {
	a, err := agent.Lookup(name)
	if err != nil {
		return // the shell: no credential was handed over
	}
	app.take(ctx, is, in, a, account)
}

// afterSession takes back every login that can have rotated in the
// instance's container once hjk attach or hjk kill is done with a session
// (it ended, was detached or killed): a session started with -d is
// otherwise taken back only at stop, rm or recreate, and a later session of
// another account or with an API key replaces the login in the container.
// It returns err, the command's own result.
func (app *App) afterSession(ctx context.Context, is *instances, in instance.Instance, err error) error {
	app.takeBackAll(ctx, is, in)
	return err
}

// takeBackAll brings home every login that can have rotated in the
// instance's container, before hjk stops, removes or replaces it: one exec
// per agent that the store hands a subscription login for the instance's
// account. A container that is not running has nothing newer than what its
// last session's end took back.
func (app *App) takeBackAll(ctx context.Context, is *instances, in instance.Instance) {
	for _, a := range agent.All() {
		if !app.take(ctx, is, in, a, in.Account) {
			return
		}
	}
}

// credentialsLock is the host-wide lock take-backs hold while they compare
// and save ($XDG_DATA_HOME/hjk/credentials.lock).
func (app *App) credentialsLock(is *instances) refresh.Lock {
	if is.mgr == nil || is.mgr.Data == "" {
		return nil
	}
	return refresh.FileLock(filepath.Join(is.mgr.Data, "credentials.lock"))
}

// take runs refresh.Take for one agent and says what came of it. It
// returns false when the container turned out not to run: stop, rm and
// recreate try without asking the engine first, and a session that could
// not start leaves nothing to take back.
func (app *App) take(ctx context.Context, is *instances, in instance.Instance, a agent.Agent, account string) bool {
	if !refresh.Rotates(a) {
		return true
	}
	st, err := app.Store()
	if err != nil {
		app.Debugf("no login taken back from %s: %v", in.Name, err)
		return true
	}
	rt, err := is.mgr.Runtime(in.Runtime)
	if err != nil {
		app.Debugf("no login taken back from %s: %v", in.Name, err)
		return true
	}
	notRunning := false
	export := func(ctx context.Context, a agent.Agent) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, exportTimeout)
		defer cancel()
		spec := runtime.ExecSpec{Container: in.Name, Cmd: []string{instance.InitPath, "export", a.Name}}
		// The agent's configured variables (CODEX_HOME, say) lead export to
		// the files its sessions wrote.
		conf := is.cfg.Agents[a.Name]
		keys := make([]string, 0, len(conf.Env))
		for k := range conf.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			spec.Env = append(spec.Env, k)
			spec.Values = append(spec.Values, k+"="+conf.Env[k])
		}
		// The login is read into memory only, never passed on.
		var out bytes.Buffer
		spec.Stdout = &out
		err := rt.Exec(ctx, spec)
		if code, ok := runtime.ExitCode(err); ok && code == refresh.ExitNothing {
			return nil, refresh.ErrNothing
		}
		if err != nil && refused(err.Error()) {
			notRunning = true
		}
		return out.Bytes(), err
	}
	what := a.Name + " login"
	if account != "" {
		what += " of account " + account
	}
	switch res, err := refresh.Take(ctx, st, app.credentialsLock(is), a, account, export); {
	case notRunning:
		app.Debugf("%s is not running: no login to take back", in.Name)
		return false
	case err != nil:
		fmt.Fprintf(app.Stderr, "hjk: warning: %v\n", err)
		fmt.Fprintf(app.Stderr, "hjk: the store keeps its older %s; should %s say its login expired, run '%s'\n",
			what, a.Name, (&store.NotConfiguredError{Agent: a.Name, Account: account}).Command())
	case res == refresh.Updated:
		app.Notef("took back the %s that %s refreshed in the container of %q", what, a.Name, in.Branch)
	case res == refresh.Unchanged:
		app.Debugf("the %s in the container of %q is not newer than the store's", what, in.Branch)
	}
	return true
}

// warnExpiry warns, before a session starts, when the login handed to it
// has expired or will within a day, and names the command that renews it.
func (app *App) warnExpiry(a agent.Agent, account string, c agent.Credential) {
	when := refresh.Expiry(a, c, time.Now())
	if when == "" {
		return
	}
	what := "the " + a.Name + " login"
	if account != "" {
		what += " of account " + account
	}
	fmt.Fprintf(app.Stderr, "hjk: warning: %s %s: renew it with '%s'\n", what, when,
		(&store.NotConfiguredError{Agent: a.Name, Account: account}).Command())
}
