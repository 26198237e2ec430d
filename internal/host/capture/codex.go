package capture

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/hjk-dev/hjk/internal/agent"
)

// codexCapture is codex's entry in captures (agents_gen.go).
var codexCapture = Capture{Login: codex, TakesArgs: true}

// codex runs `codex login` (the arguments after -- go to it, e.g.
// --device-auth) and reads the auth.json it leaves. A codex that keeps
// its login in a keyring is refused before the login, not after.
func codex(e Env) (string, error) {
	if err := CheckCodexStore(e.Getenv); err != nil {
		return "", err
	}
	if _, err := e.Run(append([]string{"login"}, e.Args...)...); err != nil {
		return "", err
	}
	return CodexAuth(e.Getenv)
}

// CodexAuth reads codex's auth.json after a login. When there is none
// because codex keeps its login in a keyring, the error says how to make
// it use the file.
func CodexAuth(getenv func(string) string) (string, error) {
	dir, err := Dir(getenv, agent.Codex)
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
	dir, err := Dir(getenv, agent.Codex)
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
