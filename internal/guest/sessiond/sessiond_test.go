package sessiond

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hjk-dev/hjk/internal/session"
)

// bin is hjk-init, built once: the server and client run as the real
// binary, outside any container.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sessiond-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "hjk-init")
	cmd := exec.Command("go", "build", "-o", bin, "../../../cmd/hjk-init")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build hjk-init: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is one test's session folders.
type world struct {
	t   *testing.T
	env []string
	dir string
}

func newWorld(t *testing.T) *world {
	d := t.TempDir()
	w := &world{t: t, dir: filepath.Join(d, "state")}
	w.env = append(os.Environ(), session.DirVar+"="+w.dir, session.RunVar+"="+filepath.Join(d, "run"))
	t.Cleanup(func() {
		// End every session this test left running.
		// (Some tests plant FIFOs and made-up states: read as the
		// server's readers do, and never signal a pid this test did not
		// start, least of all 0, its own process group.)
		names, _ := filepath.Glob(filepath.Join(w.dir, "*.json"))
		for _, n := range names {
			st, err := readState(w.env, strings.TrimSuffix(filepath.Base(n), ".json"))
			if err == nil && st.State == session.Running && st.PID > 1 {
				syscall.Kill(-st.PID, syscall.SIGKILL)
			}
		}
	})
	return w
}

func (w *world) cmd(args ...string) *exec.Cmd {
	c := exec.Command(bin, append([]string{"session"}, args...)...)
	c.Env = w.env
	return c
}

func (w *world) run(args ...string) (string, int) {
	w.t.Helper()
	var out bytes.Buffer
	c := w.cmd(args...)
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return out.String(), 0
}

func (w *world) state(name string) session.State {
	var st session.State
	b, err := os.ReadFile(filepath.Join(w.dir, session.StateFile(name)))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		w.t.Fatalf("state of %s: %v", name, err)
	}
	return st
}

func (w *world) waitState(name, want string) session.State {
	w.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st := w.state(name); st.State == want {
			return st
		}
	}
	w.t.Fatalf("session %s never reached %s: %+v", name, want, w.state(name))
	return session.State{}
}

// term is an attach client on a real PTY.
type term struct {
	t   *testing.T
	cmd *exec.Cmd
	pty *os.File
	mu  sync.Mutex
	out bytes.Buffer
}

func (w *world) attach(args ...string) *term {
	c := w.cmd(append([]string{"attach"}, args...)...)
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		w.t.Fatal(err)
	}
	tm := &term{t: w.t, cmd: c, pty: f}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			tm.mu.Lock()
			tm.out.Write(b[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	w.t.Cleanup(func() { c.Process.Kill(); f.Close() })
	return tm
}

func (tm *term) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

func (tm *term) waitFor(s string) {
	tm.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(tm.screen(), s) {
			return
		}
	}
	tm.t.Fatalf("never showed %q; shows:\n%q", s, tm.screen())
}

func (tm *term) exit() int {
	tm.t.Helper()
	done := make(chan error, 1)
	go func() { done <- tm.cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 0
	case <-time.After(10 * time.Second):
		tm.t.Fatalf("attach did not end; shows:\n%q", tm.screen())
		return -1
	}
}

// echoLoop answers each line with it and the terminal's size.
const echoLoop = `while read l; do echo "got:$l size:$(stty size)"; done; exit 3`

func TestAttachDetachResizeKill9(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if out, code := w.run("start", "--name", "one", "--", "/bin/sh", "-c", echoLoop); code != 0 {
		t.Fatalf("start: %d %s", code, out)
	}
	a := w.attach("one")
	io.WriteString(a.pty, "first\r")
	a.waitFor("got:first size:30 100")

	// A second client on the same session sees what the first types.
	b := w.attach("one")
	b.waitFor("got:first") // replayed on attach
	io.WriteString(a.pty, "second\r")
	b.waitFor("got:second")

	// Resize reaches the agent.
	pty.Setsize(a.pty, &pty.Winsize{Rows: 20, Cols: 70})
	time.Sleep(200 * time.Millisecond)
	io.WriteString(a.pty, "third\r")
	a.waitFor("got:third size:20 70")

	// Detach: Ctrl-B then d; a broken prefix passes through.
	io.WriteString(a.pty, "\x02x\r")
	a.waitFor("got:\x02x")
	io.WriteString(a.pty, "\x02d")
	if code := a.exit(); code != 0 {
		t.Errorf("detach: exit %d", code)
	}
	a.waitFor("[detached from session one]")

	// kill -9 the other client: the session runs on.
	b.cmd.Process.Kill()
	b.cmd.Wait()
	if st := w.state("one"); st.State != session.Running {
		t.Fatalf("after kill -9 of a client: %+v", st)
	}
	c := w.attach("--detach-keys", "ctrl-p,ctrl-q", "one")
	c.waitFor("got:third")
	io.WriteString(c.pty, "fourth\r")
	c.waitFor("got:fourth size:30 100")
	io.WriteString(c.pty, "\x10\x11")
	if code := c.exit(); code != 0 {
		t.Errorf("detach with ctrl-p,ctrl-q: exit %d", code)
	}

	// The log holds everything; ending input ends the agent with its code.
	d := w.attach("one")
	d.waitFor("got:fourth")
	io.WriteString(d.pty, "\x04")
	if code := d.exit(); code != 3 {
		t.Errorf("attach of a session that exits 3: exit %d\n%q", code, d.screen())
	}
	st := w.waitState("one", session.Exited)
	if st.ExitCode != 3 || st.Ended == nil || st.Attached == nil {
		t.Errorf("state: %+v", st)
	}
	log, _ := os.ReadFile(filepath.Join(w.dir, "one.log"))
	for _, s := range []string{"got:first", "got:second", "got:third size:20 70", "got:fourth"} {
		if !bytes.Contains(log, []byte(s)) {
			t.Errorf("log lacks %q:\n%q", s, log)
		}
	}
	if out, code := w.run("attach", "one"); code != 1 || !strings.Contains(out, "exited with code 3") {
		t.Errorf("attach to an ended session: %d %q", code, out)
	}
	if out, _ := w.run("list"); !strings.Contains(out, "one\texited 3\t") {
		t.Errorf("list: %q", out)
	}
}

func TestKillAndTerm(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	trap := `trap 'echo got TERM; exit 7' TERM; echo up; while :; do sleep 0.05; done`
	for _, n := range []string{"k", "t"} {
		if out, code := w.run("start", "--name", n, "--", "/bin/sh", "-c", trap); code != 0 {
			t.Fatalf("start: %d %s", code, out)
		}
	}
	if out, code := w.run("start", "--name", "k", "--", "/bin/true"); code != session.ExitExists || !strings.Contains(out, "exists already") {
		t.Errorf("a second start of one name: %d %q", code, out)
	}
	// kill with TERM waits for the end.
	if out, code := w.run("kill", "--signal", "15", "k"); code != 0 {
		t.Fatalf("kill: %d %s", code, out)
	}
	if st := w.state("k"); st.State != session.Exited || st.ExitCode != 7 {
		t.Errorf("after kill: %+v", st)
	}
	// TERM to the server (what init sends when the container stops)
	// reaches the agent, and the state is recorded: once the agent has
	// set its trap ("up" is in the log), or TERM ends it first.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if log, _ := os.ReadFile(filepath.Join(w.dir, "t.log")); bytes.Contains(log, []byte("up")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("session t never said it was up")
		}
	}
	// The server is the agent's parent.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", w.state("t").PID))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	fmt.Sscan(fields[1], &pid)
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); !bytes.Contains(cmdline, []byte("serve")) {
		t.Fatalf("the agent's parent %d is not the server: %q", pid, cmdline)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	st := w.waitState("t", session.Exited)
	if st.ExitCode != 7 {
		t.Errorf("after TERM to the server: %+v", st)
	}
	log, _ := os.ReadFile(filepath.Join(w.dir, "t.log"))
	if !bytes.Contains(log, []byte("got TERM")) {
		t.Errorf("log: %q", log)
	}
	// An interactive shell ignores TERM: kill escalates to HUP.
	if out, code := w.run("start", "--name", "sh", "--", "/bin/sh", "-i"); code != 0 {
		t.Fatalf("start: %d %s", code, out)
	}
	if out, code := w.run("kill", "sh"); code != 0 {
		t.Fatalf("kill: %d %s", code, out)
	}
	if st := w.state("sh"); st.State != session.Exited || st.ExitCode != 128+int(syscall.SIGHUP) {
		t.Errorf("interactive shell after kill: %+v", st)
	}
}

func TestBadArgs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, args := range [][]string{
		{"start", "--", "/bin/true"},
		{"start", "--name", "../x", "--", "/bin/true"},
		{"start", "--name", "x"},
		{"start", "--name", "x", "--detach-keys", "ctrl-1", "--", "/bin/true"},
		{"start", "--name", "x", "--", "no-such-command-here"},
		{"attach"},
		{"frobnicate"},
	} {
		if out, code := w.run(args...); code != 125 || !strings.Contains(out, "hjk-init") && !strings.Contains(out, "usage") {
			t.Errorf("%q: exit %d, %q", args, code, out)
		}
	}
	if out, code := w.run("attach", "nothing"); code != 1 || !strings.Contains(out, "no running session nothing") {
		t.Errorf("attach to no session: %d %q", code, out)
	}
}

// The session server lives as long as the session, and the agent's user
// can read /proc/<server>/environ: the payload variables must not be in it,
// nor in the agent's, yet the agent's hjk-init still writes the files.
func TestPayloadsNotInServerEnviron(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	home := t.TempDir()
	const refresh = "FAKEsessiondCODEXrefresh0123456789"
	enc := base64.RawURLEncoding.EncodeToString
	jwt := enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(`{"email":"dev@example.com","exp":1900000000}`)) + "." + enc([]byte("FAKEsig"))
	payload := `{"OPENAI_API_KEY":null,"tokens":{"id_token":"` + jwt + `","access_token":"FAKEsessiondACCESS","refresh_token":"` + refresh + `","account_id":"acct-fake"},"last_refresh":"2026-11-27T00:00:00Z"}`
	w.env = append(w.env, "HOME="+home, "CODEX_AUTH_JSON="+payload)
	ready := filepath.Join(home, "ready")
	out, code := w.run("start", "--name", "env", "--", bin, "--", "/bin/sh", "-c", `touch "$0"; exec sleep 30`, ready)
	if code != 0 {
		t.Fatalf("start: exit %d, %q", code, out)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent never started")
		}
	}
	agent := w.state("env").PID
	defer syscall.Kill(-agent, syscall.SIGKILL)
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", agent))
	if err != nil {
		t.Fatal(err)
	}
	var server int
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	fmt.Sscan(fields[1], &server)
	for _, p := range []struct {
		who string
		pid int
	}{{"server", server}, {"agent", agent}} {
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.pid))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(environ, []byte(session.DirVar+"=")) {
			t.Errorf("read the wrong process as the %s (pid %d)", p.who, p.pid)
		}
		if bytes.Contains(environ, []byte("CODEX_AUTH_JSON")) || bytes.Contains(environ, []byte(refresh)) {
			t.Errorf("the %s's environment (pid %d) holds CODEX_AUTH_JSON", p.who, p.pid)
		}
	}
	b, err := os.ReadFile(filepath.Join(home, ".codex", "auth.json"))
	if err != nil || !bytes.Contains(b, []byte(refresh)) {
		t.Errorf("the agent's hjk-init did not write .codex/auth.json from the payload: %v", err)
	}
}

// list --json, log with --tail and --follow, kill --all: what hjk on the
// host asks for through exec.
func TestListLogKillAll(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, n := range []string{"a", "b"} {
		if out, code := w.run("start", "--name", n, "--", "/bin/sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; while :; do sleep 0.05; done"); code != 0 {
			t.Fatalf("start %s: %d %s", n, code, out)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(w.dir, "a.log"))
		if strings.Count(string(b), "\n") >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, code := w.run("list", "--json")
	var list []session.State
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 {
		t.Fatalf("list --json: %d %q", code, out)
	}
	if out, code := w.run("log", "--tail", "2", "a"); code != 0 || strings.ReplaceAll(out, "\r", "") != "line4\nline5\n" {
		t.Errorf("log --tail 2: %d %q", code, out)
	}
	if out, code := w.run("log", "nope"); code != 1 || !strings.Contains(out, "no session nope") {
		t.Errorf("log of no session: %d %q", code, out)
	}
	// A planted link as a log is not followed.
	os.Symlink("/etc/passwd", filepath.Join(w.dir, "c.log"))
	os.WriteFile(filepath.Join(w.dir, "c.json"), []byte(`{"name":"c","state":"exited"}`), 0o644)
	if out, code := w.run("log", "c"); code != 125 || strings.Contains(out, "root:") {
		t.Errorf("log through a planted link: %d %q", code, out)
	}
	// --follow ends when the session does.
	f := w.cmd("log", "--follow", "b")
	var fout bytes.Buffer
	f.Stdout = &fout
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	if out, code := w.run("kill", "--all"); code != 0 {
		t.Fatalf("kill --all: %d %s", code, out)
	}
	done := make(chan error, 1)
	go func() { done <- f.Wait() }()
	select {
	case err := <-done:
		if err != nil || !strings.Contains(fout.String(), "line5") {
			t.Errorf("log --follow: %v %q", err, fout.String())
		}
	case <-time.After(10 * time.Second):
		f.Process.Kill()
		t.Fatal("log --follow went on after the session ended")
	}
	for _, n := range []string{"a", "b"} {
		if st := w.state(n); st.State != session.Exited {
			t.Errorf("%s after kill --all: %+v", n, st)
		}
	}
}

func TestSeekLastLinesBounded(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.log")
	f, _ := os.Create(p)
	// A sparse file of a gigabyte with no newline: the tail reads at most
	// the bound, not the whole file.
	f.Truncate(1 << 30)
	f.WriteAt([]byte("x\nlast\n"), 1<<30)
	if err := seekLastLines(f, 100, 1<<20); err != nil {
		t.Fatal(err)
	}
	pos, _ := f.Seek(0, io.SeekCurrent)
	if pos != 1<<30+7-(1<<20) {
		t.Errorf("seeked to %d, want the bound before the end", pos)
	}
	if err := seekLastLines(f, 1, 1<<20); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	if string(b) != "last\n" {
		t.Errorf("last line %q", b)
	}
	f.Close()
}
