package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/agent"
)

const authUsage = `auth {claude | gemini | codex} [--account <name>] [--api-key] [-- <login-args>...]
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

// NewCmdAuth is `hjk auth`: its subcommands are a login per agent, status
// and rm. Alone, or with a word that names none of them, it is a usage
// error.
func NewCmdAuth(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     authUsage,
		Short:   "capture an agent's credentials into the OS secret store",
		Long:    authAbout,
		Example: "hjk auth claude\n  printf %s \"$KEY\" | hjk auth codex --api-key --account work",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				app.help(cmd, args)
				return &UsageError{Err: errors.New("auth: name an agent, or status or rm")}
			}
			if _, err := agent.Lookup(args[0]); err != nil {
				return &UsageError{Err: err, Hint: helpHint(cmd)}
			}
			return usageError(cmd, "auth: no subcommand %q", args[0])
		},
	}
	cmd.AddCommand(NewCmdAuthStatus(app, nil), NewCmdAuthRm(app, nil))
	for _, a := range agent.All() {
		cmd.AddCommand(NewCmdAuthLogin(app, a, nil))
	}
	return cmd
}
