package capture

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
)

// geminiCapture is gemini's entry in captures (agents_gen.go).
var geminiCapture = Capture{Login: gemini}

// gemini's login is taken from the files gemini left after the user logged
// in with it: hjk runs no login of its.
func gemini(e Env) (string, error) { return Gemini(e.Getenv) }

// Gemini reads the host's gemini login (oauth_creds.json, which must hold a
// refresh_token, and google_accounts.json if there is one) and returns the
// GEMINI_OAUTH_CREDS payload: {"oauth_creds": ..., "google_accounts": ...}.
func Gemini(getenv func(string) string) (string, error) {
	dir, err := Dir(getenv, agent.Gemini)
	if err != nil {
		return "", err
	}
	credsPath := filepath.Join(dir, "oauth_creds.json")
	creds, err := readJSON(credsPath)
	if errors.Is(err, fs.ErrNotExist) {
		hint := "Log in with 'gemini' first (choose \"Login with Google\"), then run 'hjk auth gemini' again."
		if getenv("GEMINI_FORCE_ENCRYPTED_FILE_STORAGE") == "true" {
			hint += "\nGEMINI_FORCE_ENCRYPTED_FILE_STORAGE=true makes gemini keep its login in its own keychain: unset it and log in again."
		}
		return "", &LoginError{Err: fmt.Errorf("no gemini login on this machine: %s does not exist", credsPath), Hint: hint}
	}
	if err != nil {
		return "", fmt.Errorf("read gemini login: %w", err)
	}
	if rt := gjson.GetBytes(creds, "refresh_token"); rt.Type != gjson.String || rt.Str == "" {
		return "", &LoginError{
			Err:  fmt.Errorf("%s has no refresh_token: a container could use it for an hour at most", credsPath),
			Hint: "Log in again with 'gemini' (/auth, \"Login with Google\"), then run 'hjk auth gemini' again.",
		}
	}
	payload := `{"oauth_creds":` + string(creds)
	accPath := filepath.Join(dir, "google_accounts.json")
	acc, err := readJSON(accPath)
	switch {
	case err == nil:
		payload += `,"google_accounts":` + string(acc)
	case errors.Is(err, fs.ErrNotExist):
		// Optional: gemini works without it.
	default:
		return "", fmt.Errorf("read gemini accounts: %w", err)
	}
	payload += "}"
	if err := agent.Validate(agent.Gemini, agent.Subscription, payload); err != nil {
		return "", err
	}
	return payload, nil
}
