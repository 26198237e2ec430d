package agent

import (
	"errors"
	"time"

	"github.com/tidwall/gjson"
)

// Gemini is Gemini CLI. Its login is a Google OAuth login (oauth_creds.json
// and google_accounts.json), whose access token lives an hour and is
// renewed with a refresh token that stays the same.
var Gemini = Agent{
	Name:             "gemini",
	Command:          "gemini",
	SubscriptionVar:  "GEMINI_OAUTH_CREDS",
	APIKeyVar:        "GEMINI_API_KEY",
	SubscriptionItem: "gemini-oauth-creds",
	APIKeyItem:       "gemini-api-key",
	Scrub:            []string{"GEMINI_OAUTH_CREDS"},
	PromptFlag:       "--prompt-interactive",
	Home:             Home{Var: GeminiHomeVar, Sub: ".gemini", Dir: ".gemini"},
	Package:          "@google/gemini-cli",
	Version:          "0.61.0",
	MinNode:          20,
	Login: Login{
		Validate: func(s string) error { _, err := ParseGemini(s); return err },
		Access:   "oauth_creds.access_token", Refresh: "oauth_creds.refresh_token",
		Expiry:  "oauth_creds.expiry_date",
		Account: "google_accounts.active", IDToken: "oauth_creds.id_token",
		Rotates: true,
		// Google's access tokens live an hour from their refresh.
		MaxLife: time.Hour,
		// gemini-cli 0.61.0, packages/core/src/code_assist/oauth2.ts: an
		// installed app whose client secret is public by design,
		// refreshed by google-auth-library as a form.
		ClientID:     "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com",
		ClientSecret: "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",
		Form:         true,
		Tokens:       "oauth_creds",
		Answer:       []string{"refresh_token", "id_token", "scope", "token_type"},
	},
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

// GeminiHomeVar moves gemini's home: its folder is then $GEMINI_CLI_HOME/.gemini.
const GeminiHomeVar = "GEMINI_CLI_HOME"

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

// GeminiPayload is GEMINI_OAUTH_CREDS split into the two files gemini reads.
// Both hold raw JSON exactly as it came, so no field is lost.
type GeminiPayload struct {
	OAuthCreds     string // an object: access_token, refresh_token, expiry_date...
	GoogleAccounts string // an object, or "" when the payload had none
}

// ParseGemini validates and splits a GEMINI_OAUTH_CREDS payload:
// {"oauth_creds": {...}, "google_accounts": {...}}.
func ParseGemini(s string) (GeminiPayload, error) {
	root, err := object(s, "GEMINI_OAUTH_CREDS")
	if err != nil {
		return GeminiPayload{}, err
	}
	creds := root.Get("oauth_creds")
	if !creds.IsObject() {
		return GeminiPayload{}, errors.New("GEMINI_OAUTH_CREDS: oauth_creds is missing or not an object")
	}
	if !nonEmptyString(creds, "refresh_token") && !nonEmptyString(creds, "access_token") {
		return GeminiPayload{}, errors.New("GEMINI_OAUTH_CREDS: oauth_creds has neither refresh_token nor access_token")
	}
	p := GeminiPayload{OAuthCreds: creds.Raw}
	switch acc := root.Get("google_accounts"); {
	case !acc.Exists() || acc.Type == gjson.Null:
	case acc.IsObject():
		p.GoogleAccounts = acc.Raw
	default:
		return GeminiPayload{}, errors.New("GEMINI_OAUTH_CREDS: google_accounts is not an object")
	}
	return p, nil
}
