package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// ShellAgent opens a shell in the instance instead of an agent; it needs
// no credential.
const ShellAgent = "shell"

// RunOptions are hjk run's: its flags, the branch, the prompt and the
// arguments after "--" that go to the agent.
type RunOptions struct {
	App                            *App
	Agent, Account, Image, Runtime string
	Detach                         bool
	Name                           string // the session's
	Branch, Prompt                 string
	AgentArgs                      []string
}

// NewCmdRun is `hjk run`; runF, when set, replaces runRun.
func NewCmdRun(app *App, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{App: app}
	cmd := &cobra.Command{
		Use:   "run <branch> [flags] [<prompt>] [-- <agent-args>...]",
		Short: "start an agent session in a branch's instance",
		Long: "Start an agent session in the instance of a branch: a git worktree of the branch and a\n" +
			"container, made when missing and started when stopped. The agent's credential is read\n" +
			"from the store and handed to the session in its environment, fresh each time.\n" +
			"The agent 'shell' opens a shell (its prompt, if given, is the command to run).",
		Example:           "hjk run fix-login --agent codex 'make the login tests pass'",
		Args:              argsBeforeDash(1, 2, "run needs a branch and at most one prompt"),
		ValidArgsFunction: app.completeBranchThenFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			pos, extra := splitDash(args, cmd.ArgsLenAtDash())
			opts.Branch, opts.AgentArgs = pos[0], extra
			if len(pos) == 2 {
				opts.Prompt = pos[1]
			}
			if err := agent.CheckAccount(opts.Account); err != nil {
				return &UsageError{Err: err}
			}
			if runF != nil {
				return runF(opts)
			}
			return runRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Agent, "agent", "", "agent to run: "+strings.Join(append(agent.Names(), ShellAgent), ", ")+" (default: the instance's, the config's agent, else claude)")
	f.StringVar(&opts.Account, "account", "", "named account of the agent's credentials (default: the instance's; another one switches the instance to it)")
	f.StringVar(&opts.Image, "image", "", "image of a new instance (default: the config's image, else "+DefaultImage+")")
	f.StringVar(&opts.Runtime, "runtime", "", "container runtime of a new instance: docker, podman or container (env HJK_RUNTIME)")
	f.BoolVarP(&opts.Detach, "detach", "d", false, "start the session detached ('hjk attach' shows it); on a terminal a session outlives hjk anyway")
	f.StringVar(&opts.Name, "name", "", "name of the session (default: the agent's, numbered)")
	completeFlag(cmd, "agent", completeRunAgents)
	completeFlag(cmd, "runtime", completeRuntimes)
	return cmd
}

func runRun(opts *RunOptions) error {
	app, o := opts.App, opts
	branch, prompt, extra := opts.Branch, opts.Prompt, opts.AgentArgs
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
		Repo: repo, Branch: branch, Agent: o.Agent, Account: o.Account,
		Image: firstOf(o.Image, is.cfg.Image, DefaultImage), Runtime: o.Runtime,
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
	name := firstOf(o.Agent, in.Agent, is.cfg.Agent, agent.Claude.Name)
	account := firstOf(o.Account, in.Account)
	spec, err := app.agentSession(name, account, prompt, extra, is)
	if err != nil {
		return err
	}
	if !isNew && o.Account != "" && o.Account != in.Account {
		// The container holds the old account's login, maybe refreshed by
		// a session still running or started with -d: hjk-init replaces it
		// with the new account's, so it is taken back first.
		app.takeBackAll(ctx, is, in)
		app.Notef("the instance of %q now uses account %s (was %s)", branch, o.Account, firstOf(in.Account, "the default"))
	}
	fresh := false
	if isNew || o.Runtime != "" && o.Runtime != in.Runtime || o.Account != "" && o.Account != in.Account || o.Agent != "" && o.Agent != in.Agent {
		w.Agent = name
		var act instance.Action
		if in, act, err = ensure(); err != nil {
			return err
		}
		app.noteAction(in, act)
		fresh = true
	}
	if o.Image != "" && o.Image != in.Image {
		fmt.Fprintf(app.Stderr, "hjk: the instance of %q runs %s; 'hjk recreate %s --image %s' changes it\n", branch, in.Image, branch, o.Image)
	}
	base := in.Exec(spec.Cmd)
	spec.Cmd, spec.Workdir = base.Cmd, base.Workdir
	spec.Env = append(base.Env, spec.Env...)
	spec.Values = append(base.Values, spec.Values...)
	err = app.runSession(ctx, is, in, spec, name, o.Name, o.Detach, fresh, ensure)
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
		return spec, &UsageError{Err: fmt.Errorf("%w, or %s", err, ShellAgent), Hint: "Run 'hjk run --help' for usage."}
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

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
