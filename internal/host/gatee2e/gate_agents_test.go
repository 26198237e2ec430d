package gatee2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/fakeapi"
)

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// login is a real credential for one agent, as the fake upstream takes it.
type login struct {
	agent  agent.Agent
	kind   agent.Kind
	secret string  // what the store holds
	s      secrets // the values that must not reach the container
}

// claudeLogin is a setup-token the fake accepts.
func claudeLogin(f *fakeapi.Server) login {
	tok := agent.ClaudeTokenPrefix + "REALgatee2e_" + randHex(20)
	f.Allow(fakeapi.Anthropic, tok)
	l := login{agent: agent.Claude, kind: agent.Subscription, secret: tok, s: secrets{}}
	l.s.add("the claude token", tok)
	return l
}

func claudeKey(f *fakeapi.Server) login {
	key := "sk-ant-api03-REALgatee2e_" + randHex(20)
	f.Allow(fakeapi.Anthropic, key)
	l := login{agent: agent.Claude, kind: agent.APIKey, secret: key, s: secrets{}}
	l.s.add("the anthropic API key", key)
	return l
}

// codexLogin is a ChatGPT login: an access token the fake accepts until
// exp, and a refresh token its token endpoint takes once.
func codexLogin(f *fakeapi.Server, exp time.Time, lastRefresh time.Time) login {
	acct := fakeapi.Account{}
	access := fakeapi.AccessToken(acct, exp)
	rt := "rt-REALgatee2e-codex-" + randHex(20)
	f.AddRefreshToken(fakeapi.OpenAIToken, rt)
	if exp.After(time.Now()) {
		f.Allow(fakeapi.ChatGPT, access)
	}
	auth := map[string]any{
		"auth_mode": "chatgpt", "OPENAI_API_KEY": nil,
		"tokens": map[string]any{
			"id_token": fakeapi.IDToken(acct, exp), "access_token": access, "refresh_token": rt,
			"account_id": "00000000-fake-acct-0000-000000000000",
		},
		"last_refresh": lastRefresh.UTC().Format(time.RFC3339),
	}
	b, _ := json.Marshal(auth)
	l := login{agent: agent.Codex, kind: agent.Subscription, secret: string(b), s: secrets{}}
	l.s.add("the codex access token", access)
	l.s.add("the codex refresh token", rt)
	return l
}

func codexKey(f *fakeapi.Server) login {
	key := "sk-proj-REALgatee2e_" + randHex(20)
	f.Allow(fakeapi.OpenAI, key)
	l := login{agent: agent.Codex, kind: agent.APIKey, secret: key, s: secrets{}}
	l.s.add("the openai API key", key)
	return l
}

// geminiLogin is a Google login: an access token the fake's Code Assist
// accepts, valid until exp, and a refresh token its token endpoint takes
// once.
func geminiLogin(f *fakeapi.Server, exp time.Time) login {
	access := "ya29.REALgatee2e-" + randHex(20)
	rt := "1//REALgatee2e-gemini-" + randHex(20)
	f.AddRefreshToken(fakeapi.GoogleToken, rt)
	if exp.After(time.Now()) {
		f.Allow(fakeapi.CodeAssist, access)
	}
	idTok := fakeapi.JWT(map[string]any{"email": "dev@example.com", "sub": "1234567890"})
	payload := map[string]any{
		"oauth_creds": map[string]any{
			"access_token": access, "refresh_token": rt, "token_type": "Bearer", "id_token": idTok,
			"scope": "https://www.googleapis.com/auth/cloud-platform", "expiry_date": exp.UnixMilli(),
		},
		"google_accounts": map[string]any{"active": "dev@example.com", "old": []string{}},
	}
	b, _ := json.Marshal(payload)
	l := login{agent: agent.Gemini, kind: agent.Subscription, secret: string(b), s: secrets{}}
	l.s.add("the google access token", access)
	l.s.add("the google refresh token", rt)
	return l
}

func geminiKey(f *fakeapi.Server) login {
	key := "AIzaREALgatee2e_" + randHex(16)
	f.Allow(fakeapi.Gemini, key)
	l := login{agent: agent.Gemini, kind: agent.APIKey, secret: key, s: secrets{}}
	l.s.add("the gemini API key", key)
	return l
}

// agentCase is one agent and login through the gate.
type agentCase struct {
	name  string
	login func(w *world) login
	api   fakeapi.API // where the fake gets the real credential
	args  []string    // the CLI's own arguments for one offline prompt
	env   string      // a variable its session gets, to see the session
	after func(t *testing.T, w *world, l login)
}

var agentCases = []agentCase{
	{"claude-login", func(w *world) login {
		w.upstream(agent.Claude, fakeapi.Anthropic)
		return claudeLogin(w.fake)
	}, fakeapi.Anthropic, []string{"-p", "hi"}, "ANTHROPIC_BASE_URL=http://127.0.0.1:7801", nil},
	{"claude-key", func(w *world) login {
		w.upstream(agent.Claude, fakeapi.Anthropic)
		return claudeKey(w.fake)
	}, fakeapi.Anthropic, []string{"-p", "hi"}, "ANTHROPIC_BASE_URL=http://127.0.0.1:7802", nil},
	{"codex-login", func(w *world) login {
		w.upstream(agent.Codex, fakeapi.ChatGPT)
		w.ok("config", "agents.codex.token_url", w.fake.BaseURL(fakeapi.OpenAIToken))
		return codexLogin(w.fake, time.Now().Add(time.Hour), time.Now())
	}, fakeapi.ChatGPT, []string{"exec", "hi"}, "CODEX_REFRESH_TOKEN_URL_OVERRIDE=https://127.0.0.1:7803/oauth/token", nil},
	{"codex-key", func(w *world) login {
		w.ok("config", "agents.codex.upstream", w.fake.URL()+"/openai")
		w.ok("config", "agents.codex.ca_file", w.caFile)
		return codexKey(w.fake)
	}, fakeapi.OpenAI, []string{"exec", "hi"}, "OPENAI_API_KEY=sk-hjk-placeholder-", nil},
	{"gemini-login", func(w *world) login {
		w.upstream(agent.Gemini, fakeapi.CodeAssist)
		w.ok("config", "agents.gemini.token_url", w.fake.BaseURL(fakeapi.GoogleToken))
		return geminiLogin(w.fake, time.Now().Add(time.Hour))
	}, fakeapi.CodeAssist, []string{"-p", "hi"}, "CODE_ASSIST_ENDPOINT=http://127.0.0.1:7805", nil},
	{"gemini-login-expired", func(w *world) login {
		w.upstream(agent.Gemini, fakeapi.CodeAssist)
		w.ok("config", "agents.gemini.token_url", w.fake.BaseURL(fakeapi.GoogleToken))
		return geminiLogin(w.fake, time.Now().Add(-time.Minute))
	}, fakeapi.CodeAssist, []string{"-p", "hi"}, "CODE_ASSIST_ENDPOINT=http://127.0.0.1:7805", func(t *testing.T, w *world, l login) {
		// The keeper refreshed the expired token; hjk took the new login
		// back from it.
		grants := w.fake.Grants(fakeapi.GoogleToken)
		if len(grants) == 0 {
			t.Fatal("the keeper did not refresh the expired Google login")
		}
		if got := gjson.Get(w.stored(agent.Gemini, agent.Subscription).Secret, "oauth_creds.access_token").String(); got != grants[len(grants)-1].Access {
			t.Error("the store does not hold the refreshed access token")
		}
		for i, g := range grants {
			l.s.add(fmt.Sprintf("refreshed google access token %d", i), g.Access)
		}
	}},
	{"gemini-key", func(w *world) login {
		w.upstream(agent.Gemini, fakeapi.Gemini)
		return geminiKey(w.fake)
	}, fakeapi.Gemini, []string{"-p", "hi"}, "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:7806", nil},
}

// TestGateAgents: each real CLI, with each kind of login, reaches the fake
// upstream through the gate with one offline prompt; the fake sees the
// real credential (and nothing else), the agent prints the fake's answer,
// and the real values are nowhere in the agent's container (environments,
// files, inspect), on the host's command lines, or in what hjk printed.
func TestGateAgents(t *testing.T) {
	for _, c := range agentCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			forEngine(t, func(t *testing.T, e string) {
				w := newWorld(t, e, fakeapi.Options{})
				l := c.login(w)
				watch := watchArgv(t, l.s)
				w.save(l.agent, l.kind, l.secret)

				args := append([]string{"run", "b", "--agent", l.agent.Name, "--"}, c.args...)
				t0 := time.Now()
				r := w.hjk(args...)
				t.Logf("%s %s: %v, %d requests to the fake", l.agent.Name, strings.Join(c.args, " "), time.Since(t0).Round(time.Millisecond), len(w.fake.Requests()))
				if r.code != 0 || !strings.Contains(r.stdout, fakeapi.DefaultAnswer) {
					t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", l.agent.Name, strings.Join(c.args, " "), r.code, r.stdout, r.stderr)
				}
				reqs := w.fake.RequestsTo(c.api)
				if len(reqs) == 0 {
					t.Errorf("the fake saw no request for %s", c.api)
				}
				for _, q := range reqs {
					if q.Credential != "" && !q.Accepted {
						t.Errorf("the fake refused %s %s (the gate did not swap the placeholder)", q.Method, q.Path)
					}
				}
				if c.after != nil {
					c.after(t, w, l)
				} else if !sawReal(reqs, l.s) {
					t.Errorf("the fake never saw the real credential")
				}

				t.Logf("hjk network b:\n%s", w.ok("network", "b"))
				// The interactive CLI, detached, with a first prompt: it
				// answers it through the gate, and stays for the scan.
				w.ok("run", "-d", "b", "--agent", l.agent.Name, "--name", "scan", "say hi")
				w.waitLog("b", "scan", fakeapi.DefaultAnswer)
				w.scanAgent(l.s, "b", c.env)
				w.stillRunning("b", "scan")
				if e == "podman" {
					podmanDB(t, l.s)
				}
				watch.check(t)
				w.noSecretsSaid(l.s)
			})
		})
	}
}

// sawReal reports whether any accepted request carried one of the real
// values.
func sawReal(reqs []fakeapi.Request, s secrets) bool {
	for _, q := range reqs {
		for _, v := range s {
			if q.Accepted && q.Credential == v {
				return true
			}
		}
	}
	return false
}
