package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInstall(t *testing.T) {
	src := filepath.Join(t.TempDir(), "hjk-gate")
	os.WriteFile(src, []byte("gate"), 0o755)
	dst := filepath.Join(t.TempDir(), "hjk-gate")
	if err := install(src, dst); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	fi, _ := os.Stat(dst)
	if err != nil || string(b) != "gate" || fi.Mode().Perm() != 0o555 {
		t.Fatalf("installed %q %v, %v", b, fi.Mode(), err)
	}
	// Again over it (an init container restarted), and never through a link.
	if err := install(src, dst); err != nil {
		t.Fatalf("install over an earlier one: %v", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(src, link)
	if err := install(link, filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("installed from a link")
	}
}

func TestCheckUser(t *testing.T) {
	for _, tt := range []struct {
		uid  int
		gate string
		ok   bool
	}{{1000, "65533", true}, {0, "65533", false}, {65533, "65533", false}, {65533, "", true}} {
		err := checkUser(tt.uid, tt.gate)
		if (err == nil) != tt.ok {
			t.Errorf("checkUser(%d, %q) = %v", tt.uid, tt.gate, err)
		}
		if err != nil && !strings.Contains(err.Error(), "root") && !strings.Contains(err.Error(), "gate") {
			t.Errorf("checkUser(%d): %v says neither root nor gate", tt.uid, err)
		}
	}
}
