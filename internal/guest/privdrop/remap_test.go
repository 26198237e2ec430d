package privdrop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRemap(t *testing.T) {
	pw, gr := fakeDB(t)
	u, err := Lookup("agent", pw, gr)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Remap(u, 501, 20, pw, gr)
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != 501 || got.GID != 20 || got.Groups[0] != 20 {
		t.Errorf("remapped user %+v", got)
	}
	again, err := Lookup("agent", pw, gr)
	if err != nil || again.UID != 501 || again.GID != 20 || again.Home != "/home/agent" {
		t.Errorf("lookup after remap: %+v, %v", again, err)
	}
	// Other users, comments and groups are as they were; agent's own group moved.
	b, _ := os.ReadFile(pw)
	for _, want := range []string{"root:x:0:0:root:/root:/bin/sh\n", "# a comment", "bob:x:1001:1001::/home/bob:/bin/sh\n", "agent:x:501:20:Agent:/home/agent:/bin/sh\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("passwd lost %q:\n%s", want, b)
		}
	}
	g, _ := os.ReadFile(gr)
	if !strings.Contains(string(g), "agent:x:20:\n") || !strings.Contains(string(g), "docker:x:999:agent,bob\n") {
		t.Errorf("group after remap:\n%s", g)
	}
	if _, err := Remap(User{UID: 1234}, 1, 1, pw, gr); err == nil {
		t.Error("remapped a uid without an entry")
	}
}

func TestChown(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("chown needs root")
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o700)
	os.WriteFile(filepath.Join(dir, "a", "b", "f"), nil, 0o600)
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, nil, 0o600)
	os.Chown(outside, 1000, 1000) // the old owner's: a followed link would hand it over
	os.Symlink(outside, filepath.Join(dir, "link"))
	for _, p := range []string{dir, filepath.Join(dir, "a"), filepath.Join(dir, "a", "b"), filepath.Join(dir, "a", "b", "f")} {
		os.Lchown(p, 1000, 1000)
	}
	if err := Chown(dir, 1000, 1000, 1500, 1600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "a", "b", "f")} {
		fi, _ := os.Lstat(p)
		if u, g := ownerOf(fi); u != 1500 || g != 1600 {
			t.Errorf("%s owned by %d:%d", p, u, g)
		}
	}
	fi, _ := os.Stat(outside)
	if u, _ := ownerOf(fi); u != 1000 {
		t.Errorf("Chown followed a link: %s now uid %d", outside, u)
	}
}
