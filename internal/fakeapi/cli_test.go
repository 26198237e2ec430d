package fakeapi

// Acceptance against the real agent CLIs, on the host and offline: each CLI
// is pointed straight at a fake upstream (no gate), run once
// non-interactively in a private HOME, and must exit 0, print the canned
// answer, and have sent the credential it was given. The CLIs come from npm
// (.ci/install puts them in /opt/hjk-agents; HJK_AGENTS_DIR overrides it).
// Without them these tests are skipped, or fail with HJK_E2E=1.
//
// What each test sets is what docs/notes/gate-facts.md says a gate needs;
// the tests are the proof of those facts. Output is shown only through
// redact, which hides every credential a test made.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func agentBin(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("HJK_AGENTS_DIR")
	if dir == "" {
		dir = "/opt/hjk-agents"
	}
	bin := filepath.Join(dir, "node_modules", ".bin", name)
	if _, err := os.Stat(bin); err != nil {
		msg := "the real " + name + " CLI is not installed at " + bin + " (run .ci/install or set HJK_AGENTS_DIR)"
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// secret makes a fake credential with a prefix, unique to the test.
func secret(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// cliRun is one run of a CLI in a private HOME.
type cliRun struct {
	bin     string
	args    []string
	env     []string          // beyond HOME, PATH, LANG, TERM, NO_PROXY
	files   map[string]string // written under HOME before the run
	secrets []string          // redacted from anything shown
}

type cliResult struct {
	home           string
	stdout, stderr string
	code           int
}

func (r cliRun) run(t *testing.T) cliResult {
	t.Helper()
	home := t.TempDir()
	work := filepath.Join(home, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range r.files {
		p := filepath.Join(home, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bin, r.args...)
	cmd.Dir = work
	// Loopback must bypass any proxy: all three CLIs otherwise send their
	// API traffic for 127.0.0.1 to HTTP(S)_PROXY.
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "TERM=dumb",
		"NO_PROXY=127.0.0.1,localhost"}, r.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := cliResult{home: home, stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", filepath.Base(r.bin), err)
	}
	return res
}

func (r cliRun) redact(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "[secret]")
	}
	return s
}

// mustAnswer checks the run finished with the canned answer.
func (r cliRun) mustAnswer(t *testing.T, res cliResult) {
	t.Helper()
	if res.code != 0 || !strings.Contains(res.stdout, DefaultAnswer) {
		t.Fatalf("%s exited %d; stdout:\n%s\nstderr (tail):\n%s", filepath.Base(r.bin), res.code,
			r.redact(res.stdout), r.redact(tail(res.stderr, 3000)))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// caFile writes the server's CA where a CLI can be pointed at it.
func caFile(t *testing.T, s *Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, s.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// paths lists "METHOD path" of the requests api saw, in order.
func paths(s *Server, api API) []string {
	var out []string
	for _, r := range s.RequestsTo(api) {
		m := r.Method
		if r.WebSocket {
			m = "WS"
		}
		out = append(out, m+" "+r.Path)
	}
	return out
}

func TestClaude(t *testing.T) {
	t.Parallel()
	bin := agentBin(t, "claude")
	for _, c := range []struct {
		name, variable, prefix string
		tls                    bool
		header                 string
	}{
		{"setup-token", "CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-", false, "Authorization"},
		{"api-key", "ANTHROPIC_API_KEY", "sk-ant-api03-", false, "X-Api-Key"},
		{"setup-token-tls", "CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-", true, "Authorization"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Options{TLS: c.tls})
			cred := secret(c.prefix)
			s.Allow(Anthropic, cred)
			r := cliRun{bin: bin, args: []string{"-p", "hi"}, secrets: []string{cred},
				env: []string{c.variable + "=" + cred, "ANTHROPIC_BASE_URL=" + s.BaseURL(Anthropic),
					// Otherwise claude also calls api.anthropic.com itself (feature flags,
					// bootstrap, event logging), ignoring ANTHROPIC_BASE_URL.
					"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"}}
			if c.tls {
				r.env = append(r.env, "NODE_EXTRA_CA_CERTS="+caFile(t, s))
			}
			res := r.run(t)
			r.mustAnswer(t, res)
			if !s.Saw(Anthropic, cred) {
				t.Fatalf("the fake never accepted the %s; it saw %v", c.variable, paths(s, Anthropic))
			}
			for _, q := range s.RequestsTo(Anthropic) {
				if q.Path == "/anthropic/v1/messages" && q.Header.Get(c.header) == "" {
					t.Errorf("the credential did not come in %s", c.header)
				}
			}
		})
	}
}

// codexFlags keep codex to the fake: no plugin sync (github.com,
// chatgpt.com), no analytics (ab.chatgpt.com), no git repository needed.
var codexFlags = []string{"exec", "--skip-git-repo-check",
	"-c", "features.plugins=false", "-c", "features.apps=false", "-c", "features.remote_plugin=false",
	"-c", "analytics.enabled=false"}

// chatgptAuth is an auth.json of a ChatGPT login whose access token expires
// at exp.
func chatgptAuth(t *testing.T, a Account, refresh string, exp time.Time) (authJSON, access string) {
	t.Helper()
	a = a.withDefaults()
	access = AccessToken(a, exp)
	b, err := json.Marshal(map[string]any{
		"auth_mode": "chatgpt", "OPENAI_API_KEY": nil,
		"tokens": map[string]any{"id_token": IDToken(a, exp), "access_token": access,
			"refresh_token": refresh, "account_id": a.AccountID},
		"last_refresh": time.Now().UTC().Format(time.RFC3339),
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b), access
}

func TestCodexAPIKey(t *testing.T) {
	t.Parallel()
	bin := agentBin(t, "codex")
	s := start(t, Options{})
	key := secret("sk-proj-")
	s.Allow(OpenAI, key)
	// codex exec reads the key from auth.json (or CODEX_API_KEY), never
	// from OPENAI_API_KEY; OPENAI_BASE_URL is ignored, openai_base_url is not.
	r := cliRun{bin: bin, secrets: []string{key},
		args:  append(slices.Clone(codexFlags), "-c", "openai_base_url="+s.BaseURL(OpenAI), "hi"),
		files: map[string]string{".codex/auth.json": `{"OPENAI_API_KEY":"` + key + `"}`}}
	res := r.run(t)
	r.mustAnswer(t, res)
	if !s.Saw(OpenAI, key) {
		t.Fatalf("the fake never accepted the key; it saw %v", paths(s, OpenAI))
	}
	if got := paths(s, OpenAI); len(got) == 0 || got[0] != "WS /openai/v1/responses" {
		t.Errorf("codex did not start with the WebSocket: %v", got)
	}
}

// TestCodexChatGPT: with a ChatGPT login and codex's built-in provider,
// codex discovers its workspace (GET .../wham/accounts/check) and sends
// its turns to the origin of chatgpt_base_url, which must be https: the TLS
// server, with its CA in CODEX_CA_CERTIFICATE.
func TestCodexChatGPT(t *testing.T) {
	t.Parallel()
	bin := agentBin(t, "codex")
	s := start(t, Options{TLS: true})
	acct := Account{AccountID: "11111111-test-acct-1111-111111111111"}
	auth, access := chatgptAuth(t, acct, secret("rt-"), time.Now().Add(time.Hour))
	s.Allow(ChatGPT, access)
	r := cliRun{bin: bin, secrets: []string{access},
		args: append(slices.Clone(codexFlags), "-c", "chatgpt_base_url="+s.BaseURL(ChatGPT)+"/",
			"-c", "openai_base_url="+s.BaseURL(ChatGPT)+"/codex", "hi"),
		env:   []string{"CODEX_CA_CERTIFICATE=" + caFile(t, s)},
		files: map[string]string{".codex/auth.json": auth}}
	res := r.run(t)
	r.mustAnswer(t, res)
	if !s.Saw(ChatGPT, access) {
		t.Fatalf("the fake never accepted the access token; it saw %v", paths(s, ChatGPT))
	}
	for _, q := range s.RequestsTo(ChatGPT) {
		if q.Path == "/backend-api/codex/responses" && q.Header.Get("ChatGPT-Account-Id") != acct.AccountID {
			t.Errorf("ChatGPT-Account-Id %q, want tokens.account_id", q.Header.Get("ChatGPT-Account-Id"))
		}
	}
}

// TestCodexChatGPTRefresh: an access token that expires within five minutes
// makes codex refresh before its first turn, at
// CODEX_REFRESH_TOKEN_URL_OVERRIDE, and write what it got to auth.json.
func TestCodexChatGPTRefresh(t *testing.T) {
	t.Parallel()
	bin := agentBin(t, "codex")
	s := start(t, Options{TLS: true})
	rt := secret("rt-")
	s.AddRefreshToken(OpenAIToken, rt)
	auth, old := chatgptAuth(t, Account{}, rt, time.Now().Add(2*time.Minute))
	s.Allow(ChatGPT, old)
	r := cliRun{bin: bin, secrets: []string{rt, old},
		args: append(slices.Clone(codexFlags), "-c", "chatgpt_base_url="+s.BaseURL(ChatGPT)+"/",
			"-c", "openai_base_url="+s.BaseURL(ChatGPT)+"/codex", "hi"),
		env:   []string{"CODEX_CA_CERTIFICATE=" + caFile(t, s), "CODEX_REFRESH_TOKEN_URL_OVERRIDE=" + s.BaseURL(OpenAIToken)},
		files: map[string]string{".codex/auth.json": auth}}
	res := r.run(t)
	r.mustAnswer(t, res)
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	grants := s.Grants(OpenAIToken)
	if len(grants) != 1 {
		t.Fatalf("%d refreshes, want 1", len(grants))
	}
	if !s.Saw(ChatGPT, grants[0].Access) {
		t.Error("codex did not use the refreshed access token")
	}
	var req map[string]string
	json.Unmarshal(s.RequestsTo(OpenAIToken)[0].Body, &req)
	if req["client_id"] != codexClientID || req["grant_type"] != "refresh_token" || req["refresh_token"] != rt {
		t.Errorf("refresh request has client_id %q, grant_type %q", req["client_id"], req["grant_type"])
	}
	b, err := os.ReadFile(filepath.Join(res.home, ".codex", "auth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var after struct {
		Tokens      map[string]string `json:"tokens"`
		LastRefresh time.Time         `json:"last_refresh"`
	}
	if err := json.Unmarshal(b, &after); err != nil {
		t.Fatal(err)
	}
	if after.Tokens["refresh_token"] != grants[0].Refresh || after.Tokens["access_token"] != grants[0].Access ||
		after.Tokens["id_token"] != grants[0].IDToken || time.Since(after.LastRefresh) > time.Minute {
		t.Error("auth.json does not hold the rotated tokens and a fresh last_refresh")
	}
}

// TestCodexChatGPTCustomProvider: a model provider of its own with
// requires_openai_auth keeps a ChatGPT login on plain HTTP, path and all
// (no workspace routing).
func TestCodexChatGPTCustomProvider(t *testing.T) {
	t.Parallel()
	bin := agentBin(t, "codex")
	s := start(t, Options{})
	auth, access := chatgptAuth(t, Account{}, secret("rt-"), time.Now().Add(time.Hour))
	s.Allow(ChatGPT, access)
	provider := `model_providers.hjk={name="hjk",base_url="` + s.BaseURL(ChatGPT) + `/codex",wire_api="responses",requires_openai_auth=true,supports_websockets=true}`
	r := cliRun{bin: bin, secrets: []string{access},
		args: append(slices.Clone(codexFlags), "-c", provider, "-c", "model_provider=hjk",
			"-c", "chatgpt_base_url="+s.BaseURL(ChatGPT)+"/", "hi"),
		files: map[string]string{".codex/auth.json": auth}}
	res := r.run(t)
	r.mustAnswer(t, res)
	if !s.Saw(ChatGPT, access) {
		t.Fatalf("the fake never accepted the access token; it saw %v", paths(s, ChatGPT))
	}
	ws := false
	for _, q := range s.RequestsTo(ChatGPT) {
		ws = ws || q.WebSocket && q.Accepted && q.Path == "/backend-api/codex/responses"
	}
	if !ws {
		t.Errorf("no WebSocket turn: %v", paths(s, ChatGPT))
	}
}

// geminiSettings turns off gemini's usage statistics (play.googleapis.com),
// which otherwise hold a run up offline for seconds.
const geminiSettings = `{"privacy":{"usageStatisticsEnabled":false}}`

// TestGeminiGoogleLogin: a Google login as an access token in the
// environment (GOOGLE_GENAI_USE_GCA, GOOGLE_CLOUD_ACCESS_TOKEN), sent to
// CODE_ASSIST_ENDPOINT. (The oauth_creds.json form checks its token at
// oauth2.googleapis.com, which no variable moves.)
func TestGeminiGoogleLogin(t *testing.T) {
	t.Parallel()
	bin := agentBin(t, "gemini")
	s := start(t, Options{})
	token := secret("ya29.")
	s.Allow(CodeAssist, token)
	r := cliRun{bin: bin, args: []string{"-p", "hi"}, secrets: []string{token},
		env: []string{"GOOGLE_GENAI_USE_GCA=true", "GOOGLE_CLOUD_ACCESS_TOKEN=" + token,
			"CODE_ASSIST_ENDPOINT=" + s.BaseURL(CodeAssist), "GEMINI_CLI_TRUST_WORKSPACE=true"},
		files: map[string]string{".gemini/settings.json": geminiSettings}}
	res := r.run(t)
	r.mustAnswer(t, res)
	if !s.Saw(CodeAssist, token) {
		t.Fatalf("the fake never accepted the token; it saw %v", paths(s, CodeAssist))
	}
	got := strings.Join(paths(s, CodeAssist), "\n")
	for _, want := range []string{"POST /codeassist/v1internal:loadCodeAssist", "POST /codeassist/v1internal:streamGenerateContent"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %s in:\n%s", want, got)
		}
	}
}

func TestGeminiAPIKey(t *testing.T) {
	t.Parallel()
	bin := agentBin(t, "gemini")
	for _, tlsOn := range []bool{false, true} {
		name := "http"
		if tlsOn {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Options{TLS: tlsOn})
			key := secret("AIza")
			s.Allow(Gemini, key)
			// GOOGLE_GEMINI_BASE_URL alone selects the "gateway" auth, which
			// 0.61 refuses in -p: the settings must choose gemini-api-key.
			r := cliRun{bin: bin, args: []string{"-p", "hi"}, secrets: []string{key},
				env:   []string{"GEMINI_API_KEY=" + key, "GOOGLE_GEMINI_BASE_URL=" + s.BaseURL(Gemini), "GEMINI_CLI_TRUST_WORKSPACE=true"},
				files: map[string]string{".gemini/settings.json": `{"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false}}`}}
			if tlsOn {
				r.env = append(r.env, "NODE_EXTRA_CA_CERTS="+caFile(t, s))
			}
			res := r.run(t)
			r.mustAnswer(t, res)
			if !s.Saw(Gemini, key) {
				t.Fatalf("the fake never accepted the key; it saw %v", paths(s, Gemini))
			}
			for _, q := range s.RequestsTo(Gemini) {
				if q.Header.Get("X-Goog-Api-Key") == "" {
					t.Errorf("%s: the key did not come in x-goog-api-key", q.Path)
				}
			}
		})
	}
}
