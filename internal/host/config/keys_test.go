package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSetGet(t *testing.T) {
	t.Parallel()
	var c Config
	for _, kv := range [][2]string{
		{"agent", "codex"},
		{"image", "hjk-agents:1"},
		{"runtime", "podman"},
		{"store", "file"},
		{"engine.remote", "yes"},
		{"sync.max_bundle", "512MiB"},
		{"agents.claude.env.DISABLE_TELEMETRY", "1"},
		{"agents.claude.args", "--model opus"},
		{"agents.codex.args", `["--sandbox", "danger full"]`},
	} {
		if err := c.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("Set(%s): %v", kv[0], err)
		}
	}
	for k, want := range map[string]string{
		"agent":                               "codex",
		"runtime":                             "podman",
		"engine.remote":                       "yes",
		"sync.max_bundle":                     "512MiB",
		"agents.claude.env.DISABLE_TELEMETRY": "1",
		"agents.claude.args":                  `["--model", "opus"]`,
		"agents.codex.args":                   `["--sandbox", "danger full"]`,
	} {
		if got, err := c.Get(k); err != nil || got != want {
			t.Errorf("Get(%s) = %q, %v; want %q", k, got, err, want)
		}
	}
	if _, err := c.Get("agents.gemini.args"); !errors.Is(err, ErrUnset) {
		t.Errorf("unset key: %v", err)
	}
	if err := c.Unset("agents.claude.env.DISABLE_TELEMETRY"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("agents.claude.env.DISABLE_TELEMETRY"); !errors.Is(err, ErrUnset) {
		t.Errorf("after Unset: %v", err)
	}
}

func TestSetRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ k, v, msg string }{
		{"runtime", "dokcer", "docker, podman, container"},
		{"runtime", "docker:-H", "not a context name"},
		{"runtime", "container:box", "no engines but its own"},
		{"engine.remote", "maybe", "auto, yes or no"},
		{"sync.max_bundle", "lots", "not a size"},
		{"sync.max_bundle", "0", "between 1 byte and 1TiB"},
		{"sync.max_bundle", "1025GiB", "between 1 byte and 1TiB"},
		{"agent", "cursor", "claude, gemini, codex"},
		{"store", "vault", "keychain, secret-service, file"},
		{"image", "a b", "not an image reference"},
		{"agents.cursor.args", "x", "unknown agent"},
		{"agents.claude.env.1BAD", "x", "not a variable name"},
		{"agents.claude.env.CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-FAKE", "hjk auth claude"},
		{"agents.codex.env.OPENAI_API_KEY", "sk-FAKE", "hjk auth codex"},
		{"agents.claude.args", `["unterminated`, "TOML array"},
		{"nope", "x", "settings are agent, image"},
		{"agents.claude", "x", "unknown setting"},
	} {
		var c Config
		err := c.Set(tc.k, tc.v)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Set(%s, %s) = %v, want an error saying %q", tc.k, tc.v, err, tc.msg)
		}
		if err != nil && strings.Contains(err.Error(), "FAKE") {
			t.Errorf("Set(%s): the error holds the value", tc.k)
		}
		if !reflect.DeepEqual(c, Config{}) {
			t.Errorf("Set(%s) changed the config: %+v", tc.k, c)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hjk", "config.toml")
	var c Config
	for _, kv := range [][2]string{{"runtime", "docker"}, {"agents.gemini.env.GEMINI_MODEL", "x \"q\""}, {"agents.gemini.args", "--yolo"}} {
		if err := c.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v, %v", fi, err)
	}
	got, err := Load(path)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("round trip: %+v, %v; want %+v", got, err, c)
	}
	want := []Setting{{"runtime", `"docker"`}, {"agents.gemini.args", `["--yolo"]`}, {"agents.gemini.env.GEMINI_MODEL", `"x \"q\""`}}
	if s := got.Settings(); !reflect.DeepEqual(s, want) {
		t.Errorf("Settings = %v", s)
	}
}

func TestBrokenFileKept(t *testing.T) {
	t.Parallel()
	for name, text := range map[string]string{
		"syntax":  "runtime = \"docker\"\nimage = [\n",
		"typo":    "runtim = \"docker\"\n",
		"badtype": "runtime = 3\n",
		"envglob": "[agents.codex.env]\n\"OPENAI*\" = \"x\"\n",
		"envdash": "[agents.codex.env]\n\"A-B\" = \"x\"\n",
	} {
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Load: %v", name, err)
		}
		if name == "syntax" && !strings.Contains(err.Error(), "line 2") {
			t.Errorf("syntax error without its line: %v", err)
		}
		if name == "typo" && !strings.Contains(err.Error(), `"runtim"`) {
			t.Errorf("typo not named: %v", err)
		}
		if err := Save(path, Config{Runtime: "podman"}); err == nil {
			t.Errorf("%s: Save replaced a broken file", name)
		}
		if b, _ := os.ReadFile(path); string(b) != text {
			t.Errorf("%s: broken file changed", name)
		}
	}
}

func TestRuntimeNamesEngine(t *testing.T) {
	t.Parallel()
	var c Config
	for _, v := range []string{"docker:big-box", "podman:ssh://me@box/run/podman/podman.sock", "docker:tcp://127.0.0.1:2375"} {
		if err := c.Set("runtime", v); err != nil {
			t.Errorf("Set(runtime, %s): %v", v, err)
		}
		if got, _ := c.Get("runtime"); got != v {
			t.Errorf("Get(runtime) = %q, want %q", got, v)
		}
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"1": 1, "1048576": 1 << 20, "512MiB": 512 << 20, "2G": 2 << 30, "2GiB": 2 << 30,
		"3K": 3 << 10, "3KB": 3 << 10, "7MB": 7 << 20, "10B": 10, "1024G": 1 << 40,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "+5", " 5", "5 M", "5T", "1025G", "MiB", "5iB", "1.5G", "99999999999999999999"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}
