package cli

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/gate/wire"
	"github.com/hjk-dev/hjk/internal/host/gateconf"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/textsafe"
)

// NetworkOptions are hjk network's.
type NetworkOptions struct {
	App    *App
	JSON   bool
	Branch string
}

// NewCmdNetwork is `hjk network`; runF, when set, replaces networkRun.
func NewCmdNetwork(app *App, runF func(*NetworkOptions) error) *cobra.Command {
	opts := &NetworkOptions{App: app}
	cmd := &cobra.Command{
		Use:   "network <branch> [--json]",
		Short: "show what an instance may reach, and what its gate refused",
		Long: "Show the hosts the gate of a branch's instance lets through (the network preset and\n" +
			"your own hosts: 'hjk config network' and 'hjk config network.allow'), then the requests\n" +
			"it refused, the latest last: time, method, host and port. --json prints the refusals\n" +
			"as an array of objects with the fields time, method, host, port and reason.",
		Example:           "hjk network fix-login",
		Args:              argsRange(1, 1, "network needs one branch"),
		ValidArgsFunction: app.completeBranch,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Branch = args[0]
			if runF != nil {
				return runF(opts)
			}
			return networkRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the refusals as JSON")
	return cmd
}

func networkRun(opts *NetworkOptions) error {
	app := opts.App
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, opts.Branch)
	if err != nil {
		return err
	}
	if in.Credentials != instance.CredentialsGate {
		return Hintf(fmt.Errorf("the instance of %q has no gate (credentials: %s): it has the engine's network", in.Branch, cmp.Or(in.Credentials, "inject")),
			"Run 'hjk rm %s' and 'hjk run %s --credentials gate' to give it one.", quoteArg(in.Branch), quoteArg(in.Branch))
	}
	rt, err := is.mgr.RuntimeOf(in)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	spec := is.mgr.GateExec(in, false, "log")
	spec.Stdout = &out
	if err := rt.Exec(ctx, spec); err != nil {
		return fmt.Errorf("ask the gate of %q: %w", in.Branch, err)
	}
	var refused []wire.Refusal
	sc := bufio.NewScanner(&out)
	for sc.Scan() && len(refused) < 1000 {
		var r wire.Refusal
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			refused = append(refused, r)
		}
	}
	if opts.JSON {
		if refused == nil {
			refused = []wire.Refusal{}
		}
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(refused)
	}
	preset := cmp.Or(is.cfg.Network.Preset, gateconf.DefaultPreset)
	fmt.Fprintf(app.Stdout, "network: %s", preset)
	if len(is.cfg.Network.Allow) > 0 {
		fmt.Fprintf(app.Stdout, ", and %s", textsafe.Field(fmt.Sprint(is.cfg.Network.Allow), 2000))
	}
	fmt.Fprintln(app.Stdout)
	if len(refused) == 0 {
		fmt.Fprintln(app.Stdout, "nothing refused")
		return nil
	}
	tw := tabwriter.NewWriter(app.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tMETHOD\tHOST\tPORT")
	for _, r := range refused {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", r.Time.Local().Format("2006-01-02 15:04:05"), textsafe.Field(r.Method, 16), textsafe.Field(r.Host, 255), r.Port)
	}
	return tw.Flush()
}
