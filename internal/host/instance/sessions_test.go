package instance

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

// A new container runs no session: states left running by the old one are
// marked lost, the others kept as they were; the folder is open to the
// container's user.
func TestSessionsMount(t *testing.T) {
	m := &Manager{Data: t.TempDir()}
	in := Instance{Name: "hjk-r-b-12345678"}
	dir := SessionsDir(m.Data, in.Name)
	os.MkdirAll(dir, 0o700)
	write := func(name, state string, code int) {
		b, _ := json.Marshal(session.State{Name: name, State: state, ExitCode: code})
		os.WriteFile(filepath.Join(dir, session.StateFile(name)), b, 0o644)
	}
	write("a", session.Running, 0)
	write("b", session.Exited, 3)
	os.WriteFile(filepath.Join(dir, "c.json"), []byte("{broken"), 0o644)
	mt, err := m.sessionsMount(in)
	if err != nil {
		t.Fatal(err)
	}
	if mt.Source != dir || mt.Target != session.GuestDir || mt.ReadOnly {
		t.Errorf("mount %+v", mt)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o777 {
		t.Errorf("folder mode %v", fi.Mode())
	}
	read := func(name string) session.State {
		var st session.State
		b, _ := os.ReadFile(filepath.Join(dir, session.StateFile(name)))
		json.Unmarshal(b, &st)
		return st
	}
	if st := read("a"); st.State != session.Lost || st.Name != "a" {
		t.Errorf("a: %+v", st)
	}
	if st := read("b"); st.State != session.Exited || st.ExitCode != 3 {
		t.Errorf("b: %+v", st)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "c.json")); string(b) != "{broken" {
		t.Errorf("a broken state file was changed: %q", b)
	}
}

// The container writes the sessions folder: markLost never writes through a
// name it planted (NAME.json.tmp, a symlink to a host file) nor replaces a
// state that is a symlink, and reads no FIFO.
func TestMarkLostPlanted(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "credentials.json")
	const secret = `{"secret":"victim-unchanged"}`
	os.WriteFile(victim, []byte(secret), 0o600)
	running, _ := json.Marshal(session.State{Name: "a", State: session.Running})
	os.WriteFile(filepath.Join(dir, "a.json"), running, 0o644)
	os.Symlink(victim, filepath.Join(dir, "a.json.tmp"))
	// b.json is a link to a running state outside: not ours to replace.
	outside := filepath.Join(t.TempDir(), "b.json")
	os.WriteFile(outside, running, 0o644)
	os.Symlink(outside, filepath.Join(dir, "b.json"))
	if err := syscall.Mkfifo(filepath.Join(dir, "c.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { markLost(dir); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("markLost hangs on a FIFO")
	}
	if b, _ := os.ReadFile(victim); string(b) != secret {
		t.Errorf("victim overwritten: %q", b)
	}
	if b, _ := os.ReadFile(outside); string(b) != string(running) {
		t.Errorf("a file outside, linked from the folder, was changed: %q", b)
	}
	if st, err := ReadSessionState(filepath.Join(dir, "a.json")); err != nil || st.State != session.Lost {
		t.Errorf("a: %+v, %v", st, err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".hjk-state-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// ReadSessionState and OpenSessionFile refuse a symlink, a FIFO (without
// blocking), a device and an oversized state.
func TestReadSessionStatePlanted(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "auth.json")
	os.WriteFile(secret, []byte(`{"name":"x","state":"running"}`), 0o600)
	os.Symlink(secret, filepath.Join(dir, "link.json"))
	syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o644)
	os.Symlink("/dev/zero", filepath.Join(dir, "zero.json"))
	os.WriteFile(filepath.Join(dir, "big.json"), []byte(`{"name":"`+strings.Repeat("x", MaxStateSize)+`"}`), 0o644)
	for _, n := range []string{"link.json", "fifo.json", "zero.json", "big.json"} {
		done := make(chan error, 1)
		go func() { _, err := ReadSessionState(filepath.Join(dir, n)); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: read", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: hangs", n)
		}
		if f, err := OpenSessionFile(filepath.Join(dir, n)); n != "big.json" && err == nil {
			f.Close()
			t.Errorf("%s: opened", n)
		}
	}
	if _, err := ReadSessionState(filepath.Join(dir, "missing.json")); !os.IsNotExist(err) {
		t.Errorf("missing: %v", err)
	}
}

// Lock narrows a data folder other users may enter.
func TestLockTightensDataFolder(t *testing.T) {
	data := filepath.Join(t.TempDir(), "hjk")
	os.Mkdir(data, 0o755)
	os.Chmod(data, 0o755)
	unlock, err := newCatalog(data).Lock()
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if fi, _ := os.Stat(data); fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder mode %v, want 0700", fi.Mode().Perm())
	}
}
