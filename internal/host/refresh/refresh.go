// Package refresh brings a login an agent refreshed inside a container back
// into the host's store, and tells when a stored login is about to expire.
//
// Codex's refresh tokens are single-use (claude's normal login too): once
// the agent refreshed in a container, the store's copy is dead, and the next
// session anywhere would fail with "refresh token was already used". So
// after a session, and before a container is stopped, removed or replaced,
// hjk asks hjk-init in the container for the agent's current login
// (`hjk-init export AGENT`) and keeps it when agent.Newer says it is the
// fresher copy of the same login.
//
// It may read and write the store; it reaches the container only through
// the Exporter it is given, and never prints or logs a credential: the
// exported value lives in memory only.
package refresh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// ErrNothing is what an Exporter returns when hjk-init found no login in
// the agent's files (its exit status 3).
var ErrNothing = errors.New("no login in the container")

// ExitNothing is hjk-init export's exit status for "nothing to export".
const ExitNothing = 3

// Exporter runs `hjk-init export AGENT` in the container and returns what
// it printed, or ErrNothing.
type Exporter func(ctx context.Context, a agent.Agent) ([]byte, error)

// Outcome says what Take did.
type Outcome int

const (
	// Skipped: no exec was made (no subscription login handed to this
	// agent, or an agent whose login never rotates).
	Skipped Outcome = iota
	// Unchanged: the container's copy is not newer than the store's.
	Unchanged
	// Updated: the store now holds the container's copy.
	Updated
)

// Rotates reports whether a's subscription login can change inside a
// container, which is when reading it back is worth an exec (the row's
// Login.Rotates). Claude's setup-token never rotates and is not written to
// disk.
func Rotates(a agent.Agent) bool { return a.Login.Rotates }

// Take reads agent a's login back through export and stores it for account
// when it is newer than the stored one. It runs export only when the store
// hands a subscription login to a for account (an API key never changes).
// The stored capture time is kept, so a later `hjk auth --api-key` still
// wins over a refreshed login as it did over the captured one.
//
// lock (nil: none) is held from reloading the stored login, just before
// comparing, to saving: the export can take long, and another hjk may have
// stored a newer copy meanwhile.
func Take(ctx context.Context, st store.Store, lock Lock, a agent.Agent, account string, export Exporter, now time.Time) (Outcome, error) {
	if !Rotates(a) {
		return Skipped, nil
	}
	stored, err := store.LoadCredential(st, a, account)
	if errors.Is(err, store.ErrNotFound) {
		return Skipped, nil
	}
	if err != nil {
		return Skipped, err
	}
	if stored.Kind != agent.Subscription {
		return Skipped, nil
	}
	out, err := export(ctx, a)
	if errors.Is(err, ErrNothing) {
		return Unchanged, nil
	}
	if err != nil {
		return Unchanged, fmt.Errorf("read the %s login back from the container: %w", a.Name, err)
	}
	cand := agent.Credential{Kind: agent.Subscription, Secret: strings.TrimSpace(string(out)), CapturedAt: stored.CapturedAt}
	if err := Check(a, stored, cand, now); err != nil {
		return Unchanged, err
	}
	if lock != nil {
		unlock, err := lock()
		if err != nil {
			return Unchanged, err
		}
		defer unlock()
	}
	// Compare with the store as it is now, not as it was before the export.
	stored, err = store.LoadCredential(st, a, account)
	if errors.Is(err, store.ErrNotFound) {
		return Unchanged, nil // removed meanwhile: not brought back
	}
	if err != nil {
		return Unchanged, err
	}
	if stored.Kind != agent.Subscription {
		return Unchanged, nil
	}
	cand.CapturedAt = stored.CapturedAt
	if !SameLogin(a, stored, cand) || !agent.Newer(a, stored, cand) {
		return Unchanged, nil
	}
	if err := store.SaveCredential(st, a, account, cand); err != nil {
		return Unchanged, err
	}
	return Updated, nil
}

// MaxLogin is the largest login hjk takes back: one it can hand over again
// in a process environment (hjk-init's hand-over, the agents' variables).
const MaxLogin = 32 << 10

// Skew is how far ahead of the host's clock a time in a login may be.
const Skew = 5 * time.Minute

// Check refuses a login read back from a container that hjk must not
// store: one it could not hand over again (malformed, or over MaxLogin),
// one of another or of no known account, one whose times lie in the future
// (a forged last_refresh in the year 9999 would win every later
// comparison). Errors never quote the value.
func Check(a agent.Agent, stored, cand agent.Credential, now time.Time) error {
	if len(cand.Secret) > MaxLogin {
		return fmt.Errorf("the %s login read back from the container is larger than %d bytes: not taken", a.Name, MaxLogin)
	}
	if err := agent.Validate(a, cand.Kind, cand.Secret); err != nil {
		return fmt.Errorf("the %s login read back from the container is not valid: %w", a.Name, err)
	}
	if !SameLogin(a, stored, cand) {
		return fmt.Errorf("the %s login read back from the container is not of the stored account: not taken", a.Name)
	}
	in := agent.Describe(a, cand)
	late := now.Add(Skew)
	if !in.Refreshed.IsZero() && in.Refreshed.After(late) {
		return fmt.Errorf("the %s login read back from the container says it was refreshed in the future (%s): not taken", a.Name, in.Refreshed.Format(time.RFC3339))
	}
	if max := a.Login.MaxLife; max > 0 && in.Expires.After(late.Add(max)) {
		return fmt.Errorf("the %s login read back from the container expires later than a refresh can make it (%s): not taken", a.Name, in.Expires.Format(time.RFC3339))
	}
	return nil
}

// SameLogin reports whether candidate is the same login as stored: the
// same account (the row's Login.Account: codex's account_id, gemini's
// active account), both present. A container can hold another account's
// files, or forge its own, and those must never land under this account.
func SameLogin(a agent.Agent, stored, candidate agent.Credential) bool {
	path := a.Login.Account
	if path == "" {
		return false
	}
	s, c := gjson.Get(stored.Secret, path).String(), gjson.Get(candidate.Secret, path).String()
	return s != "" && s == c
}

// Soon is how far ahead Expiry warns.
const Soon = 24 * time.Hour

// Expiry says, when c expires before now+Soon, how: "expired 3h ago" or
// "expires in 5h". It is "" for a login that tells no expiry or expires
// later.
func Expiry(a agent.Agent, c agent.Credential, now time.Time) string {
	in := agent.Describe(a, c)
	exp := in.Expires
	// An access token that the agent renews with its refresh token runs out
	// every hour: warning about it would be noise on every run.
	if in.Renews || exp.IsZero() || exp.After(now.Add(Soon)) {
		return ""
	}
	if !exp.After(now) {
		return "expired " + span(now.Sub(exp)) + " ago (" + exp.UTC().Format(time.RFC3339) + ")"
	}
	return "expires in " + span(exp.Sub(now)) + " (" + exp.UTC().Format(time.RFC3339) + ")"
}

// span is a duration as people say it: "40m", "5h", "3d".
func span(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", max(1, int(d/time.Minute)))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}
