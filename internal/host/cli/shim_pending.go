package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// installShim writes hjk-init for arch under data and returns the folder to
// mount. Stand-in until internal/host/shimbin lands: it copies the binary
// named by HJK_INIT_BINARY.
func (app *App) installShim(data, arch string) (string, error) {
	src := app.Getenv("HJK_INIT_BINARY")
	if src == "" {
		return "", errors.New("no hjk-init to mount: set HJK_INIT_BINARY")
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(data, "shim", arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".hjk-init-%d", os.Getpid()))
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return "", err
	}
	return dir, os.Rename(tmp, filepath.Join(dir, "hjk-init"))
}
