package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
	"github.com/hjk-dev/hjk/internal/session"
)

// runSession runs a session of `hjk run`: under hjk-init's session server
// when it is detached, named, or on a terminal (so the agent outlives the
// terminal), else (a pipe, a script) as a plain exec whose streams are the
// agent's.
func (r *Runner) runSession(ctx context.Context, in instance.Instance, spec runtime.ExecSpec, handed []string, agentName string, req Request, fresh bool, ensure ensureFunc) error {
	base := in.Exec(spec.Cmd)
	spec.Pod, spec.Container, spec.Cmd, spec.Workdir, spec.User = base.Pod, base.Container, base.Cmd, base.Workdir, base.User
	if !req.Detach && req.Session == "" && !r.IO.TTY {
		return r.session(ctx, in, spec, handed, fresh, ensure)
	}
	name := req.Session
	if name != "" {
		if err := session.CheckName(name); err != nil {
			return err
		}
	} else {
		list, err := r.Mgr.Sessions(ctx, in)
		if runtime.NotRunning(in.Runtime, err) && !fresh && ensure != nil {
			// Stopped: its sessions (on its volume) are known once it
			// runs again; a name picked now could be one of theirs.
			in2, act, eerr := ensure()
			if eerr != nil {
				return eerr
			}
			r.emit(Acted{Instance: in2, Action: act})
			in, fresh = in2, true
			list, err = r.Mgr.Sessions(ctx, in)
		}
		if err != nil && !runtime.NotRunning(in.Runtime, err) {
			return err
		}
		name = sessionName(list, agentName)
	}
	cmd := []string{layout.InitPath, "session", "start", "--name", name}
	if !req.Detach {
		cmd = append(cmd, "--attach", "--detach-keys", req.DetachKeys)
	}
	spec.Cmd = append(append(cmd, "--"), spec.Cmd...)
	r.record(in, name)
	if req.Detach {
		var out strings.Builder
		sub := *r
		sub.IO = IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: r.IO.Stderr}
		if err := sub.session(ctx, in, spec, handed, fresh, ensure); err != nil {
			return err
		}
		fmt.Fprintf(r.IO.Stdout, "%s\n", name)
		r.emit(Detached{Branch: in.Branch, Session: name})
		return nil
	}
	return r.session(ctx, in, spec, handed, fresh, ensure)
}

// record keeps hjk's own note of the session it started or attached last
// in an instance: `hjk attach` with no name trusts it, never a time the
// container wrote.
func (r *Runner) record(in instance.Instance, name string) {
	r.Mgr.Update(in, func(i *instance.Instance) {
		i.Session, i.Attached = name, r.now().UTC()
		i.Sessions = append(slices.DeleteFunc(i.Sessions, func(n string) bool { return n == name }), name)
		if n := len(i.Sessions) - instance.MaxRecorded; n > 0 {
			i.Sessions = i.Sessions[n:]
		}
	})
}

type ensureFunc func() (instance.Instance, instance.Action, error)

// session runs spec in the instance in, handing it the credentials in
// handed, and returns the process's exit status as an *ExitError.
//
// A session in an instance the catalog knows starts at once, without first
// asking the engine whether its container runs: that question costs as
// much as a fifth of the session's start. When the container was in fact
// stopped or removed, the engine refuses at once: its complaint is held
// back, ensure brings the container back, and the session starts again.
// fresh says ensure has just run: a refusal then is retried only for a
// session without handed-over credentials.
func (r *Runner) session(ctx context.Context, in instance.Instance, spec runtime.ExecSpec, handed []string, fresh bool, ensure ensureFunc) error {
	rt, err := r.Mgr.Execer(in)
	if err != nil {
		return err
	}
	base := in.Guest()
	spec.Pod, spec.Container = base.Pod, base.Container
	spec.Stdin, spec.Stdout = r.IO.Stdin, r.IO.Stdout
	spec.Interactive = true
	spec.TTY = r.IO.TTY
	// kubectl exec passes no environment: the session's variables go
	// with the hand-over, on stdin, never on the command line.
	env := in.Runtime == runtime.Kubernetes && len(spec.Values) > 0
	if env {
		handed = append(slices.Clone(handed), spec.Values...)
		spec.Env, spec.Values = nil, nil
	}
	if len(handed) > 0 {
		id, err := r.handOver(ctx, rt, in, handed, env)
		if runtime.NotRunning(rt.Name(), err) && !fresh && ensure != nil {
			in2, act, eerr := ensure()
			if eerr != nil {
				return eerr
			}
			r.emit(Acted{Instance: in2, Action: act})
			in, fresh = in2, true
			id, err = r.handOver(ctx, rt, in, handed, env)
		}
		if err != nil {
			return err
		}
		spec = withHandover(spec, id)
	}
	if ensure == nil {
		spec.Stderr = r.IO.Stderr
		return exitStatus(rt.Exec(ctx, spec))
	}
	// A refusal right after ensure started the container happens too: a
	// loaded podman refused an exec with "container state improper" just
	// after its start returned. So a refused session is ensured again, up
	// to maxEnsures times in all; a session with handed-over credentials
	// only once, as before: a restart would lose the hand-over (it is on
	// the container's tmpfs).
	limit, ensured := maxEnsures, 0
	if len(handed) > 0 {
		limit = 1
	}
	if fresh {
		ensured = 1
	}
	for {
		hold := newHoldWriter(r.IO.Stderr, holdFor)
		spec.Stderr = hold
		// Output on stdout means the session runs: show its errors at
		// once, in order with it. A terminal is handed to the engine's
		// CLI as it is: it reads the terminal's size from its stdout (a
		// pipe there leaves the agent a terminal of no size). With a
		// terminal the session's own errors go to stdout too, so only the
		// engine's words are held.
		var out *releaser
		if r.IO.TTY {
			spec.Stdout = r.IO.Stdout
		} else {
			out = &releaser{w: r.IO.Stdout, hold: hold}
			spec.Stdout = out
		}
		err = rt.Exec(ctx, spec)
		if err == nil {
			hold.release()
			return nil
		}
		// Only the engine's own refusal is retried, never a session that
		// failed with such words on its stderr: the session would run twice.
		holding := hold.settle()
		if ensured >= limit || !holding || out != nil && out.wrote.Load() || !runtime.Refused(rt.Name(), err, hold.head()) {
			hold.release()
			return exitStatus(err)
		}
		if ensured > 0 {
			// Give the engine a moment to settle the start it reported.
			select {
			case <-ctx.Done():
				hold.release()
				return ctx.Err()
			case <-time.After(settleWait):
			}
		}
		in2, act, eerr := ensure()
		ensured++
		if eerr != nil {
			// The engine cannot tell either (not answering, say): its own
			// error says what to start, better than the exec's complaint.
			hold.drop()
			return eerr
		}
		hold.drop()
		r.emit(Acted{Instance: in2, Action: act})
		if in2.Runtime != runtime.Kubernetes {
			spec.Container = in2.Name
		}
	}
}

// maxEnsures is how many times a session the engine refuses brings its
// container back before the refusal is the answer.
const maxEnsures = 2

// settleWait is the pause before ensuring a container a second time.
const settleWait = 500 * time.Millisecond

// withHandover makes the session's hjk-init take the handed-over
// credentials: `hjk-init --creds ID -- ...` in place of `hjk-init -- ...`,
// also as the command of a session server.
func withHandover(spec runtime.ExecSpec, id string) runtime.ExecSpec {
	cmd := append([]string(nil), spec.Cmd...)
	for i := 0; i+1 < len(cmd); i++ {
		if cmd[i] == layout.InitPath && cmd[i+1] == "--" {
			cmd = append(cmd[:i+1], append([]string{"--creds", id}, cmd[i+1:]...)...)
			break
		}
	}
	spec.Cmd = cmd
	return spec
}

// holdFor is how long a session's first error output is held back (unless
// the session writes to stdout first): an engine refuses an exec in a
// stopped or missing container well within it, even on a loaded machine.
const holdFor = 2 * time.Second

// holdWriter holds back what is written to it until released (by time, by
// size or by hand), so a session that could not start can be retried
// without showing the engine's refusal.
type holdWriter struct {
	mu       sync.Mutex
	w        io.Writer
	buf      bytes.Buffer
	first    []byte // the first bytes ever written, to tell a refusal
	released bool
	timer    *time.Timer
}

func newHoldWriter(w io.Writer, d time.Duration) *holdWriter {
	h := &holdWriter{w: w}
	h.timer = time.AfterFunc(d, h.release)
	return h
}

func (h *holdWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := 4<<10 - len(h.first); n > 0 {
		h.first = append(h.first, p[:min(n, len(p))]...)
	}
	if h.released {
		return h.w.Write(p)
	}
	h.buf.Write(p)
	if h.buf.Len() > 64<<10 {
		h.releaseLocked()
	}
	return len(p), nil
}

// settle stops the timer and reports whether everything is still held.
func (h *holdWriter) settle() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.timer.Stop()
	return !h.released
}

func (h *holdWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releaseLocked()
}

func (h *holdWriter) releaseLocked() {
	if h.released {
		return
	}
	h.released = true
	h.w.Write(h.buf.Bytes())
	h.buf.Reset()
}

// head returns the first bytes written, held back or not.
func (h *holdWriter) head() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.first)
}

// drop throws away what is held.
func (h *holdWriter) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
}

// releaser releases a holdWriter on the first write through it, and
// remembers that something was written.
type releaser struct {
	w     io.Writer
	hold  *holdWriter
	wrote atomic.Bool
}

func (r *releaser) Write(p []byte) (int, error) {
	if len(p) > 0 {
		r.wrote.Store(true)
		r.hold.release()
	}
	return r.w.Write(p)
}
