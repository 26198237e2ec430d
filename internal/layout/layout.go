// Package layout is the contract between hjk and hjk-init about an
// instance's container: where its parts live inside it, the variables hjk
// sets for hjk-init's boot, and the exit codes of hjk-init's repository
// commands. It holds no OS code, so both sides (and the static hjk-init)
// import it.
//
// An instance's container, as hjk creates it:
//
//	/workspace            the agent's files: a host folder under hjk's data
//	                      folder (workspace "folder"), or an engine volume
//	                      ("volume"); its .git is a file naming GitDir
//	/.hjk/bin/            hjk-init (and hjk-gate), read-only, from an engine
//	                      volume hjk fills once per version (ShimDir)
//	/.hjk/data/           the instance's own volume: git/ (its repository,
//	                      which the host never runs git in) and sessions/
//	                      (logs and states of the sessions)
//	/.hjk/host/objects    the host repository's objects, read-only, borrowed
//	                      as git alternates (local engines only)
//	/.hjk/gate/           the gate's sockets, read-only (credential gate)
//	/run/hjk/             a tmpfs: ready stamp, session sockets, hand-overs
//
// PID 1 is `hjk-init boot`, started as root with a few capabilities: it
// gives the image's user the host user's ids, hands it the folders above,
// drops to it for good, and stays as the container's init. Everything hjk
// runs afterwards is an exec as that user.
package layout

// Paths inside the container.
const (
	Workdir     = "/workspace"
	ShimDir     = "/.hjk/bin"
	InitPath    = ShimDir + "/hjk-init"
	GatePath    = ShimDir + "/hjk-gate"
	DataDir     = "/.hjk/data"
	GitDir      = DataDir + "/git"
	SessionsDir = DataDir + "/sessions"
	HostObjects = "/.hjk/host/objects"
	GateDir     = "/.hjk/gate"
	RunDir      = "/run/hjk"
	ReadyFile   = RunDir + "/ready"
)

// Variables hjk puts in the container's configuration for hjk-init (never a
// secret: they show in inspect).
const (
	// UserVar names the image's user, whom boot hands the container to
	// (agent.UserVar, the same name).
	UserVar = "HJK_USER"
	// HostUIDVar and HostGIDVar are the host user's ids: boot gives the
	// image's user these, so files it writes in a host folder are the
	// user's. 0 (hjk run as root) keeps the image's ids.
	HostUIDVar = "HJK_HOST_UID"
	HostGIDVar = "HJK_HOST_GID"
	// WorkspaceVar is "folder" or "volume" (Workspace*).
	WorkspaceVar = "HJK_WORKSPACE"
	// ReadyVar names the stamp boot writes once the container is ready:
	// hjk-init commands run by exec wait for it.
	ReadyVar = "HJK_READY"
	// GateVar lists the loopback ports PID 1 relays to the gate's sockets:
	// "7800=proxy,7801=claude" (port=socket name in GateDir).
	GateVar = "HJK_GATE"
	// GateUIDVar is, on Kubernetes, the uid the pod's egress rules let
	// out (the gate's, GateUID): boot and whoami refuse it for the agent.
	GateUIDVar = "HJK_GATE_UID"
)

// GateUID is the uid the gate and the keeper run as on Kubernetes, where
// the agent's pod shares one network namespace: the pod's egress rules let
// only this uid (and loopback) out. Chosen to be unlike any image's user
// (65532 is distroless's nonroot, 65534 nobody); an image whose user has it
// is refused.
const GateUID = 65533

// Workspace kinds.
const (
	WorkspaceFolder = "folder"
	WorkspaceVolume = "volume"
)

// Exit codes of `hjk-init repo ...` besides 0 and 125 (hjk-init's own
// failure).
const (
	// ExitNothing: nothing to do (no new commits, no login to export).
	ExitNothing = 3
	// ExitDirty: the work tree holds uncommitted changes.
	ExitDirty = 4
	// ExitDiverged: the branch is not an ancestor of the wanted commit.
	ExitDiverged = 5
)

// Capabilities boot needs, as root, before it drops to the user for good:
// CHOWN to hand the data volume, the workspace's top and (when the ids
// change) the user's home to the user; DAC_READ_SEARCH to walk a home the
// image made 0700; SETUID and SETGID to drop. Every other is dropped.
var BootCapabilities = []string{"CHOWN", "DAC_READ_SEARCH", "SETGID", "SETUID"}

// RepoStatus is what `hjk-init repo status` prints, one JSON object. On
// the host it is a claim of the container's, checked before use.
type RepoStatus struct {
	Branch string `json:"branch"`
	// Tip is refs/heads/<branch>, "" when the branch does not exist.
	Tip string `json:"tip"`
	// Head is the ref HEAD points at ("" when detached).
	Head string `json:"head"`
	// Dirty says the work tree has modified, staged or untracked files.
	Dirty bool `json:"dirty"`
}
