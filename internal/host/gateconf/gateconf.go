// Package gateconf is what hjk tells an instance's credential gate
// (package gate/wire): the routes of the logins its sessions were handed,
// with their placeholders, the hosts its proxy lets through, and the words
// of its refusals; and what the agent's session gets instead of the real
// credential: the placeholder, the route's loopback URL, the proxy.
//
// It holds no OS code: it turns the agent table (agent.GateRoute), the
// user's settings and a stored login into data.
package gateconf

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/gate/wire"
	"github.com/hjk-dev/hjk/internal/layout"
)

// Handed is one login an instance's sessions were handed: its agent, kind
// and store item.
type Handed struct {
	Agent agent.Agent
	Kind  agent.Kind
	Item  string
	// Upstream and CAPEM replace the route's defaults (the agent's
	// "upstream" and "ca_file" settings).
	Upstream, CAPEM string
	// TokenURL replaces the refresh endpoint (tests, company gateways).
	TokenURL string
}

// Placeholder is what the agent of instance gets instead of the login of
// item: stable, so every session of the instance is handed the same, and
// unlike any real credential. It is no secret.
func Placeholder(instance, item string, a agent.Agent, k agent.Kind) string {
	sum := sha256.Sum256([]byte("hjk placeholder\x00" + instance + "\x00" + item))
	h := hex.EncodeToString(sum[:16])
	prefix := a.Placeholder
	if k == agent.APIKey {
		prefix = a.KeyPlaceholder
	}
	return cmp.Or(prefix, "hjk-placeholder-") + h
}

// URL is a route's loopback URL in the agent's container.
func URL(r agent.GateRoute) string {
	if r.TLS {
		return "https://127.0.0.1:" + strconv.Itoa(r.Port)
	}
	return "http://127.0.0.1:" + strconv.Itoa(r.Port)
}

// CAFile is the gate's CA certificate in the agent's container, for the
// routes it serves over TLS.
const CAFile = layout.GateDir + "/" + wire.CAFile

// Session is what the agent's session gets for login h: variables (the
// placeholder among them) and arguments for its command. secret is the
// stored login (codex's placeholder auth.json keeps its claims).
func Session(instance string, h Handed, secret string, now time.Time) (env map[string]string, args []string, err error) {
	r := h.Agent.Gate(h.Kind)
	url := URL(r)
	ph := Placeholder(instance, h.Item, h.Agent, h.Kind)
	env = map[string]string{}
	for k, v := range r.Env {
		env[k] = expand(v, url, ph)
	}
	for k, v := range agent.ProxyEnv() {
		env[k] = v
	}
	val := ph
	if h.Agent.Name == agent.Codex.Name && h.Kind == agent.Subscription {
		if val, err = codexAuth(secret, ph, now); err != nil {
			return nil, nil, err
		}
	}
	env[r.PlaceholderVar] = val
	for _, a := range r.Args {
		args = append(args, expand(a, url, ph))
	}
	return env, args, nil
}

func expand(s, url, ph string) string {
	return strings.NewReplacer("{url}", url, "{placeholder}", ph, "{ca}", CAFile).Replace(s)
}

// Route is the gate's route for login h. It needs no secret: every
// placeholder is derived from the instance and the item alone, so a
// session started earlier keeps working after a later one's prepare.
func Route(instance string, h Handed) wire.Route {
	r := h.Agent.Gate(h.Kind)
	ph := Placeholder(instance, h.Item, h.Agent, h.Kind)
	w := wire.Route{
		Name: r.Name, Upstream: firstOf(h.Upstream, r.Upstream), CAPEM: h.CAPEM, Item: h.Item,
		Header: r.Header, Scheme: r.Scheme, Query: r.Query, Placeholder: ph, TLS: r.TLS,
	}
	if h.Agent.Name == agent.Codex.Name && h.Kind == agent.Subscription {
		// codex sends its access token; its own refresh, pointed at the
		// gate, gets the same placeholders back (and keeps its id_token,
		// whose claims it shows).
		w.Placeholder = codexAccess(ph)
		body, _ := json.Marshal(map[string]string{
			"access_token":  w.Placeholder,
			"refresh_token": codexRefresh(ph),
		})
		w.Local = []wire.Local{{Method: "POST", Path: "/oauth/token", Status: 200, ContentType: "application/json", Body: string(body)}}
	}
	return w
}

// placeholderExp is when a placeholder token says it expires: after any
// session, so the agent never tries to refresh it, and fixed, so every
// session of an instance is handed the same.
var placeholderExp = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func codexAccess(ph string) string {
	return jwt(map[string]any{"exp": placeholderExp, "iat": 0, "hjk": "placeholder", "sub": ph}, ph)
}

func codexRefresh(ph string) string { return "hjk-placeholder-refresh-" + ph[len(ph)-16:] }

func codexID(claims map[string]any, ph string) string {
	claims["exp"] = placeholderExp
	return jwt(claims, ph)
}

// codexAuth is codex's auth.json with placeholders for its tokens: the
// id_token keeps the real one's claims (codex shows the email, plan and
// account from it) with no valid signature, the access token is a JWT that
// expires in ten years, and the account id stays (codex sends it).
func codexAuth(secret, ph string, now time.Time) (string, error) {
	p, err := agent.ParseCodex(secret)
	if err != nil {
		return "", err
	}
	if p.APIKey {
		return "", fmt.Errorf("a codex API key has no login to stand for")
	}
	claims, err := agent.JWTClaims(gjson.Get(secret, "tokens.id_token").String())
	if err != nil {
		return "", fmt.Errorf("codex id_token %w", err)
	}
	var idc map[string]any
	if err := json.Unmarshal([]byte(claims.Raw), &idc); err != nil {
		return "", err
	}
	auth := map[string]any{
		"auth_mode":      "chatgpt",
		"OPENAI_API_KEY": nil,
		"tokens": map[string]any{
			"id_token":      codexID(idc, ph),
			"access_token":  codexAccess(ph),
			"refresh_token": codexRefresh(ph),
			"account_id":    gjson.Get(secret, "tokens.account_id").String(),
		},
		"last_refresh": now.UTC().Format(time.RFC3339),
	}
	b, err := json.Marshal(auth)
	return string(b), err
}

// jwt encodes claims as an unsigned-looking JWT whose signature part names
// the placeholder: no one can mistake it for a real token.
func jwt(claims map[string]any, ph string) string {
	enc := base64.RawURLEncoding.EncodeToString
	head, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	body, _ := json.Marshal(claims)
	return enc(head) + "." + enc(body) + "." + enc([]byte("hjk-placeholder:"+ph))
}

// Login is the keeper's login of h, from the stored credential.
func Login(h Handed, c agent.Credential) wire.Login {
	return wire.Login{Item: h.Item, Agent: h.Agent.Name, Kind: c.Kind, Secret: c.Secret, CapturedAt: c.CapturedAt,
		TokenURL: firstOf(h.TokenURL, h.Agent.Gate(h.Kind).TokenURL), CAPEM: h.CAPEM}
}

// Ports is HJK_GATE for the agent's container: the proxy and every route
// of every agent, so any session can use any login.
func Ports() string {
	parts := []string{strconv.Itoa(agent.ProxyPort) + "=proxy"}
	for _, a := range agent.All() {
		for _, r := range []agent.GateRoute{a.GateLogin, a.GateKey} {
			parts = append(parts, strconv.Itoa(r.Port)+"="+r.Name)
		}
	}
	return strings.Join(parts, ",")
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
