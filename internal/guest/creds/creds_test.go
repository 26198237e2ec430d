package creds

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
)

func TestApplyFreshHome(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	wd := "/work/repo.git/my branch" // dots and spaces must survive as one key
	if w := mustApply(t, home, allEnv(wd)); w != "" {
		t.Errorf("warnings on a fresh home: %q", w)
	}

	claude := readFile(t, filepath.Join(home, ".claude.json"))
	for path, want := range map[string]any{
		"hasCompletedOnboarding":                                   true,
		"projects." + gjson.Escape(wd) + ".hasTrustDialogAccepted": true,
		"customApiKeyResponses.approved.#":                         int64(1),
		"customApiKeyResponses.approved.0":                         keyTail(fakeClaudeKey),
	} {
		if got := gjson.Get(claude, path).Value(); got != want && !(gjson.Get(claude, path).Int() == want) {
			t.Errorf(".claude.json %s = %v, want %v", path, got, want)
		}
	}

	gem := filepath.Join(home, ".gemini")
	if got := gjson.Get(readFile(t, filepath.Join(gem, "settings.json")), "security.auth.selectedType").String(); got != "oauth-personal" {
		t.Errorf("selectedType = %q, want oauth-personal (subscription wins)", got)
	}
	if got := gjson.Get(readFile(t, filepath.Join(gem, "trustedFolders.json")), gjson.Escape(wd)).String(); got != "TRUST_FOLDER" {
		t.Errorf("trustedFolders[%q] = %q", wd, got)
	}
	if got := gjson.Get(readFile(t, filepath.Join(gem, "oauth_creds.json")), "refresh_token").String(); got != fakeRefresh {
		t.Error("oauth_creds.json does not hold the payload's refresh_token")
	}
	if got := gjson.Get(readFile(t, filepath.Join(gem, "google_accounts.json")), "active").String(); got != "dev@example.com" {
		t.Errorf("google_accounts.json active = %q", got)
	}

	codex := filepath.Join(home, ".codex")
	if !reflect.DeepEqual(decodeJSON(t, readFile(t, filepath.Join(codex, "auth.json"))), decodeJSON(t, fakeCodexPayload("2026-11-27T00:00:00Z"))) {
		t.Error("auth.json is not CODEX_AUTH_JSON (subscription wins over OPENAI_API_KEY)")
	}
	var cfg struct {
		Store    string `toml:"cli_auth_credentials_store"`
		Projects map[string]struct {
			Trust string `toml:"trust_level"`
		}
	}
	if _, err := toml.Decode(readFile(t, filepath.Join(codex, "config.toml")), &cfg); err != nil {
		t.Fatalf("config.toml: %v", err)
	}
	if cfg.Store != "file" || cfg.Projects[wd].Trust != "trusted" {
		t.Errorf("config.toml = %+v", cfg)
	}

	// Modes: every file 0600, every directory created 0700, no temporary
	// file left behind.
	for rel, v := range tree(t, home) {
		mode := v[:10]
		switch {
		case rel == ".":
		case strings.HasPrefix(mode, "d"):
			if mode != "drwx------" {
				t.Errorf("%s: mode %s, want drwx------", rel, mode)
			}
		case mode != "-rw-------":
			t.Errorf("%s: mode %s, want -rw-------", rel, mode)
		}
		if strings.Contains(rel, ".hjk-") {
			t.Errorf("temporary file left: %s", rel)
		}
	}
	want := []string{".", ".claude.json", ".codex", ".codex/auth.json", ".codex/config.toml", ".gemini",
		".gemini/google_accounts.json", ".gemini/oauth_creds.json", ".gemini/settings.json", ".gemini/trustedFolders.json"}
	if got := names(tree(t, home)); !reflect.DeepEqual(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
}

func TestApplyAPIKeysOnly(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	env := []string{"HJK_WORKDIR=/w", "ANTHROPIC_API_KEY=" + fakeClaudeKey, "GEMINI_API_KEY=" + fakeGeminiKey, "OPENAI_API_KEY=" + fakeOpenAIKey}
	mustApply(t, home, env)

	if got := gjson.Get(readFile(t, filepath.Join(home, ".gemini/settings.json")), "security.auth.selectedType").String(); got != "gemini-api-key" {
		t.Errorf("selectedType = %q, want gemini-api-key", got)
	}
	for _, f := range []string{".gemini/oauth_creds.json", ".gemini/google_accounts.json"} {
		if _, err := os.Stat(filepath.Join(home, f)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s written with only an API key", f)
		}
	}
	auth := decodeJSON(t, readFile(t, filepath.Join(home, ".codex/auth.json")))
	if want := map[string]any{"auth_mode": "apikey", "OPENAI_API_KEY": fakeOpenAIKey}; !reflect.DeepEqual(auth, want) {
		t.Error("auth.json is not the API-key form codex login --with-api-key writes")
	}
	claude := readFile(t, filepath.Join(home, ".claude.json"))
	if gjson.Get(claude, "customApiKeyResponses.approved.0").String() != keyTail(fakeClaudeKey) || !gjson.Get(claude, "hasCompletedOnboarding").Bool() {
		t.Error(".claude.json lacks the key's approval or onboarding")
	}
}

func TestApplyOnlyTheAgentsSet(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	mustApply(t, home, []string{"HJK_WORKDIR=/w", "CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken, "GEMINI_API_KEY=", "CODEX_AUTH_JSON="})
	if got := names(tree(t, home)); !reflect.DeepEqual(got, []string{".", ".claude.json"}) {
		t.Errorf("files = %q, want only .claude.json (empty variables count as unset)", got)
	}
	if strings.Contains(readFile(t, filepath.Join(home, ".claude.json")), "customApiKeyResponses") {
		t.Error("an API key approval without an API key")
	}
	// Nothing set: nothing written, not even a check of HOME.
	if err := Apply(Options{Env: []string{"PATH=/bin"}, Home: filepath.Join(home, "missing"), UID: -1, GID: -1}); err != nil {
		t.Errorf("Apply with no credentials: %v", err)
	}
}

func TestApplyMergeKeepsKeys(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	wd := "/w"
	writeFile(t, filepath.Join(home, ".claude.json"), `{
  "numStartups": 12,
  "theme": "dark",
  "userID": 123456789012345678901234567890,
  "projects": {
    "/other": {"allowedTools": ["Bash"], "hasTrustDialogAccepted": false},
    "/w": {"allowedTools": [], "history": [{"display": "hi"}]}
  },
  "customApiKeyResponses": {"approved": ["aaaaaaaaaaaaaaaaaaaa", "`+keyTail(fakeClaudeKey)+`"], "rejected": ["bbbbbbbbbbbbbbbbbbbb"]},
  "zzz": null
}`)
	writeFile(t, filepath.Join(home, ".gemini/settings.json"), `// my gemini settings
{
  "ui": {"theme": "GitHub"}, // keep this theme
  /* the auth I used before */
  "security": {"auth": {"selectedType": "gemini-api-key", "useExternal": false}, "folderTrust": {"enabled": true}},
  "model": {"name": "gemini-2.5-pro"}
}
`)
	writeFile(t, filepath.Join(home, ".gemini/trustedFolders.json"), "{\n  // work\n  \"/srv\": \"TRUST_PARENT\",\n  \"/w\": \"DO_NOT_TRUST\"\n}\n")
	writeFile(t, filepath.Join(home, ".codex/config.toml"), `# my codex config
model = "gpt-5-codex" # the model
cli_auth_credentials_store = "keyring" # was keyring

[projects."/other"]
trust_level = "trusted"

[projects."/w"]
trust_level = "untrusted" # asked once

[mcp_servers.docs]
command = "docs-mcp"
args = ["--port", "1"]
`)
	mustApply(t, home, allEnv(wd))

	claude := readFile(t, filepath.Join(home, ".claude.json"))
	for path, want := range map[string]string{
		"numStartups": "12", "theme": `"dark"`, "userID": "123456789012345678901234567890", "zzz": "null",
		"projects./other":                    `{"allowedTools": ["Bash"], "hasTrustDialogAccepted": false}`,
		"projects./w.allowedTools":           "[]",
		"projects./w.history.0.display":      `"hi"`,
		"projects./w.hasTrustDialogAccepted": "true",
		"customApiKeyResponses.approved":     `["aaaaaaaaaaaaaaaaaaaa", "` + keyTail(fakeClaudeKey) + `"]`,
		"customApiKeyResponses.rejected":     `["bbbbbbbbbbbbbbbbbbbb"]`,
		"hasCompletedOnboarding":             "true",
	} {
		if got := gjson.Get(claude, path).Raw; got != want {
			t.Errorf(".claude.json %s = %s, want %s", path, got, want)
		}
	}
	var order []string
	gjson.Parse(claude).ForEach(func(k, _ gjson.Result) bool { order = append(order, k.String()); return true })
	if want := []string{"numStartups", "theme", "userID", "projects", "customApiKeyResponses", "zzz", "hasCompletedOnboarding"}; !reflect.DeepEqual(order, want) {
		t.Errorf(".claude.json key order = %q, want %q", order, want)
	}

	settings := readFile(t, filepath.Join(home, ".gemini/settings.json"))
	for _, c := range []string{"// my gemini settings", "// keep this theme", "/* the auth I used before */"} {
		if !strings.Contains(settings, c) {
			t.Errorf("settings.json lost comment %q", c)
		}
	}
	s := string(stripComments([]byte(settings)))
	for path, want := range map[string]string{
		"ui.theme": `"GitHub"`, "security.auth.selectedType": `"oauth-personal"`, "security.auth.useExternal": "false",
		"security.folderTrust.enabled": "true", "model.name": `"gemini-2.5-pro"`,
	} {
		if got := gjson.Get(s, path).Raw; got != want {
			t.Errorf("settings.json %s = %s, want %s", path, got, want)
		}
	}
	trusted := readFile(t, filepath.Join(home, ".gemini/trustedFolders.json"))
	if !strings.Contains(trusted, "// work") {
		t.Error("trustedFolders.json lost its comment")
	}
	if got := decodeJSON(t, trusted); !reflect.DeepEqual(got, map[string]any{"/srv": "TRUST_PARENT", "/w": "TRUST_FOLDER"}) {
		t.Errorf("trustedFolders.json = %v", got)
	}

	cfg := readFile(t, filepath.Join(home, ".codex/config.toml"))
	for _, c := range []string{"# my codex config", "# the model", "# was keyring", "# asked once", "[mcp_servers.docs]"} {
		if !strings.Contains(cfg, c) {
			t.Errorf("config.toml lost %q", c)
		}
	}
	var got map[string]any
	if _, err := toml.Decode(cfg, &got); err != nil {
		t.Fatalf("config.toml: %v", err)
	}
	want := map[string]any{
		"model": "gpt-5-codex", "cli_auth_credentials_store": "file",
		"projects":    map[string]any{"/other": map[string]any{"trust_level": "trusted"}, "/w": map[string]any{"trust_level": "trusted"}},
		"mcp_servers": map[string]any{"docs": map[string]any{"command": "docs-mcp", "args": []any{"--port", "1"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config.toml decodes to %v, want %v", got, want)
	}
}

// TestApplyFollowsLinks: settings files linked elsewhere in the home (a
// dotfiles repository) are written where they point; the links stay links.
func TestApplyFollowsLinks(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	dots := filepath.Join(home, "dotfiles")
	writeFile(t, filepath.Join(dots, "claude.json"), `{"theme":"dark"}`)
	if err := os.Symlink(filepath.Join(dots, "claude.json"), filepath.Join(home, ".claude.json")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(home, ".gemini/x"), "")
	// Relative, and to a file that does not exist yet.
	if err := os.Symlink("../dots-settings.json", filepath.Join(home, ".gemini/settings.json")); err != nil {
		t.Fatal(err)
	}
	mustApply(t, home, allEnv("/w"))
	for link, target := range map[string]string{
		".claude.json":          filepath.Join(dots, "claude.json"),
		".gemini/settings.json": filepath.Join(home, "dots-settings.json"),
	} {
		if fi, err := os.Lstat(filepath.Join(home, link)); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a link", link)
		}
		if _, err := os.Stat(target); err != nil {
			t.Errorf("%s: not written where it points: %v", link, err)
		}
	}
	claude := readFile(t, filepath.Join(dots, "claude.json"))
	if gjson.Get(claude, "theme").String() != "dark" || !gjson.Get(claude, "hasCompletedOnboarding").Bool() {
		t.Error("the linked .claude.json was not merged")
	}
}

func TestApplyTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	mustApply(t, home, allEnv("/w"))
	before := tree(t, home)
	inodes := map[string]uint64{}
	for rel := range before {
		fi, _ := os.Stat(filepath.Join(home, rel))
		inodes[rel] = fi.Sys().(*syscall.Stat_t).Ino
	}
	mustApply(t, home, allEnv("/w"))
	if after := tree(t, home); !reflect.DeepEqual(before, after) {
		t.Errorf("second Apply changed the files: %q", names(after))
	}
	for rel, ino := range inodes {
		fi, _ := os.Stat(filepath.Join(home, rel))
		if fi.Sys().(*syscall.Stat_t).Ino != ino {
			t.Errorf("%s rewritten although nothing changed", rel)
		}
	}
}

func TestApplyMalformedWritesNothing(t *testing.T) {
	t.Parallel()
	good := fakeCodexPayload("2026-11-27T00:00:00Z")
	for _, tc := range []struct{ name, variable, value, want string }{
		{"gemini malformed", "GEMINI_OAUTH_CREDS", `{"oauth_creds": {"refresh_token": "` + fakeRefresh + `",}}`, "not valid JSON"},
		{"gemini truncated", "GEMINI_OAUTH_CREDS", fakeGeminiPayload()[:60], "not valid JSON"},
		{"gemini array", "GEMINI_OAUTH_CREDS", `[{"oauth_creds": {}}]`, "not a JSON object"},
		{"gemini string", "GEMINI_OAUTH_CREDS", `"` + fakeRefresh + `"`, "not a JSON object"},
		{"gemini creds not object", "GEMINI_OAUTH_CREDS", `{"oauth_creds": "` + fakeAccess + `"}`, "oauth_creds"},
		{"codex truncated", "CODEX_AUTH_JSON", good[:len(good)-10], "not valid JSON"},
		{"codex number", "CODEX_AUTH_JSON", `42`, "not a JSON object"},
		{"codex id_token not a JWT", "CODEX_AUTH_JSON", strings.Replace(good, fakeIDToken, fakeCodexAccess, 1), "JWT"},
		{"codex id_token bad base64", "CODEX_AUTH_JSON", strings.Replace(good, fakeIDToken, "a.%%%"+fakeCodexAccess+".c", 1), "JWT"},
		{"codex last_refresh", "CODEX_AUTH_JSON", fakeCodexPayload("yesterday " + fakeCodexRefr), "last_refresh"},
		{"claude token prefix", "CLAUDE_CODE_OAUTH_TOKEN", strings.TrimPrefix(fakeClaudeToken, "sk-ant-oat01-"), "sk-ant-oat01-"},
		{"claude key space", "ANTHROPIC_API_KEY", fakeClaudeKey + " x", "white space"},
		{"openai key newline", "OPENAI_API_KEY", fakeOpenAIKey + "\n", "white space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			writeFile(t, filepath.Join(home, ".claude.json"), `{"theme":"dark"}`)
			writeFile(t, filepath.Join(home, ".codex/config.toml"), "model = \"x\"\n")
			before := tree(t, home)
			_, err := apply(t, home, setEnv(allEnv("/w"), tc.variable, tc.value))
			if err == nil {
				t.Fatal("Apply accepted a malformed payload")
			}
			if !strings.Contains(err.Error(), tc.variable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s and %q", err, tc.variable, tc.want)
			}
			if strings.Contains(err.Error(), tc.value) {
				t.Error("error quotes the value")
			}
			if after := tree(t, home); !reflect.DeepEqual(before, after) {
				t.Errorf("files changed although a payload was malformed: %q", names(after))
			}
		})
	}
}

func TestApplyNamesEveryBadVariable(t *testing.T) {
	t.Parallel()
	env := setEnv(setEnv(allEnv("/w"), "GEMINI_OAUTH_CREDS", "{"), "CODEX_AUTH_JSON", "[]")
	_, err := apply(t, t.TempDir(), env)
	if err == nil || !strings.Contains(err.Error(), "GEMINI_OAUTH_CREDS") || !strings.Contains(err.Error(), "CODEX_AUTH_JSON") {
		t.Errorf("error %v should name both bad variables", err)
	}
}

func TestApplyKeepsBrokenFilesAside(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	broken := map[string]string{
		".claude.json":                "{\"theme\": \"dark\", " + fakeClaudeKey, // a secret in a broken file must not be echoed
		".gemini/settings.json":       `{"ui": {"theme": "x"},}`,                // trailing comma: gemini's parser refuses it too
		".gemini/trustedFolders.json": `["/w"]`,
		".codex/config.toml":          "model = \"x\"\n[projects\n",
	}
	for f, data := range broken {
		writeFile(t, filepath.Join(home, f), data)
	}
	warn := mustApply(t, home, allEnv("/w"))
	for f, data := range broken {
		path := filepath.Join(home, f)
		asides, _ := filepath.Glob(path + ".broken-*")
		if len(asides) != 1 {
			t.Errorf("%s: %d files kept aside, want 1", f, len(asides))
			continue
		}
		if got := readFile(t, asides[0]); got != data {
			t.Errorf("%s kept aside with other content", f)
		}
		if !strings.Contains(warn, path+" is not valid") && !strings.Contains(warn, path+" is not a JSON object") {
			t.Errorf("no warning names %s: %q", path, warn)
		}
		if !strings.Contains(warn, asides[0]) {
			t.Errorf("warning does not say where %s went", f)
		}
	}
	if !gjson.Get(readFile(t, filepath.Join(home, ".claude.json")), "hasCompletedOnboarding").Bool() {
		t.Error("no fresh .claude.json written")
	}
	// A second broken file the same second gets its own name.
	writeFile(t, filepath.Join(home, ".claude.json"), "{")
	mustApply(t, home, allEnv("/w"))
	if asides, _ := filepath.Glob(filepath.Join(home, ".claude.json.broken-*")); len(asides) != 2 {
		t.Errorf("%d .claude.json kept aside after two broken ones, want 2", len(asides))
	}
}

// TestApplyUnreadableFileWritesNothing: a file that cannot be read stops
// Apply while it plans, before the first write, naming the file.
func TestApplyUnreadableFileWritesNothing(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	// A directory where gemini's settings.json belongs: reading it fails.
	writeFile(t, filepath.Join(home, ".gemini/settings.json/x"), "")
	before := tree(t, home)
	_, err := apply(t, home, allEnv("/w"))
	path := filepath.Join(home, ".gemini/settings.json")
	if err == nil || !strings.Contains(err.Error(), "GEMINI_OAUTH_CREDS: read "+path) {
		t.Fatalf("error %v, want one naming GEMINI_OAUTH_CREDS and %s", err, path)
	}
	if after := tree(t, home); !reflect.DeepEqual(before, after) {
		t.Errorf("files written although planning failed: %q", names(after))
	}
}

// TestApplySyncsOnlyUserFiles: new files and credential files skip the
// fsync (rewritten from the host at every session); a file that held the
// user's settings is synced before it replaces them.
func TestApplySyncsOnlyUserFiles(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".claude.json"), `{"theme":"dark"}`)
	writeFile(t, filepath.Join(home, ".codex/auth.json"), `{"OPENAI_API_KEY":"old"}`)
	p := newPlanner(Options{Env: allEnv("/w"), UID: -1, GID: -1})
	defer p.close()
	if err := p.validate(); err != nil {
		t.Fatal(err)
	}
	if err := p.resolve(Options{Home: home}); err != nil {
		t.Fatal(err)
	}
	for _, a := range agent.All() {
		if err := p.plan(a); err != nil {
			t.Fatal(err)
		}
	}
	synced := map[string]bool{}
	for _, w := range p.writes {
		rel, _ := filepath.Rel(home, w.path)
		synced[rel] = w.sync
	}
	want := map[string]bool{".claude.json": true, ".codex/auth.json": false, ".codex/config.toml": false,
		".gemini/oauth_creds.json": false, ".gemini/google_accounts.json": false, ".gemini/settings.json": false, ".gemini/trustedFolders.json": false}
	if !reflect.DeepEqual(synced, want) {
		t.Errorf("synced = %v, want %v", synced, want)
	}
}

func TestApplyHomeProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	writeFile(t, file, "")
	for _, tc := range []struct{ name, home, want string }{
		{"empty", "", "HOME is empty"},
		{"missing", filepath.Join(dir, "nobody"), filepath.Join(dir, "nobody") + " does not exist"},
		{"not a directory", file, file + " is not a directory"},
	} {
		_, err := apply(t, tc.home, allEnv("/w"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s home: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nobody")); err == nil {
		t.Error("a missing home was created")
	}
}

func TestApplyUnwritableHome(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".claude.json"), `{"theme":"dark"}`)
	makeReadOnly(t, home)
	before := tree(t, home)
	_, err := apply(t, home, allEnv("/w"))
	if err == nil {
		t.Fatal("Apply into an unwritable home succeeded")
	}
	// The first write (the .codex directory, or .claude.json) fails: the
	// error names the variable and the path.
	if !strings.Contains(err.Error(), home) || !strings.Contains(err.Error(), "GEMINI_OAUTH_CREDS: create "+home+"/.gemini") {
		t.Errorf("error %q does not name the path and variable", err)
	}
	if after := tree(t, home); !reflect.DeepEqual(before, after) {
		t.Errorf("unwritable home changed: %q", names(after))
	}
}

// makeReadOnly makes dir refuse new entries, even to root: as root by the
// immutable attribute (chattr +i), else by its mode.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot make %s immutable on this file system: %v %s", dir, err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
}

func TestApplyOwnership(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	home := t.TempDir()
	codexHome := filepath.Join(t.TempDir(), "deep", "codex")
	const uid, gid = 4242, 4343
	env := setEnv(allEnv("/w"), "CODEX_HOME", codexHome)
	if err := Apply(Options{Env: env, Home: home, UID: uid, GID: gid}); err != nil {
		t.Fatal(err)
	}
	check := func(path string, wantOurs bool) {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if ours := st.Uid == uid && st.Gid == gid; ours != wantOurs {
			t.Errorf("%s owned by %d:%d, want ours=%v", path, st.Uid, st.Gid, wantOurs)
		}
	}
	check(home, false) // the home existed: it is left alone
	check(filepath.Dir(filepath.Dir(codexHome)), false)
	for _, p := range []string{".claude.json", ".gemini", ".gemini/settings.json", ".gemini/oauth_creds.json", ".gemini/trustedFolders.json", ".gemini/google_accounts.json"} {
		check(filepath.Join(home, p), true)
	}
	for _, p := range []string{filepath.Dir(codexHome), codexHome, filepath.Join(codexHome, "auth.json"), filepath.Join(codexHome, "config.toml")} {
		check(p, true)
	}
}

func TestApplyHomesFromEnv(t *testing.T) {
	t.Parallel()
	home, other := t.TempDir(), t.TempDir()
	env := allEnv("/w")
	env = setEnv(env, "CLAUDE_CONFIG_DIR", filepath.Join(other, "claude"))
	env = setEnv(env, "GEMINI_CLI_HOME", filepath.Join(other, "gem"))
	env = setEnv(env, "CODEX_HOME", filepath.Join(other, "codex"))
	mustApply(t, home, env)
	if got := names(tree(t, home)); !reflect.DeepEqual(got, []string{"."}) {
		t.Errorf("home holds %q although each agent's home is elsewhere", got)
	}
	for _, f := range []string{"claude/.claude.json", "gem/.gemini/settings.json", "gem/.gemini/oauth_creds.json", "gem/.gemini/trustedFolders.json", "codex/auth.json", "codex/config.toml"} {
		if _, err := os.Stat(filepath.Join(other, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, d := range []string{"claude", "gem", "gem/.gemini", "codex"} {
		if fi, err := os.Stat(filepath.Join(other, d)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: not created 0700 (%v)", d, err)
		}
	}

	// GEMINI_CLI_TRUSTED_FOLDERS_PATH moves gemini's trust file.
	home2 := t.TempDir()
	tf := filepath.Join(other, "trust.json")
	mustApply(t, home2, setEnv(allEnv("/w"), "GEMINI_CLI_TRUSTED_FOLDERS_PATH", tf))
	if gjson.Get(readFile(t, tf), "/w").String() != "TRUST_FOLDER" {
		t.Error("GEMINI_CLI_TRUSTED_FOLDERS_PATH not followed")
	}

	// A CODEX_HOME that cannot be a directory: the error says which.
	blocker := filepath.Join(other, "blocker")
	writeFile(t, blocker, "")
	_, err := apply(t, t.TempDir(), setEnv(allEnv("/w"), "CODEX_HOME", filepath.Join(blocker, "codex")))
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Errorf("CODEX_HOME under a file: error %v should name %s", err, blocker)
	}
}

func TestApplyWorkdir(t *testing.T) {
	t.Parallel()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	env := setEnv(allEnv(""), "HJK_WORKDIR", "")
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"option", Options{Env: setEnv(env, "HJK_WORKDIR", "/from/env"), Workdir: "/from/option"}, "/from/option"},
		{"HJK_WORKDIR", Options{Env: setEnv(env, "HJK_WORKDIR", "/from/env")}, "/from/env"},
		{"relative HJK_WORKDIR", Options{Env: setEnv(env, "HJK_WORKDIR", "sub")}, filepath.Join(cwd, "sub")},
		{"current directory", Options{Env: env}, cwd},
	} {
		home := t.TempDir()
		tc.o.Home, tc.o.UID, tc.o.GID = home, -1, -1
		if err := Apply(tc.o); err != nil {
			t.Fatal(err)
		}
		if !gjson.Get(readFile(t, filepath.Join(home, ".claude.json")), "projects."+gjson.Escape(tc.want)+".hasTrustDialogAccepted").Bool() {
			t.Errorf("%s: %s not trusted by claude", tc.name, tc.want)
		}
		if gjson.Get(readFile(t, filepath.Join(home, ".gemini/trustedFolders.json")), gjson.Escape(tc.want)).String() != "TRUST_FOLDER" {
			t.Errorf("%s: %s not trusted by gemini", tc.name, tc.want)
		}
	}
}

func TestApplyRefusesNonUTF8Workdir(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	_, err := apply(t, home, allEnv("/w/\xff"))
	if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") || !strings.Contains(err.Error(), "HJK_WORKDIR") {
		t.Errorf("error %v, want one saying the folder is not UTF-8 and naming HJK_WORKDIR", err)
	}
	if got := names(tree(t, home)); len(got) != 1 {
		t.Errorf("wrote %q", got)
	}
}

// TestApplyTrustsWhereLinksLead: claude keys trust by the resolved path
// of its working directory, so a work folder reached through a symbolic
// link is trusted under both names.
func TestApplyTrustsWhereLinksLead(t *testing.T) {
	t.Parallel()
	home, dir := t.TempDir(), t.TempDir()
	real := filepath.Join(dir, "real")
	link := filepath.Join(dir, "link")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	mustApply(t, home, allEnv(link))
	claude := readFile(t, filepath.Join(home, ".claude.json"))
	trusted := readFile(t, filepath.Join(home, ".gemini/trustedFolders.json"))
	var cfg struct {
		Projects map[string]struct {
			Trust string `toml:"trust_level"`
		}
	}
	if _, err := toml.Decode(readFile(t, filepath.Join(home, ".codex/config.toml")), &cfg); err != nil {
		t.Fatal(err)
	}
	for _, wd := range []string{link, real} {
		if !gjson.Get(claude, "projects."+gjson.Escape(wd)+".hasTrustDialogAccepted").Bool() {
			t.Errorf("claude does not trust %s", wd)
		}
		if gjson.Get(trusted, gjson.Escape(wd)).String() != "TRUST_FOLDER" {
			t.Errorf("gemini does not trust %s", wd)
		}
		if cfg.Projects[wd].Trust != "trusted" {
			t.Errorf("codex does not trust %s", wd)
		}
	}
}

func TestApplyKeepsNewerCodexLogin(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	auth := filepath.Join(home, ".codex/auth.json")
	refreshed := strings.Replace(fakeCodexPayload("2026-11-28T10:00:00Z"), fakeCodexRefr, "ROTATED-refresh", 1)
	writeFile(t, auth, refreshed)
	os.Chmod(auth, 0o600)
	mustApply(t, home, allEnv("/w")) // payload refreshed 2026-11-27
	if readFile(t, auth) != refreshed {
		t.Error("a login codex refreshed later was replaced by the older payload")
	}
	// A newer payload, or another account, replaces it.
	mustApply(t, home, setEnv(allEnv("/w"), "CODEX_AUTH_JSON", fakeCodexPayload("2026-11-29T00:00:00Z")))
	if gjson.Get(readFile(t, auth), "last_refresh").String() != "2026-11-29T00:00:00Z" {
		t.Error("a newer payload did not replace auth.json")
	}
	writeFile(t, auth, strings.Replace(fakeCodexPayload("2027-01-01T00:00:00Z"), "acct-fake", "acct-other", 1))
	mustApply(t, home, allEnv("/w"))
	if gjson.Get(readFile(t, auth), "tokens.account_id").String() != "acct-fake" {
		t.Error("another account's login was kept over the payload")
	}
}

// TestApplyReadersSeeWholeFiles rewrites settings.json over and over while
// readers parse it: with the temporary file and rename, every read is a
// whole, valid file.
func TestApplyReadersSeeWholeFiles(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	pad := strings.Repeat("x", 64<<10) // large enough that a torn write would show
	writeFile(t, filepath.Join(home, ".gemini/settings.json"), `{"pad": "`+pad+`"}`)
	path := filepath.Join(home, ".gemini/settings.json")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var torn atomic.Int32
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, err := os.ReadFile(path)
				if err == nil && !gjson.ValidBytes(b) {
					torn.Add(1)
				}
			}
		}()
	}
	for i := range 100 {
		key := "GEMINI_API_KEY"
		if i%2 == 0 {
			key = "GEMINI_OAUTH_CREDS"
		}
		env := []string{"HJK_WORKDIR=/w", key + "=" + map[bool]string{true: fakeGeminiKey, false: fakeGeminiPayload()}[key == "GEMINI_API_KEY"]}
		mustApply(t, home, env)
	}
	close(stop)
	wg.Wait()
	if n := torn.Load(); n > 0 {
		t.Errorf("readers saw %d partial files", n)
	}
	if left, _ := filepath.Glob(filepath.Join(home, ".gemini", ".*.hjk-*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// TestApplyFirstVariableWins: with a variable set twice, Apply reads the
// first, as getenv (and so the agent) does.
func TestApplyFirstVariableWins(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	env := []string{"HJK_WORKDIR=/first", "ANTHROPIC_API_KEY=" + fakeClaudeKey, "HJK_WORKDIR=/second", "ANTHROPIC_API_KEY=" + fakeOpenAIKey}
	mustApply(t, home, env)
	claude := readFile(t, filepath.Join(home, ".claude.json"))
	if gjson.Get(claude, "customApiKeyResponses.approved.0").String() != keyTail(fakeClaudeKey) || !gjson.Get(claude, "projects./first").Exists() {
		t.Error("Apply did not read the first of two equal variables")
	}
}

func TestApplyWarnsOfGeminiKeychain(t *testing.T) {
	t.Parallel()
	w := mustApply(t, t.TempDir(), setEnv(allEnv("/w"), "GEMINI_FORCE_ENCRYPTED_FILE_STORAGE", "true"))
	if !strings.Contains(w, "GEMINI_FORCE_ENCRYPTED_FILE_STORAGE=true") {
		t.Errorf("no warning about gemini's keychain: %q", w)
	}
	if w := mustApply(t, t.TempDir(), allEnv("/w")); strings.Contains(w, "GEMINI_FORCE") {
		t.Errorf("warning without the variable: %q", w)
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	env := append(allEnv("/w"), "GEMINI_OAUTH_CREDS_EXTRA=1", "CODEX_AUTH_JSON=again")
	got := Scrub(env)
	want := []string{"PATH=/usr/bin:/bin", "HJK_WORKDIR=/w", "CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken, "ANTHROPIC_API_KEY=" + fakeClaudeKey,
		"GEMINI_API_KEY=" + fakeGeminiKey, "OPENAI_API_KEY=" + fakeOpenAIKey, "GEMINI_OAUTH_CREDS_EXTRA=1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scrub kept %d variables, want %d: the agents' own variables stay, the payloads go", len(got), len(want))
	}
}

// TestApplyGeminiGateLogin: through the gate, a Google login reaches
// gemini as an access token in GOOGLE_CLOUD_ACCESS_TOKEN (with
// GOOGLE_GENAI_USE_GCA=true) and no files of its own. Interactive gemini
// reads its auth type only from settings.json (gemini -p also takes it
// from the environment): without oauth-personal there it asks how to log
// in. The token stays in the environment, in no file.
func TestApplyGeminiGateLogin(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	const token = "hjk-placeholder-0123456789abcdef"
	mustApply(t, home, []string{"HJK_WORKDIR=/w", agent.Gemini.GateLogin.PlaceholderVar + "=" + token, agent.GeminiGCAVar + "=true"})
	if got := gjson.Get(readFile(t, filepath.Join(home, ".gemini/settings.json")), "security.auth.selectedType").String(); got != "oauth-personal" {
		t.Errorf("selectedType = %q, want oauth-personal", got)
	}
	if got := gjson.Get(readFile(t, filepath.Join(home, ".gemini/trustedFolders.json")), "/w").String(); got != "TRUST_FOLDER" {
		t.Errorf("the work folder is not trusted: %q", got)
	}
	for rel := range tree(t, home) {
		if b, err := os.ReadFile(filepath.Join(home, rel)); err == nil && strings.Contains(string(b), token) {
			t.Errorf("%s holds the token", rel)
		}
	}
	want := []string{".", ".gemini", ".gemini/settings.json", ".gemini/trustedFolders.json"}
	if got := names(tree(t, home)); !reflect.DeepEqual(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	// Without GOOGLE_GENAI_USE_GCA the variable is not the gate's login:
	// nothing is written.
	other := t.TempDir()
	mustApply(t, other, []string{"HJK_WORKDIR=/w", agent.Gemini.GateLogin.PlaceholderVar + "=" + token})
	if got := names(tree(t, other)); !reflect.DeepEqual(got, []string{"."}) {
		t.Errorf("files without %s = %q", agent.GeminiGCAVar, got)
	}
}
