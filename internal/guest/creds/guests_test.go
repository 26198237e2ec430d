package creds

import (
	"slices"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/agent"
)

// TestEveryAgentWritten holds the table to agent.All(): an agent added to
// the contract without a writer here, or an entry left for an agent that
// is gone, fails.
func TestEveryAgentWritten(t *testing.T) {
	gs := guests()
	for _, a := range agent.All() {
		if g, ok := gs[a.Name]; !ok || g.write == nil || g.export == nil {
			t.Errorf("%s has no writer or export in the container", a.Name)
		}
		var written int
		for _, f := range gs[a.Name].files {
			if !f.agentOnly {
				written++
			}
		}
		if written == 0 {
			t.Errorf("%s lists no file it writes", a.Name)
		}
	}
	if len(gs) != len(agent.All()) {
		t.Errorf("%d guests for %d agents", len(gs), len(agent.All()))
	}
}

// TestFileNames holds the guests' files to what IsLogin can tell by name
// alone: a name is a login for every agent or for none, and listed once
// per agent.
func TestFileNames(t *testing.T) {
	login := map[string]bool{}
	for name, g := range guests() {
		seen := map[string]bool{}
		for _, f := range g.files {
			if f.name == "" || strings.Contains(f.name, "/") {
				t.Errorf("%s: file name %q is not a name in its folder", name, f.name)
			}
			if seen[f.name] {
				t.Errorf("%s lists %s twice", name, f.name)
			}
			seen[f.name] = true
			if l, ok := login[f.name]; ok && l != f.login {
				t.Errorf("%s is a login for one agent and not for another: IsLogin cannot tell them apart", f.name)
			}
			login[f.name] = f.login
			if IsLogin(f.name) != f.login {
				t.Errorf("IsLogin(%s) = %v, want %v", f.name, !f.login, f.login)
			}
		}
	}
	if IsLogin("notes.txt") {
		t.Error("IsLogin of a name no guest lists is true")
	}
}

// TestVariablesDocumented holds each guest's variable docs to its row:
// its two variables and its folder's are documented, and the scrubbed
// ones (hjk-init's README says "then scrubbed") are the row's Scrub.
func TestVariablesDocumented(t *testing.T) {
	docs := map[string]Variable{}
	for _, v := range Variables() {
		if _, dup := docs[v.Name]; dup {
			t.Errorf("%s is documented twice", v.Name)
		}
		docs[v.Name] = v
	}
	for _, a := range agent.All() {
		for _, name := range []string{a.SubscriptionVar, a.APIKeyVar, a.Home.Var} {
			if v, ok := docs[name]; !ok || v.Agent != a.Name || v.ReadBy == "" || v.Meaning == "" {
				t.Errorf("%s: %s is not documented as its variable: %+v", a.Name, name, v)
			}
		}
	}
	for _, v := range Variables() {
		a, _ := agent.Lookup(v.Agent)
		if scrubbed := strings.Contains(v.Meaning, "then scrubbed"); scrubbed != slices.Contains(a.Scrub, v.Name) {
			t.Errorf("%s: the docs say scrubbed %v, the row's Scrub %v", v.Name, scrubbed, a.Scrub)
		}
	}
}
