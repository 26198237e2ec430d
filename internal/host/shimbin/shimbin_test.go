package shimbin

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func fakeBins() fstest.MapFS {
	return fstest.MapFS{
		"bin/README.md":            {Data: []byte("readme")},
		"bin/linux-amd64/hjk-init": {Data: []byte("amd64 binary")},
		"bin/linux-arm64/hjk-init": {Data: []byte("arm64 binary")},
	}
}

func TestInstallWritesOnce(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	dir, err := install(fakeBins(), data, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, filepath.Join(data, "bin")+"/") || filepath.Base(dir) != "linux-amd64" {
		t.Errorf("folder %s is not data/bin/<hash>/linux-amd64", dir)
	}
	p := filepath.Join(dir, "hjk-init")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(p); string(b) != "amd64 binary" {
		t.Errorf("content %q", b)
	}
	// Unchanged: not rewritten (the mtime stays).
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	dir2, err := install(fakeBins(), data, "amd64")
	if err != nil || dir2 != dir {
		t.Fatalf("second install: %s, %v", dir2, err)
	}
	if fi, _ := os.Stat(p); !fi.ModTime().Equal(old) {
		t.Error("an identical binary was rewritten")
	}
	// Damaged or not executable: written again.
	if err := os.WriteFile(p, []byte("amd64 binarX"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := install(fakeBins(), data, "x86_64"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "amd64 binary" {
		t.Errorf("damaged binary not repaired: %q", b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode after repair %v", fi.Mode().Perm())
	}
	// No temporary file is left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("folder holds %d entries, want only hjk-init", len(ents))
	}
}

func TestInstallArch(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	a, err := install(fakeBins(), data, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	b, err := install(fakeBins(), data, "aarch64")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(b) != "linux-arm64" || filepath.Dir(a) == filepath.Dir(b) {
		t.Errorf("amd64 in %s, arm64 in %s: want separate hash folders", a, b)
	}
	if got, _ := os.ReadFile(filepath.Join(b, "hjk-init")); string(got) != "arm64 binary" {
		t.Errorf("arm64 folder holds %q", got)
	}
	// A new build lands beside the old one: running containers keep theirs.
	newer := fakeBins()
	newer["bin/linux-amd64/hjk-init"] = &fstest.MapFile{Data: []byte("amd64 binary v2")}
	c, err := install(newer, data, "amd64")
	if err != nil || c == a {
		t.Fatalf("new build: %s, %v", c, err)
	}
	if got, _ := os.ReadFile(filepath.Join(a, "hjk-init")); string(got) != "amd64 binary" {
		t.Error("the old build was replaced in place")
	}
	if _, err := install(fakeBins(), data, "riscv64"); err == nil || !strings.Contains(err.Error(), "linux/riscv64") {
		t.Errorf("unknown arch: %v", err)
	}
}

func TestInstallNotEmbedded(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	_, err := install(fstest.MapFS{"bin/README.md": {Data: []byte("readme")}}, data, "amd64")
	if !errors.Is(err, ErrNotEmbedded) || !strings.Contains(err.Error(), "make build") {
		t.Errorf("got %v", err)
	}
	if ents, _ := os.ReadDir(data); len(ents) != 0 {
		t.Error("something was written without a binary")
	}
}

// The real embedded binaries, when make build put them in: static ELF for
// the right machine. make test builds first, so CI always checks them.
func TestEmbeddedBinaries(t *testing.T) {
	t.Parallel()
	have := Embedded()
	if len(have) != len(Arches) {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatalf("HJK_E2E=1 but this build carries hjk-init for %v only: %v", have, ErrNotEmbedded)
		}
		t.Skipf("built without hjk-init inside (%v): run make build", have)
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, arch := range Arches {
		dir, err := Install(t.TempDir(), arch)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.Open(filepath.Join(dir, "hjk-init"))
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if f.Machine != want[arch] {
			t.Errorf("%s: machine %v", arch, f.Machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: dynamically linked", arch)
			}
		}
		f.Close()
	}
	b, _ := bin.ReadFile("bin/README.md")
	if !bytes.Contains(b, []byte("make build")) {
		t.Error("README missing from the embedded folder")
	}
}
