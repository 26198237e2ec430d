package creds

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
)

// codex's files in its folder.
const (
	codexAuth    = "auth.json"
	codexConfigF = "config.toml"
)

// codexGuest is codex's entry in guests (agents_gen.go).
func codexGuest() guest {
	return guest{
		write:      (*planner).codex,
		export:     exportCodex,
		exportFrom: "`auth.json` in its folder; the API-key form is not exported",
		files: []file{
			{name: codexAuth, login: true, holds: "the login as it came, unless the file holds a login for the same account that codex refreshed later (its refresh tokens are single-use); for an API key alone, its API-key form"},
			{name: codexConfigF, holds: "`cli_auth_credentials_store = \"file\"`, the work folder trusted"},
		},
		vars: []Variable{
			{Name: agent.Codex.SubscriptionVar, ReadBy: "run, doctor", Meaning: "codex's login: the whole of `auth.json`, then scrubbed"},
			{Name: agent.Codex.APIKeyVar, ReadBy: "run, doctor", Meaning: "codex's API key: written as the API-key form of `auth.json` when `CODEX_AUTH_JSON` is unset"},
			{Name: agent.Codex.Home.Var, ReadBy: "run, export, doctor", Meaning: "codex's folder instead of `~/.codex`"},
		},
	}
}

// codex writes auth.json, and makes config.toml keep the login in that file
// (any other store may move it into a keyring and delete it) and trust the
// work folder.
func (p *planner) codex(payload, key string) error {
	if payload == "" && key == "" {
		return nil
	}
	dir := CodexDir(p.env, p.home)
	auth := filepath.Join(dir, codexAuth)
	varName := agent.Codex.SubscriptionVar
	if payload != "" {
		keep, err := p.newerCodexLogin(auth, payload)
		if err != nil {
			return err
		}
		if !keep {
			if err := p.replace(varName, auth, withNewline(payload)); err != nil {
				return err
			}
		}
	} else {
		varName = agent.Codex.APIKeyVar
		// What `codex login --with-api-key` writes.
		data, err := json.MarshalIndent(struct {
			Mode string `json:"auth_mode"`
			Key  string `json:"OPENAI_API_KEY"`
		}{"apikey", key}, "", "  ")
		if err != nil {
			return err
		}
		if err := p.replace(varName, auth, append(data, '\n')); err != nil {
			return err
		}
	}

	w, old, exists, err := p.read(varName, filepath.Join(dir, codexConfigF), MaxSettingsFile)
	if err != nil {
		return err
	}
	data, broken, note := codexConfig(old, p.workdirs[0])
	for _, wd := range p.workdirs[1:] {
		// The first pass left valid TOML: later ones find nothing broken.
		var more string
		if data, _, more = codexConfig(data, wd); note == "" {
			note = more
		}
	}
	w.data, w.brokenAside, w.note, w.sync = data, broken, note, len(old) > 0
	p.add(w, exists, old)
	return nil
}

// newerCodexLogin tells whether auth.json already holds a login for the
// payload's account that codex refreshed after the payload was captured.
// Codex's refresh tokens are single-use: replacing that file with the older
// payload would leave codex a dead token.
func (p *planner) newerCodexLogin(path, payload string) (bool, error) {
	_, old, exists, err := p.read(agent.Codex.SubscriptionVar, path, MaxLoginFile)
	if err != nil || !exists {
		return false, err
	}
	if _, err := agent.ParseCodex(string(old)); err != nil {
		return false, nil
	}
	account := func(s string) string { return gjson.Get(s, "tokens.account_id").String() }
	refreshed := func(s string) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, gjson.Get(s, "last_refresh").String())
		return t
	}
	a := account(payload)
	return a != "" && account(string(old)) == a && refreshed(string(old)).After(refreshed(payload)), nil
}

// exportCodex gives back the whole of auth.json (CODEX_AUTH_JSON); not the
// API-key form: the key came from the host and never changes here.
func exportCodex(env []string, home, dir string) (string, error) {
	path := filepath.Join(dir, "auth.json")
	b, ok, err := readBack(env, home, path)
	if err != nil || !ok {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	p, err := agent.ParseCodex(s)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if p.APIKey {
		return "", fmt.Errorf("%w: %s holds an API key, not a login", ErrNothing, path)
	}
	return s, nil
}
