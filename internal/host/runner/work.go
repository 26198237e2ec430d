package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/refresh"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/session"
)

// handOver gives the container the credentials for one session on the
// exec's stdin (`hjk-init creds receive`) and returns the id the session
// takes them by: never in the exec's environment, which podman records.
//
// With env (Kubernetes: kubectl exec passes no environment) the entries
// may be the session's other variables too (`creds receive --env`).
func (r *Runner) handOver(ctx context.Context, rt runtime.Execer, in instance.Instance, entries []string, env bool) (string, error) {
	var in0 bytes.Buffer
	for _, e := range entries {
		in0.WriteString(e)
		in0.WriteByte(0)
	}
	var out bytes.Buffer
	args := []string{"creds", "receive"}
	if env {
		args = append(args, "--env")
	}
	spec := in.Guest(args...)
	spec.Interactive, spec.Stdin, spec.Stdout = true, &in0, &capped{w: &out, max: 128}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rt.Exec(ctx, spec); err != nil {
		return "", err
	}
	id := strings.TrimSpace(out.String())
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%s answered the hand-over with something else than its id", in.Name)
	}
	return id, nil
}

// capped passes at most max bytes on.
type capped struct {
	w   io.Writer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if len(p) > c.max {
		return 0, instance.ErrTooLarge
	}
	c.max -= len(p)
	return c.w.Write(p)
}

// after brings home what a session left in the container: its commits,
// and the login of agent name when the agent may have refreshed it (a
// shell session had none: the keeper is not asked). It never fails the
// command: the session's own status is what was asked for; what could
// not be done is an event.
func (r *Runner) after(ctx context.Context, in instance.Instance, repo instance.Repo, name, account string) {
	if !r.pull(ctx, in, repo) {
		return // not running: nothing newer than the last pull
	}
	a, err := agent.Lookup(name)
	switch {
	case err != nil:
	case in.Credentials == instance.CredentialsGate:
		r.takeFromKeeper(ctx, in)
	default:
		r.take(ctx, in, a, account)
	}
}

// pull brings the instance's commits to the host branch; false when the
// container is not running.
func (r *Runner) pull(ctx context.Context, in instance.Instance, repo instance.Repo) bool {
	res, err := r.Mgr.Pull(ctx, in, repo)
	if runtime.NotRunning(in.Runtime, err) {
		return false
	}
	if err != nil {
		r.emit(Failed{Branch: in.Branch, Step: "pull", Err: err})
		return true
	}
	if res.Tip != "" {
		r.emit(Pulled{Instance: in, Result: res})
	}
	return true
}

// push brings the host branch's new commits to the instance, when the
// host moved since the instance last agreed with it.
func (r *Runner) push(ctx context.Context, in instance.Instance, repo instance.Repo) {
	res, err := r.Mgr.Push(ctx, in, repo)
	if runtime.NotRunning(in.Runtime, err) {
		return
	}
	if err != nil {
		r.emit(Failed{Branch: in.Branch, Step: "push", Err: err})
		return
	}
	if res.Moved || res.Why != "" {
		r.emit(Pushed{Instance: in, Result: res})
	}
}

// Sync brings the instance's commits home, then the host's to the
// instance (events say what moved). A stopped instance is started for it.
// When the pull moved the branch to the instance's commits, the two agree:
// the container is not asked again (its status walks the whole work tree,
// which would make a sync cost what the repository is large).
func (r *Runner) Sync(ctx context.Context, in instance.Instance, repo instance.Repo) error {
	in, act, err := r.Mgr.Ensure(ctx, instance.Want{Repo: repo, Branch: in.Branch})
	if err != nil {
		return err
	}
	r.emit(Acted{Instance: in, Action: act})
	res, err := r.Mgr.Pull(ctx, in, repo)
	if err != nil {
		return err
	}
	r.emit(Pulled{Instance: in, Result: res})
	if res.Moved {
		return nil
	}
	pres, err := r.Mgr.Push(ctx, in, repo)
	if err != nil {
		return err
	}
	r.emit(Pushed{Instance: in, Result: pres})
	return nil
}

// takeBackAll brings home everything that can have changed in the
// instance before hjk stops, removes or replaces its container: its
// commits, and every login that can have rotated there.
func (r *Runner) takeBackAll(ctx context.Context, in instance.Instance) {
	if !r.pull(ctx, in, instance.Repo{Dir: in.Repo, GitDir: in.GitDir}) {
		return
	}
	if in.Credentials == instance.CredentialsGate {
		r.takeFromKeeper(ctx, in)
		return
	}
	// Only the logins the instance was handed: what it holds of any other
	// is none of hjk's business.
	for _, item := range in.Handed {
		a, k, account, ok := agent.ParseItem(item)
		if !ok || k != agent.Subscription {
			continue
		}
		if !r.take(ctx, in, a, account) {
			return
		}
	}
}

// exportMax caps what `hjk-init export` may hand back.
const exportMax = 64 << 10

// take runs refresh.Take for one agent; false when the container turned
// out not to run.
func (r *Runner) take(ctx context.Context, in instance.Instance, a agent.Agent, account string) bool {
	if !refresh.Rotates(a) {
		return true
	}
	st, err := r.Store()
	if err != nil {
		return true
	}
	rt, err := r.Mgr.Execer(in)
	if err != nil {
		return true
	}
	notRunning := false
	export := func(ctx context.Context, a agent.Agent) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var out bytes.Buffer
		spec := in.Guest("export", a.Name)
		spec.Stdout = &capped{w: &out, max: exportMax}
		err := rt.Exec(ctx, spec)
		if code, ok := runtime.ExitCode(err); ok && code == refresh.ExitNothing {
			return nil, refresh.ErrNothing
		}
		if runtime.NotRunning(rt.Name(), err) {
			notRunning = true
		}
		if errors.Is(err, instance.ErrTooLarge) || out.Len() >= exportMax {
			return nil, fmt.Errorf("the %s login in the container is larger than %d bytes", a.Name, exportMax)
		}
		return out.Bytes(), err
	}
	res, err := refresh.Take(ctx, st, r.Lock, a, account, export, r.now())
	switch {
	case notRunning:
		return false
	case err != nil:
		r.emit(LoginTaken{Agent: a.Name, Account: account, Branch: in.Branch, Err: err})
	default:
		r.emit(LoginTaken{Agent: a.Name, Account: account, Branch: in.Branch, Outcome: res})
	}
	return true
}

// Stop takes back the instance's work, then stops it.
func (r *Runner) Stop(ctx context.Context, in instance.Instance) error {
	r.takeBackAll(ctx, in)
	return r.Mgr.Stop(ctx, in)
}

// Remove takes back the instance's work, ends its sessions, and removes
// it (see instance.Manager.Remove for what force discards).
func (r *Runner) Remove(ctx context.Context, in instance.Instance, force, keep bool) error {
	if !in.Legacy() {
		r.takeBackAll(ctx, in)
		if rt, err := r.Mgr.Execer(in); err == nil {
			ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			rt.Exec(ctx, in.Guest("session", "kill", "--all", "--signal", "15"))
			cancel()
		}
	}
	return r.Mgr.RemoveKeep(ctx, in, force, keep)
}

// Recreate takes back the instance's work, then gives it a new container.
func (r *Runner) Recreate(ctx context.Context, in instance.Instance, image string) (instance.Instance, error) {
	r.takeBackAll(ctx, in)
	return r.Mgr.Recreate(ctx, in, image, instance.Repo{Dir: in.Repo, GitDir: in.GitDir})
}

// Attach connects the terminal to session name of the instance, then
// takes back what it may have changed. It returns the session's status
// when it ended, nil on detach.
func (r *Runner) Attach(ctx context.Context, in instance.Instance, name, keys string) error {
	rt, err := r.Mgr.Execer(in)
	if err != nil {
		return err
	}
	r.record(in, name)
	spec := in.Guest("session", "attach", "--detach-keys", keys, name)
	spec.Stdin, spec.Stdout, spec.Stderr = r.IO.Stdin, r.IO.Stdout, r.IO.Stderr
	spec.Interactive, spec.TTY = true, r.IO.TTY
	err = exitStatus(rt.Exec(ctx, spec))
	r.takeBackAll(ctx, in)
	return err
}

// Kill ends session name (HUP, or TERM with term, escalating), waits for
// it, and takes back what it may have changed.
func (r *Runner) Kill(ctx context.Context, in instance.Instance, name string, term bool) error {
	rt, err := r.Mgr.Execer(in)
	if err != nil {
		return err
	}
	args := []string{"session", "kill", name}
	if term {
		args = []string{"session", "kill", "--signal", "15", name}
	}
	spec := in.Guest(args...)
	spec.Stdout = io.Discard
	err = rt.Exec(ctx, spec)
	r.takeBackAll(ctx, in)
	return err
}

// Sessions lists the instance's sessions, as its container tells them;
// none when it is not running (with its recorded ones marked lost by the
// caller, who knows the engine's state).
func (r *Runner) Sessions(ctx context.Context, in instance.Instance) ([]session.State, error) {
	list, err := r.Mgr.Sessions(ctx, in)
	if runtime.NotRunning(in.Runtime, err) {
		return nil, ErrNotRunning
	}
	return list, err
}

// ErrNotRunning says the instance's container is not running.
var ErrNotRunning = errors.New("its container is not running")

// Recent is the instance and session hjk itself last started or attached
// among list: its own record, never a time the container wrote.
func Recent(list []instance.Instance) (instance.Instance, bool) {
	var best instance.Instance
	for _, in := range list {
		if in.Session != "" && in.Attached.After(best.Attached) {
			best = in
		}
	}
	return best, best.Session != ""
}
