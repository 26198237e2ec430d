// Package export is `hjk-init export AGENT`: it reads back the credential
// an agent keeps in its files and prints it in the transport format of the
// agent's variable, so hjk on the host can bring home a login the agent
// refreshed inside the container. Codex's refresh tokens are single-use: the
// store's copy is dead after the first refresh in a container unless the new
// one comes back.
//
// Usage:
//
//	hjk-init export AGENT
//
// What it prints, on standard output and nothing else:
//
//	codex   the whole of $CODEX_HOME/auth.json (else ~/.codex/auth.json):
//	        CODEX_AUTH_JSON. The API-key form is not printed (exit 3): the
//	        key came from the host and never changes in the container.
//	gemini  {"oauth_creds": <oauth_creds.json>, "google_accounts":
//	        <google_accounts.json>} from $GEMINI_CLI_HOME/.gemini (else
//	        ~/.gemini): GEMINI_OAUTH_CREDS. google_accounts is left out
//	        when its file is missing.
//	claude  nothing (exit 3). hjk hands claude the setup-token
//	        (CLAUDE_CODE_OAUTH_TOKEN), which never rotates and is never
//	        written to disk; a normal login's .credentials.json has no
//	        transport variable, so there is nothing hjk could take back.
//
// The home is the one the session wrote: HOME, or, when HJK_USER is set and
// export runs as root, that user's home from /etc/passwd; export then
// switches to that user before reading anything (privdrop.Switch), so
// nothing is read with more than the agent's own rights.
//
// Everything in that home may have been planted by the agent, so each file
// is read as creds.ReadLogin reads it: the folders on the way by the rules
// hjk-init writes by (links within the home, never into the work folder),
// the file itself never through a symbolic link (hjk-init never leaves one
// there), opened with O_NONBLOCK (a FIFO fails at once instead of holding
// the export, and hjk stop, for its whole timeout), only a regular file,
// and at most creds.MaxLoginFile (64 KiB) of it: anything else is an error
// naming the file and why.
//
// Exit codes:
//
//	0    the credential was printed
//	3    nothing to export: the agent has no login in its files
//	125  export failed: bad arguments, a bad HJK_USER, an unreadable or
//	     malformed file (named on standard error, never its content)
package export

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/creds"
	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/guest/privdrop"
)

// ErrNothing says the agent's files hold no login to export.
var ErrNothing = creds.ErrNothing

// Main is the subcommand: args are the arguments after "export".
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "hjk-init: usage: hjk-init export AGENT (one of %s)\n", strings.Join(agent.Names(), ", "))
		return agent.ExitFailure
	}
	a, err := agent.Lookup(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "hjk-init: export: %v\n", err)
		return agent.ExitFailure
	}
	// Read as the agent's user, so that a file it pointed elsewhere (a
	// link to a file only root may read) is read with its own rights.
	env, err := privdrop.Switch(os.Environ(), os.Getuid())
	if err != nil {
		fmt.Fprintf(stderr, "hjk-init: export: %v\n", err)
		return agent.ExitFailure
	}
	out, err := Read(a, environ.Get(env, "HOME"), env)
	if errors.Is(err, ErrNothing) {
		fmt.Fprintf(stderr, "hjk-init: export %s: %v\n", a.Name, err)
		return agent.ExitNothing
	}
	if err != nil {
		fmt.Fprintf(stderr, "hjk-init: export %s: %v\n", a.Name, err)
		return agent.ExitFailure
	}
	if _, err := io.WriteString(stdout, out); err != nil {
		fmt.Fprintf(stderr, "hjk-init: export %s: write: %v\n", a.Name, err)
		return agent.ExitFailure
	}
	return 0
}

// Read returns agent a's credential from its files under home (or the
// directories env's CODEX_HOME, GEMINI_CLI_HOME name), in the transport
// format. A login that is absent gives ErrNothing; errors name files,
// never their content.
func Read(a agent.Agent, home string, env []string) (string, error) {
	if home == "" {
		home = "/"
	}
	return creds.Export(a, env, home)
}
