package cli

import (
	"reflect"
	"strings"
	"testing"
)

// TestComplete drives the completer as the shells do: the words after
// "hjk", the one being typed last. (Branches: ux-completion.txtar, in a
// real repository and real shells.)
func TestComplete(t *testing.T) {
	t.Parallel()
	app := NewApp(strings.NewReader(""), nil, nil, func(string) string { return "" })
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"ve"}, []string{"version"}},
		{[]string{"__"}, nil}, // hidden commands are not offered
		{[]string{"--ver"}, []string{"--verbose", "--version"}},
		{[]string{"-v", "doc"}, []string{"doctor"}},
		{[]string{"completion", ""}, []string{"bash", "fish", "zsh"}},
		{[]string{"completion", "bash", ""}, nil},
		{[]string{"auth", "c"}, []string{"claude", "codex"}},
		{[]string{"auth", "rm", "g"}, []string{"gemini"}},
		{[]string{"auth", "status", "--j"}, []string{"--json"}},
		{[]string{"auth", "codex", "--a"}, []string{"--account", "--api-key"}},
		{[]string{"run", "b", "--runtime", "p"}, []string{"podman"}},
		{[]string{"run", "b", "--agent", ""}, []string{"claude", "codex", "gemini", "shell"}},
		{[]string{"run", "b", "--agent=s"}, []string{"--agent=shell"}},
		{[]string{"run", "b", "--agent", "=", "co"}, []string{"codex"}},
		{[]string{"run", "b", "--runtime", "="}, []string{"container", "docker", "podman"}},
		// A flag's value is not taken for the branch.
		{[]string{"run", "--image", "x", "b", "--ag"}, []string{"--agent"}},
		// After --, the words are the agent's.
		{[]string{"run", "b", "--", "--ag"}, nil},
		{[]string{"config", "run"}, []string{"runtime"}},
		{[]string{"rm", "-"}, []string{"--force", "--help", "--quiet", "--verbose"}},
		{[]string{"nosuch", ""}, nil},
	} {
		got := app.complete(tc.words)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("complete %q = %q, want %q", tc.words, got, tc.want)
		}
	}
}

func TestParseSessionNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		js   string
		want []string
	}{
		{`{"sessions": [{"name": "a", "state": "running"}, {"name": "b"}]}`, []string{"a", "b"}},
		{`[{"branch": "x", "sessions": [{"name": "a"}]}, {"sessions": [{"name": "c"}]}]`, []string{"a", "c"}},
		{`[{"name": "hjk-container", "state": "running"}]`, nil}, // instances, not sessions
		{`not json`, nil},
	} {
		if got := parseSessionNames(tc.js); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseSessionNames(%s) = %q, want %q", tc.js, got, tc.want)
		}
	}
}
