// Package agent is the contract between hjk on the host and hjk-init in the
// container: which agents exist, the environment variables that carry their
// credentials across the container boundary, the names those credentials are
// stored under, and the shape of each payload.
//
// It holds no OS code (no files, no processes, no keyrings), so both sides can
// import it and hjk-init stays small and static.
//
// # Adding an agent
//
// Everything that is data about an agent (its variables, store items,
// prompt flag, home, npm package and pinned version, minimum node, the JSON
// paths of its login's account, tokens and expiry, whether it rotates, its
// refresh client, its gate routes and placeholders) is its row, an Agent in
// a file of its own with its payload's validation; behaviour lives in one
// host file and one guest file. A new agent touches four files:
//
//	internal/agent/<name>.go              new: the row (and ParseX of its payload)
//	internal/agent/agent.go               one entry in All
//	internal/host/capture/<name>.go       new: taking its login on the host (<name>Capture)
//	internal/guest/creds/<name>.go        new: its files in the container, export,
//	                                      and its variables' docs (<name>Guest)
//
// then `make generate` (go run ./internal/gen, then hjk __docs) writes the
// rest from them: both sides' tables of agents (capture's captures and
// creds' guests, agents_gen.go), the tables of agents in README.md,
// images/README.md and internal/guest/shim/README.md, the docs (docs/cli,
// docs/man) and images/agents/agents.txt, the list of CLIs that the agent
// image's Dockerfile, .ci/install and scripts/test-images read. Tests hold
// the generated files to the rows (internal/gen's TestTablesCurrent and
// TestReadmesCurrent, cli's TestDocsCurrent, TestAgentListCurrent), every
// row to being filled in (TestRowsComplete), and the READMEs to the code
// (internal/guest/shim's TestReadme*). Nothing else lists the agents: the
// gate's keeper, hjk's refresh, runner, doctor and gateconf read the row,
// hjk-init's Files and IsLogin the guests' files. Two special cases of one
// agent remain outside its files: gate/wire refuses claude's claudeAiOauth
// login, gateconf builds codex's placeholder auth.json.
package agent

import (
	"fmt"
	"strings"
	"time"
)

// Kind says how an agent authenticates.
type Kind string

const (
	// Subscription is the agent's own login (OAuth token or files).
	Subscription Kind = "subscription"
	// APIKey is a plain provider API key.
	APIKey Kind = "api-key"
)

// Agent describes one agent CLI on both sides of the boundary: everything
// that is data about it. Its behaviour (capturing a login on the host,
// writing its files in the container) lives in one host file and one guest
// file of its own (see the package doc).
type Agent struct {
	Name    string // "claude", "gemini", "codex": what users type
	Command string // the CLI started in the container

	// SubscriptionVar and APIKeyVar carry the credential into the container.
	// These names are a published interface: image authors set them by hand.
	SubscriptionVar string
	APIKeyVar       string

	// SubscriptionItem and APIKeyItem name the credential in the host's
	// secret store, as the older design named them.
	SubscriptionItem string
	APIKeyItem       string

	// Scrub lists the variables hjk-init removes from the agent's
	// environment once the files carry their content. The variables the
	// agent reads itself stay.
	Scrub []string

	// PromptFlag comes before a first prompt that starts an interactive
	// session ("": the prompt is the last argument by itself).
	PromptFlag string

	// Home is where the agent keeps its files.
	Home Home

	// Package is the npm package of the CLI, Version the version hjk's
	// image pins (images/agents/agents.txt is made from these); MinNode
	// the oldest node major it runs on (0: the CLI is no node script, or
	// needs none).
	Package string
	Version string
	MinNode int

	// Login is the shape of the subscription login's payload.
	Login Login

	// GateLogin and GateKey are how its subscription login and its API
	// key reach the API through the credential gate (gate.go).
	GateLogin, GateKey GateRoute

	// Placeholder and KeyPlaceholder start the placeholders the gate
	// hands the agent for its login and its API key ("": the generic
	// "hjk-placeholder-"), so they look like what the CLI expects.
	Placeholder, KeyPlaceholder string
}

// Home is an agent's folder, as its CLI finds it: $Var/Sub when Var is
// set, else ~/Dir ("" is the home itself).
type Home struct {
	Var, Sub, Dir string
}

// Login describes an agent's subscription payload (the transport format
// of SubscriptionVar) by its JSON paths ("": the payload has none), and how
// the login is refreshed. A zero Login is an opaque token that never
// changes.
type Login struct {
	// Validate checks a payload; errors name what is wrong, never the
	// value. Every agent has one.
	Validate func(secret string) error

	// Lifetime is how long a login that tells no expiry is good for from
	// its capture (claude's setup-token).
	Lifetime time.Duration

	// Access is the access token the gate hands out ("": the payload is
	// the token); Refresh the refresh token; Key an API key some payloads
	// hold instead of a login.
	Access, Refresh, Key string
	// Expiry holds the access token's expiry in Unix milliseconds;
	// ExpiryJWT a JWT whose exp is the login's expiry. The access token's
	// own exp, when it is a JWT, tells the gate when it runs out.
	Expiry, ExpiryJWT string
	// Refreshed holds an RFC 3339 time of the last refresh; RefreshAge is
	// how old that may be when the access token tells no expiry.
	Refreshed  string
	RefreshAge time.Duration
	// Account names the account (compared before a login read back from
	// a container is stored); IDToken is a JWT whose email claim stands
	// for it when Account is absent.
	Account, IDToken string

	// Rotates says the login can change inside a container (the agent
	// refreshes it), so hjk reads it back after a session.
	Rotates bool
	// SingleUse says a refresh token works once: the gate never sends one
	// twice.
	SingleUse bool
	// MaxLife is the longest a refresh makes a login live ("": no limit):
	// a copy read back that expires later is refused.
	MaxLife time.Duration

	// The refresh request the gate sends to GateLogin.TokenURL: the CLI's
	// own public OAuth client, as a form (else JSON), with the reason
	// (refresh_reason) when SendReason.
	ClientID, ClientSecret string
	Form, SendReason       bool
	// Answer lists the fields of the token endpoint's answer copied into
	// the payload beside the access token, under the object Tokens;
	// JWTFields must be JWTs to be taken.
	Tokens    string
	Answer    []string
	JWTFields []string
}

// All returns every agent, in the order they are listed to users: the
// explicit table of agents (no registration at init time), and the first
// is the default.
func All() []Agent { return []Agent{Claude, Gemini, Codex} }

// Names returns the agents' names, for usage text and completion.
func Names() []string {
	var n []string
	for _, a := range All() {
		n = append(n, a.Name)
	}
	return n
}

// Lookup finds an agent by name.
func Lookup(name string) (Agent, error) {
	for _, a := range All() {
		if a.Name == name {
			return a, nil
		}
	}
	return Agent{}, fmt.Errorf("unknown agent %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Var returns the variable that carries a credential of kind k.
func (a Agent) Var(k Kind) string {
	if k == APIKey {
		return a.APIKeyVar
	}
	return a.SubscriptionVar
}

// Vars returns every variable that may carry this agent's credential.
func (a Agent) Vars() []string { return []string{a.SubscriptionVar, a.APIKeyVar} }

// Item returns the store item name of a credential of kind k for an account.
// The default account ("") uses the bare name; a named account adds
// "@name", so "claude-oidc-token@work".
func (a Agent) Item(k Kind, account string) string {
	base := a.SubscriptionItem
	if k == APIKey {
		base = a.APIKeyItem
	}
	if account == "" {
		return base
	}
	return base + "@" + account
}

// ParseItem is the inverse of Item: it names the agent, kind and account an
// item name stands for.
func ParseItem(item string) (Agent, Kind, string, bool) {
	base, account, _ := strings.Cut(item, "@")
	for _, a := range All() {
		switch base {
		case a.SubscriptionItem:
			return a, Subscription, account, true
		case a.APIKeyItem:
			return a, APIKey, account, true
		}
	}
	return Agent{}, "", "", false
}

// CheckAccount validates an account name: short, and safe in an item name,
// a container label and a file name.
func CheckAccount(name string) error {
	if name == "" {
		return nil
	}
	if len(name) > 64 {
		return fmt.Errorf("account name %q is longer than 64 characters", name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("account name %q: use only letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}
