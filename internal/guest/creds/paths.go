package creds

import (
	"path/filepath"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
)

// Where each agent keeps its files, from its own variables as the agent
// resolves them, else under home. hjk-init export reads back from the same
// places, so the two can never disagree.

// The variables that move each agent's folder.
const (
	claudeDirVar  = agent.ClaudeConfigDirVar
	geminiHomeVar = agent.GeminiHomeVar
	codexHomeVar  = agent.CodexHomeVar
)

// ClaudeConfig is claude's .claude.json.
func ClaudeConfig(env []string, home string) string {
	return filepath.Join(envDir(env, claudeDirVar, home), claudeConfig)
}

// GeminiDir is gemini's .gemini folder.
func GeminiDir(env []string, home string) string {
	return filepath.Join(envDir(env, geminiHomeVar, home), ".gemini")
}

// CodexDir is codex's home: CODEX_HOME, else ~/.codex.
func CodexDir(env []string, home string) string {
	return envDir(env, codexHomeVar, filepath.Join(home, ".codex"))
}

// envDir is the directory variable name holds (made absolute), else def.
func envDir(env []string, name, def string) string {
	if v := environ.Get(env, name); v != "" {
		if abs, err := filepath.Abs(v); err == nil {
			return abs
		}
		return v
	}
	return def
}
