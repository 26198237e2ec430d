package cli

import (
	"errors"
	"fmt"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// authRmCommand removes an agent's credentials for one account: both kinds
// unless --api-key or --login narrows it. Removing nothing is an error, so
// a typo in an account name does not pass silently.
func authRmCommand(app *App, args []string) error {
	fs := app.flags("auth rm", "hjk auth rm <agent> [--account <name>] [--api-key | --login]",
		"Remove an agent's credentials for an account from the store: its login and\nits API key, or only one of them.",
		"hjk auth rm codex --account work")
	account := fs.String("account", "", "the named account (default: the default account)")
	onlyKey := fs.Bool("api-key", false, "remove only the API key")
	onlyLogin := fs.Bool("login", false, "remove only the login (subscription)")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UserError{Err: errors.New("auth rm: name one agent"), Hint: "Run 'hjk auth rm --help' for usage.", Code: 2}
	}
	a, err := agent.Lookup(fs.Arg(0))
	if err != nil {
		return &UserError{Err: err, Code: 2}
	}
	if err := agent.CheckAccount(*account); err != nil {
		return &UserError{Err: err, Code: 2}
	}
	if *onlyKey && *onlyLogin {
		return &UserError{Err: errors.New("auth rm: --api-key and --login exclude each other"), Hint: "Give neither to remove both.", Code: 2}
	}
	kinds := []agent.Kind{agent.Subscription, agent.APIKey}
	if *onlyKey {
		kinds = kinds[1:]
	} else if *onlyLogin {
		kinds = kinds[:1]
	}
	s, err := app.Store()
	if err != nil {
		return err
	}
	removed := 0
	for _, k := range kinds {
		err := store.DeleteCredential(s, a, k, *account)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		removed++
		fmt.Fprintf(app.Stdout, "hjk: removed %s %s for %s from %s\n", a.Name, kindWords(k), accountWords(*account), s.Name())
	}
	if removed == 0 {
		what := "credentials"
		if len(kinds) == 1 {
			what = kindWords(kinds[0])
		}
		return &UserError{Err: fmt.Errorf("no %s %s for %s in %s", a.Name, what, accountWords(*account), s.Name()),
			Hint: "Run 'hjk auth status' to see what is stored."}
	}
	return nil
}
