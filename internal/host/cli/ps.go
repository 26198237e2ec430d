package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/textsafe"
)

// PsOptions are hjk ps's: with a Branch, its sessions are listed instead
// of the instances.
type PsOptions struct {
	App    *App
	JSON   bool
	All    bool
	Branch string
}

// NewCmdPs is `hjk ps`; runF, when set, replaces psRun.
func NewCmdPs(app *App, runF func(*PsOptions) error) *cobra.Command {
	opts := &PsOptions{App: app}
	cmd := &cobra.Command{
		Use:   "ps [--json] [-a] [<branch>]",
		Short: "list instances",
		Long: "List the instances of the current repository (every repository's with -a, or outside\n" +
			"one) with their container's state as the engine reports it now: running, exited,\n" +
			"missing when the container was removed behind hjk's back ('hjk run' brings it back),\n" +
			"or legacy (made by an older hjk: 'hjk rm -f' removes it). WORKSPACE is where the\n" +
			"agent's files are: a folder you can open, or an engine volume; '(inject)' after the\n" +
			"agent says its container holds the login itself rather than the gate. ENGINE is\n" +
			"the engine it lives on (every command for it goes there, whatever DOCKER_HOST says\n" +
			"later): default (the runtime's own), an address, context=NAME or connection=NAME,\n" +
			"with '(remote)' when that engine shares no filesystem with this machine; on\n" +
			"Kubernetes the CONTEXT/NAMESPACE, its WORKSPACE the instance's claim. Every\n" +
			"engine the instances live on is asked, once each.\n" +
			"--json prints an array of objects with the fields name, repo, git_dir, branch,\n" +
			"workspace, folder, agent, account, image, runtime, engine ({kind: default, host,\n" +
			"context or connection, value}), user, credentials, created and state (and, when\n" +
			"set, remote, cluster ({context, namespace}), base, handed, session, attached,\n" +
			"sessions, worktree).\n" +
			"With a branch, list its instance's sessions instead: name, state (running, exited\n" +
			"with its code, or lost), start and command; --json fields name, command, pid, state,\n" +
			"exit_code, started, ended, attached.",
		Example:           "hjk ps -a --json | jq -r '.[] | select(.state != \"running\") | .branch'",
		Args:              argsRange(0, 1, "ps takes at most a branch"),
		ValidArgsFunction: app.completeBranch,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Branch = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return psRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&opts.All, "all", "a", false, "list the instances of every repository")
	return cmd
}

func psRun(opts *PsOptions) error {
	app, asJSON, all := opts.App, opts.JSON, opts.All
	if opts.Branch != "" {
		return app.psSessions(opts.Branch, asJSON)
	}
	ctx := context.Background()
	is, err := app.instances()
	if err != nil {
		return err
	}
	// Every engine the catalog knows, and the one a new instance would go
	// to (a lost catalog's containers are found there).
	var extra []instance.Target
	if t, err := app.target(ctx, "", "", is.cfg); err == nil {
		extra = append(extra, t)
	}
	list, errs, err := is.mgr.List(ctx, extra...)
	if err != nil {
		return err
	}
	for _, e := range errs {
		app.Warnf("%v", e)
	}
	if !all {
		if r, err := app.repo(ctx, is); err == nil {
			list = filterRepo(list, r)
		}
	}
	if asJSON {
		if list == nil {
			list = []instance.Instance{}
		}
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	printInstances(app, list, all, is.cfg)
	return nil
}

func filterRepo(list []instance.Instance, r instance.Repo) []instance.Instance {
	var out []instance.Instance
	for _, in := range list {
		if in.GitDir == r.GitDir {
			out = append(out, in)
		}
	}
	return out
}

func printInstances(app *App, list []instance.Instance, all bool, cfg config.Config) {
	tw := tabwriter.NewWriter(app.Stdout, 0, 8, 2, ' ', 0)
	if all {
		fmt.Fprint(tw, "REPO\t")
	}
	fmt.Fprintln(tw, "BRANCH\tSTATE\tAGENT\tRUNTIME\tENGINE\tIMAGE\tCONTAINER\tWORKSPACE")
	for _, in := range list {
		if all {
			fmt.Fprintf(tw, "%s\t", textsafe.Field(in.Repo, 200))
		}
		ag := cmp.Or(in.Agent, cfg.Agent, agent.All()[0].Name)
		if in.Account != "" {
			ag += "@" + in.Account
		}
		ws := cmp.Or(in.Folder, "volume "+in.WorkVolume())
		switch {
		case in.Legacy():
			ws = "worktree " + in.Worktree
		case in.Cluster != nil:
			ws = "claim " + in.Name
		}
		if in.Credentials == instance.CredentialsInject {
			ag += " (inject)"
		}
		eng := in.Engine.String()
		switch {
		case in.Cluster != nil:
			eng = in.Cluster.String()
		case in.Remote:
			eng += " (remote)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", textsafe.Field(in.Branch, 200), in.State, ag,
			in.Runtime, textsafe.Field(eng, 300), textsafe.Field(in.Image, 200), in.Name, textsafe.Field(ws, 300))
	}
	tw.Flush()
}
