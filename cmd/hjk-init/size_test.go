package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// maxSize is the budget for the linux/amd64 binary: 3.5 MiB. It was 3 MiB
// until hjk-init became the instance container's init and the keeper of its
// repository (boot, repo): those came with no new package beyond what the
// standard library's os and syscall give.
const maxSize = 7 << 19

func TestBinarySize(t *testing.T) {
	t.Parallel()
	p := bin
	if runtime.GOARCH != "amd64" {
		p = filepath.Join(t.TempDir(), "hjk-init")
		if err := build(p, ".", "amd64"); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("linux/amd64 hjk-init: %d bytes (%.2f MiB, budget %d)", fi.Size(), float64(fi.Size())/(1<<20), maxSize)
	if fi.Size() >= maxSize {
		t.Errorf("linux/amd64 hjk-init is %d bytes, over the %d-byte budget: see `go list -deps ./cmd/hjk-init` for what grew", fi.Size(), maxSize)
	}
}

// hjk-init must stay free of the host's heavy and OS-bound parts.
func TestDeps(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !contains(deps, "github.com/hjk-dev/hjk/internal/guest/shim") {
		t.Fatalf("go list -deps did not list the shim: %q", deps)
	}
	forbidden := []string{"keychain", "dbus", "pty", "github.com/hjk-dev/hjk/internal/host"}
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.Contains(d, f) {
				t.Errorf("hjk-init depends on %s (no %q allowed)", d, f)
			}
		}
		// The network stack and cgo's user lookup: large, and nothing
		// hjk-init needs (it reads /etc/passwd itself).
		if d == "net" || d == "os/user" {
			t.Errorf("hjk-init depends on %s", d)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
