// Package instance manages hjk's instances: one git worktree of one branch
// plus one container, named from the repository and the branch, labelled so
// hjk finds its own, and listed in a catalog under hjk's data folder.
//
// It may run git, read and write files under hjk's data folder, and drive a
// container engine through runtime.Runtime. It knows nothing of secret
// stores: sessions get their credentials from the caller.
package instance

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Labels hjk puts on every container it creates. LabelInstance is the one
// List filters on; the others let a person (or hjk, with a lost catalog)
// tell what a container is for.
const (
	LabelInstance = "dev.hjk.instance" // "1"
	LabelRepo     = "dev.hjk.repo"     // the repository's git dir on the host
	LabelBranch   = "dev.hjk.branch"
	LabelAgent    = "dev.hjk.agent"
	LabelAccount  = "dev.hjk.account"
)

// States an instance can be in besides the engine's own ("running",
// "exited", "created", ...).
const (
	// StateMissing: the catalog holds the instance but its container is
	// gone (removed behind hjk's back). `hjk run` brings it back.
	StateMissing = "missing"
)

// Instance is one catalog entry. Its JSON form is hjk's catalog format and
// the stable output of `hjk ps --json`.
type Instance struct {
	Name     string    `json:"name"`     // container name
	Repo     string    `json:"repo"`     // repository folder (the main worktree, or the bare git dir)
	GitDir   string    `json:"git_dir"`  // the repository's common git dir
	Branch   string    `json:"branch"`   //
	Worktree string    `json:"worktree"` // the branch's worktree, same path inside the container
	Agent    string    `json:"agent"`    // agent of the last session
	Account  string    `json:"account"`  // "" is the default account
	Image    string    `json:"image"`    //
	Runtime  string    `json:"runtime"`  // docker, podman or container
	Created  time.Time `json:"created"`  //
	// State is filled from the engine when the catalog is reconciled; it
	// is not trusted from the file.
	State string `json:"state"`
}

// Key is the name an instance's container and worktree folder share:
// readable (repository and branch, sanitised) and unique (a hash of the git
// dir and the exact branch name, so "a/b" and "a-b" differ).
func Key(gitDir, repoName, branch string) string {
	sum := sha256.Sum256([]byte(gitDir + "\x00" + branch))
	h := hex.EncodeToString(sum[:])[:8]
	r := sanitise(repoName, 20)
	b := sanitise(branch, 30)
	return r + "-" + b + "-" + h
}

// ContainerName is the container's name for a key.
func ContainerName(key string) string { return "hjk-" + key }

// sanitise keeps what a container name and a file name both accept
// ([a-zA-Z0-9_.-], not starting with '.' or '-'), lowercased, at most n bytes.
func sanitise(s string, n int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.'
		if !ok {
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		dash = false
		b.WriteRune(r)
	}
	out := strings.Trim(b.String(), "-.")
	if len(out) > n {
		out = strings.TrimRight(out[:n], "-.")
	}
	if out == "" {
		out = "x"
	}
	return out
}
