package store

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireSecretService skips the test when no Secret Service answers, or
// fails it when HJK_E2E=1 (CI must test the real thing).
func requireSecretService(t *testing.T) *SecretServiceStore {
	t.Helper()
	s := NewSecretService(os.Getenv)
	s.SetTimeout(10 * time.Second)
	if _, err := s.List(); err != nil {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatalf("HJK_E2E=1 but the Secret Service does not answer (run under scripts/test): %v", err)
		}
		t.Skipf("no usable Secret Service: %v", err)
	}
	return s
}

// requireTools is like requireSecretService for programs a test runs.
func requireTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("HJK_E2E") == "1" {
				t.Fatalf("HJK_E2E=1 but %s is not installed (.ci/install installs it)", n)
			}
			t.Skipf("%s is not installed", n)
		}
	}
}

// uniqueItem names an item no other test, package or run uses.
func uniqueItem(t *testing.T) string {
	return fmt.Sprintf("hjk-store-test-%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "-"), os.Getpid(), time.Now().UnixNano())
}

func secretTool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("secret-tool", args...).Output()
	return string(out), err
}

func TestSecretServiceRoundTrip(t *testing.T) {
	t.Parallel()
	s := requireSecretService(t)
	requireTools(t, "secret-tool")
	item := uniqueItem(t)
	t.Cleanup(func() { _ = s.Delete(item) })

	if _, err := s.Get(item); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing item = %v, want ErrNotFound", err)
	}
	if err := s.Set(item, []byte("first-fake-value")); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(item, []byte("second-fake-value")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(item)
	if err != nil || string(got) != "second-fake-value" {
		t.Fatalf("Get = %q, %v; want the second value", got, err)
	}

	// Seen from outside, through libsecret, as a user would look.
	out, err := secretTool(t, "lookup", "service", Service, "account", item)
	if err != nil || out != "second-fake-value" {
		t.Fatalf("secret-tool lookup = %q, %v", out, err)
	}
	cmd := exec.Command("secret-tool", "search", "--all", "service", Service, "account", item)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("secret-tool search: %v\n%s", err, b)
	}
	if n := strings.Count(string(b), "label = hjk: "+item); n != 1 {
		t.Fatalf("secret-tool search finds %d items labelled %q, want 1 (Set replaces):\n%s", n, "hjk: "+item, b)
	}

	names, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if !contains(names, item) {
		t.Fatalf("List = %v, want it to hold %s", names, item)
	}

	if err := s.Delete(item); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(item); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}
	if out, err := secretTool(t, "lookup", "service", Service, "account", item); err == nil {
		t.Fatalf("secret-tool still finds the item after Delete (%d bytes)", len(out))
	}
}

func TestSecretServiceNoBus(t *testing.T) {
	t.Parallel()
	s := NewSecretService(func(string) string { return "" })
	_, err := s.Get("x")
	var se *SecretServiceError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "DBUS_SESSION_BUS_ADDRESS") || !strings.Contains(err.Error(), "HJK_STORE=file") {
		t.Fatalf("Get without a bus = %v; want an error naming DBUS_SESSION_BUS_ADDRESS and HJK_STORE=file", err)
	}
}

// A bus that accepts the connection and never answers must not hang hjk.
func TestSecretServiceHungBus(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent
		}
	}()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+sock)
	s := NewSecretService(os.Getenv)
	s.SetTimeout(500 * time.Millisecond)
	start := time.Now()
	err = s.Set("x", []byte("v"))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Set on a hung bus returned after %s", d)
	}
	if err == nil || !strings.Contains(err.Error(), "no answer") || !strings.Contains(err.Error(), "HJK_STORE=file") {
		t.Fatalf("Set on a hung bus = %v, want a timeout error with the fix", err)
	}
}

// childEnv marks a run of this test binary as the inside of a private
// session bus set up by a parent test.
const childEnv = "HJK_STORE_TEST_CHILD"

// runChild runs this test binary's TestSecretServiceChild in a new session
// bus started by script (sh, "$@" runs the child), with HOME at home.
func runChild(t *testing.T, mode, home, script string, dbusArgs ...string) {
	t.Helper()
	args := append(dbusArgs, "--", "sh", "-c", script, "sh", os.Args[0], "-test.run=^TestSecretServiceChild$", "-test.v")
	cmd := exec.Command("dbus-run-session", args...)
	cmd.Env = append(os.Environ(), "HOME="+home, childEnv+"="+mode, "HJK_E2E=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestSecretServiceChild") {
		t.Fatalf("child %s: %v\n%s", mode, err, out)
	}
	if testing.Verbose() {
		t.Logf("child %s:\n%s", mode, out)
	}
}

// TestSecretServiceLocked checks, against a real gnome-keyring whose login
// keyring exists but was started without its password, that every call
// says the keyring is locked and how to unlock it, and returns promptly.
func TestSecretServiceLocked(t *testing.T) {
	t.Parallel()
	requireTools(t, "dbus-run-session", "gnome-keyring-daemon", "secret-tool")
	home := t.TempDir()
	// First session: create the login keyring with a password and an item.
	runChild(t, "create", home, `printf %s pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@"`)
	// Second session: the same keyring, not unlocked.
	runChild(t, "locked", home, `gnome-keyring-daemon --start --components=secrets >/dev/null && exec "$@"`)
}

// TestSecretServiceAbsent runs on a session bus where no Secret Service can
// be started.
func TestSecretServiceAbsent(t *testing.T) {
	t.Parallel()
	requireTools(t, "dbus-run-session")
	dir := t.TempDir()
	conf := filepath.Join(dir, "session.conf")
	// A session bus with no service folders: nothing is activatable.
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=`+dir+`</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	runChild(t, "absent", dir, `exec "$@"`, "--config-file="+conf)
}

// TestSecretServiceChild is the inside of the tests above; it does nothing
// in a normal run.
func TestSecretServiceChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("run by TestSecretServiceLocked and TestSecretServiceAbsent")
	}
	s := NewSecretService(os.Getenv)
	s.SetTimeout(20 * time.Second)
	const item = "hjk-store-test-locked"
	if mode == "create" {
		if err := s.Set(item, []byte("fake-value")); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := map[string][]string{
		"locked": {"default keyring is locked", "unlock your login keyring", "HJK_STORE=file"},
		"absent": {"no Secret Service on the session bus", "gnome-keyring-daemon", "HJK_STORE=file"},
	}[mode]
	check := func(op string, err error) {
		t.Helper()
		t.Logf("%s: %v", op, err)
		if err == nil {
			t.Errorf("%s succeeded in mode %s", op, mode)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\nwant it to say %q", op, err, w)
			}
		}
		if mode == "locked" && !errors.Is(err, ErrLocked) {
			t.Errorf("%s: %v is not ErrLocked", op, err)
		}
		if strings.Contains(err.Error(), "fake-value") {
			t.Errorf("%s: error shows the value", op)
		}
	}
	start := time.Now()
	_, err := s.Get(item)
	check("Get", err)
	check("Set", s.Set(item, []byte("fake-value-2")))
	_, err = s.List()
	check("List", err)
	check("Delete", s.Delete(item))
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("four calls took %s", d)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
