package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/capture"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// AuthLoginOptions are those of `hjk auth <agent>`: the agent, its flags,
// and the arguments that go to the agent's own login command.
type AuthLoginOptions struct {
	App     *App
	Agent   agent.Agent
	Account string
	APIKey  bool
	Args    []string // for the agent's login command
}

// NewCmdAuthLogin is `hjk auth <agent>` for agent a; runF, when set,
// replaces authLoginRun.
func NewCmdAuthLogin(app *App, a agent.Agent, runF func(*AuthLoginOptions) error) *cobra.Command {
	opts := &AuthLoginOptions{App: app, Agent: a}
	cmd := &cobra.Command{
		Use:               a.Name + " [--account <name>] [--api-key] [-- <login-args>...]",
		Short:             "capture " + a.Name + "'s login, or an API key, into the store",
		Long:              authAbout,
		Example:           "hjk auth " + a.Name + " --account work",
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			if err := agent.CheckAccount(opts.Account); err != nil {
				return &UsageError{Err: err}
			}
			if c, _ := capture.For(a); len(opts.Args) > 0 && (opts.APIKey || !c.TakesArgs) {
				return &UsageError{Err: fmt.Errorf("auth %s: unexpected arguments (%d given)", a.Name, len(opts.Args)), Hint: "Only a login that hjk runs (" + strings.Join(loginsWithArgs(), ", ") + ") takes arguments, after --."}
			}
			if runF != nil {
				return runF(opts)
			}
			return authLoginRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Account, "account", "", "keep this as a separate, named set of credentials")
	cmd.Flags().BoolVar(&opts.APIKey, "api-key", false, "read an API key ("+a.APIKeyVar+") from standard input instead of logging in")
	return cmd
}

func authLoginRun(opts *AuthLoginOptions) error {
	app, o, a := opts.App, opts, opts.Agent

	// Check the store before asking the user to log in: a locked keyring
	// found after a browser login would waste it.
	s, err := app.Store()
	if err != nil {
		return err
	}
	if _, err := s.List(); err != nil {
		return err
	}

	c := agent.Credential{Kind: agent.Subscription}
	switch {
	case o.APIKey:
		c.Kind = agent.APIKey
		c.Secret, err = app.readAPIKey(a)
	default:
		capt, ok := capture.For(a)
		if !ok {
			return fmt.Errorf("no login capture for %s", a.Name)
		}
		c.Secret, err = capt.Login(capture.Env{Getenv: app.Getenv, Args: o.Args, Run: func(args ...string) (capture.Result, error) {
			path, err := app.loginProgram(a, "HJK_"+strings.ToUpper(a.Name))
			if err != nil {
				return capture.Result{}, err
			}
			return app.runLogin(path, args)
		}})
	}
	if err != nil {
		var le *capture.LoginError
		if errors.As(err, &le) {
			return &UserError{Err: le.Err, Hint: le.Hint}
		}
		return err
	}
	if err := store.SaveCredential(s, a, o.Account, c); err != nil {
		return err
	}
	if app.Quiet() {
		return nil
	}
	fmt.Fprintf(app.Stdout, "hjk: saved %s %s for %s in %s\n", a.Name, kindWords(c.Kind), accountWords(o.Account), s.Name())
	return nil
}

// readAPIKey reads a key from stdin: hidden at a terminal, else the whole
// input with its line ending trimmed.
func (app *App) readAPIKey(a agent.Agent) (string, error) {
	var key string
	if f, ok := app.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(app.Stderr, "Paste the %s API key (%s), then press Enter (it is not shown): ", a.Name, a.APIKeyVar)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(app.Stderr)
		if err != nil {
			return "", fmt.Errorf("read API key: %w", err)
		}
		key = string(b)
	} else {
		b, err := io.ReadAll(io.LimitReader(bufio.NewReader(app.Stdin), 64<<10))
		if err != nil {
			return "", fmt.Errorf("read API key: %w", err)
		}
		key = string(b)
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return "", &UserError{Err: errors.New("no API key on standard input: nothing was stored"),
			Hint: fmt.Sprintf("Pipe it in, e.g.: printf %%s \"$%s\" | hjk auth %s --api-key", a.APIKeyVar, a.Name)}
	}
	if err := agent.Validate(a, agent.APIKey, key); err != nil {
		return "", &UserError{Err: fmt.Errorf("%w: nothing was stored", err)}
	}
	return key, nil
}

// loginProgram finds an agent's CLI: the override variable, else PATH.
func (app *App) loginProgram(a agent.Agent, override string) (string, error) {
	if p := app.Getenv(override); p != "" {
		return p, nil
	}
	p, err := exec.LookPath(a.Command)
	if err != nil {
		return "", &UserError{Err: fmt.Errorf("%s is not installed here (not found on PATH)", a.Command),
			Hint: fmt.Sprintf("Install it, or set %s to its path.", override)}
	}
	return p, nil
}

// runLogin runs an agent's login under a PTY on the user's terminal.
func (app *App) runLogin(path string, args []string) (capture.Result, error) {
	cmd := exec.Command(path, args...)
	res, err := capture.Run(cmd, capture.Terminal{In: app.Stdin, Out: app.Stdout})
	if n := len(res.Output); n > 0 && res.Output[n-1] != '\n' {
		// Our next words start on a line of their own.
		fmt.Fprintln(app.Stdout)
	}
	if errors.Is(err, capture.ErrInterrupted) {
		// The login's own status: 128 + SIGINT.
		return res, &ExitError{Code: 130, Err: fmt.Errorf("%w: nothing was stored", err)}
	}
	if err != nil {
		return res, fmt.Errorf("%w: nothing was stored", err)
	}
	return res, nil
}

// loginsWithArgs names the agents whose login hjk runs, for a hint.
func loginsWithArgs() []string {
	var n []string
	for _, a := range agent.All() {
		if c, _ := capture.For(a); c.TakesArgs {
			n = append(n, a.Name)
		}
	}
	return n
}

func kindWords(k agent.Kind) string {
	if k == agent.APIKey {
		return "API key"
	}
	return "login"
}

func accountWords(account string) string {
	if account == "" {
		return "the default account"
	}
	return "account " + account
}
