// Package store keeps credentials in the host's secret store: the macOS
// Keychain, the Secret Service on Linux, or (only when the user chooses it)
// a plaintext file. It may touch keyrings, D-Bus and the user's config
// folder; nothing in the container ever imports it.
package store

import "errors"

// Service names hjk's items in every backend.
const Service = "com.headjack"

// ErrNotFound is returned by Get and Delete for an item that is not there.
var ErrNotFound = errors.New("not found")

// Store is a secret store holding opaque values under item names
// (agent.Agent.Item). Values are never logged or put in errors.
type Store interface {
	// Name says which backend this is, for status output and errors.
	Name() string
	Get(item string) ([]byte, error)
	Set(item string, value []byte) error
	Delete(item string) error
	// List returns the names of every hjk item.
	List() ([]string, error)
}
