package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hjk-dev/hjk/internal/session"
)

// psSessions is `hjk ps BRANCH`: the sessions of one instance, most
// recently used first. A session recorded as running in a container that
// is not running shows as lost (its server was killed before it could
// record the end).
func (app *App) psSessions(branch string, asJSON bool) error {
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, branch)
	if err != nil {
		return err
	}
	list, err := readSessions(is.sessionsDir(in))
	if err != nil {
		return err
	}
	running := false
	if rt, err := is.mgr.Runtime(in.Runtime); err == nil {
		if c, err := rt.Inspect(ctx, in.Name); err == nil {
			running = c.Running()
		}
	}
	for i := range list {
		if list[i].State == session.Running && !running {
			list[i].State = session.Lost
		}
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Name, state, st.Started.Local().Format(time.DateTime), agentCommand(st.Command))
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
	s := strings.Join(cmd, " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
