// Package agent is the contract between hjk on the host and hjk-init in the
// container: which agents exist, the environment variables that carry their
// credentials across the container boundary, the names those credentials are
// stored under, and the shape of each payload.
//
// It holds no OS code (no files, no processes, no keyrings), so both sides can
// import it and hjk-init stays small and static.
package agent

import (
	"fmt"
	"strings"
)

// Kind says how an agent authenticates.
type Kind string

const (
	// Subscription is the agent's own login (OAuth token or files).
	Subscription Kind = "subscription"
	// APIKey is a plain provider API key.
	APIKey Kind = "api-key"
)

// Agent describes one agent CLI on both sides of the boundary.
type Agent struct {
	Name    string // "claude", "gemini", "codex": what users type
	Command string // the CLI started in the container

	// SubscriptionVar and APIKeyVar carry the credential into the container.
	// These names are a published interface: image authors set them by hand.
	SubscriptionVar string
	APIKeyVar       string

	// SubscriptionItem and APIKeyItem name the credential in the host's
	// secret store, as the older design named them.
	SubscriptionItem string
	APIKeyItem       string

	// Scrub lists the variables hjk-init removes from the agent's
	// environment once the files carry their content. The variables the
	// agent reads itself stay.
	Scrub []string

	// GateLogin and GateKey are how its subscription login and its API
	// key reach the API through the credential gate (gate.go).
	GateLogin, GateKey GateRoute
}

// The agents, in the order they are listed to users. An explicit table, no
// registration at init time: adding an agent means adding a row here, a
// capture on the host and a writer in the guest.
var (
	Claude = Agent{
		Name:             "claude",
		Command:          "claude",
		SubscriptionVar:  "CLAUDE_CODE_OAUTH_TOKEN",
		APIKeyVar:        "ANTHROPIC_API_KEY",
		SubscriptionItem: "claude-oidc-token",
		APIKeyItem:       "claude-api-key",
		GateLogin: GateRoute{Name: "claude", Port: 7801, Upstream: "https://api.anthropic.com",
			Header: "Authorization", Scheme: "Bearer", PlaceholderVar: "CLAUDE_CODE_OAUTH_TOKEN", Env: claudeEnv},
		GateKey: GateRoute{Name: "claude-api", Port: 7802, Upstream: "https://api.anthropic.com",
			Header: "x-api-key", PlaceholderVar: "ANTHROPIC_API_KEY", Env: claudeEnv},
	}
	Gemini = Agent{
		Name:             "gemini",
		Command:          "gemini",
		SubscriptionVar:  "GEMINI_OAUTH_CREDS",
		APIKeyVar:        "GEMINI_API_KEY",
		SubscriptionItem: "gemini-oauth-creds",
		APIKeyItem:       "gemini-api-key",
		Scrub:            []string{"GEMINI_OAUTH_CREDS"},
		// A Google login as an access token the CLI takes as it is, sent to
		// the Code Assist endpoint: gemini then never refreshes by itself.
		// (Interactive gemini also needs settings.json to select that
		// login: hjk-init writes it when both variables are set.)
		GateLogin: GateRoute{Name: "gemini", Port: 7805, Upstream: "https://cloudcode-pa.googleapis.com",
			Header: "Authorization", Scheme: "Bearer", PlaceholderVar: "GOOGLE_CLOUD_ACCESS_TOKEN",
			TokenURL: "https://oauth2.googleapis.com/token",
			Env:      map[string]string{GeminiGCAVar: "true", "CODE_ASSIST_ENDPOINT": "{url}", "GEMINI_CLI_TRUST_WORKSPACE": "true"}},
		GateKey: GateRoute{Name: "gemini-api", Port: 7806, Upstream: "https://generativelanguage.googleapis.com",
			Header: "x-goog-api-key", PlaceholderVar: "GEMINI_API_KEY",
			Env: map[string]string{"GOOGLE_GEMINI_BASE_URL": "{url}", "GEMINI_CLI_TRUST_WORKSPACE": "true"}},
	}
	Codex = Agent{
		Name:             "codex",
		Command:          "codex",
		SubscriptionVar:  "CODEX_AUTH_JSON",
		APIKeyVar:        "OPENAI_API_KEY",
		SubscriptionItem: "codex-oauth-creds",
		APIKeyItem:       "codex-api-key",
		Scrub:            []string{"CODEX_AUTH_JSON"},
		// A ChatGPT login: interactive codex reads the account from
		// chatgpt_base_url and takes only an https origin there, so the
		// route is TLS, with the gate's CA. Turns go to a provider of its
		// own that requires OpenAI auth (the built-in one would follow the
		// backend's workspace routing, around the route). Its refresh goes
		// to the gate, which answers with placeholders.
		GateLogin: GateRoute{Name: "codex", Port: 7803, Upstream: "https://chatgpt.com", TLS: true,
			Header: "Authorization", Scheme: "Bearer", PlaceholderVar: "CODEX_AUTH_JSON",
			TokenURL: "https://auth.openai.com/oauth/token",
			Env:      map[string]string{"CODEX_REFRESH_TOKEN_URL_OVERRIDE": "{url}/oauth/token", "CODEX_CA_CERTIFICATE": "{ca}"},
			Args: append([]string{
				"-c", `model_providers.hjk={name="hjk",base_url="{url}/backend-api/codex",wire_api="responses",requires_openai_auth=true,supports_websockets=true}`,
				"-c", "model_provider=hjk", "-c", "chatgpt_base_url={url}/backend-api/"}, codexQuiet...)},
		GateKey: GateRoute{Name: "codex-api", Port: 7804, Upstream: "https://api.openai.com",
			Header: "Authorization", Scheme: "Bearer", PlaceholderVar: "OPENAI_API_KEY",
			Args: append([]string{"-c", "openai_base_url={url}/v1"}, codexQuiet...)},
	}
)

// claudeEnv points claude at the gate, and keeps it from reaching
// api.anthropic.com by itself for feature flags and event logging.
var claudeEnv = map[string]string{"ANTHROPIC_BASE_URL": "{url}", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}

// codexQuiet keeps codex from syncing plugins and sending analytics to
// hosts of its own.
var codexQuiet = []string{"-c", "features.plugins=false", "-c", "features.apps=false",
	"-c", "features.remote_plugin=false", "-c", "analytics.enabled=false"}

// All returns every agent, in a stable order.
func All() []Agent { return []Agent{Claude, Gemini, Codex} }

// Names returns the agents' names, for usage text and completion.
func Names() []string {
	var n []string
	for _, a := range All() {
		n = append(n, a.Name)
	}
	return n
}

// Lookup finds an agent by name.
func Lookup(name string) (Agent, error) {
	for _, a := range All() {
		if a.Name == name {
			return a, nil
		}
	}
	return Agent{}, fmt.Errorf("unknown agent %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Var returns the variable that carries a credential of kind k.
func (a Agent) Var(k Kind) string {
	if k == APIKey {
		return a.APIKeyVar
	}
	return a.SubscriptionVar
}

// Vars returns every variable that may carry this agent's credential.
func (a Agent) Vars() []string { return []string{a.SubscriptionVar, a.APIKeyVar} }

// Item returns the store item name of a credential of kind k for an account.
// The default account ("") uses the bare name; a named account adds
// "@name", so "claude-oidc-token@work".
func (a Agent) Item(k Kind, account string) string {
	base := a.SubscriptionItem
	if k == APIKey {
		base = a.APIKeyItem
	}
	if account == "" {
		return base
	}
	return base + "@" + account
}

// ParseItem is the inverse of Item: it names the agent, kind and account an
// item name stands for.
func ParseItem(item string) (Agent, Kind, string, bool) {
	base, account, _ := strings.Cut(item, "@")
	for _, a := range All() {
		switch base {
		case a.SubscriptionItem:
			return a, Subscription, account, true
		case a.APIKeyItem:
			return a, APIKey, account, true
		}
	}
	return Agent{}, "", "", false
}

// CheckAccount validates an account name: short, and safe in an item name,
// a container label and a file name.
func CheckAccount(name string) error {
	if name == "" {
		return nil
	}
	if len(name) > 64 {
		return fmt.Errorf("account name %q is longer than 64 characters", name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("account name %q: use only letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}
