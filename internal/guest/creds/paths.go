package creds

import (
	"path/filepath"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
)

// Where each agent keeps its files, from its own variables as the agent
// resolves them, else under home. hjk-init export reads back from the same
// places, so the two can never disagree.

// Folder is the folder an agent keeps its files in, as the agent finds
// it: Var names it when set, else it is a folder of the home.
type Folder struct {
	Agent, Var, Path string
}

// Folders lists each agent's folder for env and home: the one place where
// they are worked out (from each agent's Home), for Apply, export and
// doctor.
func Folders(env []string, home string) []Folder {
	var fs []Folder
	for _, a := range agent.All() {
		path := filepath.Join(home, a.Home.Dir)
		if d := envDir(env, a.Home.Var, ""); d != "" {
			path = filepath.Join(d, a.Home.Sub)
		}
		fs = append(fs, Folder{a.Name, a.Home.Var, path})
	}
	return fs
}

func folderOf(env []string, home, name string) string {
	for _, f := range Folders(env, home) {
		if f.Agent == name {
			return f.Path
		}
	}
	return home
}

// ClaudeConfig is claude's .claude.json.
func ClaudeConfig(env []string, home string) string {
	return filepath.Join(folderOf(env, home, agent.Claude.Name), claudeConfig)
}

// GeminiDir is gemini's .gemini folder.
func GeminiDir(env []string, home string) string { return folderOf(env, home, agent.Gemini.Name) }

// CodexDir is codex's home: CODEX_HOME, else ~/.codex.
func CodexDir(env []string, home string) string { return folderOf(env, home, agent.Codex.Name) }

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
