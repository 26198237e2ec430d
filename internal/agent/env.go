package agent

// Variables hjk sets for hjk-init besides the credentials themselves.
const (
	// WorkdirVar names the folder the agent works in, for folder trust.
	// hjk-init falls back to its current directory.
	WorkdirVar = "HJK_WORKDIR"
	// UserVar names the user (name or uid[:gid]) hjk-init drops to, when it
	// runs as root, before it writes files and execs the command.
	UserVar = "HJK_USER"
)
