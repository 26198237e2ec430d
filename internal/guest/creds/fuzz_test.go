package creds

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
)

// The fuzz seeds live in testdata/fuzz/<FuzzName>; `go test` runs them,
// `go test -fuzz FuzzName` explores from them.

// FuzzApplyPayloads feeds arbitrary payloads to Apply: it either refuses
// them and writes nothing, or writes files the agents can parse, holding
// the payloads unchanged.
func FuzzApplyPayloads(f *testing.F) {
	f.Fuzz(func(t *testing.T, geminiCreds, codexAuth, claudeToken string) {
		home := t.TempDir()
		env := []string{"HJK_WORKDIR=/w", "GEMINI_OAUTH_CREDS=" + geminiCreds, "CODEX_AUTH_JSON=" + codexAuth, "CLAUDE_CODE_OAUTH_TOKEN=" + claudeToken}
		err := Apply(Options{Env: env, Home: home, UID: -1, GID: -1})
		if err != nil {
			if got := names(tree(t, home)); len(got) != 1 {
				t.Fatalf("Apply failed (%v) but wrote %q", err, got)
			}
			for _, v := range []string{geminiCreds, codexAuth, claudeToken} {
				if len(v) >= 4 && strings.ContainsAny(v, `{"`) && strings.Contains(err.Error(), v) {
					t.Fatalf("error quotes a payload: %v", err)
				}
			}
			return
		}
		for _, rel := range regularFiles(t, home) {
			data := readFile(t, filepath.Join(home, rel))
			if strings.HasSuffix(rel, ".toml") {
				var v map[string]any
				if _, err := toml.Decode(data, &v); err != nil {
					t.Fatalf("%s is not TOML: %v", rel, err)
				}
			} else if _, err := decodeJSONObject([]byte(data), true); err != nil {
				t.Fatalf("%s %v", rel, err)
			}
		}
		if codexAuth != "" {
			if got := readFile(t, filepath.Join(home, ".codex/auth.json")); strings.TrimSuffix(got, "\n") != codexAuth && got != codexAuth {
				t.Fatal("auth.json is not CODEX_AUTH_JSON as it came")
			}
		}
		if geminiCreds != "" {
			want := gjson.Get(geminiCreds, "oauth_creds").Raw
			if got := readFile(t, filepath.Join(home, ".gemini/oauth_creds.json")); strings.TrimSuffix(got, "\n") != want {
				t.Fatal("oauth_creds.json is not the payload's oauth_creds as it came")
			}
		}
	})
}

// FuzzMergeJSON merges claude's and gemini's keys into arbitrary files: the
// result always decodes, holds our values, and, when the file was readable,
// every key the user had.
func FuzzMergeJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, orig string, jsonc bool, workdir, key string) {
		if workdir == "" {
			workdir = "/w"
		}
		if !utf8.ValidString(workdir) {
			t.Skip("Apply refuses a work folder that is not UTF-8")
		}
		if agent.Validate(agent.Claude, agent.APIKey, key) != nil {
			t.Skip("Apply refuses such an API key before merging")
		}
		edits := []jsonEdit{
			{path: []string{"hasCompletedOnboarding"}, value: true},
			{path: []string{"projects", workdir, "hasTrustDialogAccepted"}, value: true},
			{path: []string{"customApiKeyResponses", "approved"}, value: keyTail(key), addToList: true},
		}
		out, broken, note := jsonMerge([]byte(orig), jsonc, edits)
		got, err := decodeJSONObject(out, jsonc)
		if err != nil {
			t.Fatalf("merged file %v", err)
		}
		want := map[string]any{}
		if broken == "" && len(bytes.TrimSpace([]byte(orig))) > 0 {
			if want, err = decodeJSONObject([]byte(orig), jsonc); err != nil {
				t.Fatalf("readable file reported readable but does not decode: %v", err)
			}
		} else if broken == "" {
			// empty: fresh
		} else if _, err := decodeJSONObject([]byte(orig), jsonc); err == nil {
			t.Fatalf("a readable file was reported broken: %s", broken)
		}
		for _, e := range edits {
			e.applyDecoded(want)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("merge lost or changed keys (note %q)", note)
		}
		if note == "" && broken == "" && jsonc {
			// The layout was kept: the comments must still be there.
			if c := commentsOf([]byte(orig)); c != commentsOf(out) {
				t.Fatalf("comments changed: %q -> %q", c, commentsOf(out))
			}
		}
	})
}

// FuzzCodexConfig patches arbitrary config.toml files: the result is always
// TOML codex reads with the file store and the folder trusted and, when the
// file was readable, every other key as it was.
func FuzzCodexConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, orig, workdir string) {
		if workdir == "" {
			workdir = "/w"
		}
		if !utf8.ValidString(workdir) {
			t.Skip("Apply refuses a work folder that is not UTF-8")
		}
		out, broken, note := codexConfig([]byte(orig), workdir)
		var got map[string]any
		if _, err := toml.Decode(string(out), &got); err != nil {
			t.Fatalf("patched config is not TOML: %v", err)
		}
		want := map[string]any{}
		if broken == "" && strings.TrimSpace(orig) != "" {
			if _, err := toml.Decode(orig, &want); err != nil {
				t.Fatalf("a file toml refuses was not reported broken: %v", err)
			}
		}
		setTOML(want, []string{"cli_auth_credentials_store"}, "file")
		setTOML(want, []string{"projects", workdir, "trust_level"}, "trusted")
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("patched config decodes to %v, want %v", got, want)
		}
		if broken == "" && note == "" {
			for _, line := range strings.Split(orig, "\n") {
				if l := strings.TrimSpace(line); strings.HasPrefix(l, "#") && !strings.Contains(string(out), l) {
					t.Fatalf("comment %q lost", l)
				}
			}
		}
	})
}
