package sessiond

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/session"
)

// These tests play the agent, whose user can write the session folder
// (the host's folder is open to the container): it plants links and FIFOs
// where the next session server opens its files.

// A link or a FIFO at NAME.log, NAME.lock or NAME.sock: start refuses it at
// once, naming the file, and writes nothing through it. (Before, the log
// was opened following the link: a root server appended the agent's output
// to any file, and a FIFO held start forever.)
func TestStartRefusesPlantedFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, file, kind, want string }{
		{"log", "log.log", "link", "log.log: a symbolic link"},
		{"fifolog", "fifolog.log", "fifo", "fifolog.log: not a regular file"},
		{"lock", "lock.lock", "link", "lock.lock: a symbolic link"},
		{"sock", "sock.sock", "file", "sock.sock is not a socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			run := filepath.Join(filepath.Dir(w.dir), "run")
			os.MkdirAll(w.dir, 0o755)
			os.MkdirAll(run, 0o700)
			dir := w.dir
			if strings.HasSuffix(tc.file, ".lock") || strings.HasSuffix(tc.file, ".sock") {
				dir = run
			}
			outside := filepath.Join(t.TempDir(), "profile")
			os.WriteFile(outside, []byte("untouched\n"), 0o644)
			path := filepath.Join(dir, tc.file)
			switch tc.kind {
			case "link":
				os.Symlink(outside, path)
			case "fifo":
				syscall.Mkfifo(path, 0o666)
			case "file":
				os.WriteFile(path, nil, 0o600)
			}
			done := make(chan struct{})
			var out string
			var code int
			go func() {
				out, code = w.run("start", "--name", tc.name, "--", "/bin/sh", "-c", "echo pwned")
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("session start hangs")
			}
			if code != 125 || !strings.Contains(out, tc.want) {
				t.Errorf("start: exit %d, %q; want 125 and %q", code, out, tc.want)
			}
			if b, _ := os.ReadFile(outside); string(b) != "untouched\n" {
				t.Errorf("written through the planted %s: %q", tc.kind, b)
			}
		})
	}
}

// Links at NAME.json and at the old fixed temporary name NAME.json.tmp:
// the state is written through a random O_EXCL temporary file and renamed
// over the link, which goes; the files linked to are untouched.
func TestStateReplacesPlantedLinks(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	os.MkdirAll(w.dir, 0o755)
	outside := filepath.Join(t.TempDir(), "profile")
	os.WriteFile(outside, []byte("untouched\n"), 0o644)
	for _, n := range []string{"st.json", "st.json.tmp"} {
		os.Symlink(outside, filepath.Join(w.dir, n))
	}
	if out, code := w.run("start", "--name", "st", "--", "/bin/sh", "-c", "exit 3"); code != 0 {
		t.Fatalf("start: exit %d, %q", code, out)
	}
	st := w.waitState("st", session.Exited)
	if st.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", st.ExitCode)
	}
	if b, _ := os.ReadFile(outside); string(b) != "untouched\n" {
		t.Errorf("the state was written through a link: %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(w.dir, "st.json")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("st.json is %v, %v; want a regular file", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(w.dir, ".st.json.hjk-*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// A socket folder made first by someone else, or open to others, is not
// used: whoever can write it can swap the socket or the lock.
func TestStartRefusesForeignRunDir(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	run := filepath.Join(filepath.Dir(w.dir), "run")
	os.MkdirAll(run, 0o777)
	os.Chmod(run, 0o777)
	out, code := w.run("start", "--name", "x", "--", "/bin/true")
	if code != 125 || !strings.Contains(out, run+" belongs to uid") {
		t.Errorf("start with a socket folder open to all: exit %d, %q", code, out)
	}
}

// list and attach read state files the agent may have planted: a FIFO, a
// huge sparse file, a name that is no session's, a command holding escape
// sequences. None hangs, none is read whole, nothing a terminal acts on is
// printed.
func TestListBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	os.MkdirAll(w.dir, 0o755)
	syscall.Mkfifo(filepath.Join(w.dir, "fifo.json"), 0o666)
	f, _ := os.Create(filepath.Join(w.dir, "huge.json"))
	f.Truncate(1 << 40)
	f.Close()
	st := session.State{Name: "evil", Command: []string{"sh", "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u202e"}, State: session.Running, Started: time.Now()}
	b, _ := json.Marshal(st)
	os.WriteFile(filepath.Join(w.dir, "evil.json"), b, 0o644)
	bad := st
	bad.Name, bad.State = "bad\x1b[31m", "\x1b[32mrunning"
	b, _ = json.Marshal(bad)
	os.WriteFile(filepath.Join(w.dir, "bad\x1b[31m.json"), b, 0o644)
	bad.Name = "other"
	b, _ = json.Marshal(bad)
	os.WriteFile(filepath.Join(w.dir, "other.json"), b, 0o644)

	done := make(chan string, 1)
	go func() { out, _ := w.run("list"); done <- out }()
	var out string
	select {
	case out = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("session list hangs")
	}
	if out != "evil\trunning\tsh \\u202e\n" {
		t.Errorf("list printed %q", out)
	}
	for _, name := range []string{"fifo", "huge"} {
		go func() { out, _ := w.run("attach", name); done <- out }()
		select {
		case out := <-done:
			if !strings.Contains(out, "no running session "+name) {
				t.Errorf("attach %s: %q", name, out)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("attach %s hangs", name)
		}
	}
}

// The state file stays within what readers read, however long the
// command (a prompt) is.
func TestStateFitsItsCap(t *testing.T) {
	t.Parallel()
	long := []string{"hjk-init", "--", "claude"}
	for range 100 {
		long = append(long, strings.Repeat("é", 2000))
	}
	st := fitState(session.State{Name: "n", Command: long, State: session.Running})
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil || len(b) > session.MaxStateSize {
		t.Fatalf("state of %d bytes, %v; want at most %d", len(b), err, session.MaxStateSize)
	}
	if st.Command[2] != "claude" || !strings.HasPrefix(st.Command[len(st.Command)-1], "... (") {
		t.Errorf("shortened command %q", st.Command[:3])
	}
	short := session.State{Command: []string{"a", "b"}}
	if got := fitState(short); len(got.Command) != 2 {
		t.Errorf("a short command was changed: %q", got.Command)
	}
}

// A program of the agent's user sitting on a session's socket and never
// answering: kill gives up after killWait instead of holding hjk kill.
func TestKillGivesUpOnSilentServer(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	run := filepath.Join(filepath.Dir(w.dir), "run")
	os.MkdirAll(run, 0o700)
	l, err := listen(filepath.Join(run, "silent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	go func() {
		for {
			c, err := l.accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it, say nothing
		}
	}()
	start := time.Now()
	out, code := w.run("kill", "silent")
	if code != 1 || !strings.Contains(out, "no exit status within") {
		t.Errorf("kill: exit %d, %q", code, out)
	}
	if took := time.Since(start); took > killWait+5*time.Second {
		t.Errorf("kill took %v", took)
	}
}

// MarkLost (boot, in a new container) records the sessions left running
// as lost, keeps the others, and never writes through a link, waits on a
// FIFO or takes a file whose name is not its session's.
func TestMarkLost(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	os.MkdirAll(w.dir, 0o755)
	state := func(name, st string) []byte {
		b, _ := json.Marshal(session.State{Name: name, State: st, Command: []string{"sh"}, PID: 1 << 30})
		return b
	}
	os.WriteFile(filepath.Join(w.dir, "a.json"), state("a", session.Running), 0o644)
	os.WriteFile(filepath.Join(w.dir, "b.json"), state("b", session.Exited), 0o644)
	os.WriteFile(filepath.Join(w.dir, "e.json"), state("other", session.Running), 0o644)
	outside := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(outside, state("c", session.Running), 0o644)
	os.Symlink(outside, filepath.Join(w.dir, "c.json"))
	syscall.Mkfifo(filepath.Join(w.dir, "d.json"), 0o666)
	done := make(chan struct{})
	go func() { MarkLost(w.env); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("MarkLost hangs on a FIFO")
	}
	for name, want := range map[string]string{"a": session.Lost, "b": session.Exited, "e": session.Running} {
		var st session.State
		b, _ := os.ReadFile(filepath.Join(w.dir, name+".json"))
		if json.Unmarshal(b, &st); st.State != want {
			t.Errorf("%s.json: state %q, want %q", name, st.State, want)
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != string(state("c", session.Running)) {
		t.Errorf("written through the planted link: %s", b)
	}
	if fi, err := os.Lstat(filepath.Join(w.dir, "d.json")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the planted FIFO was replaced: %v", err)
	}
}
