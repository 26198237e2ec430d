package creds

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// oldScript is the shell+jq script of the older design (agent-formats.md),
// verbatim. hjk-init replaces it: on a clean home, every file both write
// must hold the same JSON, apart from the keys hjk-init adds on purpose.
const oldScript = `
    mkdir -p ~/.claude && echo '{"hasCompletedOnboarding":true}' > ~/.claude.json
    mkdir -p ~/.gemini && echo "$GEMINI_OAUTH_CREDS" | jq -r '.oauth_creds' > ~/.gemini/oauth_creds.json \
      && echo "$GEMINI_OAUTH_CREDS" | jq -r '.google_accounts' > ~/.gemini/google_accounts.json \
      && echo '{"security":{"auth":{"selectedType":"oauth-personal"}}}' > ~/.gemini/settings.json
    mkdir -p ~/.codex && echo "$CODEX_AUTH_JSON" > ~/.codex/auth.json
`

// added lists, per file, the top-level keys hjk-init writes beyond the old
// script: claude's folder trust, which the old script lacked (so claude
// stopped at its trust screen; see TestRealClaudeStopsWithoutOurKeys).
var added = map[string][]string{".claude.json": {"projects"}}

func TestDifferentialOldScript(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		gemini string
		// skip lists files the old script writes wrongly and hjk-init
		// does not write at all.
		skip []string
	}{
		{"full payloads", fakeGeminiPayload(), nil},
		// Without google_accounts the old script writes the word null
		// into google_accounts.json; hjk-init leaves the file out.
		{"no google_accounts", `{"oauth_creds":{"access_token":"` + fakeAccess + `","refresh_token":"` + fakeRefresh + `","expiry_date":1900000000000}}`, []string{".gemini/google_accounts.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := []string{
				"HJK_WORKDIR=/work/repo",
				"CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken,
				"GEMINI_OAUTH_CREDS=" + tc.gemini,
				"CODEX_AUTH_JSON=" + fakeCodexPayload("2026-11-27T00:00:00Z"),
			}
			oldHome, newHome := t.TempDir(), t.TempDir()
			runOldScript(t, oldHome, env)
			mustApply(t, newHome, env)

			oldFiles := regularFiles(t, oldHome)
			if len(oldFiles) < 5 {
				t.Fatalf("the old script wrote only %q", oldFiles)
			}
			for _, f := range oldFiles {
				ours, err := os.ReadFile(filepath.Join(newHome, f))
				if contains(tc.skip, f) {
					if err == nil {
						t.Errorf("hjk-init wrote %s, expected to leave it out", f)
					}
					continue
				}
				if err != nil {
					t.Errorf("the old script writes %s, hjk-init does not: %v", f, err)
					continue
				}
				theirs := decodeJSON(t, readFile(t, filepath.Join(oldHome, f)))
				mine := decodeJSON(t, string(ours))
				if m, ok := mine.(map[string]any); ok {
					for _, k := range added[f] {
						if _, ok := m[k]; !ok {
							t.Errorf("%s lacks %q, which hjk-init adds", f, k)
						}
						delete(m, k)
					}
				}
				if !reflect.DeepEqual(theirs, mine) {
					t.Errorf("%s differs from the old script's (values not shown: they are secrets)", f)
				}
			}
		})
	}
}

func runOldScript(t *testing.T, home string, env []string) {
	t.Helper()
	if _, err := exec.LookPath("jq"); err != nil {
		missing(t, "jq is not installed (run .ci/install): the differential test runs the old shell+jq script")
	}
	cmd := exec.Command("sh", "-ec", oldScript)
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("old script: %v\n%s", err, redact(string(out)))
	}
}

// regularFiles lists the files under root, relative.
func regularFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, rel := range names(tree(t, root)) {
		if fi, err := os.Lstat(filepath.Join(root, rel)); err == nil && fi.Mode().IsRegular() {
			out = append(out, rel)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
