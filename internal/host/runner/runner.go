// Package runner is what hjk does with an instance once it exists: it
// starts sessions (a plain exec, or under hjk-init's session server so they
// outlive the terminal), retries one the engine refused because the
// container was stopped or gone, hands the agent its login and takes a
// refreshed one back, brings commits across both ways (sync), and keeps
// hjk's own record of the sessions it started. The CLI fills a Request (or
// names an instance), calls one method, and words the Events and errors it
// gets: nothing here prints advice.
//
// It may drive the engine (through instance.Manager and runtime), read and
// write the credential store, and write to the streams it is given.
package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/refresh"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
	"github.com/hjk-dev/hjk/internal/session"
)

// ShellAgent opens a shell in the instance instead of an agent; it needs no
// credential.
const ShellAgent = "shell"

// DefaultImage is the image an instance gets when neither the request nor
// the config names one: hjk's agent image (images/agents).
const DefaultImage = "hjk/agents:latest"

// Runner runs sessions and moves work in and out of instances.
type Runner struct {
	Mgr *instance.Manager
	// Store opens the credential store on first use.
	Store func() (store.Store, error)
	// Lock is held while a login taken back is compared and saved.
	Lock   refresh.Lock
	Config config.Config
	IO     IO
	// Events is told what happened, for the CLI to word (nil: nothing).
	Events func(Event)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// IO is the streams of a session.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY says Stdin is a terminal: sessions get one (-t), and outlive
	// hjk under the session server.
	TTY bool
}

// Request is what the user asked of `hjk run` (or, with Cmd, `hjk exec`).
type Request struct {
	Repo    instance.Repo
	Branch  string
	Agent   string // "" the instance's, else the config's, else claude
	Account string // "" the instance's
	Image   string // for a new instance ("" the config's, else DefaultImage)
	// Runtime and Endpoint are the runtime and the engine asked for (""
	// and nil: a new instance goes where the settings and the engine's
	// environment say; an existing one stays where it is).
	Runtime  string
	Endpoint *runtime.Endpoint
	// Cluster is the context and namespace asked for on Kubernetes.
	Cluster *instance.Cluster
	// Workspace is "folder" or "volume" (DefaultWorkspace the setting's),
	// Credentials "gate" or "inject", for a new instance.
	Workspace, DefaultWorkspace, Credentials string
	Prompt                                   string
	Args                                     []string // the agent's own, after --
	// Cmd, when set, is run instead of an agent, without credentials.
	Cmd []string
	// Session names the session ("" picks the agent's name, numbered);
	// Detach starts it in the background.
	Session    string
	Detach     bool
	DetachKeys string
}

func (r *Runner) emit(e Event) {
	if r.Events != nil {
		r.Events(e)
	}
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run starts an agent session in the instance of req.Branch, making the
// instance when it has none, and afterwards brings the session's commits
// and refreshed login home. It returns the session's exit status as an
// *ExitError.
func (r *Runner) Run(ctx context.Context, req Request) error {
	if err := agent.CheckAccount(req.Account); err != nil {
		return err
	}
	want := instance.Want{
		Repo: req.Repo, Branch: req.Branch, Agent: req.Agent, Account: req.Account,
		Image: cmp.Or(req.Image, r.Config.Image, DefaultImage), Runtime: req.Runtime, Endpoint: req.Endpoint,
		Workspace: req.Workspace, DefaultWorkspace: req.DefaultWorkspace, Credentials: req.Credentials, Cluster: req.Cluster,
	}
	// A known instance goes straight to its session (see session.go); a
	// new one, or one to change, takes the slow path under the catalog's
	// lock. The credential is read first: a missing one creates nothing.
	in, err := r.Mgr.Get(req.Repo, req.Branch)
	var ne *instance.NoInstanceError
	isNew := errors.As(err, &ne)
	if err != nil && !isNew {
		return err
	}
	name := cmp.Or(req.Agent, in.Agent, r.Config.Agent, agent.All()[0].Name)
	account := cmp.Or(req.Account, in.Account)
	spec, lg, err := r.agentSpec(name, account, req)
	if err != nil {
		return err
	}
	if !isNew && req.Account != "" && req.Account != in.Account {
		// The container holds the old account's login, maybe refreshed by
		// a session still running: it is taken back first.
		r.takeBackAll(ctx, in)
		r.emit(Switched{Branch: req.Branch, From: in.Account, To: req.Account})
	}
	fresh := false
	elsewhere := req.Runtime != "" && req.Runtime != in.Runtime || req.Endpoint != nil && !req.Endpoint.Same(in.Engine) || req.Cluster != nil
	if isNew || elsewhere || req.Account != "" && req.Account != in.Account || req.Agent != "" && req.Agent != in.Agent {
		want.Agent = name
		var act instance.Action
		if in, act, err = r.Mgr.Ensure(ctx, want); err != nil {
			return err
		}
		r.emit(Acted{Instance: in, Action: act})
		fresh = true
	}
	if req.Image != "" && req.Image != in.Image {
		r.emit(ImageDiffers{Branch: req.Branch, Have: in.Image, Want: req.Image})
	}
	ensure := func() (instance.Instance, instance.Action, error) { return r.Mgr.Ensure(ctx, want) }
	if !isNew {
		r.push(ctx, in, req.Repo)
	}
	var handed []string
	if lg != nil {
		if in.Credentials == instance.CredentialsGate {
			rt, err := r.Mgr.Execer(in)
			if err != nil {
				return err
			}
			in, err = r.prepareGate(ctx, rt, in, *lg)
			if runtime.NotRunning(rt.Name(), err) && !fresh {
				// A stopped instance: bring it back, then prepare again.
				var act instance.Action
				if in, act, err = ensure(); err == nil {
					r.emit(Acted{Instance: in, Action: act})
					fresh = true
					in, err = r.prepareGate(ctx, rt, in, *lg)
				}
			}
			if err != nil {
				return err
			}
			h, err := r.handed(lg.item())
			if err != nil {
				return err
			}
			if spec, err = gateSession(in, spec, *lg, h, r.now()); err != nil {
				return err
			}
		} else {
			handed = []string{lg.agent.Var(lg.cred.Kind) + "=" + lg.cred.Secret}
			if !slices.Contains(in.Handed, lg.item()) {
				in, _ = r.Mgr.Update(in, func(i *instance.Instance) { i.Handed = append(i.Handed, lg.item()) })
			}
		}
	}
	err = r.runSession(ctx, in, spec, handed, name, req, fresh, ensure)
	r.after(ctx, in, req.Repo, name, account)
	return err
}

// Exec runs req.Cmd (a shell when empty) in the instance, without
// credentials, starting a stopped instance first, and brings home the
// commits it made.
func (r *Runner) Exec(ctx context.Context, req Request) error {
	in, err := r.Mgr.Get(req.Repo, req.Branch)
	if err != nil {
		return err
	}
	cmd := req.Cmd
	if len(cmd) == 0 {
		cmd = ShellCmd
	}
	ensure := func() (instance.Instance, instance.Action, error) {
		return r.Mgr.Ensure(ctx, instance.Want{Repo: req.Repo, Branch: req.Branch})
	}
	err = r.session(ctx, in, in.Exec(cmd), nil, false, ensure)
	r.pull(ctx, in, req.Repo) // a commit made there comes home as one from a session
	return err
}

// ShellCmd opens bash when the image has it, else sh; arguments after it
// go to that shell.
var ShellCmd = []string{"/bin/sh", "-c", `command -v bash >/dev/null 2>&1 && exec bash "$@"; exec sh "$@"`, "sh"}

// agentSpec is the command and environment of a session of agent name:
// its CLI with the config's flags, the user's arguments and the prompt,
// and the login it is to get (nil for the shell), kept out of the exec's
// environment.
func (r *Runner) agentSpec(name, account string, req Request) (runtime.ExecSpec, *login, error) {
	var spec runtime.ExecSpec
	conf := r.Config.Agents[name]
	for _, k := range slices.Sorted(maps.Keys(conf.Env)) {
		spec.Env = append(spec.Env, k)
		spec.Values = append(spec.Values, k+"="+conf.Env[k])
	}
	if name == ShellAgent {
		spec.Cmd = append(slices.Clone(ShellCmd), conf.Args...)
		spec.Cmd = append(spec.Cmd, req.Args...)
		if req.Prompt != "" {
			spec.Cmd = append(spec.Cmd, "-c", req.Prompt)
		}
		return spec, nil, nil
	}
	a, err := agent.Lookup(name)
	if err != nil {
		return spec, nil, &UnknownAgentError{Name: name}
	}
	st, err := r.Store()
	if err != nil {
		return spec, nil, err
	}
	c, err := store.LoadCredential(st, a, account)
	if err != nil {
		return spec, nil, err
	}
	if when := refresh.Expiry(a, c, r.now()); when != "" {
		r.emit(Expiring{Agent: a.Name, Account: account, When: when})
	}
	spec.Cmd = append([]string{a.Command}, conf.Args...)
	spec.Cmd = append(spec.Cmd, req.Args...)
	if req.Prompt != "" {
		spec.Cmd = append(spec.Cmd, promptArgs(a, req.Prompt)...)
	}
	return spec, &login{agent: a, account: account, cred: c}, nil
}

// UnknownAgentError is an agent name hjk does not know.
type UnknownAgentError struct{ Name string }

func (e *UnknownAgentError) Error() string {
	_, err := agent.Lookup(e.Name)
	return fmt.Sprintf("%v, or %s", err, ShellAgent)
}

// promptArgs starts an interactive session with a first prompt, as each
// agent's CLI takes one (the row's PromptFlag).
func promptArgs(a agent.Agent, prompt string) []string {
	if a.PromptFlag != "" {
		return []string{a.PromptFlag, prompt}
	}
	return []string{prompt}
}

// ExitError carries a session's exit status through hjk unchanged.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// exitStatus turns an engine's report of a process's exit into hjk's own.
func exitStatus(err error) error {
	if code, ok := runtime.ExitCode(err); ok {
		return &ExitError{Code: code}
	}
	return err
}

// sessionName is the first of agentName, agentName-2, ... that no session
// of the instance has.
func sessionName(list []session.State, agentName string) string {
	base := agentName
	if session.CheckName(base) != nil {
		base = "session"
	}
	for i := 1; ; i++ {
		n := base
		if i > 1 {
			n = fmt.Sprintf("%s-%d", base, i)
		}
		if !slices.ContainsFunc(list, func(s session.State) bool { return s.Name == n }) {
			return n
		}
	}
}
