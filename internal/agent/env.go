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

// Homes each agent's CLI reads before falling back to ~.
const (
	ClaudeConfigDirVar = "CLAUDE_CONFIG_DIR"
	GeminiHomeVar      = "GEMINI_CLI_HOME"
	CodexHomeVar       = "CODEX_HOME"
)

// Other variables of gemini's that hjk-init heeds: where its folder trust
// lives instead of .gemini/trustedFolders.json, the switch that makes it
// move oauth_creds.json into a keychain (hjk-init warns of it), and the one
// that makes it take a Google login as the access token in
// Gemini.GateLogin.PlaceholderVar (the gate's form of that login).
const (
	GeminiTrustedFoldersVar = "GEMINI_CLI_TRUSTED_FOLDERS_PATH"
	GeminiKeychainVar       = "GEMINI_FORCE_ENCRYPTED_FILE_STORAGE"
	GeminiGCAVar            = "GOOGLE_GENAI_USE_GCA"
)
