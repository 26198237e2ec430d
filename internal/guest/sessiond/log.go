package sessiond

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/guest/safefs"
	"github.com/hjk-dev/hjk/internal/session"
)

// listJSON prints every session's state as one JSON array, the most
// recently used first: what hjk on the host reads (and checks).
func listJSON(env []string, stdout, stderr io.Writer) int {
	names, _ := stateNames(env)
	list := []session.State{}
	for _, n := range names {
		if st, err := readState(env, n); err == nil && st.Name == n {
			list = append(list, st)
		}
	}
	slices.SortStableFunc(list, func(a, b session.State) int { return b.LastUsed().Compare(a.LastUsed()) })
	if err := json.NewEncoder(stdout).Encode(list); err != nil {
		fmt.Fprintf(stderr, "hjk-init: session list: %v\n", err)
		return 125
	}
	return 0
}

// stateNames are the names of the state files in the sessions' folder.
func stateNames(env []string) ([]string, error) {
	d, err := os.Open(stateDir(env))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ents, err := d.Readdirnames(4096)
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e, ".json"); ok && session.CheckName(n) == nil {
			names = append(names, n)
		}
	}
	return names, err
}

// killAll ends every running session, each as kill does.
func killAll(env []string, sig byte, stderr io.Writer) int {
	names, _ := stateNames(env)
	for _, n := range names {
		if st, err := readState(env, n); err == nil && st.State == session.Running {
			kill(env, n, sig, io.Discard)
		}
	}
	return 0
}

// followPoll is how often `session log --follow` looks for more output.
const followPoll = 100 * time.Millisecond

// showLog copies session name's log to stdout: its last tail lines (tail
// >= 0), then with follow what it writes next, until the session has ended
// and its output is out.
func showLog(env []string, name string, tail int, follow bool, stdout, stderr io.Writer) int {
	f, err := openLog(filepath.Join(stateDir(env), session.LogFile(name)))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := readState(env, name); serr != nil {
			fmt.Fprintf(stderr, "hjk-init: no session %s\n", name)
			return 1
		}
		return 0 // started, nothing written yet
	}
	if err != nil {
		fmt.Fprintf(stderr, "hjk-init: session %s: %v\n", name, err)
		return 125
	}
	defer f.Close()
	if tail >= 0 {
		if err := seekLastLines(f, tail, session.MaxLogTail); err != nil {
			fmt.Fprintf(stderr, "hjk-init: session %s: %v\n", name, err)
			return 125
		}
	}
	for {
		running := false
		if follow {
			st, err := readState(env, name)
			running = err == nil && st.State == session.Running
		}
		if _, err := io.Copy(stdout, f); err != nil {
			return 0 // the reader went away
		}
		if !running {
			return 0
		}
		time.Sleep(followPoll)
	}
}

// openLog opens a log for reading: not through a link, without blocking on
// a FIFO, and only a regular file.
func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}

// seekLastLines moves f to the start of its last n lines (a last line
// without a newline counts as one), reading back at most limit bytes: past
// that, the log is shown from limit bytes before its end.
func seekLastLines(f *os.File, n int, limit int64) error {
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil || n == 0 {
		return err
	}
	floor := max(0, end-limit)
	pos, seen := end, 0
	buf := make([]byte, 32<<10)
	for pos > floor {
		k := min(int64(len(buf)), pos-floor)
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
	_, err = f.Seek(floor, io.SeekStart)
	return err
}

// MarkLost records as lost every session still recorded as running in
// the state folder env names: boot calls it in a new container, where no
// session server can run yet, so such a session went with the container
// before (docker rm -f, docker kill, a killed engine) without its end
// being recorded. State files are read and replaced as the server does
// (no link followed, no FIFO waited on, a random O_EXCL temporary file).
func MarkLost(env []string) {
	d, err := safefs.Open(stateDir(env))
	if err != nil {
		return // no folder: no session yet
	}
	defer d.Close()
	names, _ := stateNames(env)
	for _, n := range names {
		st, err := readState(env, n)
		if err != nil || st.Name != n || st.State != session.Running {
			continue
		}
		st.State = session.Lost
		if b, err := json.MarshalIndent(st, "", "  "); err == nil {
			d.WriteFile(session.StateFile(n), append(b, '\n'), 0o644, -1, -1, false)
		}
	}
}
