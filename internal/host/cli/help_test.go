package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/agent"
)

// TestHelp walks the command tree: every command and subcommand answers
// --help on stdout with its usage and an example, and exits 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	var paths [][]string
	for _, c := range documented(NewCmdRoot(NewApp(nil, io.Discard, io.Discard, func(string) string { return "" }))) {
		if p := strings.Fields(c.CommandPath())[1:]; len(p) > 0 {
			paths = append(paths, p)
		}
	}
	if len(paths) < 19 {
		t.Fatalf("%d commands have a page, want 19 or more: %q", len(paths), paths)
	}
	for _, p := range paths {
		for _, h := range []string{"--help", "-h"} {
			args := append(append([]string(nil), p...), h)
			var out, errb bytes.Buffer
			app := NewApp(strings.NewReader(""), &out, &errb, func(string) string { return "" })
			code := app.Run(args)
			name := "hjk " + strings.Join(args, " ")
			if code != 0 {
				t.Errorf("%s: exit %d, want 0 (stderr %q)", name, code, errb.String())
			}
			if errb.Len() > 0 {
				t.Errorf("%s wrote to stderr: %q", name, errb.String())
			}
			s := out.String()
			if !strings.HasPrefix(s, "Usage:\n  hjk "+p[0]) {
				t.Errorf("%s: no usage line first:\n%s", name, s)
			}
			if !strings.Contains(s, "\nExample:\n  hjk ") && !strings.Contains(s, "\nExample:\n  echo ") && !strings.Contains(s, "\nExample:\n  printf ") {
				t.Errorf("%s: no example:\n%s", name, s)
			}
			if !strings.Contains(s, "--quiet") {
				t.Errorf("%s: the global flags are missing:\n%s", name, s)
			}
		}
	}
}

// TestDocsCurrent fails when docs/cli or docs/man is not what the
// commands' help makes.
func TestDocsCurrent(t *testing.T) {
	t.Parallel()
	docsCurrent(t, "cli", docPages, "rm -r docs/cli && go run ./cmd/hjk __docs docs/cli")
	docsCurrent(t, "man", manPages, "rm -r docs/man && go run ./cmd/hjk __docs --man docs/man")
}

func docsCurrent(t *testing.T, folder string, gen func(*App) (map[string][]byte, error), regen string) {
	dir := filepath.Join("..", "..", "..", "docs", folder)
	pages, err := gen(NewApp(nil, io.Discard, io.Discard, func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	fix := "regenerate with: " + regen
	for name, want := range pages {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("docs/%s/%s: %v: %s", folder, name, err, fix)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("docs/%s/%s is stale: %s", folder, name, fix)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := pages[e.Name()]; !ok {
			t.Errorf("docs/%s/%s belongs to no command: %s", folder, e.Name(), fix)
		}
	}
}

// TestAgentListCurrent fails when images/agents/agents.txt is not what
// the agents' rows make: a new agent, package or version in internal/agent
// has to reach the image.
func TestAgentListCurrent(t *testing.T) {
	t.Parallel()
	got, err := os.ReadFile(filepath.Join("..", "..", "..", "images", "agents", "agents.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := agentList(); !bytes.Equal(got, want) {
		t.Errorf("images/agents/agents.txt is stale: regenerate with: go run ./cmd/hjk __docs --agents images/agents/agents.txt\n got:\n%s\nwant:\n%s", got, want)
	}
}

// TestAgentList reads the list the way the scripts do: a line per agent
// of agent.All(), in order, with its five words.
func TestAgentList(t *testing.T) {
	t.Parallel()
	var rows [][]string
	for _, l := range strings.Split(string(agentList()), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			rows = append(rows, strings.Fields(l))
		}
	}
	all := agent.All()
	if len(rows) != len(all) {
		t.Fatalf("%d lines for %d agents:\n%s", len(rows), len(all), agentList())
	}
	for i, a := range all {
		if want := []string{a.Name, a.Command, a.Package, a.Version, strconv.Itoa(a.MinNode)}; !slices.Equal(rows[i], want) {
			t.Errorf("line %d is %q, want %q", i+1, rows[i], want)
		}
	}
}

// TestDocsCommand writes the folder the way a user of __docs gets it.
func TestDocsCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := NewApp(strings.NewReader(""), &out, &errb, func(string) string { return "" }).Run([]string{"__docs", dir}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "hjk_run.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## hjk run\n", "\n```\nhjk run <branch>", "### Options", "--agent string", "### Examples\n\n```\nhjk run ", "--quiet"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("hjk_run.md lacks %q:\n%s", want, b)
		}
	}
	idx, err := os.ReadFile(filepath.Join(dir, "hjk.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(idx, []byte("[hjk auth](hjk_auth.md)")) || bytes.Contains(idx, []byte("__complete")) || bytes.Contains(idx, []byte("[hjk __docs]")) {
		t.Errorf("index:\n%s", idx)
	}
	auth, err := os.ReadFile(filepath.Join(dir, "hjk_auth.md"))
	if err != nil || !bytes.Contains(auth, []byte("[hjk auth status](hjk_auth_status.md)")) {
		t.Errorf("hjk_auth.md (%v):\n%s", err, auth)
	}
	if code := NewApp(strings.NewReader(""), &out, &errb, func(string) string { return "" }).Run([]string{"__docs", "--man", dir}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	man, err := os.ReadFile(filepath.Join(dir, "hjk-auth-status.1"))
	if err != nil || !bytes.Contains(man, []byte(`.TH "HJK-AUTH-STATUS" "1" "" "hjk" "hjk manual"`)) {
		t.Errorf("hjk-auth-status.1 (%v):\n%s", err, man)
	}
	list := filepath.Join(dir, "agents.txt")
	if code := NewApp(strings.NewReader(""), &out, &errb, func(string) string { return "" }).Run([]string{"__docs", "--agents", list}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if b, err := os.ReadFile(list); err != nil || !bytes.Equal(b, agentList()) {
		t.Errorf("__docs --agents wrote (%v):\n%s", err, b)
	}
	if code := NewApp(strings.NewReader(""), &out, &errb, func(string) string { return "" }).Run([]string{"__docs", "--agents", "--man", list}); code == 0 {
		t.Error("__docs --agents --man: exit 0, want a usage error")
	}
}

// TestJSONFields pins the field names of --json outputs scripts rely on:
// renaming one breaks users' scripts.
func TestJSONFields(t *testing.T) {
	t.Parallel()
	cfg := t.TempDir()
	env := map[string]string{"HOME": cfg, "XDG_CONFIG_HOME": cfg, "XDG_DATA_HOME": cfg, "HJK_STORE": "file"}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"version", "--json"}, []string{"arch", "go", "os", "version"}},
		{[]string{"config", "--json"}, []string{"agent", "agents", "file", "image", "runtime", "store"}},
		{[]string{"auth", "status", "--json"}, []string{"credentials", "store"}},
	} {
		var out, errb bytes.Buffer
		app := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		if code := app.Run(tc.args); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errb.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, out.String())
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !reflect.DeepEqual(keys, tc.want) {
			t.Errorf("hjk %s: fields %v, want %v", strings.Join(tc.args, " "), keys, tc.want)
		}
	}
}
