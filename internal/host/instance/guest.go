package instance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// guestTimeout bounds one hjk-init command hjk runs in a container: stop,
// rm and sync must not hang on a container that does not answer, nor on a
// hook or a FIFO the agent planted.
const guestTimeout = 60 * time.Second

// ErrTooLarge is what a container hands back over a size cap.
var ErrTooLarge = errors.New("larger than hjk takes")

// guest runs `hjk-init ARGS...` in the instance's container, as its user,
// with stdin and stdout as given. Its error output stays in the error
// (runtime.ExitError), for the caller to show made safe.
func (m *Manager) guest(ctx context.Context, rt runtime.Execer, in Instance, stdin io.Reader, stdout io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, guestTimeout)
	defer cancel()
	return rt.Exec(ctx, m.guestSpec(in, stdin, stdout, args...))
}

// guestStream runs a guest command whose output may be large (a bundle of
// the instance's commits): it runs as long as it keeps writing, and
// guestTimeout without a byte ends it.
func (m *Manager) guestStream(ctx context.Context, rt runtime.Execer, in Instance, stdout io.Writer, args ...string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	silent := fmt.Errorf("%s wrote nothing for %s", in.Name, guestTimeout)
	t := time.AfterFunc(guestTimeout, func() { cancel(silent) })
	defer t.Stop()
	err := rt.Exec(ctx, m.guestSpec(in, nil, &idleWriter{w: stdout, t: t}, args...))
	if cause := context.Cause(ctx); cause == silent && err != nil {
		return fmt.Errorf("%w: %w", silent, err)
	}
	return err
}

// idleWriter passes writes on, and pushes its timer back at each.
type idleWriter struct {
	w io.Writer
	t *time.Timer
}

func (w *idleWriter) Write(p []byte) (int, error) {
	w.t.Reset(guestTimeout)
	return w.w.Write(p)
}

func (m *Manager) guestSpec(in Instance, stdin io.Reader, stdout io.Writer, args ...string) runtime.ExecSpec {
	s := in.Guest(args...)
	s.Stdin, s.Stdout = stdin, stdout
	return s
}

// guestJSON runs a guest command whose answer is one JSON value of at most
// max bytes, and decodes it into v.
func (m *Manager) guestJSON(ctx context.Context, rt runtime.Execer, in Instance, max int64, v any, args ...string) error {
	var out bytes.Buffer
	w := &capWriter{w: &out, max: max}
	err := m.guest(ctx, rt, in, nil, w, args...)
	if w.over {
		return fmt.Errorf("%s's answer to %q: %w (%d bytes)", in.Name, args[0], ErrTooLarge, max)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out.Bytes(), v); err != nil {
		return fmt.Errorf("%s's answer to %q is not what hjk-init prints: %v", in.Name, args[0], err)
	}
	return nil
}

// repoStatus asks the container for its repository's state. Nothing in it
// is trusted but as a claim: ids are checked before use.
func (m *Manager) repoStatus(ctx context.Context, rt runtime.Execer, in Instance) (layout.RepoStatus, error) {
	var st layout.RepoStatus
	err := m.guestJSON(ctx, rt, in, 4<<10, &st, "repo", "status", "--branch", in.Branch)
	if err == nil && st.Tip != "" && !isSHA(st.Tip) {
		err = fmt.Errorf("%s named its branch's commit %q", in.Name, st.Tip)
	}
	return st, err
}

// capWriter passes at most max bytes on, and then fails every write: the
// exec on the other end stops at a broken pipe.
type capWriter struct {
	w    io.Writer
	max  int64
	n    int64
	over bool
}

func (c *capWriter) Write(p []byte) (int, error) {
	if c.n+int64(len(p)) > c.max {
		c.over = true
		return 0, ErrTooLarge
	}
	c.n += int64(len(p))
	return c.w.Write(p)
}

// isSHA accepts a full commit id in lower-case hex, SHA-1 or SHA-256.
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// tempFile makes a file only hjk's user may read, under hjk's data folder
// (never a folder the container can write).
func (m *Manager) tempFile(pattern string) (*os.File, error) {
	dir := m.Data + "/tmp"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, pattern)
}
