package agent

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// ClaudeTokenPrefix starts every token `claude setup-token` prints.
const ClaudeTokenPrefix = "sk-ant-oat01-"

// Validate checks that secret is a well-formed credential of kind k for a,
// in the transport format of its variable. Errors name what is wrong, never
// the value.
func Validate(a Agent, k Kind, secret string) error {
	if k == APIKey {
		return validateAPIKey(secret)
	}
	switch a.Name {
	case Claude.Name:
		return validateClaudeToken(secret)
	case Gemini.Name:
		_, err := ParseGemini(secret)
		return err
	case Codex.Name:
		_, err := ParseCodex(secret)
		return err
	}
	return fmt.Errorf("unknown agent %q", a.Name)
}

func validateAPIKey(s string) error {
	if s == "" {
		return errors.New("API key is empty")
	}
	if len(s) > 4096 {
		return errors.New("API key is longer than 4096 bytes")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return errors.New("API key holds white space or control characters")
		}
		// Every provider's keys are ASCII; claude keys an approval by the
		// last 20 characters, which must survive JSON as they are.
		if r > 0x7e {
			return errors.New("API key holds characters other than printable ASCII")
		}
	}
	return nil
}

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

// object parses s as a JSON object, naming the variable in errors.
func object(s, name string) (gjson.Result, error) {
	if strings.TrimSpace(s) == "" {
		return gjson.Result{}, fmt.Errorf("%s is empty", name)
	}
	if !gjson.Valid(s) {
		return gjson.Result{}, fmt.Errorf("%s is not valid JSON", name)
	}
	r := gjson.Parse(s)
	if !r.IsObject() {
		return gjson.Result{}, fmt.Errorf("%s is not a JSON object", name)
	}
	return r, nil
}

func nonEmptyString(r gjson.Result, key string) bool {
	v := r.Get(gjson.Escape(key))
	return v.Type == gjson.String && v.Str != ""
}

// JWTClaims returns the claims of a JWT (the object in its middle part),
// verifying no signature: the gate reads an access token's exp this way to
// know when to refresh it. Errors never quote the token.
func JWTClaims(tok string) (gjson.Result, error) { return jwtClaims(tok) }

// jwtClaims checks that tok has the shape of a JWT (three base64url parts,
// the middle one a JSON object) and returns that object. It verifies no
// signature: that is the issuer's business, not ours.
func jwtClaims(tok string) (gjson.Result, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return gjson.Result{}, errors.New("is not a JWT (want three dot-separated parts)")
	}
	for _, p := range parts[:2] {
		if p == "" {
			return gjson.Result{}, errors.New("is not a JWT (an empty part)")
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return gjson.Result{}, errors.New("is not a JWT (its payload is not base64url)")
	}
	if !gjson.ValidBytes(raw) || !gjson.ParseBytes(raw).IsObject() {
		return gjson.Result{}, errors.New("is not a JWT (its payload is not a JSON object)")
	}
	return gjson.ParseBytes(raw), nil
}
