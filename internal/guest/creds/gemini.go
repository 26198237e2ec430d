package creds

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
)

// gemini's files in its folder.
const (
	geminiCreds    = "oauth_creds.json"
	geminiAccounts = "google_accounts.json"
	geminiSettings = "settings.json"
	geminiTrust    = "trustedFolders.json"
)

var geminiFiles = []file{{name: geminiCreds, login: true}, {name: geminiAccounts, login: true}, {name: geminiSettings}, {name: geminiTrust}}

// gemini writes the OAuth files from GEMINI_OAUTH_CREDS and merges the
// matching auth type and the folder trust into gemini's settings. Gemini
// strips comments from settings.json and trustedFolders.json, so ours keep
// them.
func (p *planner) gemini(creds, key string) error {
	if creds == "" && key == "" {
		if p.creds[agent.Gemini.GateLogin.PlaceholderVar] != "" {
			return p.geminiGate()
		}
		return nil
	}
	dir := GeminiDir(p.env, p.home)
	varName, authType := agent.Gemini.APIKeyVar, "gemini-api-key"
	if creds != "" {
		varName, authType = agent.Gemini.SubscriptionVar, "oauth-personal"
		payload, err := agent.ParseGemini(creds) // validated already: cannot fail
		if err != nil {
			return err
		}
		if err := p.replace(varName, filepath.Join(dir, geminiCreds), withNewline(payload.OAuthCreds)); err != nil {
			return err
		}
		if environ.Get(p.env, agent.GeminiKeychainVar) == "true" {
			p.notes = append(p.notes, agent.GeminiKeychainVar+"=true makes gemini move oauth_creds.json into a keychain and delete it: unset it to keep the login hjk wrote")
		}
		if payload.GoogleAccounts != "" {
			if err := p.replace(varName, filepath.Join(dir, geminiAccounts), withNewline(payload.GoogleAccounts)); err != nil {
				return err
			}
		}
	}
	return p.geminiSettings(dir, varName, authType)
}

// geminiGate selects the Google login for the credential gate's form of
// it, an access token gemini reads from its environment: interactive
// gemini takes its auth type only from settings.json. No login file.
func (p *planner) geminiGate() error {
	return p.geminiSettings(GeminiDir(p.env, p.home), agent.Gemini.GateLogin.PlaceholderVar, "oauth-personal")
}

// geminiSettings merges the auth type and the folder trust into gemini's
// settings.
func (p *planner) geminiSettings(dir, varName, authType string) error {
	err := p.mergeJSON(varName, filepath.Join(dir, geminiSettings), true, []jsonEdit{
		{path: []string{"security", "auth", "selectedType"}, value: authType},
	})
	if err != nil {
		return err
	}
	trusted := envDir(p.env, agent.GeminiTrustedFoldersVar, "")
	if trusted == "" {
		trusted = filepath.Join(dir, geminiTrust)
	}
	var trust []jsonEdit
	for _, wd := range p.workdirs {
		trust = append(trust, jsonEdit{path: []string{wd}, value: "TRUST_FOLDER"})
	}
	return p.mergeJSON(varName, trusted, true, trust)
}

func withNewline(s string) []byte {
	b := []byte(s)
	if len(b) == 0 || b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return b
}

// validateGemini takes the gate's Google login: an access token gemini
// takes as it is, in GOOGLE_CLOUD_ACCESS_TOKEN with GOOGLE_GENAI_USE_GCA=true.
func (p *planner) validateGemini() []string {
	name := agent.Gemini.GateLogin.PlaceholderVar
	if environ.Get(p.env, agent.GeminiGCAVar) != "true" {
		return nil
	}
	v := environ.Get(p.env, name)
	if v == "" {
		return nil
	}
	if err := agent.Validate(agent.Gemini, agent.APIKey, v); err != nil {
		return []string{name + ": " + strings.TrimPrefix(err.Error(), "API key ")}
	}
	p.creds[name] = v
	return nil
}

// exportGemini gives back {"oauth_creds": <oauth_creds.json>,
// "google_accounts": <google_accounts.json>} (GEMINI_OAUTH_CREDS), without
// google_accounts when its file is missing.
func exportGemini(env []string, home, dir string) (string, error) {
	credsPath := filepath.Join(dir, "oauth_creds.json")
	oc, ok, err := readBack(env, home, credsPath)
	if err != nil || !ok {
		return "", err
	}
	if !gjson.ValidBytes(oc) || !gjson.ParseBytes(oc).IsObject() {
		return "", fmt.Errorf("%s is not a JSON object", credsPath)
	}
	var b strings.Builder
	b.WriteString(`{"oauth_creds":`)
	b.WriteString(strings.TrimSpace(string(oc)))
	accPath := filepath.Join(dir, "google_accounts.json")
	acc, ok, err := readBack(env, home, accPath)
	switch {
	case errors.Is(err, ErrNothing):
	case err != nil:
		return "", err
	case ok && len(strings.TrimSpace(string(acc))) > 0:
		if !gjson.ValidBytes(acc) || !gjson.ParseBytes(acc).IsObject() {
			return "", fmt.Errorf("%s is not a JSON object", accPath)
		}
		b.WriteString(`,"google_accounts":`)
		b.WriteString(strings.TrimSpace(string(acc)))
	}
	b.WriteString("}")
	s := b.String()
	if _, err := agent.ParseGemini(s); err != nil {
		return "", fmt.Errorf("%s: %w", credsPath, err)
	}
	return s, nil
}
