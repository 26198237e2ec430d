package agent

// Exit codes of hjk-init, read by hjk on the host: the contract between
// the two sides for an exec that did not give the command's own status.
// Any other code is the command's.
const (
	// ExitNothing is `hjk-init export`'s status when the agent's files hold
	// no login to take back (none yet, an API key, claude's setup-token).
	ExitNothing = 3
	// ExitFailure is hjk-init's own failure: bad arguments, a malformed
	// payload, an unusable HOME or HJK_USER, a failed switch.
	ExitFailure = 125
	// ExitNotExecutable is a command found but not executable.
	ExitNotExecutable = 126
	// ExitNotFound is a command (or a script's interpreter) not found.
	ExitNotFound = 127
)
