package privdrop

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const passwd = `root:x:0:0:root:/root:/bin/sh
# a comment, then a blank line

agent:x:1000:1000:Agent:/home/agent:/bin/sh
bob:x:1001:1001::/home/bob:/bin/sh
nohome:x:1002:1002:::/bin/sh
broken:x:notanumber:1:::
short:x:7
`

const group = `root:x:0:
agent:x:1000:
bob:x:1001:
docker:x:999:agent,bob
devs:x:2000:bob
empty:x:3000:
`

func fakeDB(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	p, g := filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	if err := os.WriteFile(p, []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g, []byte(group), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, g
}

func TestLookup(t *testing.T) {
	t.Parallel()
	p, g := fakeDB(t)
	tests := []struct {
		spec string
		want User
	}{
		{"agent", User{Name: "agent", UID: 1000, GID: 1000, Groups: []int{1000, 999}, Home: "/home/agent"}},
		{"1000", User{Name: "agent", UID: 1000, GID: 1000, Groups: []int{1000, 999}, Home: "/home/agent"}},
		{"1000:1000", User{Name: "agent", UID: 1000, GID: 1000, Groups: []int{1000, 999}, Home: "/home/agent"}},
		{"bob", User{Name: "bob", UID: 1001, GID: 1001, Groups: []int{1001, 999, 2000}, Home: "/home/bob"}},
		{"bob:devs", User{Name: "bob", UID: 1001, GID: 2000, Groups: []int{2000, 999}, Home: "/home/bob"}},
		{"agent:3000", User{Name: "agent", UID: 1000, GID: 3000, Groups: []int{3000, 999}, Home: "/home/agent"}},
		{"root", User{Name: "root", UID: 0, GID: 0, Groups: []int{0}, Home: "/root"}},
		{"nohome", User{Name: "nohome", UID: 1002, GID: 1002, Groups: []int{1002}, Home: "/"}},
		// A uid with no entry: gid 0 unless given, home "/", as docker --user.
		{"4242", User{UID: 4242, GID: 0, Groups: []int{0}, Home: "/"}},
		{"4242:4343", User{UID: 4242, GID: 4343, Groups: []int{4343}, Home: "/"}},
		{"4242:devs", User{UID: 4242, GID: 2000, Groups: []int{2000}, Home: "/"}},
	}
	for _, tt := range tests {
		got, err := Lookup(tt.spec, p, g)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.spec, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.spec, got, tt.want)
		}
	}
}

func TestLookupErrors(t *testing.T) {
	t.Parallel()
	p, g := fakeDB(t)
	tests := []struct{ spec, want string }{
		{"nobody-here", `no user "nobody-here" in ` + p},
		{"agent:nogroup", `no group "nogroup" in ` + g},
		{"broken", "malformed uid"},
		{"", "is not a user"},
		{":1000", "is not a user"},
		{"agent:", "is not a user"},
		{"-1", `no user "-1"`},
		{"99999999999", `no user "99999999999"`}, // beyond 32 bits: not a uid
	}
	for _, tt := range tests {
		_, err := Lookup(tt.spec, p, g)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Lookup(%q) error = %v, want %q", tt.spec, err, tt.want)
		}
	}
}

func TestLookupWithoutFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, g := filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	// FROM scratch images often have no user database: a number still works.
	got, err := Lookup("1000:1000", p, g)
	if err != nil {
		t.Fatal(err)
	}
	if want := (User{UID: 1000, GID: 1000, Groups: []int{1000}, Home: "/"}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := Lookup("agent", p, g); err == nil {
		t.Error("a name resolved without a password file")
	}
}
