package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
)

// home returns the folder an agent keeps its files in: $envVar/sub when the
// variable is set (sub "" for codex, whose variable names the folder
// itself), else ~/sub.
func home(getenv func(string) string, envVar, sub, fallback string) (string, error) {
	if d := getenv(envVar); d != "" {
		return filepath.Join(d, sub), nil
	}
	h := getenv("HOME")
	if h == "" {
		return "", fmt.Errorf("HOME is not set")
	}
	return filepath.Join(h, fallback), nil
}

// GeminiDir is gemini's folder: $GEMINI_CLI_HOME/.gemini, else ~/.gemini.
func GeminiDir(getenv func(string) string) (string, error) {
	return home(getenv, agent.GeminiHomeVar, ".gemini", ".gemini")
}

// CodexDir is codex's folder: $CODEX_HOME, else ~/.codex.
func CodexDir(getenv func(string) string) (string, error) {
	return home(getenv, agent.CodexHomeVar, "", ".codex")
}

// LoginError says a login is missing or unusable on the host, and what to
// run to make one.
type LoginError struct {
	Err  error
	Hint string
}

func (e *LoginError) Error() string { return e.Err.Error() }
func (e *LoginError) Unwrap() error { return e.Err }

// readJSON reads a JSON object from path, compacted. Errors never quote the
// content: it is a credential.
func readJSON(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(b) || !gjson.ParseBytes(b).IsObject() {
		return nil, fmt.Errorf("%s is not a JSON object", path)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON", path)
	}
	return c.Bytes(), nil
}

// Gemini reads the host's gemini login (oauth_creds.json, which must hold a
// refresh_token, and google_accounts.json if there is one) and returns the
// GEMINI_OAUTH_CREDS payload: {"oauth_creds": ..., "google_accounts": ...}.
func Gemini(getenv func(string) string) (string, error) {
	dir, err := GeminiDir(getenv)
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

// CodexAuth reads codex's auth.json after a login. When there is none
// because codex keeps its login in a keyring, the error says how to make
// it use the file.
func CodexAuth(getenv func(string) string) (string, error) {
	dir, err := CodexDir(getenv)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "auth.json")
	b, err := readJSON(path)
	if errors.Is(err, fs.ErrNotExist) {
		cfg := filepath.Join(dir, "config.toml")
		if mode := codexStoreMode(cfg); mode != "file" {
			setting := "is not set (codex then chooses itself)"
			if mode != "" {
				setting = fmt.Sprintf("is %q", mode)
			}
			return "", &LoginError{
				Err:  fmt.Errorf("codex left no %s: its cli_auth_credentials_store %s, so it may keep the login in a keyring hjk cannot read", path, setting),
				Hint: fmt.Sprintf("Add this line to %s, then run 'hjk auth codex' again:\n  cli_auth_credentials_store = \"file\"", cfg),
			}
		}
		return "", &LoginError{Err: fmt.Errorf("codex left no %s", path), Hint: "Run 'hjk auth codex' again and finish the login in the browser."}
	}
	if err != nil {
		return "", fmt.Errorf("read codex login: %w", err)
	}
	secret := string(b)
	if err := agent.Validate(agent.Codex, agent.Subscription, secret); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return secret, nil
}

// CheckCodexStore fails early when codex's config.toml says it keeps its
// login in a keyring: the login would leave hjk nothing to read.
func CheckCodexStore(getenv func(string) string) error {
	dir, err := CodexDir(getenv)
	if err != nil {
		return err
	}
	cfg := filepath.Join(dir, "config.toml")
	if mode := codexStoreMode(cfg); mode == "keyring" {
		return &LoginError{
			Err:  fmt.Errorf("codex keeps its login in a keyring (cli_auth_credentials_store = \"keyring\" in %s), where hjk cannot read it", cfg),
			Hint: fmt.Sprintf("Set this in %s, then run 'hjk auth codex' again:\n  cli_auth_credentials_store = \"file\"", cfg),
		}
	}
	return nil
}

// codexStoreMode reads cli_auth_credentials_store from codex's config.toml,
// "" when unset or unreadable.
func codexStoreMode(path string) string {
	var c struct {
		Store string `toml:"cli_auth_credentials_store"`
	}
	if _, err := toml.DecodeFile(path, &c); err != nil {
		return ""
	}
	return c.Store
}
