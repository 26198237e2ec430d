// Package boot is `hjk-init boot`: PID 1 of an hjk instance's container.
// hjk starts it as root with the few capabilities in layout.BootCapabilities
// and `no-new-privileges`; it
//
//  1. finds the image's user (HJK_USER, a name or uid[:gid]; root is
//     refused: agents run as the image's non-root user). On Kubernetes
//     it is started as that user already (the pod's init containers
//     handed it its folders), without HJK_USER: then the user is who it
//     runs as, and steps 2 to 4 have nothing to do. The gate's uid
//     (HJK_GATE_UID, which the pod's egress rules let out) is refused;
//  2. when the host user's uid (HJK_HOST_UID, HJK_HOST_GID) is neither 0
//     nor the user's, gives the user those ids in /etc/passwd and
//     /etc/group and hands its home over, as devcontainers do: files the
//     agent writes in a host folder then belong to the host user, and the
//     user's own edits stay writable for the agent;
//  3. hands the data volume, the workspace's top folder and /run/hjk to the
//     user; with a host folder as workspace and hjk run as root (uid 0,
//     whose files the user could not write), gives the user a default ACL
//     on the workspace, so every file made there later, by either side, is
//     writable by both;
//  4. drops to the user for good (groups, gid, uid: no capability is left),
//     records as lost the sessions a previous container left running
//     (sessiond.MarkLost), and writes the ready stamp (layout.ReadyFile)
//     that hjk's execs wait for;
//  5. with HJK_GATE set, relays its loopback ports to the credential gate's
//     sockets (package relay), the container's only way out;
//  6. stays as the container's init (package pid1): it reaps every zombie
//     and, on TERM or INT, sends TERM to every other process and exits 0
//     once they are gone or after a grace period.
//
// It writes nothing but /etc/passwd, /etc/group, /etc/gitconfig (the
// workspace as a safe.directory: its .git is a file hjk mounted), ownership
// and ACLs of the folders above, the states of lost sessions (as the user)
// and the stamp, and never follows a symbolic link doing so.
//
// Exit codes: 125 when the container cannot be made ready (the message on
// standard error says why; the engine keeps it in the container's log),
// else 0 after TERM or INT.
package boot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/guest/pid1"
	"github.com/hjk-dev/hjk/internal/guest/privdrop"
	"github.com/hjk-dev/hjk/internal/guest/relay"
	"github.com/hjk-dev/hjk/internal/guest/sessiond"
	"github.com/hjk-dev/hjk/internal/layout"
)

// Grace is how long the init waits, after TERM, for the sessions to record
// their end and exit: docker stop waits 10 s before it kills.
const Grace = 5 * time.Second

// Main is `hjk-init boot`.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "hjk-init: boot takes no arguments (it is an instance container's entrypoint)\n")
		return 125
	}
	if os.Getpid() != 1 {
		fmt.Fprintf(stderr, "hjk-init: boot runs as a container's PID 1, not as pid %d\n", os.Getpid())
		return 125
	}
	initd := pid1.Listen()
	c, err := configFrom(os.Environ())
	if err == nil {
		err = c.setup()
	}
	if err == nil {
		// No session server outlives its container: one recorded as
		// running went with the last (rm -f, kill) unrecorded.
		sessiond.MarkLost(os.Environ())
	}
	if err == nil && len(c.gate) > 0 {
		err = relay.Start(c.gate, layout.GateDir)
	}
	if err == nil {
		err = c.stamp()
	}
	if err != nil {
		fmt.Fprintf(stderr, "hjk-init: boot: %v\n", err)
		return 125
	}
	return initd.Idle(Grace)
}

// config is what boot reads from its environment.
type config struct {
	user             string
	hostUID, hostGID int // -1: not given
	workspace        string
	gate             []relay.Route
	gateUID          string // HJK_GATE_UID: refused for the user
	// The files and folders it works on, moved in tests.
	passwd, group, gitconfig, data, work, run, ready string
}

func configFrom(env []string) (config, error) {
	c := config{
		user: environ.Get(env, layout.UserVar), workspace: environ.Get(env, layout.WorkspaceVar),
		gateUID: environ.Get(env, layout.GateUIDVar),
		hostUID: -1, hostGID: -1,
		passwd: privdrop.PasswdFile, group: privdrop.GroupFile, gitconfig: "/etc/gitconfig",
		data: layout.DataDir, work: layout.Workdir, run: layout.RunDir, ready: layout.ReadyFile,
	}
	if c.user == "" && os.Getuid() == 0 {
		return c, fmt.Errorf("%s is not set: hjk names the image's user there", layout.UserVar)
	}
	for _, v := range []struct {
		name string
		dst  *int
	}{{layout.HostUIDVar, &c.hostUID}, {layout.HostGIDVar, &c.hostGID}} {
		s := environ.Get(env, v.name)
		if s == "" {
			continue
		}
		n, err := strconv.ParseUint(s, 10, 31)
		if err != nil {
			return c, fmt.Errorf("%s=%q is not an id", v.name, s)
		}
		*v.dst = int(n)
	}
	if g := environ.Get(env, layout.GateVar); g != "" {
		var err error
		if c.gate, err = relay.Parse(g); err != nil {
			return c, fmt.Errorf("%s: %w", layout.GateVar, err)
		}
	}
	if c.hostUID >= 0 && c.hostGID < 0 {
		c.hostGID = c.hostUID
	}
	return c, nil
}

// setup does steps 1 to 4 but the init's duties.
func (c config) setup() error {
	name := c.user
	if name == "" { // started as the user (Kubernetes)
		name = strconv.Itoa(os.Getuid())
	}
	u, err := privdrop.Lookup(name, c.passwd, c.group)
	if err != nil {
		return fmt.Errorf("%s=%s: %w", layout.UserVar, name, err)
	}
	if u.UID == 0 {
		return fmt.Errorf("%s=%s is root: agents run as the image's non-root user", layout.UserVar, name)
	}
	if c.gateUID != "" && c.gateUID == strconv.Itoa(u.UID) {
		return fmt.Errorf("the user %s has uid %d, the credential gate's (%s): its traffic would bypass the gate", name, u.UID, layout.GateUIDVar)
	}
	if os.Getuid() != 0 {
		if os.Getuid() != u.UID {
			return fmt.Errorf("boot runs as uid %d, not root, and cannot become %s (uid %d)", os.Getuid(), c.user, u.UID)
		}
	} else {
		if u, err = c.own(u); err != nil {
			return err
		}
		if err := privdrop.Drop(u); err != nil {
			return fmt.Errorf("become %s: %w", c.user, err)
		}
	}
	return nil
}

// stamp writes the ready stamp: the container is its user's, and its way
// to the gate listens.
func (c config) stamp() error {
	f, err := os.OpenFile(c.ready, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("write the ready stamp: %w", err)
	}
	fmt.Fprintf(f, "%d:%d\n", os.Getuid(), os.Getgid())
	return f.Close()
}

// own gives u the host user's ids when asked, and hands it its folders.
func (c config) own(u privdrop.User) (privdrop.User, error) {
	if c.hostUID > 0 && (c.hostUID != u.UID || c.hostGID != u.GID) {
		old := u
		var err error
		if u, err = privdrop.Remap(u, c.hostUID, c.hostGID, c.passwd, c.group); err != nil {
			return u, fmt.Errorf("give %s uid %d: %w", c.user, c.hostUID, err)
		}
		if old.Home != "/" && old.Home != "" {
			if err := privdrop.Chown(old.Home, old.UID, old.GID, u.UID, u.GID); err != nil && !errors.Is(err, os.ErrNotExist) {
				return u, fmt.Errorf("hand %s to uid %d: %w", old.Home, u.UID, err)
			}
		}
	}
	// Modes and ACLs first: once a folder is the user's, root without
	// CAP_FOWNER may no longer change them.
	if err := os.Chmod(c.run, 0o700); err != nil && !errors.Is(err, os.ErrNotExist) {
		return u, err
	}
	if c.workspace == layout.WorkspaceFolder && c.hostUID <= 0 && !ownedBy(c.work, u.UID) {
		// Once: the folder is the user's after the first boot, and keeps
		// its ACL.
		acl := grantACL(uint32(u.UID))
		for _, attr := range []string{"system.posix_acl_access", "system.posix_acl_default"} {
			if err := setxattr(c.work, attr, acl); err != nil {
				return u, fmt.Errorf("let uid %d write the files of %s (ACL): %w", u.UID, c.work, err)
			}
		}
	}
	for _, d := range []string{c.data, c.work, c.run} {
		if err := handOver(d, u); err != nil {
			return u, err
		}
	}
	return u, trustWorkdir(c.gitconfig, c.work)
}

// trustWorkdir adds the workspace to the system git config's
// safe.directory: its .git is a file hjk mounted, owned by the host user,
// which git would otherwise call dubious ownership.
func trustWorkdir(path, work string) error {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	line := "\tdirectory = " + work + "\n"
	if strings.Contains(string(b), line) {
		return nil
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	b = append(b, "[safe]\n"+line...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("trust %s in %s: %w", work, path, err)
	}
	return nil
}

func ownedBy(path string, uid int) bool {
	var st syscall.Stat_t
	return syscall.Lstat(path, &st) == nil && int(st.Uid) == uid
}

// handOver makes the folder d (when it exists, and is a folder, not a link)
// belong to u.
func handOver(d string, u privdrop.User) error {
	fi, err := os.Lstat(d)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", d)
	}
	if err := os.Lchown(d, u.UID, u.GID); err != nil {
		return fmt.Errorf("hand %s to uid %d: %w", d, u.UID, err)
	}
	return nil
}
