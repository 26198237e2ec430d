// Package instance manages hjk's instances: for one branch of one host
// repository, a container holding the agent, its own git repository (on an
// engine volume, seeded from the host's objects or a bundle), its work tree
// (a plain folder under hjk's data folder, or an engine volume), labelled
// so hjk finds its own, and listed in a catalog under hjk's data folder.
//
// What the container can touch: the workspace, the instance's own volumes,
// the host repository's objects read-only (on an engine that shares the
// host's filesystem; on one that does not, remote.go, nothing of the host). What it cannot: any git metadata
// the host's git reads (the host repository's git dir is never mounted; the
// workspace's .git is a read-only file naming a repository that only exists
// inside), any other branch or ref, and any folder of hjk's but its
// workspace. Commits come back as checked data (sync.go).
//
// It may run git on the host, but only on the host repository (never in a
// folder the container can write, and never following a path the container
// wrote), read and write files under hjk's data folder, and drive a
// container engine through runtime.Runtime. It knows nothing of secret
// stores: sessions get their credentials from the caller.
package instance

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// Labels hjk puts on every container and volume it creates. LabelInstance
// is the one List filters on; the others let a person (or hjk, with a lost
// catalog) tell what a container is for.
const (
	LabelInstance = "dev.hjk.instance" // "1" on agent containers
	LabelRepo     = "dev.hjk.repo"     // the repository's git dir on the host
	LabelBranch   = "dev.hjk.branch"
	LabelAgent    = "dev.hjk.agent"
	LabelAccount  = "dev.hjk.account"
	LabelRole     = "dev.hjk.role" // "agent", "gate", "data", "work", "shim"
	LabelOwner    = "dev.hjk.of"   // the agent container a volume or gate belongs to
	LabelShim     = "dev.hjk.shim" // the binaries' hash, on the shim volume
	LabelWorkMode = "dev.hjk.workspace"
	LabelUser     = "dev.hjk.user" // the image's user
	// LabelHost is, on an engine that shares no filesystem with this
	// machine and on Kubernetes, the id of the hjk data folder that made
	// the container, volume or object (HostID): other machines may use
	// the same engine or namespace, and each takes back only its own.
	LabelHost = "dev.hjk.host"
)

// States an instance can be in besides the engine's own ("running",
// "exited", "created", ...).
const (
	// StateMissing: the catalog holds the instance but its container is
	// gone (removed behind hjk's back). `hjk run` brings it back.
	StateMissing = "missing"
	// StateLegacy: made by an hjk before instances had repositories of
	// their own (a git worktree of the host repository, mounted with the
	// repository's git dir): it can only be removed.
	StateLegacy = "legacy"
)

// Instance is one catalog entry. Its JSON form is hjk's catalog format and
// the stable output of `hjk ps --json`.
type Instance struct {
	Name   string `json:"name"`    // the agent's container
	Repo   string `json:"repo"`    // repository folder (the main worktree, or the bare git dir)
	GitDir string `json:"git_dir"` // the repository's common git dir
	Branch string `json:"branch"`  //
	// Workspace is where the agent's files live: "folder" (Folder, a plain
	// folder under hjk's data folder, open in any editor) or "volume" (an
	// engine volume).
	Workspace string `json:"workspace"`
	Folder    string `json:"folder,omitempty"`
	Agent     string `json:"agent"`   // agent of the last session
	Account   string `json:"account"` // "" is the default account
	Image     string `json:"image"`   //
	Runtime   string `json:"runtime"` // docker, podman, container or kubernetes
	// Engine is where its containers live: the runtime's default engine,
	// an address, a docker context or a podman connection. Every command
	// for the instance goes there, whatever the environment says later.
	Engine runtime.Endpoint `json:"engine"`
	// Remote says its engine shares no filesystem with this machine: its
	// workspace is a volume, its repository came as a bundle, and nothing
	// of the host is mounted.
	Remote bool `json:"remote,omitempty"`
	// Cluster is where an instance on Kubernetes lives: the context and
	// namespace it was made in, which every later command goes to.
	Cluster *Cluster `json:"cluster,omitempty"`
	// User is who every process hjk starts in the container runs as:
	// uid:gid of the host user, or the image's user when hjk runs as root.
	User string `json:"user"`
	// Credentials is "gate" (the agent gets placeholders; its only way
	// out is the gate) or "inject" (it gets the real login).
	Credentials string `json:"credentials"`
	// Handed are the store items of the logins its sessions were handed:
	// the gate's routes, and the only logins ever taken back from it.
	Handed  []string  `json:"handed,omitempty"`
	Created time.Time `json:"created"`
	// Base is the host branch's commit the instance last agreed with (the
	// last sync either way): the host has everything up to it.
	Base string `json:"base,omitempty"`
	// Session and Attached are hjk's own record of the session it last
	// started or attached in the instance, for `hjk attach` without a
	// name: never a time the container wrote.
	Session  string    `json:"session,omitempty"`
	Attached time.Time `json:"attached,omitzero"`
	// Sessions are the names of the sessions hjk started there, the latest
	// last (at most MaxRecorded): what completion offers, with no engine
	// asked.
	Sessions []string `json:"sessions,omitempty"`
	// Worktree is set only on legacy instances (StateLegacy).
	Worktree string `json:"worktree,omitempty"`
	// State is filled from the engine when the catalog is reconciled; it
	// is not trusted from the file.
	State string `json:"state"`
}

// MaxRecorded is how many session names an instance's entry keeps.
const MaxRecorded = 20

// Legacy reports whether in was made by an older hjk (a worktree of the
// host repository): hjk can only remove it.
func (in Instance) Legacy() bool { return in.Worktree != "" && in.Workspace == "" }

// Key is the name an instance's container and folders share: readable
// (repository and branch, sanitised) and unique (a hash of the git dir and
// the exact branch name, so "a/b" and "a-b" differ).
func Key(gitDir, repoName, branch string) string {
	sum := sha256.Sum256([]byte(gitDir + "\x00" + branch))
	h := hex.EncodeToString(sum[:])[:8]
	r := sanitise(repoName, 20)
	b := sanitise(branch, 30)
	return r + "-" + b + "-" + h
}

// RemoteKey is Key for an instance on an engine that shares no filesystem
// with this machine: other machines may have a repository at the same
// path, so the data folder's HostID is in the hash too.
func RemoteKey(hostID, gitDir, repoName, branch string) string {
	return Key(hostID+"\x00"+gitDir, repoName, branch)
}

// ContainerName is the agent container's name for a key.
func ContainerName(key string) string { return "hjk-" + key }

// key is the instance's key, from its container's name.
func (in Instance) key() string { return strings.TrimPrefix(in.Name, "hjk-") }

// Names of the instance's other parts on its engine.
func (in Instance) GateName() string   { return in.Name + "-gate" }
func (in Instance) DataVolume() string { return in.Name + "-data" }
func (in Instance) WorkVolume() string { return in.Name + "-work" }
func (in Instance) GateVolume() string { return in.Name + "-gate" }

// Workdir is where the agent works in the container.
func (in Instance) Workdir() string { return layout.Workdir }

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
