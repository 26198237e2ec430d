package store

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
)

// NotConfiguredError says an agent has no credential for an account;
// Command names the hjk command that captures one, for the CLI to offer.
// It wraps ErrNotFound.
type NotConfiguredError struct {
	Agent   string
	Account string
	Kind    agent.Kind // "" when neither kind was found
}

func (e *NotConfiguredError) Error() string {
	what := "auth"
	if e.Kind == agent.APIKey {
		what = "API key"
	}
	return fmt.Sprintf("%s %s not configured", e.Agent, what)
}

// Command is the hjk command that captures the missing credential.
func (e *NotConfiguredError) Command() string {
	cmd := "hjk auth " + e.Agent
	if e.Account != "" {
		cmd += " --account " + e.Account
	}
	if e.Kind == agent.APIKey {
		cmd += " --api-key"
	}
	return cmd
}

func (e *NotConfiguredError) Unwrap() error { return ErrNotFound }

// LoadCredential returns the credential hjk hands to agent a for account
// ("" is the default account). When both a subscription login and an API key
// are stored, the one captured most recently wins: the last `hjk auth` a
// user ran is the one they meant. Neither stored gives a
// *NotConfiguredError naming the command to run.
func LoadCredential(s Store, a agent.Agent, account string) (agent.Credential, error) {
	var found []agent.Credential
	for _, k := range []agent.Kind{agent.Subscription, agent.APIKey} {
		c, err := LoadKind(s, a, k, account)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return agent.Credential{}, err
		}
		found = append(found, c)
	}
	switch len(found) {
	case 0:
		return agent.Credential{}, &NotConfiguredError{Agent: a.Name, Account: account}
	case 1:
		return found[0], nil
	}
	if found[1].CapturedAt.After(found[0].CapturedAt) {
		return found[1], nil
	}
	return found[0], nil
}

// LoadKind returns the credential of kind k for account, or a
// *NotConfiguredError.
func LoadKind(s Store, a agent.Agent, k agent.Kind, account string) (agent.Credential, error) {
	item := a.Item(k, account)
	b, err := s.Get(item)
	if errors.Is(err, ErrNotFound) {
		return agent.Credential{}, &NotConfiguredError{Agent: a.Name, Account: account, Kind: k}
	}
	if err != nil {
		return agent.Credential{}, fmt.Errorf("read %s from %s: %w", item, s.Name(), err)
	}
	c, err := agent.UnmarshalCredential(b)
	if err != nil {
		// The older design kept the bare secret under the same item
		// names: take it as it is, when it is a valid one, so a user's
		// existing logins keep working. It carries no capture time.
		if agent.Validate(a, k, string(b)) == nil {
			return agent.Credential{Kind: k, Secret: string(b)}, nil
		}
		return agent.Credential{}, fmt.Errorf("%s in %s: %w", item, s.Name(), err)
	}
	if c.Kind != k {
		return agent.Credential{}, fmt.Errorf("%s in %s holds a %s credential, not %s", item, s.Name(), c.Kind, k)
	}
	return c, nil
}

// SaveCredential validates c for agent a and stores it under its item for
// account. A zero CapturedAt is set to now. Nothing is stored when the
// payload is not valid.
func SaveCredential(s Store, a agent.Agent, account string, c agent.Credential) error {
	if err := agent.CheckAccount(account); err != nil {
		return err
	}
	if c.Kind != agent.Subscription && c.Kind != agent.APIKey {
		return fmt.Errorf("unknown credential kind %q", c.Kind)
	}
	if err := agent.Validate(a, c.Kind, c.Secret); err != nil {
		return fmt.Errorf("%s %s: %w", a.Name, c.Kind, err)
	}
	if c.CapturedAt.IsZero() {
		c.CapturedAt = time.Now()
	}
	c.CapturedAt = c.CapturedAt.UTC().Truncate(time.Second)
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	item := a.Item(c.Kind, account)
	if err := s.Set(item, b); err != nil {
		return fmt.Errorf("save %s in %s: %w", item, s.Name(), err)
	}
	return nil
}

// DeleteCredential removes the credential of kind k for account. A missing
// one is a *NotConfiguredError.
func DeleteCredential(s Store, a agent.Agent, k agent.Kind, account string) error {
	item := a.Item(k, account)
	err := s.Delete(item)
	if errors.Is(err, ErrNotFound) {
		return &NotConfiguredError{Agent: a.Name, Account: account, Kind: k}
	}
	if err != nil {
		return fmt.Errorf("delete %s from %s: %w", item, s.Name(), err)
	}
	return nil
}

// Entry is one stored credential, for listings.
type Entry struct {
	Agent      agent.Agent
	Kind       agent.Kind
	Account    string
	Credential agent.Credential // zero when Err is set
	Err        error            // the item exists but could not be read
}

// ListCredentials returns every hjk credential in s, in agent order, then
// account, then kind. Items hjk does not know are skipped; an item it
// cannot read is listed with its error, so a status shows it rather than
// hiding it.
func ListCredentials(s Store) ([]Entry, error) {
	items, err := s.List()
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.Name(), err)
	}
	order := map[string]int{}
	for i, a := range agent.All() {
		order[a.Name] = i
	}
	var es []Entry
	for _, item := range items {
		a, k, account, ok := agent.ParseItem(item)
		if !ok {
			continue
		}
		e := Entry{Agent: a, Kind: k, Account: account}
		e.Credential, e.Err = LoadKind(s, a, k, account)
		if errors.Is(e.Err, ErrNotFound) {
			continue // deleted since List
		}
		es = append(es, e)
	}
	sort.SliceStable(es, func(i, j int) bool {
		x, y := es[i], es[j]
		if x.Agent.Name != y.Agent.Name {
			return order[x.Agent.Name] < order[y.Agent.Name]
		}
		if x.Account != y.Account {
			return x.Account < y.Account
		}
		return x.Kind == agent.Subscription && y.Kind != agent.Subscription
	})
	return es, nil
}
