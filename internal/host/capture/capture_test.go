package capture

import (
	"testing"

	"github.com/hjk-dev/hjk/internal/agent"
)

// TestEveryAgentCaptured holds the table to agent.All(): an agent added to
// the contract without a capture here, or a capture left for an agent
// that is gone, fails.
func TestEveryAgentCaptured(t *testing.T) {
	for _, a := range agent.All() {
		if c, ok := For(a); !ok || c.Login == nil {
			t.Errorf("%s has no capture on the host", a.Name)
		}
	}
	if len(captures) != len(agent.All()) {
		t.Errorf("%d captures for %d agents", len(captures), len(agent.All()))
	}
}
