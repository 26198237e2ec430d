package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/gate/gatetest"
)

// maxSize is the budget for the linux/amd64 binary: 9 MiB. net/http and
// crypto/tls are most of it.
const maxSize = 9 << 20

// TestBinary checks the shipped form: static (it runs from a volume in any
// image, with no libc of its own), and within its size budget.
func TestBinary(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "hjk-gate")
	if err := gatetest.Build(p, "amd64"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("linux/amd64 hjk-gate: %d bytes (%.2f MiB, budget %d)", fi.Size(), float64(fi.Size())/(1<<20), maxSize)
	if fi.Size() >= maxSize {
		t.Errorf("linux/amd64 hjk-gate is %d bytes, over the %d-byte budget: see `go list -deps ./cmd/hjk-gate` for what grew", fi.Size(), maxSize)
	}
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			t.Errorf("hjk-gate is dynamically linked (%v)", prog.Type)
		}
	}
}

// TestDeps keeps the gate free of the host's and the guest's code, and of
// anything that needs cgo.
func TestDeps(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, want := range []string{"github.com/hjk-dev/hjk/internal/gate", "github.com/hjk-dev/hjk/internal/agent", "net/http"} {
		if !slices.Contains(deps, want) {
			t.Fatalf("go list -deps does not list %s: %q", want, deps)
		}
	}
	forbidden := []string{"github.com/hjk-dev/hjk/internal/host", "github.com/hjk-dev/hjk/internal/guest", "internal/gate/gatetest",
		"keychain", "dbus", "creack/pty", "os/exec", "runtime/cgo"}
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.Contains(d, f) {
				t.Errorf("hjk-gate depends on %s (no %q allowed)", d, f)
			}
		}
	}
}
