package instance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

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
