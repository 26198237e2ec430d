package shim

import (
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/guest/export"
)

// With HOME given twice, the shim writes the login into the home export
// reads it back from, the first, as the agent's getenv reads it. Before one
// lookup served both, the shim took the last and export the first, so a
// login codex refreshed was never taken back.
func TestPrepareAndExportAgree(t *testing.T) {
	t.Parallel()
	enc := base64.RawURLEncoding.EncodeToString
	jwt := enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{"exp":1900000000}`)) + ".c2ln"
	payload := `{"tokens":{"id_token":"` + jwt + `","access_token":"FAKEat","refresh_token":"FAKErt","account_id":"acct"},"last_refresh":"2026-11-27T00:00:00Z"}`
	first, last := t.TempDir(), t.TempDir()
	env := []string{"HOME=" + first, "HJK_WORKDIR=/w", "HOME=" + last, "CODEX_AUTH_JSON=" + payload}
	s := &shim{env: env, stdout: io.Discard, stderr: io.Discard, uid: os.Getuid()}
	if _, err := s.prepare(); err != nil {
		t.Fatal(err)
	}
	got, err := export.Read(agent.Codex, environ.Get(env, "HOME"), env)
	if err != nil || got != payload {
		t.Fatalf("export read %d bytes, %v; want the login the shim wrote", len(got), err)
	}
	if entries, _ := os.ReadDir(last); len(entries) > 0 {
		t.Errorf("the shim wrote into the second HOME")
	}
	if _, err := os.Stat(filepath.Join(first, ".codex", "auth.json")); err != nil {
		t.Error(err)
	}
}
