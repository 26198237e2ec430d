package config

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzSetSaveLoad: whatever `hjk config KEY VALUE` accepts survives the
// file: Save then Load reads back the same value.
func FuzzSetSaveLoad(f *testing.F) {
	f.Add("agents.claude.env.X", "a \"quoted\" \\ value\n")
	f.Add("agents.codex.args", `["--a", "b c"]`)
	f.Add("agents.gemini.args", "--yolo -m x")
	f.Add("image", "registry.example/x:1")
	f.Add("runtime", "podman")
	f.Fuzz(func(t *testing.T, key, value string) {
		var c Config
		if err := c.Set(key, value); err != nil {
			return
		}
		want, err := c.Get(key)
		if err != nil {
			return // e.g. an empty variable: set, but reads as unset
		}
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := Save(path, c); err != nil {
			t.Fatalf("Save after Set(%q, %q): %v", key, value, err)
		}
		back, err := Load(path)
		if err != nil {
			t.Fatalf("Load after Set(%q, %q): %v", key, value, err)
		}
		if got, err := back.Get(key); err != nil || got != want {
			t.Fatalf("Set(%q, %q): read back %q, %v; want %q", key, value, got, err, want)
		}
	})
}

// FuzzParseSize: a size read is positive, at most 1TiB, and the digits
// with the unit's factor; nothing else is read.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "512MiB", "2G", "1024GiB", "0", "-1", "5T", "1.5G", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n <= 0 || n > 1<<40 {
			t.Fatalf("ParseSize(%q) = %d, out of range", s, n)
		}
		digits := strings.TrimRight(s, "KMGiB")
		d, perr := strconv.ParseInt(digits, 10, 64)
		if perr != nil || n%d != 0 || n/d&(n/d-1) != 0 {
			t.Fatalf("ParseSize(%q) = %d: not the digits %q times a power of two", s, n, digits)
		}
	})
}
