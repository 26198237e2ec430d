// Package session is the contract between hjk and hjk-init about sessions
// that outlive the terminal: where a session's log and state live, the
// state file's format, valid names and the detach-key syntax. It holds no
// OS code, so both sides (and the static hjk-init) can use it.
//
// A session is one agent process held by hjk-init's session server inside
// the container, on a PTY. Its files, in GuestDir on the instance's data
// volume (so they outlive the container, and never sit in a folder of the
// host's):
//
//	NAME.log   everything the session wrote to its terminal, raw
//	NAME.json  its State, rewritten atomically on every change
//
// hjk reads them through `hjk-init session list --json` and `session log`,
// with sizes capped, and treats what they say as the container's claim.
package session

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// GuestDir is the sessions' folder in an instance's container, on its data
// volume (layout.SessionsDir).
const GuestDir = "/.hjk/data/sessions"

// Variables that move the guest's folders (tests, and images that want
// them elsewhere): DirVar the logs and state (default GuestDir when the
// data volume is there, else RunDir), RunVar the sockets (default RunDir).
const (
	DirVar = "HJK_SESSION_DIR"
	RunVar = "HJK_SESSION_RUN"
	RunDir = "/tmp/.hjk-sessions"
)

// States of a session.
const (
	Running = "running"
	Exited  = "exited"
	// Lost: recorded as running, but its container went away or was made
	// anew without the server recording the end (docker kill, rm -f).
	Lost = "lost"
)

// State is a session's NAME.json, written by the session server. Its field
// names are stable: `hjk ps BRANCH --json` prints them.
type State struct {
	Name    string   `json:"name"`
	Command []string `json:"command"`
	PID     int      `json:"pid,omitempty"` // the agent's, in the container
	State   string   `json:"state"`         // Running, Exited or Lost
	// ExitCode is the agent's exit status, 128+N when signal N ended it;
	// set when State is Exited.
	ExitCode int        `json:"exit_code"`
	Started  time.Time  `json:"started"`
	Ended    *time.Time `json:"ended,omitempty"`
	// Attached is when a client last attached: `hjk attach` without a
	// session picks the most recent.
	Attached *time.Time `json:"attached,omitempty"`
}

// LastUsed is when the session was last attached, else started.
func (s State) LastUsed() time.Time {
	if s.Attached != nil && s.Attached.After(s.Started) {
		return *s.Attached
	}
	return s.Started
}

// ExitExists is `session start`'s exit code for a name that a session,
// running or not, already has: hjk then picks the next name.
const ExitExists = 6

// MaxLogTail bounds how far back `session log --tail` reads: a log the agent
// made huge (or sparse) is never read whole.
const MaxLogTail = 8 << 20

// LogFile and StateFile are a session's file names in its folder.
func LogFile(name string) string   { return name + ".log" }
func StateFile(name string) string { return name + ".json" }

// CheckName accepts what is safe as a file and socket name and easy to
// type: 1 to 40 of [A-Za-z0-9_.-], not starting with '.' or '-'.
func CheckName(name string) error {
	if name == "" || len(name) > 40 {
		return fmt.Errorf("session name %q: 1 to 40 characters", name)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || (i > 0 && (r == '.' || r == '-'))
		if !ok {
			return fmt.Errorf("session name %q: only letters, digits, '_', and '.' or '-' after the first", name)
		}
	}
	return nil
}

// DefaultDetachKeys is Ctrl-B then d, as in tmux.
const DefaultDetachKeys = "ctrl-b,d"

// DetachVar overrides the default detach keys (as --detach-keys does).
const DetachVar = "HJK_DETACH_KEYS"

// ParseDetachKeys reads docker's syntax for a key sequence: keys separated
// by commas, each a single character or ctrl-X for X one of a-z, @, [, \,
// ], ^, _ (ctrl-a is 0x01). Example: "ctrl-b,d", "ctrl-p,ctrl-q".
func ParseDetachKeys(spec string) ([]byte, error) {
	if spec == "" {
		return nil, errors.New("detach keys: empty (example: ctrl-b,d)")
	}
	var seq []byte
	for _, k := range strings.Split(spec, ",") {
		switch {
		case len(k) == 1 && k[0] >= 0x20 && k[0] < 0x7f:
			seq = append(seq, k[0])
		case len(k) == 6 && strings.EqualFold(k[:5], "ctrl-"):
			c := k[5]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			switch {
			case c >= 'a' && c <= 'z':
				seq = append(seq, c-'a'+1)
			case c >= '@' && c <= '_' && (c < 'A' || c > 'Z'):
				seq = append(seq, c-'@')
			default:
				return nil, fmt.Errorf("detach keys %q: no ctrl-%c (use a-z, @, [, \\, ], ^ or _)", spec, k[5])
			}
		default:
			return nil, fmt.Errorf("detach keys %q: %q is neither one character nor ctrl-X (example: ctrl-b,d)", spec, k)
		}
	}
	if len(seq) > 8 {
		return nil, fmt.Errorf("detach keys %q: at most 8 keys", spec)
	}
	return seq, nil
}

// MaxStateSize bounds a state file: the session server writes none larger
// (a command too long to fit is shortened in it), and readers on both
// sides read no more, so a file planted in the folder cannot make them
// read without end.
const MaxStateSize = 64 << 10
