package creds

import (
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestCodexConfig(t *testing.T) {
	t.Parallel()
	const wd = "/w"
	for _, tc := range []struct {
		name, orig string
		want       string // the exact output, when the layout is kept
		broken     bool
		note       bool
	}{
		{name: "fresh", orig: "", want: "cli_auth_credentials_store = \"file\"\n\n[projects.\"/w\"]\ntrust_level = \"trusted\"\n"},
		{name: "already so", orig: "# hi\ncli_auth_credentials_store = 'file'\n[projects.'/w']\ntrust_level = \"trusted\" # yes\n",
			want: "# hi\ncli_auth_credentials_store = 'file'\n[projects.'/w']\ntrust_level = \"trusted\" # yes\n"},
		{name: "replace both, keep comments", orig: "cli_auth_credentials_store = \"keyring\" # was\n[projects.\"/w\"]\nmodel = \"x\"\n  trust_level   =  'untrusted'  # asked\n",
			want: "cli_auth_credentials_store = \"file\" # was\n[projects.\"/w\"]\nmodel = \"x\"\ntrust_level = \"trusted\" # asked\n"},
		{name: "table without trust", orig: "model = \"m\"\n\n[projects.\"/other\"]\ntrust_level = \"untrusted\"\n\n[ projects . \"/w\" ]\nmodel = \"x\"\n",
			want: "cli_auth_credentials_store = \"file\"\nmodel = \"m\"\n\n[projects.\"/other\"]\ntrust_level = \"untrusted\"\n\n[ projects . \"/w\" ]\ntrust_level = \"trusted\"\nmodel = \"x\"\n"},
		{name: "same key in another table", orig: "[profiles.p]\ncli_auth_credentials_store = \"keyring\"\n",
			want: "cli_auth_credentials_store = \"file\"\n[profiles.p]\ncli_auth_credentials_store = \"keyring\"\n\n[projects.\"/w\"]\ntrust_level = \"trusted\"\n"},
		{name: "opening comments", orig: "# my codex\n\n# settings\nmodel = \"m\"\n",
			want: "# my codex\n\n# settings\ncli_auth_credentials_store = \"file\"\nmodel = \"m\"\n\n[projects.\"/w\"]\ntrust_level = \"trusted\"\n"},
		{name: "only comments", orig: "# nothing yet\n",
			want: "# nothing yet\ncli_auth_credentials_store = \"file\"\n\n[projects.\"/w\"]\ntrust_level = \"trusted\"\n"},
		{name: "no final newline", orig: "model = \"m\"", want: "cli_auth_credentials_store = \"file\"\nmodel = \"m\"\n\n[projects.\"/w\"]\ntrust_level = \"trusted\"\n"},
		{name: "header inside a string", orig: "s = \"\"\"\n[projects.\"/w\"]\ntrust_level = \"untrusted\"\n\"\"\"\n",
			want: "cli_auth_credentials_store = \"file\"\ns = \"\"\"\n[projects.\"/w\"]\ntrust_level = \"untrusted\"\n\"\"\"\n\n[projects.\"/w\"]\ntrust_level = \"trusted\"\n"},
		{name: "inline table", orig: "projects = { \"/w\" = { trust_level = \"untrusted\" }, \"/o\" = { trust_level = \"trusted\" } } # inline\n", note: true},
		{name: "broken", orig: "model = \"x\"\n[projects\n", broken: true},
		{name: "duplicate key", orig: "a = 1\na = 2\n", broken: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, broken, note := codexConfig([]byte(tc.orig), wd)
			if (broken != "") != tc.broken || (note != "") != tc.note {
				t.Fatalf("broken %q, note %q; want broken %v, note %v; out:\n%s", broken, note, tc.broken, tc.note, out)
			}
			if broken != "" && !strings.HasPrefix(broken, "is not valid TOML (line ") {
				t.Errorf("broken = %q: want the line, and nothing of the content", broken)
			}
			var got map[string]any
			if _, err := toml.Decode(string(out), &got); err != nil {
				t.Fatalf("result is not TOML: %v\n%s", err, out)
			}
			want := map[string]any{}
			if !tc.broken {
				toml.Decode(tc.orig, &want)
			}
			setTOML(want, []string{"cli_auth_credentials_store"}, "file")
			setTOML(want, []string{"projects", wd, "trust_level"}, "trusted")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decodes to %v, want %v", got, want)
			}
			if tc.want != "" && string(out) != tc.want {
				t.Errorf("out =\n%s\nwant\n%s", out, tc.want)
			}
		})
	}
}

func TestTOMLQuote(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"/w", `/a "b" \c`, "/tab\there", "/ctl\x01\x7f", "/ünï"} {
		var v map[string]any
		if _, err := toml.Decode("k = "+tomlQuote(s), &v); err != nil || v["k"] != s {
			t.Errorf("tomlQuote(%q) = %s: decodes to %v, %v", s, tomlQuote(s), v["k"], err)
		}
	}
}
