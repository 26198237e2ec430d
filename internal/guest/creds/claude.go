package creds

import (
	"fmt"

	"github.com/hjk-dev/hjk/internal/agent"
)

// claude's files in its folder.
const (
	claudeConfig = ".claude.json"
	// claude's own login after a normal `claude` login; hjk-init never
	// writes it, but it is a login all the same.
	claudeCredentials = ".credentials.json"
)

// claudeGuest is claude's entry in guests (agents_gen.go).
func claudeGuest() guest {
	return guest{
		write:      (*planner).claude,
		export:     exportClaude,
		noExport:   true,
		exportFrom: "the setup-token hjk hands over never rotates and is never written; a normal login's `~/.claude/.credentials.json` has no transport variable",
		files: []file{
			{name: claudeConfig, holds: "onboarding done, the work folder trusted, an API key approved (by its last 20 characters)"},
			{name: claudeCredentials, login: true, agentOnly: true},
		},
		vars: []Variable{
			{Name: agent.Claude.SubscriptionVar, ReadBy: "run, doctor", Meaning: "claude's setup-token (`sk-ant-oat01-...`): `.claude.json` is written for it (claude reads the token itself)"},
			{Name: agent.Claude.APIKeyVar, ReadBy: "run, doctor", Meaning: "claude's API key: approved in `.claude.json` (claude reads the key itself)"},
			{Name: agent.ClaudeConfigDirVar, ReadBy: "run, doctor", Meaning: "claude's folder instead of the home"},
		},
	}
}

// claude merges what lets claude start straight at its prompt into
// .claude.json. Claude reads the token or key from its environment itself.
func (p *planner) claude(token, key string) error {
	if token == "" && key == "" {
		return nil
	}
	path := ClaudeConfig(p.env, p.home)
	edits := []jsonEdit{{path: []string{"hasCompletedOnboarding"}, value: true}}
	for _, wd := range p.workdirs {
		edits = append(edits, jsonEdit{path: []string{"projects", wd, "hasTrustDialogAccepted"}, value: true})
	}
	varName := agent.Claude.SubscriptionVar
	if key != "" {
		// Claude asks once whether to use a key from the environment and
		// remembers the answer by the key's last 20 characters.
		edits = append(edits, jsonEdit{path: []string{"customApiKeyResponses", "approved"}, value: keyTail(key), addToList: true})
		if token == "" {
			varName = agent.Claude.APIKeyVar
		}
	}
	return p.mergeJSON(varName, path, false, edits)
}

func keyTail(key string) string {
	if len(key) <= 20 {
		return key
	}
	return key[len(key)-20:]
}

// exportClaude has nothing to give back: hjk hands claude the setup-token
// (CLAUDE_CODE_OAUTH_TOKEN), which never rotates and is never written to
// disk; a normal login's .credentials.json has no transport variable.
func exportClaude(env []string, home, dir string) (string, error) {
	return "", fmt.Errorf("%w: claude's setup-token (%s) is not kept in files and never rotates", ErrNothing, agent.Claude.SubscriptionVar)
}
