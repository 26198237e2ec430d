// Package capture gets an agent's credentials out of its own login on the
// host: it runs the agent's interactive login under a pseudo-terminal,
// passing the user's terminal through, and reads the token from its output
// (claude) or the files it leaves (codex, gemini). It touches the user's
// terminal, child processes and the agents' folders under HOME, read-only;
// storing is the store package's job.
package capture

import "github.com/hjk-dev/hjk/internal/agent"

// Env is what a capture may use: the host's environment, the arguments
// the user gave after --, and Run, which runs the agent's CLI (its Command,
// or the program HJK_<NAME> names) under a pseudo-terminal on the user's
// terminal.
type Env struct {
	Getenv func(string) string
	Args   []string
	Run    func(args ...string) (Result, error)
}

// Capture is how an agent's subscription login is taken on the host.
type Capture struct {
	// Login returns the login in the transport format of the agent's
	// SubscriptionVar. A *LoginError says what the user must do.
	Login func(Env) (string, error)
	// TakesArgs says Login runs a login command the arguments after --
	// go to.
	TakesArgs bool
}

// For returns agent a's capture.
func For(a agent.Agent) (Capture, bool) {
	c, ok := captures[a.Name]
	return c, ok
}
