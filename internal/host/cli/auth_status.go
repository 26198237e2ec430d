package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// authStatusJSON is `hjk auth status --json`. Field names are stable;
// no field ever holds a secret or a part of one.
type authStatusJSON struct {
	Store       string           `json:"store"`
	Credentials []credentialJSON `json:"credentials"`
}

type credentialJSON struct {
	Agent      string     `json:"agent"`
	Account    string     `json:"account"` // "" is the default account
	Kind       agent.Kind `json:"kind"`    // "subscription" or "api-key"
	Item       string     `json:"item"`    // the store item's name
	Variable   string     `json:"variable"`
	CapturedAt *time.Time `json:"captured_at"`
	ExpiresAt  *time.Time `json:"expires_at"`   // when the payload tells
	Refreshed  *time.Time `json:"refreshed_at"` // codex last_refresh
	Expired    bool       `json:"expired"`
	Active     bool       `json:"active"` // the one 'hjk run' hands over
	Error      string     `json:"error,omitempty"`
}

// AuthStatusOptions are hjk auth status's.
type AuthStatusOptions struct {
	App  *App
	JSON bool
}

// NewCmdAuthStatus is `hjk auth status`; runF, when set, replaces
// authStatusRun.
func NewCmdAuthStatus(app *App, runF func(*AuthStatusOptions) error) *cobra.Command {
	opts := &AuthStatusOptions{App: app}
	cmd := &cobra.Command{
		Use:     "status [--json]",
		Short:   "show the credentials hjk keeps, never a secret",
		Long:    "Show the credentials hjk keeps, per agent and account: kind, store, when\neach was captured and when it expires. Never a secret.",
		Example: "hjk auth status --json | jq '.credentials[] | select(.expired)'",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &UsageError{Err: fmt.Errorf("auth status: unexpected argument %q", args[0])}
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return authStatusRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON with stable field names")
	return cmd
}

func authStatusRun(opts *AuthStatusOptions) error {
	app := opts.App
	s, err := app.Store()
	if err != nil {
		return err
	}
	es, err := store.ListCredentials(s)
	if err != nil {
		return err
	}
	now := time.Now()
	out := authStatusJSON{Store: s.Name(), Credentials: []credentialJSON{}}
	for _, e := range es {
		c := credentialJSON{Agent: e.Agent.Name, Account: e.Account, Kind: e.Kind, Item: e.Agent.Item(e.Kind, e.Account), Variable: e.Agent.Var(e.Kind)}
		if e.Err != nil {
			c.Error = e.Err.Error()
		} else {
			c.CapturedAt = timePtr(e.Credential.CapturedAt)
			in := agent.Describe(e.Agent, e.Credential)
			c.ExpiresAt, c.Refreshed = timePtr(in.Expires), timePtr(in.Refreshed)
			c.Expired = !in.Expires.IsZero() && in.Expires.Before(now)
			if active, err := store.LoadCredential(s, e.Agent, e.Account); err == nil {
				c.Active = active.Kind == e.Kind
			}
		}
		out.Credentials = append(out.Credentials, c)
	}
	if opts.JSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}

	fmt.Fprintf(app.Stdout, "Store: %s\n\n", out.Store)
	tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tACCOUNT\tKIND\tCAPTURED\tEXPIRES\tNOTE")
	seen := map[string]bool{}
	for _, c := range out.Credentials {
		seen[c.Agent] = true
		account := c.Account
		if account == "" {
			account = "default"
		}
		note := ""
		switch {
		case c.Error != "":
			note = "unreadable: " + c.Error
		case c.Expired:
			note = fmt.Sprintf("expired: run 'hjk auth %s%s'", c.Agent, accountFlag(c.Account))
		case !c.Active:
			note = "not used: the other kind was captured later"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Agent, account, c.Kind, fmtTime(c.CapturedAt), fmtTime(c.ExpiresAt), note)
	}
	for _, a := range agent.All() {
		if !seen[a.Name] {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\tnot configured: run 'hjk auth %s'\n", a.Name, a.Name)
		}
	}
	return tw.Flush()
}

func accountFlag(account string) string {
	if account == "" {
		return ""
	}
	return " --account " + account
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
