package shimbin

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// Programs are the static binaries hjk carries for the containers, in the
// order they go into the tar: hjk-init always, hjk-gate when this hjk was
// built with it.
var Programs = []string{"hjk-init", "hjk-gate"}

// Tar returns, for linux/arch, a tar stream of the programs hjk carries
// (each 0755, owned by root, at the top of the stream) and a short hash of
// their content that names the engine volume holding them: a container
// keeps the binaries it was created with while a new hjk fills a volume of
// its own beside it. A missing hjk-init is ErrNotEmbedded; a missing
// hjk-gate is left out.
func Tar(arch string) (hash string, stream []byte, err error) {
	return tarOf(bin, arch)
}

func tarOf(fsys fs.FS, arch string) (string, []byte, error) {
	arch = goArch(arch)
	if !known(arch) {
		return "", nil, fmt.Errorf("no hjk-init for linux/%s: hjk carries it for linux/amd64 and linux/arm64", arch)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	sum := sha256.New()
	for _, p := range Programs {
		b, err := fs.ReadFile(fsys, "bin/linux-"+arch+"/"+p)
		if errors.Is(err, fs.ErrNotExist) && p != "hjk-init" {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil, ErrNotEmbedded
		}
		if err != nil {
			return "", nil, fmt.Errorf("read embedded %s: %w", p, err)
		}
		sum.Write([]byte(p + "\x00"))
		sum.Write(b)
		hdr := &tar.Header{Name: p, Mode: 0o755, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return "", nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return "", nil, err
	}
	return hex.EncodeToString(sum.Sum(nil)[:6]), buf.Bytes(), nil
}

func known(arch string) bool {
	for _, a := range Arches {
		if a == arch {
			return true
		}
	}
	return false
}
