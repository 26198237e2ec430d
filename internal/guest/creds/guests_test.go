package creds

import (
	"testing"

	"github.com/hjk-dev/hjk/internal/agent"
)

// TestEveryAgentWritten holds the table to agent.All(): an agent added to
// the contract without a writer here, or an entry left for an agent that
// is gone, fails.
func TestEveryAgentWritten(t *testing.T) {
	for _, a := range agent.All() {
		if g, ok := guests[a.Name]; !ok || g.write == nil || g.export == nil {
			t.Errorf("%s has no writer or export in the container", a.Name)
		}
	}
	if len(guests) != len(agent.All()) {
		t.Errorf("%d guests for %d agents", len(guests), len(agent.All()))
	}
}
