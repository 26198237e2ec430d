// Package store keeps credentials in the host's secret store: the macOS
// Keychain, the Secret Service on Linux, or (only when the user chooses it)
// a plaintext file. It may touch keyrings, D-Bus and the user's config
// folder; nothing in the container ever imports it.
//
// Items are named by agent.Agent.Item ("claude-oidc-token",
// "codex-api-key@work"); each value is an agent.Credential in its JSON form.
// Every backend call is bounded by a timeout, so a hung D-Bus or Keychain
// cannot hang hjk.
package store

import (
	"errors"
	"fmt"
	"time"
)

// Service names hjk's items in every backend: the Keychain's service, the
// Secret Service's "service" attribute.
const Service = "com.headjack"

// ErrNotFound is returned by Get and Delete for an item that is not there.
var ErrNotFound = errors.New("not found")

// Store is a secret store holding opaque values under item names
// (agent.Agent.Item). Values are never logged or put in errors.
type Store interface {
	// Name says which backend this is (Keychain, SecretService, File,
	// Memory), for status output and errors.
	Name() string
	Get(item string) ([]byte, error)
	Set(item string, value []byte) error
	Delete(item string) error
	// List returns the names of every hjk item.
	List() ([]string, error)
}

// Backend names, as HJK_STORE and the config's store key spell them.
const (
	Keychain      = "keychain"
	SecretService = "secret-service"
	File          = "file"
)

// Timeout bounds each call into a keyring. Unlocking may show the user a
// password dialog, so it is generous, but finite.
const Timeout = 30 * time.Second

// errTimeout is wrapped by every timed-out call.
var errTimeout = errors.New("timed out")

// bounded runs f and gives up after d, so a backend that never answers
// cannot hang hjk. f keeps running in the background when it times out; a
// command-line process exits soon after, so nothing accumulates.
func bounded[T any](d time.Duration, what string, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-t.C:
		var zero T
		return zero, fmt.Errorf("%s: %w after %s", what, errTimeout, d)
	}
}
