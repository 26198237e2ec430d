package runner

import (
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/refresh"
)

// Event is something the Runner did or found, for the CLI to word. The
// CLI decides which it shows (some only with -v) and how.
type Event any

// Acted: Ensure had to create, start or restore the instance.
type Acted struct {
	Instance instance.Instance
	Action   instance.Action
}

// Switched: the instance moved to another account.
type Switched struct{ Branch, From, To string }

// ImageDiffers: the request named another image than the instance runs.
type ImageDiffers struct{ Branch, Have, Want string }

// Expiring: the login handed to a session has expired or will soon.
type Expiring struct{ Agent, Account, When string }

// Detached: a session started in the background.
type Detached struct{ Branch, Session string }

// Pulled: commits came back from the instance (or were kept aside).
type Pulled struct {
	Instance instance.Instance
	Result   instance.PullResult
}

// Pushed: the host's commits reached the instance, or could not.
type Pushed struct {
	Instance instance.Instance
	Result   instance.PushResult
}

// LoginTaken: a refreshed login was read back (Outcome says whether it was
// stored), or could not be (Err).
type LoginTaken struct {
	Agent, Account, Branch string
	Outcome                refresh.Outcome
	Err                    error
}

// Failed: a step after the session (a pull, a push) failed; the session's
// own status is still what the command returns.
type Failed struct {
	Branch, Step string
	Err          error
}
