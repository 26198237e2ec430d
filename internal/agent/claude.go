package agent

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Claude is Claude Code. Its login is the token `claude setup-token`
// prints: opaque, good for a year, never refreshed, never written to disk.
var Claude = Agent{
	Name:             "claude",
	Command:          "claude",
	SubscriptionVar:  "CLAUDE_CODE_OAUTH_TOKEN",
	APIKeyVar:        "ANTHROPIC_API_KEY",
	SubscriptionItem: "claude-oidc-token",
	APIKeyItem:       "claude-api-key",
	Home:             Home{Var: ClaudeConfigDirVar},
	Package:          "@anthropic-ai/claude-code",
	Version:          "2.1.332",
	Login:            Login{Validate: validateClaudeToken, Lifetime: ClaudeTokenLifetime},
	GateLogin: GateRoute{Name: "claude", Port: 7801, Upstream: "https://api.anthropic.com",
		Header: "Authorization", Scheme: "Bearer", PlaceholderVar: "CLAUDE_CODE_OAUTH_TOKEN", Env: claudeEnv},
	GateKey: GateRoute{Name: "claude-api", Port: 7802, Upstream: "https://api.anthropic.com",
		Header: "x-api-key", PlaceholderVar: "ANTHROPIC_API_KEY", Env: claudeEnv},
	Placeholder:    ClaudeTokenPrefix + "hjk-placeholder-",
	KeyPlaceholder: "sk-ant-api03-hjk-placeholder-",
}

// ClaudeConfigDirVar moves claude's folder (.claude.json) from the home.
const ClaudeConfigDirVar = "CLAUDE_CONFIG_DIR"

// claudeEnv points claude at the gate, and keeps it from reaching
// api.anthropic.com by itself for feature flags and event logging.
var claudeEnv = map[string]string{"ANTHROPIC_BASE_URL": "{url}", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}

// ClaudeTokenPrefix starts every token `claude setup-token` prints.
const ClaudeTokenPrefix = "sk-ant-oat01-"

// ClaudeTokenLifetime is how long a `claude setup-token` token is good for.
// The token tells nothing itself, so its capture time stands for its issue.
const ClaudeTokenLifetime = 365 * 24 * time.Hour

func validateClaudeToken(s string) error {
	if !strings.HasPrefix(s, ClaudeTokenPrefix) {
		return fmt.Errorf("token does not start with %s", ClaudeTokenPrefix)
	}
	if len(s) == len(ClaudeTokenPrefix) {
		return errors.New("token is empty after its prefix")
	}
	for _, r := range s {
		if !isTokenChar(r) {
			return errors.New("token holds characters other than letters, digits, '-' and '_'")
		}
	}
	return nil
}

func isTokenChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}
