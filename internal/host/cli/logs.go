package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/session"
)

// LogsOptions are hjk logs's.
type LogsOptions struct {
	App     *App
	Follow  bool
	Tail    int // -1: all
	Branch  string
	Session string // "": the most recently used
}

// NewCmdLogs is `hjk logs`; runF, when set, replaces logsRun.
func NewCmdLogs(app *App, runF func(*LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{App: app}
	cmd := &cobra.Command{
		Use:   "logs <branch> [<session>] [-f] [-n <lines>]",
		Short: "print a session's output",
		Long: "Print what a session wrote to its terminal (the named one, else the branch's most\n" +
			"recently used), as it was written, escape sequences included. The logs live on the\n" +
			"host, under $XDG_DATA_HOME/hjk/logs/, and outlive a stop or a recreate. With -f,\n" +
			"go on printing what it writes until it ends.",
		Example:           "hjk logs fix-login -f -n 50",
		Args:              argsRange(1, 2, "logs needs a branch, and may name a session"),
		ValidArgsFunction: app.completeBranchSession,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Branch, opts.Session = args[0], argN(args, 1)
			if runF != nil {
				return runF(opts)
			}
			return logsRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "follow the log until the session ends")
	cmd.Flags().IntVarP(&opts.Tail, "tail", "n", -1, "print only the last lines")
	return cmd
}

func logsRun(opts *LogsOptions) error {
	app, follow, lines := opts.App, opts.Follow, opts.Tail
	ctx := context.Background()
	is, _, in, err := app.lookup(ctx, opts.Branch)
	if err != nil {
		return err
	}
	name := opts.Session
	if name == "" {
		list, err := readSessions(is.sessionsDir(in))
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return Hintf(fmt.Errorf("no session in the instance of %q", in.Branch), "Run 'hjk run -d %s' to start one.", in.Branch)
		}
		name = list[0].Name
	} else if _, err := is.pickSession(in, name); err != nil {
		return err
	}
	f, err := instance.OpenSessionFile(is.sessionLog(in, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil // started, nothing written yet
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if lines >= 0 {
		if err := seekLastLines(f, lines); err != nil {
			return err
		}
	}
	if _, err := io.Copy(app.Stdout, f); err != nil {
		return err
	}
	if !follow {
		return nil
	}
	ended := func() bool {
		st, err := readSession(is.sessionsDir(in), name)
		return err != nil || st.State != session.Running
	}
	return followLog(app.Stdout, f, ended, app.containerRunning(ctx, in), followPoll, followCheck)
}

// How often `hjk logs -f` looks for more output, and how often it asks the
// engine whether the session's container still runs.
const (
	followPoll  = 100 * time.Millisecond
	followCheck = 2 * time.Second
)

// followLog copies to out what f gains until the session ends: ended says
// its state no longer is running, or running (asked every check) says its
// container stopped, which kills the session before its state can say so.
// What the session wrote before it ended is out when it returns.
func followLog(out io.Writer, f *os.File, ended, running func() bool, poll, check time.Duration) error {
	last := time.Now()
	for {
		done := ended()
		if !done && time.Since(last) >= check {
			done, last = !running(), time.Now()
		}
		time.Sleep(poll)
		if _, err := io.Copy(out, f); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// containerRunning reports whether in's container runs, as its engine
// says; an engine that cannot answer counts as running (a passing error
// must not end a follow).
func (app *App) containerRunning(ctx context.Context, in instance.Instance) func() bool {
	return func() bool {
		rt, err := app.runtimeNamed(in.Runtime)
		if err != nil {
			return true
		}
		c, err := rt.Inspect(ctx, in.Name)
		if errors.Is(err, runtime.ErrNoSuchContainer) {
			return false
		}
		return err != nil || c.Running()
	}
}

// seekLastLines moves f to the start of its last n lines (a last line
// without a newline counts as one).
func seekLastLines(f *os.File, n int) error {
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil || n == 0 {
		return err
	}
	pos, seen := end, 0
	buf := make([]byte, 32<<10)
	for pos > 0 {
		k := min(int64(len(buf)), pos)
		pos -= k
		if _, err := f.ReadAt(buf[:k], pos); err != nil {
			return err
		}
		for i := k - 1; i >= 0; i-- {
			if buf[i] != '\n' || pos+i == end-1 {
				continue
			}
			if seen++; seen == n {
				_, err := f.Seek(pos+i+1, io.SeekStart)
				return err
			}
		}
	}
	_, err = f.Seek(0, io.SeekStart)
	return err
}
