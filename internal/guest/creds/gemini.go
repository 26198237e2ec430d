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

// geminiGuest is gemini's entry in guests (agents_gen.go).
func geminiGuest() guest {
	return guest{
		write:      (*planner).gemini,
		validate:   (*planner).validateGemini,
		export:     exportGemini,
		exportFrom: "`{\"oauth_creds\": ..., \"google_accounts\": ...}` from `.gemini/oauth_creds.json` and `google_accounts.json` (optional)",
		files: []file{
			{name: geminiCreds, login: true, holds: "the payload's `oauth_creds`"},
			{name: geminiAccounts, login: true, holds: "the payload's `google_accounts`, when it has them"},
			{name: geminiSettings, holds: "`security.auth.selectedType`: `oauth-personal` for a login, `gemini-api-key` for a key"},
			{name: geminiTrust, holds: "the work folder trusted (or in the file `$" + agent.GeminiTrustedFoldersVar + "` names)"},
		},
		vars: []Variable{
			{Name: agent.Gemini.SubscriptionVar, ReadBy: "run, doctor", Meaning: "gemini's login: `{\"oauth_creds\": {...}, \"google_accounts\": {...}}` from `~/.gemini/`, written to its files, then scrubbed"},
			{Name: agent.Gemini.APIKeyVar, ReadBy: "run, doctor", Meaning: "gemini's API key: `settings.json` selects it (gemini reads the key itself)"},
			{Name: agent.Gemini.GateLogin.PlaceholderVar, ReadBy: "run", Meaning: "with `" + agent.GeminiGCAVar + "=true` and neither gemini variable above, the credential gate's form of a Google login: `settings.json` selects `oauth-personal`, which interactive gemini needs (gemini reads the token itself)"},
			{Name: agent.GeminiGCAVar, ReadBy: "run", Meaning: "`true`: `" + agent.Gemini.GateLogin.PlaceholderVar + "` is a Google login"},
			{Name: agent.Gemini.Home.Var, ReadBy: "run, export, doctor", Meaning: "the folder holding gemini's `.gemini` instead of the home"},
			{Name: agent.GeminiTrustedFoldersVar, ReadBy: "run", Meaning: "gemini's folder trust file instead of `.gemini/trustedFolders.json`"},
			{Name: agent.GeminiKeychainVar, ReadBy: "run", Meaning: "when `true` and a login is written, a warning: gemini would move `oauth_creds.json` into a keychain and delete it"},
		},
	}
}

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
