package creds

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Fake credentials, shaped like the real ones (agent-formats.md). Tests
// check that none of them ever shows in an error, a warning or a log.
const (
	fakeClaudeToken = "sk-ant-oat01-FAKEtokenFAKEtokenFAKEtoken_0123456789-abcdef"
	fakeClaudeKey   = "sk-ant-api03-FAKEkeyFAKEkeyFAKEkeyFAKEkey-0123456789abcdefXYZ"
	fakeGeminiKey   = "AIzaFAKEgeminiKEYfakeGEMINIkey0123456789"
	fakeOpenAIKey   = "sk-proj-FAKEopenaiKEYfakeOPENAIkey0123456789abcdef"
	fakeAccess      = "ya29.FAKEaccessTOKENfake0123456789"
	fakeRefresh     = "1//FAKErefreshTOKENfake0123456789"
	fakeCodexAccess = "FAKEcodexACCESStoken0123456789"
	fakeCodexRefr   = "FAKEcodexREFRESHtoken0123456789"
)

// fakeJWT builds a well-formed but unsigned JWT with the given claims.
func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("FAKEsignature"))
}

var fakeIDToken = fakeJWT(`{"email":"dev@example.com","exp":1900000000,"https://api.openai.com/auth":{"chatgpt_plan_type":"plus","chatgpt_account_id":"acct-fake"}}`)

func fakeGeminiPayload() string {
	return `{"oauth_creds":{"access_token":"` + fakeAccess + `","refresh_token":"` + fakeRefresh +
		`","scope":"https://www.googleapis.com/auth/cloud-platform","token_type":"Bearer","id_token":"` + fakeJWT(`{"email":"dev@example.com"}`) +
		`","expiry_date":1900000000000},"google_accounts":{"active":"dev@example.com","old":[]}}`
}

func fakeCodexPayload(lastRefresh string) string {
	return `{"OPENAI_API_KEY":null,"tokens":{"id_token":"` + fakeIDToken + `","access_token":"` + fakeCodexAccess +
		`","refresh_token":"` + fakeCodexRefr + `","account_id":"acct-fake"},"last_refresh":"` + lastRefresh + `"}`
}

// secrets lists every fake secret and the payloads that carry them.
func secrets() []string {
	return []string{fakeClaudeToken, fakeClaudeKey, fakeGeminiKey, fakeOpenAIKey, fakeAccess, fakeRefresh,
		fakeCodexAccess, fakeCodexRefr, fakeIDToken}
}

// assertNoSecret fails when s holds any fake secret (or the last 20
// characters of a key, which claude stores but which must not be printed).
func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range secrets() {
		if strings.Contains(s, sec) || strings.Contains(s, keyTail(sec)) {
			t.Errorf("%s shows a secret", what)
		}
	}
}

// allEnv is an environment with all six variables set.
func allEnv(workdir string) []string {
	return []string{
		"PATH=/usr/bin:/bin",
		"HJK_WORKDIR=" + workdir,
		"CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken,
		"ANTHROPIC_API_KEY=" + fakeClaudeKey,
		"GEMINI_OAUTH_CREDS=" + fakeGeminiPayload(),
		"GEMINI_API_KEY=" + fakeGeminiKey,
		"CODEX_AUTH_JSON=" + fakeCodexPayload("2026-11-27T00:00:00Z"),
		"OPENAI_API_KEY=" + fakeOpenAIKey,
	}
}

// setEnv returns env with name set to value ("" removes it).
func setEnv(env []string, name, value string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	if value != "" {
		out = append(out, name+"="+value)
	}
	return out
}

func apply(t *testing.T, home string, env []string) (warnings string, err error) {
	t.Helper()
	var warn bytes.Buffer
	err = Apply(Options{Env: env, Home: home, UID: -1, GID: -1, Warn: &warn})
	if err != nil {
		assertNoSecret(t, "error", err.Error())
	}
	assertNoSecret(t, "warnings", warn.String())
	return warn.String(), err
}

func mustApply(t *testing.T, home string, env []string) string {
	t.Helper()
	w, err := apply(t, home, env)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return w
}

// tree maps every path under root (relative) to its content ("" for
// directories) and mode: a snapshot to compare before and after.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		m[rel] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func names(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// decodeJSON decodes a file's JSON (comments stripped) into plain values.
func decodeJSON(t *testing.T, data string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(stripComments([]byte(data)), &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return v
}
