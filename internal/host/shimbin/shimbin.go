// Package shimbin carries the static linux hjk-init, for amd64 and arm64,
// inside hjk, and writes the one a container needs under hjk's data folder
// so the instance code can mount it read-only at GuestDir. Any image holding
// an agent's CLI then works, with or without the shim baked in, and host and
// guest are the same build. It touches only its folder under the data dir.
package shimbin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Paths inside every container: the host folder Install returns is mounted
// read-only at GuestDir.
const (
	GuestDir  = "/.hjk"
	GuestPath = GuestDir + "/hjk-init"
)

// ErrNotEmbedded is returned by an hjk built without the binaries (go build
// on a fresh clone rather than make build).
var ErrNotEmbedded = errors.New("this hjk was built without hjk-init inside: build it with 'make build'")

// Arches are the architectures hjk carries hjk-init for, as Go names them.
var Arches = []string{"amd64", "arm64"}

// bin holds README.md, plus linux-<arch>/hjk-init when make build put them
// there.
//
//go:embed bin
var bin embed.FS

// Install writes the hjk-init for linux/arch (a Go arch name; "x86_64" and
// "aarch64" are taken too) under dataDir/bin/<hash>/linux-<arch>/ and
// returns that folder. The folder is named by the binary's content hash, so
// a container keeps the shim it was created with while a new hjk writes its
// own beside it. The file is written atomically, 0755, only when missing or
// different.
func Install(dataDir, arch string) (hostDir string, err error) {
	return install(bin, dataDir, arch)
}

// Embedded reports which architectures this hjk carries hjk-init for.
func Embedded() []string {
	var have []string
	for _, a := range Arches {
		if _, err := fs.Stat(bin, binPath(a)); err == nil {
			have = append(have, a)
		}
	}
	return have
}

func binPath(arch string) string { return "bin/linux-" + arch + "/hjk-init" }

// goArch maps the names engines and uname use onto Go's.
func goArch(arch string) string {
	switch arch {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return arch
}

func install(fsys fs.FS, dataDir, arch string) (string, error) {
	arch = goArch(arch)
	known := false
	for _, a := range Arches {
		known = known || a == arch
	}
	if !known {
		return "", fmt.Errorf("no hjk-init for linux/%s: hjk carries it for linux/amd64 and linux/arm64", arch)
	}
	b, err := fs.ReadFile(fsys, binPath(arch))
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNotEmbedded
	}
	if err != nil {
		return "", fmt.Errorf("read embedded hjk-init: %w", err)
	}
	sum := sha256.Sum256(b)
	dir := filepath.Join(dataDir, "bin", hex.EncodeToString(sum[:6]), "linux-"+arch)
	dst := filepath.Join(dir, "hjk-init")
	if same(dst, b) {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("install hjk-init: %w", err)
	}
	if err := writeAtomic(dst, b); err != nil {
		return "", fmt.Errorf("install hjk-init: %w", err)
	}
	return dir, nil
}

// same reports whether path already holds b, executable.
func same(path string, b []byte) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != int64(len(b)) || fi.Mode().Perm() != 0o755 {
		return false
	}
	have, err := os.ReadFile(path)
	return err == nil && bytes.Equal(have, b)
}

// writeAtomic writes b to path through a temporary file in the same folder,
// so a container starting meanwhile never runs half a binary.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".hjk-init-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o755); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
