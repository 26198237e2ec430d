package creds

import (
	"github.com/hjk-dev/hjk/internal/agent"
)

// claude merges what lets claude start straight at its prompt into
// .claude.json. Claude reads the token or key from its environment itself.
func (p *planner) claude(token, key string) error {
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
