package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runner"
	"github.com/hjk-dev/hjk/internal/host/runtime"
)

// RunOptions are hjk run's: its flags, the branch, the prompt and the
// arguments after "--" that go to the agent.
type RunOptions struct {
	App                            *App
	Agent, Account, Image, Runtime string
	// Context and Connection name the engine of a new instance (docker's
	// context, podman's connection); with kubernetes Context and
	// Namespace name its cluster.
	Context, Connection, Namespace string
	Workspace, Credentials         string
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
		Long: "Start an agent session in the instance of a branch: a container with a repository of\n" +
			"its own and the branch checked out, made when missing and started when stopped. Its\n" +
			"files are a folder under hjk's data folder (or, with --workspace volume, an engine\n" +
			"volume). With the credential gate (the default) the agent gets placeholders and no\n" +
			"network but the gate, which holds the login and adds it to the agent's requests;\n" +
			"with --credentials inject it gets the login itself, handed over on stdin. Commits the\n" +
			"agent makes come to the branch after the session; new commits of the branch reach the\n" +
			"instance before it when its files are clean.\n" +
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
	f.StringVar(&opts.Runtime, "runtime", "", "container runtime of a new instance: docker, podman, container or kubernetes, and its engine: docker:CONTEXT, podman:CONNECTION, docker:ssh://HOST (env HJK_RUNTIME; default: the config's runtime, and the engine DOCKER_HOST, the current context or CONTAINER_HOST name)")
	f.StringVar(&opts.Context, "context", "", "docker context of a new instance's engine; with kubernetes, its kubeconfig context (default: kubernetes.context, else kubectl's current)")
	f.StringVar(&opts.Connection, "connection", "", "podman connection of a new instance's engine")
	f.StringVar(&opts.Namespace, "namespace", "", "namespace of a new instance on kubernetes (default: kubernetes.namespace, else the context's); alone it means --runtime kubernetes")
	f.BoolVarP(&opts.Detach, "detach", "d", false, "start the session detached ('hjk attach' shows it); on a terminal a session outlives hjk anyway")
	f.StringVar(&opts.Name, "name", "", "name of the session (default: the agent's, numbered)")
	f.StringVar(&opts.Workspace, "workspace", "", "where a new instance keeps its files: folder (under hjk's data folder) or volume (default: the config's workspace, else folder)")
	f.StringVar(&opts.Credentials, "credentials", "", "how a new instance gets its logins: gate (placeholders; the default) or inject (the login itself, and the engine's network)")
	completeFlag(cmd, "agent", completeRunAgents)
	completeFlag(cmd, "runtime", completeRuntimes)
	completeFlag(cmd, "context", completeNamed("docker"))
	completeFlag(cmd, "connection", completeNamed("podman"))
	return cmd
}

func runRun(opts *RunOptions) error {
	app := opts.App
	keys, err := app.detachKeys("")
	if err != nil {
		return err
	}
	ctx := context.Background()
	is, err := app.instances()
	if err != nil {
		return err
	}
	repo, err := app.repo(ctx, is)
	if err != nil {
		return err
	}
	req := runner.Request{
		Repo: repo, Branch: opts.Branch, Agent: opts.Agent, Account: opts.Account,
		Image:     opts.Image,
		Workspace: opts.Workspace, DefaultWorkspace: is.cfg.Workspace,
		Credentials: cmp.Or(opts.Credentials, is.cfg.Credentials),
		Prompt:      opts.Prompt, Args: opts.AgentArgs,
		Session: opts.Name, Detach: opts.Detach, DetachKeys: keys,
	}
	if opts.Runtime != "" || opts.Context != "" || opts.Connection != "" || opts.Namespace != "" {
		// Asked for on the command line: a new instance goes there, an
		// existing one elsewhere is refused. (Otherwise an existing one
		// stays where it is, and a new one goes where the settings and
		// the engine's environment say.)
		choice := runtime.Choice{Flag: opts.Runtime, Env: app.Getenv("HJK_RUNTIME"), Config: is.cfg.Runtime, GOOS: goruntime.GOOS}
		if opts.Namespace != "" && opts.Runtime == "" {
			choice.Flag = runtime.Kubernetes
		}
		sel, err := runtime.Select(choice)
		if err != nil {
			return &UsageError{Err: err, Hint: "Run 'hjk run --help' for usage."}
		}
		if sel.Name == runtime.Kubernetes {
			if opts.Connection != "" {
				return &UsageError{Err: errors.New("--connection names a podman connection, and the runtime is kubernetes"), Hint: "A cluster is named with --context and --namespace."}
			}
			req.Runtime = runtime.Kubernetes
			if opts.Context != "" || opts.Namespace != "" {
				req.Cluster = &instance.Cluster{Context: cmp.Or(opts.Context, is.cfg.Kubernetes.Context), Namespace: cmp.Or(opts.Namespace, is.cfg.Kubernetes.Namespace)}
			}
			return result(app.runner(is).Run(ctx, req))
		}
		if opts.Namespace != "" {
			return &UsageError{Err: fmt.Errorf("--namespace names a Kubernetes namespace, and the runtime is %s", sel.Name), Hint: "Run 'hjk run --help' for usage."}
		}
		choice.Named = cmp.Or(opts.Context, opts.Connection)
		if sel, err = runtime.Select(choice); err != nil {
			return &UsageError{Err: err, Hint: "Run 'hjk run --help' for usage."}
		}
		switch {
		case opts.Context != "" && sel.Name != "docker":
			return &UsageError{Err: fmt.Errorf("--context names a docker context, and the runtime is %s", sel.Name), Hint: "Podman names its engines with --connection."}
		case opts.Connection != "" && sel.Name != "podman":
			return &UsageError{Err: fmt.Errorf("--connection names a podman connection, and the runtime is %s", sel.Name), Hint: "Docker names its engines with --context."}
		}
		req.Runtime, req.Endpoint = sel.Name, sel.Endpoint
	}
	return result(app.runner(is).Run(ctx, req))
}
