package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
)

func psCommand(app *App, args []string) error {
	var asJSON, all bool
	fs := app.flags("ps", "hjk ps [--json] [-a] [<branch>]",
		"List the instances of the current repository (every repository's with -a, or outside\n"+
			"one) with their container's state as the engine reports it now: running, exited,\n"+
			"or missing when the container was removed behind hjk's back ('hjk run' brings it back).\n"+
			"--json prints an array of objects with the fields name, repo, git_dir, branch,\n"+
			"worktree, agent, account, image, runtime, created and state.\n"+
			"With a branch, list its instance's sessions instead: name, state (running, exited\n"+
			"with its code, or lost), start and command; --json fields name, command, pid, state,\n"+
			"exit_code, started, ended, attached.",
		"hjk ps -a --json | jq -r '.[] | select(.state != \"running\") | .branch'")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	fs.BoolVarP(&all, "all", "a", false, "list the instances of every repository")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 1 {
		return app.psSessions(fs.Arg(0), asJSON)
	}
	if fs.NArg() > 1 {
		return &UserError{Err: fmt.Errorf("ps takes at most a branch"), Hint: "Run 'hjk ps --help' for usage.", Code: 2}
	}
	ctx := context.Background()
	is, err := app.instances()
	if err != nil {
		return err
	}
	var extra []string
	if n, err := app.runtimeName("", is.cfg); err == nil {
		extra = append(extra, n)
	}
	list, errs, err := is.mgr.List(ctx, extra...)
	if err != nil {
		return err
	}
	for _, e := range errs {
		fmt.Fprintf(app.Stderr, "hjk: warning: %v\n", e)
	}
	if !all {
		if r, err := app.repo(ctx); err == nil {
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
	fmt.Fprintln(tw, "BRANCH\tSTATE\tAGENT\tRUNTIME\tIMAGE\tCONTAINER")
	for _, in := range list {
		if all {
			fmt.Fprintf(tw, "%s\t", in.Repo)
		}
		ag := firstOf(in.Agent, cfg.Agent, "claude")
		if in.Account != "" {
			ag += "@" + in.Account
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Branch, in.State, ag, in.Runtime, in.Image, in.Name)
	}
	tw.Flush()
}
