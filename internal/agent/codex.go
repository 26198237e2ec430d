package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/tidwall/gjson"
)

// Codex is OpenAI's Codex CLI. Its login is the whole of auth.json: a
// ChatGPT login whose refresh token is single-use (it rotates on every
// refresh), or the API-key form.
var Codex = Agent{
	Name:             "codex",
	Command:          "codex",
	SubscriptionVar:  "CODEX_AUTH_JSON",
	APIKeyVar:        "OPENAI_API_KEY",
	SubscriptionItem: "codex-oauth-creds",
	APIKeyItem:       "codex-api-key",
	Scrub:            []string{"CODEX_AUTH_JSON"},
	Home:             Home{Var: CodexHomeVar, Dir: ".codex"},
	Package:          "@openai/codex",
	Version:          "0.171.0",
	MinNode:          16,
	Login: Login{
		Validate: func(s string) error { _, err := ParseCodex(s); return err },
		Access:   "tokens.access_token", Refresh: "tokens.refresh_token", Key: "OPENAI_API_KEY",
		ExpiryJWT: "tokens.id_token",
		Refreshed: "last_refresh",
		// How old codex itself lets last_refresh be when its access token
		// tells no expiry.
		RefreshAge: 8 * 24 * time.Hour,
		Account:    "tokens.account_id", IDToken: "tokens.id_token",
		Rotates: true, SingleUse: true,
		// codex 0.171.0, codex-rs/login/src/auth/manager.rs, and its
		// refresh request seen against a fake endpoint: JSON with
		// client_id, grant_type, refresh_token and refresh_reason, no
		// scope.
		ClientID:   "app_EMoamEEZ73f0CkXaXp7hrann",
		SendReason: true,
		Tokens:     "tokens",
		Answer:     []string{"id_token", "refresh_token"},
		JWTFields:  []string{"id_token"},
	},
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
	KeyPlaceholder: "sk-hjk-placeholder-",
}

// CodexHomeVar names codex's folder itself (else ~/.codex).
const CodexHomeVar = "CODEX_HOME"

// codexQuiet keeps codex from syncing plugins and sending analytics to
// hosts of its own.
var codexQuiet = []string{"-c", "features.plugins=false", "-c", "features.apps=false",
	"-c", "features.remote_plugin=false", "-c", "analytics.enabled=false"}

// CodexPayload is CODEX_AUTH_JSON, the whole content of ~/.codex/auth.json.
type CodexPayload struct {
	Raw    string // the object, as it came
	APIKey bool   // the API-key form: {"OPENAI_API_KEY": "sk-..."}
}

// ParseCodex validates a CODEX_AUTH_JSON payload: either the API-key form or
// the ChatGPT form, whose tokens.id_token must be a JWT or codex rejects the
// file.
func ParseCodex(s string) (CodexPayload, error) {
	root, err := object(s, "CODEX_AUTH_JSON")
	if err != nil {
		return CodexPayload{}, err
	}
	tokens := root.Get("tokens")
	if !tokens.Exists() || tokens.Type == gjson.Null {
		if nonEmptyString(root, "OPENAI_API_KEY") {
			return CodexPayload{Raw: s, APIKey: true}, nil
		}
		return CodexPayload{}, errors.New("CODEX_AUTH_JSON: neither tokens nor OPENAI_API_KEY is set")
	}
	if !tokens.IsObject() {
		return CodexPayload{}, errors.New("CODEX_AUTH_JSON: tokens is not an object")
	}
	for _, k := range []string{"id_token", "access_token", "refresh_token"} {
		if !nonEmptyString(tokens, k) {
			return CodexPayload{}, fmt.Errorf("CODEX_AUTH_JSON: tokens.%s is missing or not a string", k)
		}
	}
	if _, err := jwtClaims(tokens.Get("id_token").String()); err != nil {
		return CodexPayload{}, fmt.Errorf("CODEX_AUTH_JSON: tokens.id_token %w", err)
	}
	if lr := root.Get("last_refresh"); lr.Exists() && lr.Type != gjson.Null {
		if _, err := time.Parse(time.RFC3339Nano, lr.String()); lr.Type != gjson.String || err != nil {
			return CodexPayload{}, errors.New("CODEX_AUTH_JSON: last_refresh is not an RFC 3339 time")
		}
	}
	return CodexPayload{Raw: s}, nil
}
