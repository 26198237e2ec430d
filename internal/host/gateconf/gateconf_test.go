package gateconf

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/gate/wire"
	"github.com/hjk-dev/hjk/internal/guest/relay"
	"github.com/hjk-dev/hjk/internal/layout"
)

func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".REALsignature"
}

const realRefresh = "rt-REAL-refresh-0123456789"
const realAccess = "REAL-access-0123456789"

func codexLogin() string {
	id := fakeJWT(`{"email":"dev@example.com","exp":1900000000,"https://api.openai.com/auth":{"chatgpt_plan_type":"pro","chatgpt_account_id":"acc-1"}}`)
	return `{"tokens":{"id_token":"` + id + `","access_token":"` + realAccess + `","refresh_token":"` + realRefresh + `","account_id":"acc-1"},"last_refresh":"2026-11-27T00:00:00Z"}`
}

func TestPlaceholders(t *testing.T) {
	a := Placeholder("hjk-a", "claude-oidc-token", agent.Claude, agent.Subscription)
	if a != Placeholder("hjk-a", "claude-oidc-token", agent.Claude, agent.Subscription) {
		t.Error("placeholders are not stable")
	}
	if a == Placeholder("hjk-b", "claude-oidc-token", agent.Claude, agent.Subscription) {
		t.Error("two instances share a placeholder")
	}
	if err := agent.Validate(agent.Claude, agent.Subscription, a); err != nil {
		t.Errorf("claude would not take its placeholder: %v", err)
	}
	for _, ag := range agent.All() {
		for _, k := range []agent.Kind{agent.Subscription, agent.APIKey} {
			r := ag.Gate(k)
			w := wire.Route{Name: r.Name, Upstream: r.Upstream, Item: ag.Item(k, ""), Header: r.Header, Scheme: r.Scheme,
				Placeholder: Placeholder("hjk-x", ag.Item(k, ""), ag, k)}
			if err := (wire.Config{Routes: []wire.Route{w}}).Validate(); err != nil {
				t.Errorf("%s %s: the gate refuses the route: %v", ag.Name, k, err)
			}
		}
	}
}

func TestCodexPlaceholderAuth(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	h := Handed{Agent: agent.Codex, Kind: agent.Subscription, Item: "codex-oauth-creds"}
	env, args, err := Session("hjk-x", h, codexLogin(), now)
	if err != nil {
		t.Fatal(err)
	}
	auth := env["CODEX_AUTH_JSON"]
	if strings.Contains(auth, realRefresh) || strings.Contains(auth, realAccess) || strings.Contains(auth, "REALsignature") {
		t.Fatal("the placeholder auth.json holds a real token")
	}
	if _, err := agent.ParseCodex(auth); err != nil {
		t.Fatalf("codex would not take the placeholder auth.json: %v", err)
	}
	claims, _ := agent.JWTClaims(gjson.Get(auth, "tokens.id_token").String())
	if claims.Get("email").String() != "dev@example.com" || claims.Get(`https://api\.openai\.com/auth.chatgpt_plan_type`).String() != "pro" {
		t.Errorf("the placeholder id_token lost its claims: %s", claims.Raw)
	}
	at, _ := agent.JWTClaims(gjson.Get(auth, "tokens.access_token").String())
	if exp := time.Unix(at.Get("exp").Int(), 0); exp.Before(now.Add(365 * 24 * time.Hour)) {
		t.Errorf("the placeholder access token expires at %s: codex would refresh", exp)
	}
	if gjson.Get(auth, "tokens.account_id").String() != "acc-1" {
		t.Error("the account id is gone")
	}
	if env["CODEX_REFRESH_TOKEN_URL_OVERRIDE"] != "https://127.0.0.1:7803/oauth/token" || env["HTTPS_PROXY"] != "http://127.0.0.1:7800" {
		t.Errorf("env %v", env)
	}
	// Interactive codex refuses a ChatGPT backend that is not https
	// ("workspace backend must use an HTTPS origin"): the route is TLS,
	// with the gate's CA for codex to trust.
	if env["CODEX_CA_CERTIFICATE"] != layout.GateDir+"/"+wire.CAFile {
		t.Errorf("CODEX_CA_CERTIFICATE=%q, want the gate's CA", env["CODEX_CA_CERTIFICATE"])
	}
	joined := strings.Join(args, " ")
	if !strings.Contains(joined, `base_url="https://127.0.0.1:7803/backend-api/codex"`) || !strings.Contains(joined, "chatgpt_base_url=https://127.0.0.1:7803/backend-api/") {
		t.Errorf("args %q", args)
	}
	r := Route("hjk-x", h)
	if !r.TLS {
		t.Error("the codex login's route is not TLS")
	}
	if r.Placeholder != gjson.Get(auth, "tokens.access_token").String() || len(r.Local) != 1 || r.Local[0].Path != "/oauth/token" {
		t.Errorf("route %+v", r)
	}
	if gjson.Get(r.Local[0].Body, "access_token").String() != r.Placeholder {
		t.Error("codex's own refresh would not get the placeholder back")
	}
	if err := (wire.Config{Routes: []wire.Route{r}}).Validate(); err != nil {
		t.Errorf("the gate refuses the codex route: %v", err)
	}
}

func TestSessionEnv(t *testing.T) {
	for _, c := range []struct {
		a      agent.Agent
		k      agent.Kind
		want   map[string]string
		secret string
	}{
		{agent.Claude, agent.Subscription, map[string]string{"ANTHROPIC_BASE_URL": "http://127.0.0.1:7801", "CLAUDE_CODE_OAUTH_TOKEN": ""}, "sk-ant-oat01-REAL"},
		{agent.Claude, agent.APIKey, map[string]string{"ANTHROPIC_BASE_URL": "http://127.0.0.1:7802", "ANTHROPIC_API_KEY": ""}, "sk-ant-REAL"},
		{agent.Gemini, agent.Subscription, map[string]string{"CODE_ASSIST_ENDPOINT": "http://127.0.0.1:7805", "GOOGLE_GENAI_USE_GCA": "true", "GOOGLE_CLOUD_ACCESS_TOKEN": ""}, `{"oauth_creds":{"refresh_token":"REAL"}}`},
		{agent.Gemini, agent.APIKey, map[string]string{"GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:7806", "GEMINI_API_KEY": ""}, "AIzaREAL"},
		{agent.Codex, agent.APIKey, map[string]string{"OPENAI_API_KEY": ""}, "sk-REAL"},
	} {
		h := Handed{Agent: c.a, Kind: c.k, Item: c.a.Item(c.k, "")}
		env, _, err := Session("hjk-x", h, c.secret, time.Now())
		if err != nil {
			t.Fatalf("%s %s: %v", c.a.Name, c.k, err)
		}
		for k, v := range c.want {
			if v == "" {
				v = Placeholder("hjk-x", h.Item, c.a, c.k)
			}
			if env[k] != v {
				t.Errorf("%s %s: %s=%q, want %q", c.a.Name, c.k, k, env[k], v)
			}
		}
		if Route("hjk-x", h).TLS {
			t.Errorf("%s %s: a TLS route, where plain HTTP works", c.a.Name, c.k)
		}
		for k, v := range env {
			if strings.Contains(v, "REAL") {
				t.Errorf("%s %s: %s holds the real credential", c.a.Name, c.k, k)
			}
		}
	}
}

func TestPortsAndAllow(t *testing.T) {
	rs, err := relay.Parse(Ports())
	// The proxy, and each agent's login and key routes.
	if err != nil || len(rs) != 1+2*len(agent.All()) {
		t.Fatalf("hjk-init would not take HJK_GATE=%q: %v", Ports(), err)
	}
	seen := map[int]bool{}
	for _, r := range rs {
		if seen[r.Port] {
			t.Errorf("port %d twice", r.Port)
		}
		seen[r.Port] = true
	}
	for _, p := range Presets {
		list, err := Allow(p, []string{"internal.example.com", "*.corp.example"})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		al, _ := wire.ParseAllow(list)
		if !al.Allows("internal.example.com") || !al.Allows("api.anthropic.com") {
			t.Errorf("%s does not let the user's or the agents' hosts through", p)
		}
		if al.Allows("evil.example") != (p == Open) {
			t.Errorf("%s on evil.example: %v", p, al.Allows("evil.example"))
		}
		if al.Allows("registry.npmjs.org") != (p != Agents) {
			t.Errorf("%s on npm: %v", p, al.Allows("registry.npmjs.org"))
		}
	}
	if _, err := Allow("closed", nil); err == nil {
		t.Error("an unknown preset")
	}
	if _, err := Allow(Dev, []string{"not a host"}); err == nil {
		t.Error("a bad host in network.allow")
	}
}
