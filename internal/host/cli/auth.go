package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/term"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/capture"
	"github.com/hjk-dev/hjk/internal/host/store"
)

const authUsage = `hjk auth {claude | gemini | codex} [--account <name>] [--api-key] [-- <login-args>...]
  hjk auth status [--json]
  hjk auth rm <agent> [--account <name>] [--api-key | --login]`

const authAbout = `Capture an agent's credentials into the OS secret store (the Keychain on
macOS, the Secret Service on Linux; HJK_STORE=file for a plaintext file).

  claude  runs 'claude setup-token' and takes the token it prints
  gemini  reads the login 'gemini' left in ~/.gemini (GEMINI_CLI_HOME)
  codex   runs 'codex login' (arguments after -- go to it, e.g. --device-auth)
          and reads ~/.codex/auth.json (CODEX_HOME)

With --api-key, the key is read from standard input instead (hidden when
typed at a terminal). When an account holds both a login and an API key,
'hjk run' hands over the one captured last.

Environment:
  HJK_STORE               keychain, secret-service or file (else the config's
                          store, else the OS's own)
  HJK_CLAUDE, HJK_CODEX   the agent CLI to run (else found on PATH)`

// authCommand dispatches `hjk auth`.
func authCommand(app *App, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return authStatusCommand(app, args[1:])
		case "rm":
			return authRmCommand(app, args[1:])
		}
		if a, err := agent.Lookup(args[0]); err == nil {
			return authAgentCommand(app, a, args[1:])
		}
	}
	fs := app.flags("auth", authUsage, authAbout, "hjk auth claude\n  printf %s \"$KEY\" | hjk auth codex --api-key --account work")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return &UserError{Err: errors.New("auth: name an agent, or status or rm"), Code: 2}
	}
	if w := fs.Arg(0); w != "status" && w != "rm" {
		if _, err := agent.Lookup(w); err != nil {
			return &UserError{Err: err, Hint: "Run 'hjk auth --help' for usage.", Code: 2}
		}
	}
	// Global flags came before the subcommand (hjk auth -q claude): the
	// rest, with its "--", goes to it.
	rest := fs.Args()
	if d := fs.ArgsLenAtDash(); d >= 0 {
		rest = append(append(append([]string(nil), rest[:d]...), "--"), rest[d:]...)
	}
	return authCommand(app, rest)
}

type authOptions struct {
	agent   agent.Agent
	account string
	apiKey  bool
	args    []string // for the agent's login command
}

func authAgentCommand(app *App, a agent.Agent, args []string) error {
	var o authOptions
	o.agent = a
	fs := app.flags("auth "+a.Name, "hjk auth "+a.Name+" [--account <name>] [--api-key] [-- <login-args>...]", authAbout,
		"hjk auth "+a.Name+" --account work")
	fs.StringVar(&o.account, "account", "", "keep this as a separate, named set of credentials")
	fs.BoolVar(&o.apiKey, "api-key", false, "read an API key ("+a.APIKeyVar+") from standard input instead of logging in")
	if err := app.parse(fs, args); err != nil {
		return err
	}
	o.args = fs.Args()
	if err := agent.CheckAccount(o.account); err != nil {
		return &UserError{Err: err, Code: 2}
	}
	if len(o.args) > 0 && (o.apiKey || a.Name == agent.Gemini.Name) {
		return &UserError{Err: fmt.Errorf("auth %s: unexpected arguments (%d given)", a.Name, len(o.args)), Hint: "Only a login that hjk runs (claude, codex) takes arguments, after --.", Code: 2}
	}

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
	case o.apiKey:
		c.Kind = agent.APIKey
		c.Secret, err = app.readAPIKey(a)
	case a.Name == agent.Claude.Name:
		c.Secret, err = app.captureClaude(o)
	case a.Name == agent.Codex.Name:
		c.Secret, err = app.captureCodex(o)
	case a.Name == agent.Gemini.Name:
		c.Secret, err = capture.Gemini(app.Getenv)
	}
	if err != nil {
		var le *capture.LoginError
		if errors.As(err, &le) {
			return &UserError{Err: le.Err, Hint: le.Hint}
		}
		return err
	}
	if err := store.SaveCredential(s, a, o.account, c); err != nil {
		return err
	}
	if app.Quiet() {
		return nil
	}
	fmt.Fprintf(app.Stdout, "hjk: saved %s %s for %s in %s\n", a.Name, kindWords(c.Kind), accountWords(o.account), s.Name())
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
		return res, &UserError{Err: fmt.Errorf("%w: nothing was stored", err), Code: 130}
	}
	if err != nil {
		return res, fmt.Errorf("%w: nothing was stored", err)
	}
	return res, nil
}

func (app *App) captureClaude(o authOptions) (string, error) {
	path, err := app.loginProgram(agent.Claude, "HJK_CLAUDE")
	if err != nil {
		return "", err
	}
	res, err := app.runLogin(path, append([]string{"setup-token"}, o.args...))
	if err != nil {
		return "", err
	}
	tok, ok := capture.ClaudeToken(res.Output, res.Width)
	if !ok {
		return "", &UserError{Err: errors.New("found no token (sk-ant-oat01-...) in the output of 'claude setup-token': nothing was stored"),
			Hint: "Finish the login in the browser and paste the code when claude asks, then try again."}
	}
	return tok, nil
}

func (app *App) captureCodex(o authOptions) (string, error) {
	if err := capture.CheckCodexStore(app.Getenv); err != nil {
		return "", err
	}
	path, err := app.loginProgram(agent.Codex, "HJK_CODEX")
	if err != nil {
		return "", err
	}
	if _, err := app.runLogin(path, append([]string{"login"}, o.args...)); err != nil {
		return "", err
	}
	return capture.CodexAuth(app.Getenv)
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
