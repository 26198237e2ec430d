package creds

import (
	"path/filepath"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
)

// gemini writes the OAuth files from GEMINI_OAUTH_CREDS and merges the
// matching auth type and the folder trust into gemini's settings. Gemini
// strips comments from settings.json and trustedFolders.json, so ours keep
// them.
func (p *planner) gemini(creds, key string) error {
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
