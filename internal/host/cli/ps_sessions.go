package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runner"
	"github.com/hjk-dev/hjk/internal/session"
	"github.com/hjk-dev/hjk/internal/textsafe"
)

// psSessions is `hjk ps BRANCH`: the sessions of one instance, most
// recently used first, as its container lists them (names checked, every
// field made safe to print: they are the container's words).
func (app *App) psSessions(branch string, asJSON bool) error {
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, branch)
	if err != nil {
		return err
	}
	list, err := app.runner(is).Sessions(ctx, in)
	if errors.Is(err, runner.ErrNotRunning) {
		// Its sessions ended with it; their states are on its volume.
		list, err = nil, nil
		app.Notef("the container of %q is not running: 'hjk run %s' starts it", in.Branch, quoteArg(in.Branch))
	}
	if err != nil {
		return err
	}
	if asJSON {
		if list == nil {
			list = []session.State{}
		}
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(app.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tSTATE\tSTARTED\tCOMMAND")
	for _, st := range list {
		state := st.State
		if state == session.Exited {
			state = fmt.Sprintf("exited (%d)", st.ExitCode)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Name, textsafe.Field(state, 40), st.Started.Local().Format(time.DateTime), agentCommand(st.Command))
	}
	return tw.Flush()
}

// agentCommand shows a session's command without hjk-init's own words,
// cut to a line.
func agentCommand(cmd []string) string {
	for i, a := range cmd {
		if a == "--" {
			cmd = cmd[i+1:]
			break
		}
	}
	return textsafe.Field(strings.Join(cmd, " "), 60)
}
