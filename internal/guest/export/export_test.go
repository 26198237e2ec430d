package export

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
)

func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".sig"
}

var codexAuth = `{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"` + fakeJWT(`{"exp":1893456000}`) +
	`","access_token":"at-fake-export","refresh_token":"rt-fake-export","account_id":"acc"},"last_refresh":"2026-11-28T00:00:00Z"}`

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRead(t *testing.T) {
	t.Parallel()
	oauth := `{"access_token":"ya29.fake-export","refresh_token":"1//fake-export","expiry_date":1893456000000}`
	accounts := `{"active":"dev@example.com","old":[]}`
	tests := []struct {
		name    string
		agent   agent.Agent
		files   map[string]string // relative to the home
		env     []string          // $H is the home
		want    func(t *testing.T, out string)
		nothing bool
		errHas  string
	}{
		{name: "codex", agent: agent.Codex, files: map[string]string{".codex/auth.json": codexAuth + "\n"},
			want: func(t *testing.T, out string) {
				if out != codexAuth {
					t.Errorf("codex export is not auth.json as it is")
				}
			}},
		{name: "codex home", agent: agent.Codex, files: map[string]string{"ch/auth.json": codexAuth, ".codex/auth.json": "junk"},
			env: []string{"CODEX_HOME=$H/ch"},
			want: func(t *testing.T, out string) {
				if out != codexAuth {
					t.Errorf("codex export did not read $CODEX_HOME/auth.json")
				}
			}},
		{name: "codex missing", agent: agent.Codex, nothing: true},
		{name: "codex api key", agent: agent.Codex, files: map[string]string{".codex/auth.json": `{"auth_mode":"apikey","OPENAI_API_KEY":"sk-fake-export"}`}, nothing: true},
		{name: "codex malformed", agent: agent.Codex, files: map[string]string{".codex/auth.json": `{"tokens": {"refresh_token": "rt-fake-export"`}, errHas: "auth.json"},
		{name: "codex no id token", agent: agent.Codex, files: map[string]string{".codex/auth.json": strings.Replace(codexAuth, `"id_token"`, `"x"`, 1)}, errHas: "tokens.id_token"},
		{name: "gemini", agent: agent.Gemini, files: map[string]string{".gemini/oauth_creds.json": oauth + "\n", ".gemini/google_accounts.json": accounts},
			want: func(t *testing.T, out string) {
				if gjson.Get(out, "oauth_creds.refresh_token").String() != "1//fake-export" || gjson.Get(out, "google_accounts.active").String() != "dev@example.com" {
					t.Errorf("gemini export lacks the files' content")
				}
				if _, err := agent.ParseGemini(out); err != nil {
					t.Errorf("gemini export is not a valid payload: %v", err)
				}
			}},
		{name: "gemini home, no accounts", agent: agent.Gemini, files: map[string]string{"gh/.gemini/oauth_creds.json": oauth},
			env: []string{"GEMINI_CLI_HOME=$H/gh"},
			want: func(t *testing.T, out string) {
				if gjson.Get(out, "google_accounts").Exists() || !gjson.Get(out, "oauth_creds").IsObject() {
					t.Errorf("gemini export without google_accounts.json is wrong")
				}
			}},
		{name: "gemini missing", agent: agent.Gemini, files: map[string]string{".gemini/settings.json": "{}"}, nothing: true},
		{name: "gemini malformed", agent: agent.Gemini, files: map[string]string{".gemini/oauth_creds.json": `{"refresh_token":"1//fake-export",`}, errHas: "oauth_creds.json is not a JSON object"},
		{name: "gemini no tokens", agent: agent.Gemini, files: map[string]string{".gemini/oauth_creds.json": `{"scope":"x"}`}, errHas: "neither refresh_token"},
		{name: "gemini accounts malformed", agent: agent.Gemini, files: map[string]string{".gemini/oauth_creds.json": oauth, ".gemini/google_accounts.json": `["dev@example.com"`}, errHas: "google_accounts.json is not a JSON object"},
		{name: "claude", agent: agent.Claude, files: map[string]string{".claude/.credentials.json": `{"claudeAiOauth":{"refreshToken":"sk-ant-ort01-fake-export"}}`}, nothing: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			for p, d := range tt.files {
				write(t, filepath.Join(home, p), d)
			}
			var env []string
			for _, e := range tt.env {
				env = append(env, strings.ReplaceAll(e, "$H", home))
			}
			out, err := Read(tt.agent, home, env)
			switch {
			case tt.nothing:
				if !errors.Is(err, ErrNothing) || out != "" {
					t.Fatalf("want nothing to export, got err %v and %d bytes", err, len(out))
				}
			case tt.errHas != "":
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || errors.Is(err, ErrNothing) {
					t.Fatalf("want an error naming %q, got %v", tt.errHas, err)
				}
				if strings.Contains(err.Error(), "fake-export") {
					t.Fatalf("the error shows the file's content")
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				tt.want(t, out)
			}
		})
	}
}

// Main's exit codes, and nothing on stdout but the credential.
func TestMainExitCodes(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(agent.UserVar, "")
	t.Setenv(agent.CodexHomeVar, "")
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(args, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, _ := run("codex"); code != agent.ExitNothing || out != "" {
		t.Errorf("export codex without auth.json: exit %d, stdout %q; want 3 and nothing", code, out)
	}
	write(t, filepath.Join(home, ".codex/auth.json"), codexAuth)
	if code, out, _ := run("codex"); code != 0 || out != codexAuth {
		t.Errorf("export codex: exit %d; want 0 and auth.json", code)
	}
	write(t, filepath.Join(home, ".codex/auth.json"), "{")
	if code, out, errs := run("codex"); code != agent.ExitFailure || out != "" || !strings.Contains(errs, "auth.json") {
		t.Errorf("export codex of a broken file: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, args := range [][]string{nil, {"codex", "gemini"}, {"nope"}, {"--help"}} {
		if code, out, _ := run(args...); code != agent.ExitFailure || out != "" {
			t.Errorf("export %q: exit %d, stdout %q; want 125 and nothing", args, code, out)
		}
	}
	if code, _, _ := run("claude"); code != agent.ExitNothing {
		t.Errorf("export claude: exit %d, want 3", code)
	}
}

// What the agent can plant where export reads: a FIFO (which used to hold
// each export, and so hjk stop, for the whole exec timeout), a link (to a
// file of the agent's choosing, or to /dev/zero), a huge sparse file, a
// folder linked into the work folder. Each gives an error at once that
// names the file, never a hang or a read without end.
func TestReadRefusesPlantedFiles(t *testing.T) {
	t.Parallel()
	sparse := func(t *testing.T, path string, size int64) {
		write(t, path, "")
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		agent agent.Agent
		plant func(t *testing.T, home, work string)
		file  string // relative to the home, named in the error
		want  string
	}{
		{"codex fifo", agent.Codex, func(t *testing.T, home, _ string) {
			os.MkdirAll(filepath.Join(home, ".codex"), 0o700)
			if err := syscall.Mkfifo(filepath.Join(home, ".codex/auth.json"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, ".codex/auth.json", "not a regular file"},
		{"gemini accounts fifo", agent.Gemini, func(t *testing.T, home, _ string) {
			write(t, filepath.Join(home, ".gemini/oauth_creds.json"), `{"refresh_token":"1//fake-export"}`)
			if err := syscall.Mkfifo(filepath.Join(home, ".gemini/google_accounts.json"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, ".gemini/google_accounts.json", "not a regular file"},
		{"codex link", agent.Codex, func(t *testing.T, home, work string) {
			write(t, filepath.Join(work, "auth.json"), codexAuth)
			os.MkdirAll(filepath.Join(home, ".codex"), 0o700)
			os.Symlink(filepath.Join(work, "auth.json"), filepath.Join(home, ".codex/auth.json"))
		}, ".codex/auth.json", "is a symbolic link"},
		{"codex zero", agent.Codex, func(t *testing.T, home, _ string) {
			os.MkdirAll(filepath.Join(home, ".codex"), 0o700)
			os.Symlink("/dev/zero", filepath.Join(home, ".codex/auth.json"))
		}, ".codex/auth.json", "is a symbolic link"},
		{"codex huge", agent.Codex, func(t *testing.T, home, _ string) {
			sparse(t, filepath.Join(home, ".codex/auth.json"), 1<<40)
		}, ".codex/auth.json", "larger than 64 KiB"},
		{"gemini folder into the work folder", agent.Gemini, func(t *testing.T, home, work string) {
			write(t, filepath.Join(work, "g/oauth_creds.json"), `{"refresh_token":"1//fake-export"}`)
			os.Symlink(filepath.Join(work, "g"), filepath.Join(home, ".gemini"))
		}, ".gemini", "a symbolic link into the work folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home, work := t.TempDir(), t.TempDir()
			tt.plant(t, home, work)
			done := make(chan error, 1)
			go func() {
				_, err := Read(tt.agent, home, []string{"HJK_WORKDIR=" + work})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || errors.Is(err, ErrNothing) || !strings.Contains(err.Error(), filepath.Join(home, tt.file)) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Read = %v, want an error naming %s: %s", err, tt.file, tt.want)
				}
				if err != nil && strings.Contains(err.Error(), "fake-export") {
					t.Error("the error shows a file's content")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("export hangs")
			}
		})
	}
}

// A home that does not exist holds no login: nothing to export, as before
// the link rules opened the home first.
func TestReadWithoutHome(t *testing.T) {
	t.Parallel()
	for _, a := range []agent.Agent{agent.Codex, agent.Gemini} {
		if _, err := Read(a, filepath.Join(t.TempDir(), "gone"), nil); !errors.Is(err, ErrNothing) {
			t.Errorf("export %s without a home: %v, want nothing to export", a.Name, err)
		}
	}
}
