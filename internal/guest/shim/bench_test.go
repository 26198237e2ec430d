package shim

import (
	"encoding/base64"
	"io"
	"os"
	"testing"
)

// BenchmarkPrepare is hjk-init's own work before the exec: all three
// agents' files written (merged into existing ones after the first
// iteration) and the environment scrubbed. scripts/bench measures the
// whole binary against the shell script and the Go floor.
func BenchmarkPrepare(b *testing.B) {
	enc := base64.RawURLEncoding.EncodeToString
	jwt := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"email":"dev@example.com","exp":1900000000}`)) + "." + enc([]byte("FAKEsig"))
	home := b.TempDir()
	s := &shim{
		env: []string{
			"HOME=" + home,
			"HJK_WORKDIR=" + home,
			"CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-FAKEbenchTOKENfake_0123456789-abcdef",
			`GEMINI_OAUTH_CREDS={"oauth_creds":{"access_token":"ya29.FAKE","refresh_token":"1//FAKE","token_type":"Bearer","expiry_date":1900000000000},"google_accounts":{"active":"dev@example.com","old":[]}}`,
			`CODEX_AUTH_JSON={"OPENAI_API_KEY":null,"tokens":{"id_token":"` + jwt + `","access_token":"FAKE","refresh_token":"FAKE","account_id":"acct-fake"},"last_refresh":"2026-11-27T00:00:00Z"}`,
		},
		stdout: io.Discard,
		stderr: io.Discard,
		uid:    os.Getuid(),
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.prepare(); err != nil {
			b.Fatal(err)
		}
	}
}
