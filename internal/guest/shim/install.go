package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/layout"
)

// installCommand is `hjk-init install DIR`: copy hjk-init, and hjk-gate
// when it lies beside it, into DIR. It is how the binaries reach a pod on
// Kubernetes, where nothing can be copied into a volume before the pod
// starts: an init container from the shim image (FROM scratch: no cp)
// runs it into an emptyDir the pod's other containers mount read-only.
func installCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintf(stderr, "hjk-init: usage: hjk-init install DIR\n")
		return agent.ExitFailure
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "hjk-init: install: find this binary: %v\n", err)
		return agent.ExitFailure
	}
	for _, name := range []string{"hjk-init", "hjk-gate"} {
		src := self
		if name != "hjk-init" {
			src = filepath.Join(filepath.Dir(self), name)
			if _, err := os.Lstat(src); errors.Is(err, os.ErrNotExist) {
				continue
			}
		}
		if err := install(src, filepath.Join(args[0], name)); err != nil {
			fmt.Fprintf(stderr, "hjk-init: install %s: %v\n", name, err)
			return agent.ExitFailure
		}
		fmt.Fprintf(stdout, "%s\n", filepath.Join(args[0], name))
	}
	return 0
}

// install copies the regular file src to dst (mode 0555) through a
// temporary file and a rename, following no link at either end.
func install(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	tmp := dst + ".tmp-" + strconv.Itoa(os.Getpid())
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o555)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// whoamiCommand is `hjk-init whoami FILE`: write "UID:GID" of the user it
// runs as to FILE. On Kubernetes an init container of the agent's image,
// started as the image's own user, runs it so that the pod's setup (root,
// in the next init container) can hand that user its folders: nothing
// else in a pod can tell the image's USER. It refuses root (agents run as
// the image's non-root user) and the gate's uid (HJK_GATE_UID), which the
// pod's egress rules let out.
func whoamiCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintf(stderr, "hjk-init: usage: hjk-init whoami FILE\n")
		return agent.ExitFailure
	}
	uid, gid := os.Getuid(), os.Getgid()
	if err := checkUser(uid, environ.Get(os.Environ(), layout.GateUIDVar)); err != nil {
		fmt.Fprintf(stderr, "hjk-init: whoami: %v\n", err)
		return agent.ExitFailure
	}
	f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err == nil {
		_, err = fmt.Fprintf(f, "%d:%d\n", uid, gid)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "hjk-init: whoami: %v\n", err)
		return agent.ExitFailure
	}
	return 0
}

// checkUser refuses root and the gate's uid (gate, when set) for the
// agent's user.
func checkUser(uid int, gate string) error {
	if uid == 0 {
		return errors.New("the image runs as root: hjk runs agents as the image's own non-root user (its USER)")
	}
	if gate != "" && gate == strconv.Itoa(uid) {
		return fmt.Errorf("the image's user has uid %d, the credential gate's: its traffic would bypass the gate", uid)
	}
	return nil
}
