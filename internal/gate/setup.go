package gate

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/hjk-dev/hjk/internal/gate/egress"
)

// setupCommand is `hjk-gate setup`, the last init container of an agent's
// pod on Kubernetes, as root with CHOWN and NET_ADMIN only: it hands the
// agent's user (the uid:gid `hjk-init whoami` wrote, as the image's user,
// in the init container before) the top of each --own folder (the
// workspace and data claims, the run folder; not what is in them, and
// never through a link), then locks the pod's egress so that only
// loopback and the gate's uid get out (package egress). The agent's
// container, started next, has no capability at all. With --no-lock
// (credentials injected: the agent has the network) the egress is left.
func setupCommand(args []string, s stdio) int {
	var gateUID int
	var userFile string
	var own multi
	var noLock bool
	if _, ok := flags("setup", args, s, func(fs *flag.FlagSet) {
		fs.IntVar(&gateUID, "gate-uid", 0, "")
		fs.StringVar(&userFile, "user-file", "", "")
		fs.Var(&own, "own", "")
		fs.BoolVar(&noLock, "no-lock", false, "")
	}, false); !ok {
		return ExitFailure
	}
	if gateUID <= 0 || userFile == "" {
		return fail(s, "setup", errors.New("--gate-uid and --user-file are needed"))
	}
	uid, gid, err := readUser(userFile)
	if err == nil && (uid == 0 || uid == gateUID) {
		err = fmt.Errorf("the agent's user has uid %d: neither root nor the gate's may be", uid)
	}
	for _, d := range own {
		if err != nil {
			break
		}
		err = handOver(d, uid, gid)
	}
	rules := "not locked (--no-lock: credentials injected)"
	if err == nil && !noLock {
		err = egress.Lock(gateUID)
		rules = egress.Rules(gateUID)
	}
	if err != nil {
		return fail(s, "setup", err)
	}
	fmt.Fprintf(s.err, "hjk-gate setup: %d folder(s) handed to uid %d; egress: %s\n", len(own), uid, rules)
	return ExitOK
}

// multi is a repeated string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// readUser reads "UID:GID" from a file whoami wrote (in a folder the
// agent's image could write: it is checked, and read without following a
// link).
func readUser(path string) (uid, gid int, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("the agent's user: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return 0, 0, err
	}
	uid, gid, ok := parseUser(string(b))
	if !ok {
		return 0, 0, fmt.Errorf("the agent's user in %s is not UID:GID", path)
	}
	return uid, gid, nil
}

// parseUser reads "UID:GID" and a newline, canonical decimal ids below
// 2^31.
func parseUser(s string) (uid, gid int, ok bool) {
	u, g, ok := strings.Cut(strings.TrimSuffix(s, "\n"), ":")
	u64, err1 := strconv.ParseUint(u, 10, 31)
	g64, err2 := strconv.ParseUint(g, 10, 31)
	// Canonical only: "00" or "+1" would be no id whoami writes.
	if !ok || err1 != nil || err2 != nil || strconv.FormatUint(u64, 10) != u || strconv.FormatUint(g64, 10) != g {
		return 0, 0, false
	}
	return int(u64), int(g64), true
}

// handOver gives the folder d (not a link) to uid:gid.
func handOver(d string, uid, gid int) error {
	fi, err := os.Lstat(d)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", d)
	}
	if err := os.Lchown(d, uid, gid); err != nil {
		return fmt.Errorf("hand %s to uid %d: %w", d, uid, err)
	}
	return nil
}
