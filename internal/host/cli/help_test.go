package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestHelp walks the command table: every command and subcommand answers
// --help on stdout with its usage and an example, and exits 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	paths := visible()
	if len(paths) < len(commands())-2 {
		t.Fatalf("visible() lists %d commands of %d", len(paths), len(commands()))
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

func docsCurrent(t *testing.T, folder string, gen func() (map[string][]byte, error), regen string) {
	dir := filepath.Join("..", "..", "..", "docs", folder)
	pages, err := gen()
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
	for _, want := range []string{"# hjk run\n", "## Usage\n\n```\nhjk run <branch>", "## Flags", "--agent string", "## Example\n\n```\nhjk run "} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("hjk_run.md lacks %q:\n%s", want, b)
		}
	}
	idx, err := os.ReadFile(filepath.Join(dir, "hjk.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(idx, []byte("[hjk auth status](hjk_auth_status.md)")) || bytes.Contains(idx, []byte("__complete")) {
		t.Errorf("index:\n%s", idx)
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
