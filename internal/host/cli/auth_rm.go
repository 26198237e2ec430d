package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// AuthRmOptions are hjk auth rm's: the agent, the account, and which
// kinds to remove (both unless OnlyKey or OnlyLogin).
type AuthRmOptions struct {
	App       *App
	Agent     agent.Agent
	Account   string
	OnlyKey   bool
	OnlyLogin bool
}

// NewCmdAuthRm is `hjk auth rm`: it removes an agent's credentials for one
// account, both kinds unless --api-key or --login narrows it. Removing
// nothing is an error, so a typo in an account name does not pass
// silently. runF, when set, replaces authRmRun.
func NewCmdAuthRm(app *App, runF func(*AuthRmOptions) error) *cobra.Command {
	opts := &AuthRmOptions{App: app}
	cmd := &cobra.Command{
		Use:               "rm <agent> [--account <name>] [--api-key | --login]",
		Short:             "remove an agent's credentials from the store",
		Long:              "Remove an agent's credentials for an account from the store: its login and\nits API key, or only one of them.",
		Example:           "hjk auth rm codex --account work",
		Args:              argsRange(1, 1, "auth rm: name one agent"),
		ValidArgsFunction: completeFirst(completeAgents),
		RunE: func(_ *cobra.Command, args []string) error {
			a, err := agent.Lookup(args[0])
			if err != nil {
				return &UsageError{Err: err}
			}
			opts.Agent = a
			if err := agent.CheckAccount(opts.Account); err != nil {
				return &UsageError{Err: err}
			}
			if opts.OnlyKey && opts.OnlyLogin {
				return &UsageError{Err: errors.New("auth rm: --api-key and --login exclude each other"), Hint: "Give neither to remove both."}
			}
			if runF != nil {
				return runF(opts)
			}
			return authRmRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Account, "account", "", "the named account (default: the default account)")
	cmd.Flags().BoolVar(&opts.OnlyKey, "api-key", false, "remove only the API key")
	cmd.Flags().BoolVar(&opts.OnlyLogin, "login", false, "remove only the login (subscription)")
	return cmd
}

func authRmRun(opts *AuthRmOptions) error {
	app, a := opts.App, opts.Agent
	kinds := []agent.Kind{agent.Subscription, agent.APIKey}
	if opts.OnlyKey {
		kinds = kinds[1:]
	} else if opts.OnlyLogin {
		kinds = kinds[:1]
	}
	s, err := app.Store()
	if err != nil {
		return err
	}
	removed := 0
	for _, k := range kinds {
		err := store.DeleteCredential(s, a, k, opts.Account)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		removed++
		fmt.Fprintf(app.Stdout, "hjk: removed %s %s for %s from %s\n", a.Name, kindWords(k), accountWords(opts.Account), s.Name())
	}
	if removed == 0 {
		what := "credentials"
		if len(kinds) == 1 {
			what = kindWords(kinds[0])
		}
		return &UserError{Err: fmt.Errorf("no %s %s for %s in %s", a.Name, what, accountWords(opts.Account), s.Name()),
			Hint: "Run 'hjk auth status' to see what is stored."}
	}
	return nil
}
