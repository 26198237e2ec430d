package store

import (
	"fmt"
	"io"
	"runtime"
	"strings"
)

// Names lists the backends a user may choose, for errors and help.
func Names() []string { return []string{Keychain, SecretService, File} }

// Options is what Open needs to know beyond the environment.
type Options struct {
	Getenv func(string) string
	// Configured is the config file's `store` value ("" when unset).
	Configured string
	// ConfigDir is hjk's config folder, $XDG_CONFIG_HOME/hjk, where the
	// file store keeps its file.
	ConfigDir string
	// Warn receives the file store's plaintext warning (stderr).
	Warn io.Writer
}

// EnvVar chooses the store, overriding the config file.
const EnvVar = "HJK_STORE"

// Choose names the backend to use: HJK_STORE, then the config file's
// `store`, else the OS's own (Keychain on macOS, the Secret Service
// elsewhere). There is never a fallback from one to another: a keyring that
// does not answer is an error, not a reason to write a plaintext file.
func Choose(getenv func(string) string, configured string) (string, error) {
	name, from := getenv(EnvVar), EnvVar
	if name == "" {
		name, from = configured, "the config file's store"
	}
	if name == "" {
		if runtime.GOOS == "darwin" {
			return Keychain, nil
		}
		return SecretService, nil
	}
	for _, n := range Names() {
		if name == n {
			return name, nil
		}
	}
	return "", fmt.Errorf("unknown store %q in %s (valid: %s)", name, from, strings.Join(Names(), ", "))
}

// Open opens the chosen backend. Keyrings are connected lazily: opening
// never blocks, the first call reports a keyring that is locked or absent.
func Open(o Options) (Store, error) {
	name, err := Choose(o.Getenv, o.Configured)
	if err != nil {
		return nil, err
	}
	switch name {
	case Keychain:
		return openKeychain()
	case SecretService:
		return NewSecretService(o.Getenv), nil
	default:
		if o.ConfigDir == "" {
			return nil, fmt.Errorf("file store: no config folder (set XDG_CONFIG_HOME or HOME)")
		}
		return NewFile(o.ConfigDir, o.Warn), nil
	}
}
