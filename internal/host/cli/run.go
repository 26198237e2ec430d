package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// ShellAgent opens a shell in the instance instead of an agent; it needs
// no credential.
const ShellAgent = "shell"

type runOptions struct {
	agent, account, image, runtime string
	detach                         bool
	name                           string // the session's
}

func runCommand(app *App, args []string) error {
	var o runOptions
	fs := app.flags("run", "hjk run <branch> [flags] [<prompt>] [-- <agent-args>...]",
		"Start an agent session in the instance of a branch: a git worktree of the branch and a\n"+
			"container, made when missing and started when stopped. The agent's credential is read\n"+
			"from the store and handed to the session in its environment, fresh each time.\n"+
			"The agent 'shell' opens a shell (its prompt, if given, is the command to run).",
		"hjk run fix-login --agent codex 'make the login tests pass'")
	fs.StringVar(&o.agent, "agent", "", "agent to run: "+strings.Join(append(agent.Names(), ShellAgent), ", ")+" (default: the instance's, the config's agent, else claude)")
	fs.StringVar(&o.account, "account", "", "named account of the agent's credentials (default: the instance's; another one switches the instance to it)")
	fs.StringVar(&o.image, "image", "", "image of a new instance (default: the config's image, else "+DefaultImage+")")
	fs.StringVar(&o.runtime, "runtime", "", "container runtime of a new instance: docker, podman or container (env HJK_RUNTIME)")
	fs.BoolVarP(&o.detach, "detach", "d", false, "start the session detached ('hjk attach' shows it); on a terminal a session outlives hjk anyway")
	fs.StringVar(&o.name, "name", "", "name of the session (default: the agent's, numbered)")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	pos, extra := splitDash(fs.Args(), fs.ArgsLenAtDash())
	if len(pos) < 1 || len(pos) > 2 {
		return &UserError{Err: errors.New("run needs a branch and at most one prompt"), Hint: "Run 'hjk run --help' for usage.", Code: 2}
	}
	branch, prompt := pos[0], ""
	if len(pos) == 2 {
		prompt = pos[1]
	}
	if err := agent.CheckAccount(o.account); err != nil {
		return &UserError{Err: err, Code: 2}
	}
	ctx := context.Background()
	is, err := app.instances()
	if err != nil {
		return err
	}
	repo, err := app.repo(ctx)
	if err != nil {
		return err
	}
	w := instance.Want{
		Repo: repo, Branch: branch, Agent: o.agent, Account: o.account,
		Image: firstOf(o.image, is.cfg.Image, DefaultImage), Runtime: o.runtime,
	}
	ensure := func() (instance.Instance, instance.Action, error) { return is.mgr.Ensure(ctx, w) }

	// A known instance goes straight to its session (see App.session); a
	// new one, or one to change, takes the slow path under the catalog's
	// lock. The credential is read first: a missing one creates nothing.
	in, err := is.mgr.Get(repo, branch)
	var ne *instance.NoInstanceError
	isNew := errors.As(err, &ne)
	if err != nil && !isNew {
		return err
	}
	name := firstOf(o.agent, in.Agent, is.cfg.Agent, agent.Claude.Name)
	account := firstOf(o.account, in.Account)
	spec, err := app.agentSession(name, account, prompt, extra, is)
	if err != nil {
		return err
	}
	if !isNew && o.account != "" && o.account != in.Account {
		// The container holds the old account's login, maybe refreshed by
		// a session still running or started with -d: hjk-init replaces it
		// with the new account's, so it is taken back first.
		app.takeBackAll(ctx, is, in)
		app.Notef("the instance of %q now uses account %s (was %s)", branch, o.account, firstOf(in.Account, "the default"))
	}
	fresh := false
	if isNew || o.runtime != "" && o.runtime != in.Runtime || o.account != "" && o.account != in.Account || o.agent != "" && o.agent != in.Agent {
		w.Agent = name
		var act instance.Action
		if in, act, err = ensure(); err != nil {
			return err
		}
		app.noteAction(in, act)
		fresh = true
	}
	if o.image != "" && o.image != in.Image {
		fmt.Fprintf(app.Stderr, "hjk: the instance of %q runs %s; 'hjk recreate %s --image %s' changes it\n", branch, in.Image, branch, o.image)
	}
	base := in.Exec(spec.Cmd)
	spec.Cmd, spec.Workdir = base.Cmd, base.Workdir
	spec.Env = append(base.Env, spec.Env...)
	spec.Values = append(base.Values, spec.Values...)
	err = app.runSession(ctx, is, in, spec, name, o.name, o.detach, fresh, ensure)
	app.takeBack(ctx, is, in, name, account)
	return err
}

// agentSession is the command and environment of a session of agent name:
// its CLI with the config's flags, the user's arguments and the prompt, and
// its credential passed by name (`-e NAME`), the value only in the
// environment of the runtime's CLI.
func (app *App) agentSession(name, account, prompt string, extra []string, is *instances) (runtime.ExecSpec, error) {
	var spec runtime.ExecSpec
	conf := is.cfg.Agents[name]
	keys := make([]string, 0, len(conf.Env))
	for k := range conf.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec.Env = append(spec.Env, k)
		spec.Values = append(spec.Values, k+"="+conf.Env[k])
	}
	if name == ShellAgent {
		// bash when the image has it, else sh.
		spec.Cmd = append(append([]string(nil), shellCmd...), conf.Args...)
		spec.Cmd = append(spec.Cmd, extra...)
		if prompt != "" {
			spec.Cmd = append(spec.Cmd, "-c", prompt)
		}
		return spec, nil
	}
	a, err := agent.Lookup(name)
	if err != nil {
		return spec, &UserError{Err: fmt.Errorf("%w, or %s", err, ShellAgent), Hint: "Run 'hjk run --help' for usage.", Code: 2}
	}
	st, err := app.Store()
	if err != nil {
		return spec, err
	}
	c, err := store.LoadCredential(st, a, account)
	var nc *store.NotConfiguredError
	if errors.As(err, &nc) {
		return spec, &UserError{Err: err}
	}
	if err != nil {
		return spec, err
	}
	app.warnExpiry(a, account, c)
	v := a.Var(c.Kind)
	spec.Env = append(spec.Env, v)
	spec.Values = append(spec.Values, v+"="+c.Secret)
	spec.Cmd = append([]string{a.Command}, conf.Args...)
	spec.Cmd = append(spec.Cmd, extra...)
	if prompt != "" {
		spec.Cmd = append(spec.Cmd, promptArgs(a, prompt)...)
	}
	return spec, nil
}

// shellCmd opens bash when the image has it, else sh; arguments after it
// go to that shell.
var shellCmd = []string{"/bin/sh", "-c", `command -v bash >/dev/null 2>&1 && exec bash "$@"; exec sh "$@"`, "sh"}

// promptArgs starts an interactive session with a first prompt, as each
// agent's CLI takes one.
func promptArgs(a agent.Agent, prompt string) []string {
	if a.Name == agent.Gemini.Name {
		return []string{"--prompt-interactive", prompt}
	}
	return []string{prompt}
}

// splitDash splits positional arguments at "--" (dash is pflag's
// ArgsLenAtDash, -1 when there was none).
func splitDash(args []string, dash int) (before, after []string) {
	if dash < 0 {
		return args, nil
	}
	return args[:dash], args[dash:]
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
