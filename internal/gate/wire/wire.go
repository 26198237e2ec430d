// Package wire is the JSON contract between hjk on the host and hjk-gate,
// and between the gate and its keeper. It is pure data and parsing (no
// files, no sockets), so the host can import it to build what it sends.
//
// # hjk -> gate: `hjk-gate prepare` (stdin: Prepare, stdout: PrepareResult)
//
//	{
//	  "config": {
//	    "instance":     "hjk-myrepo-fix",          // for log lines only
//	    "allow":        ["api.anthropic.com", "*.github.com", "*"],
//	    "preset":       "agents",                  // named in the refusal text
//	    "refuse_hint":  "hjk config network.allow %s",   // %s: the refused host
//	    "missing_hint": "run 'hjk run fix' on the host", // %s: the agent
//	    "routes": [{
//	      "name":        "codex",                  // serves DIR/codex.sock
//	      "upstream":    "https://chatgpt.com/backend-api/codex", // path prefix allowed
//	      "ca_pem":      "-----BEGIN CERTIFICATE-----...",       // optional, added to the system roots
//	      "item":        "codex-oauth-creds@work", // the keeper's login
//	      "header":      "Authorization",          // or "x-api-key", "x-goog-api-key", ""
//	      "scheme":      "Bearer",                 // or "" for the raw value
//	      "query":       "",                       // or "key": a query parameter carrying it
//	      "placeholder": "hjk-placeholder-...",    // what the agent was given
//	      "extra_headers": {"ChatGPT-Account-Id": "acc-1"},       // set on swapped requests
//	      "local": [{"method": "POST", "path": "/oauth/token", "status": 200,
//	                 "content_type": "application/json", "body": "{...}"}],
//	      "tls":         true                      // optional: serve the socket over TLS (CAFile)
//	    }]
//	  },
//	  "logins": [Login, ...],                      // forwarded to the keeper's /v1/load
//	  "keeper": Peer                               // optional: the keeper over TCP (Kubernetes)
//	}
//
// # Kubernetes: the keeper over TCP
//
// Pods share no socket: there the keeper (`hjk-gate keep --listen :PORT`)
// serves its /v1/load and /v1/token over TLS on its pod's address, with a
// key and certificate it makes at start and a random token, both held in
// memory only. `hjk-gate peer` (stdout: Peer, without url) tells hjk the
// token and the certificate's pin; hjk hands them, with the keeper pod's
// address, to each gate in its Prepare; the gate pins the certificate and
// presents the token as "Authorization: Bearer TOKEN".
//
//	{"url": "https://10.0.0.7:7443", "token": "<64 hex>", "pin": "sha256:<64 hex>"}
//
// PrepareResult: {"routes": ["codex"], "logins": [LoadResult, ...]}.
//
// # hjk -> keeper: `hjk-gate load` (stdin: [Login, ...], stdout: [LoadResult, ...])
//
//	{"item": "codex-oauth-creds@work", "agent": "codex", "kind": "subscription",
//	 "secret": "<the transport format of the agent's variable>",
//	 "captured_at": "2026-11-27T00:00:00Z",
//	 "token_url": "https://...", "ca_pem": "..."}   // both optional: refresh endpoint override
//
// LoadResult: {"item": "...", "result": "loaded"|"same"|"replaced"|"kept-newer"|"invalid",
// "error": "..."}; error (only with "invalid") says what is wrong, never a value.
//
// # hjk -> keeper: `hjk-gate export [ITEM...]` (stdout: [Login, ...], exit 3: none)
//
// The logins the keeper refreshed since they were loaded, with their new
// secret: all of them when no ITEM is named.
//
// # gate -> keeper: HTTP on the keeper's socket
//
//   - POST /v1/load, body Login: LoadResult.
//   - POST /v1/token, body {"item": "...", "stale": "<value the gate used>"}:
//     200 {"value": "<header value without scheme>", "expires": "<RFC 3339 or empty>"};
//     404 (text) when no login is loaded for the item; 502 (text, passed to
//     the agent) when a refresh failed.
//
// # `hjk-gate log [--since T]` (stdout: JSON lines of Refusal)
//
//	{"time": "2026-11-27T10:00:00.123Z", "method": "CONNECT", "host": "evil.example",
//	 "port": 443, "reason": "not allowed"}
//
// Unknown fields are ignored, so a keeper from an older hjk still reads
// what a newer one sends; a field's meaning never changes.
package wire

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hjk-dev/hjk/internal/agent"
)

// Prepare is what hjk sends a gate: its whole configuration, replacing the
// one before, and the logins its routes use, which the gate forwards to the
// keeper.
type Prepare struct {
	Config Config  `json:"config"`
	Logins []Login `json:"logins"`
	// Keeper, when set, is where the gate reaches its keeper from now on
	// (the keeper over TCP, on Kubernetes), before the logins go to it.
	Keeper *Peer `json:"keeper,omitempty"`
}

// Peer is the keeper over TCP: its address, the token a gate presents, and
// the SHA-256 of its certificate, which the gate pins.
type Peer struct {
	URL   string `json:"url,omitempty"`
	Token string `json:"token"`
	Pin   string `json:"pin"`
}

// PinPrefix starts a Peer's pin.
const PinPrefix = "sha256:"

// Validate checks a Peer; withURL, that it has an address too (https://HOST:PORT).
func (p Peer) Validate(withURL bool) error {
	if !hex64(p.Token) {
		return errors.New("keeper.token is not 64 hex digits")
	}
	if !strings.HasPrefix(p.Pin, PinPrefix) || !hex64(p.Pin[len(PinPrefix):]) {
		return errors.New("keeper.pin is not sha256: and 64 hex digits")
	}
	if !withURL {
		return nil
	}
	u, err := url.Parse(p.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Port() == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("keeper.url is not https://HOST:PORT")
	}
	return nil
}

func hex64(s string) bool { return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == "" }

// Config is one instance's gate: its routes and its egress policy.
type Config struct {
	Instance    string   `json:"instance"`
	Routes      []Route  `json:"routes"`
	Allow       []string `json:"allow"`
	Preset      string   `json:"preset"`
	RefuseHint  string   `json:"refuse_hint"`
	MissingHint string   `json:"missing_hint"`
}

// Route is a reverse proxy to one agent's API, served on DIR/<Name>.sock.
type Route struct {
	Name        string            `json:"name"`
	Upstream    string            `json:"upstream"`
	CAPEM       string            `json:"ca_pem,omitempty"`
	Item        string            `json:"item"`
	Header      string            `json:"header"`
	Scheme      string            `json:"scheme"`
	Query       string            `json:"query,omitempty"`
	Placeholder string            `json:"placeholder"`
	Extra       map[string]string `json:"extra_headers,omitempty"`
	Local       []Local           `json:"local,omitempty"`
	// TLS serves the route's socket over TLS, with a certificate for
	// 127.0.0.1, ::1 and localhost signed by the gate's own CA, whose
	// certificate the gate writes to DIR/CAFile: for an agent that takes
	// only an https address (codex's ChatGPT backend).
	TLS bool `json:"tls,omitempty"`
}

// CAFile is where in its socket folder the gate writes the certificate of
// the CA that signs its TLS routes' certificate (PEM, 0644; the key stays
// in the gate's memory and changes with every start).
const CAFile = "ca.pem"

// Local is an answer the gate gives itself on a route, never contacting
// the upstream: the agents' own token refreshes get fresh placeholders.
type Local struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
}

// Login is one stored login as the keeper holds it.
type Login struct {
	Item       string     `json:"item"`
	Agent      string     `json:"agent"`
	Kind       agent.Kind `json:"kind"`
	Secret     string     `json:"secret"`
	CapturedAt time.Time  `json:"captured_at"`
	TokenURL   string     `json:"token_url,omitempty"`
	CAPEM      string     `json:"ca_pem,omitempty"`
}

// String never shows the secret, so a stray %v cannot leak it.
func (l Login) String() string { return fmt.Sprintf("%s login %s", l.Kind, l.Item) }

// GoString keeps %#v from printing the secret too.
func (l Login) GoString() string { return l.String() }

// Credential is the login as the store keeps it.
func (l Login) Credential() agent.Credential {
	return agent.Credential{Kind: l.Kind, Secret: l.Secret, CapturedAt: l.CapturedAt}
}

// Load results.
const (
	Loaded    = "loaded"     // the keeper held nothing for the item
	Same      = "same"       // it held this very secret
	Replaced  = "replaced"   // it held another, now replaced
	KeptNewer = "kept-newer" // it refreshed the login itself, and keeps its newer copy
	Invalid   = "invalid"    // the login is malformed (see Error)
)

// LoadResult is the keeper's answer to one loaded login.
type LoadResult struct {
	Item   string `json:"item"`
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// PrepareResult is the gate's answer to a Prepare.
type PrepareResult struct {
	Routes []string     `json:"routes"`
	Logins []LoadResult `json:"logins"`
}

// TokenRequest asks the keeper for an item's current credential. Stale is
// the value an upstream just refused (401): the keeper refreshes when it
// still holds it.
type TokenRequest struct {
	Item  string `json:"item"`
	Stale string `json:"stale,omitempty"`
}

// TokenAnswer is the value to put in the route's header or query
// parameter (without the scheme), and when it stops working.
type TokenAnswer struct {
	Value   string `json:"value"`
	Expires string `json:"expires"`
}

// ExportRequest names the items to export; none means all.
type ExportRequest struct {
	Items []string `json:"items"`
}

// Refusal is one request the gate's proxy refused.
type Refusal struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Host   string    `json:"host"`
	Port   int       `json:"port"`
	Reason string    `json:"reason"`
}

// Limits on what reaches the gate and the keeper from outside.
const (
	MaxRequest = 4 << 20  // a Prepare or a []Login
	MaxSecret  = 64 << 10 // one login's secret: far above any real one
	maxText    = 4096     // hints, names
	maxBody    = 64 << 10 // a local answer's body

	maxPlaceholder = 16 << 10 // a placeholder JWT keeps the real one's claims
)

// DecodePrepare parses and validates a Prepare. Errors name the field,
// never a value.
func DecodePrepare(b []byte) (Prepare, error) {
	var p Prepare
	if err := decode(b, &p); err != nil {
		return Prepare{}, fmt.Errorf("prepare: %w", err)
	}
	if err := p.Config.Validate(); err != nil {
		return Prepare{}, err
	}
	if p.Keeper != nil {
		if err := p.Keeper.Validate(true); err != nil {
			return Prepare{}, err
		}
	}
	for i, l := range p.Logins {
		if err := l.Validate(); err != nil {
			return Prepare{}, fmt.Errorf("logins[%d]: %w", i, err)
		}
	}
	return p, nil
}

// DecodeLogins parses a []Login without validating each (the keeper
// answers each one on its own, so one bad login does not stop the others).
func DecodeLogins(b []byte) ([]Login, error) {
	var ls []Login
	if err := decode(b, &ls); err != nil {
		return nil, fmt.Errorf("logins: %w", err)
	}
	return ls, nil
}

// DecodeLogin parses one Login.
func DecodeLogin(b []byte) (Login, error) {
	var l Login
	if err := decode(b, &l); err != nil {
		return Login{}, fmt.Errorf("login: %w", err)
	}
	return l, nil
}

// decode reads exactly one JSON value. json's own errors can quote the
// input, so only their kind is kept.
func decode(b []byte, v any) error {
	if len(b) > MaxRequest {
		return fmt.Errorf("larger than %d bytes", MaxRequest)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%s has the wrong type", te.Field)
		}
		return errors.New("not valid JSON of the expected shape")
	}
	if d.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// Validate checks a Config: every field the gate acts on is well formed.
func (c Config) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"instance", c.Instance}, {"preset", c.Preset}, {"refuse_hint", c.RefuseHint}, {"missing_hint", c.MissingHint},
	} {
		if err := text(f.v); err != nil {
			return fmt.Errorf("config.%s %w", f.name, err)
		}
	}
	if _, err := ParseAllow(c.Allow); err != nil {
		return fmt.Errorf("config.allow: %w", err)
	}
	seen := map[string]bool{}
	for i, r := range c.Routes {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("config.routes[%d]: %w", i, err)
		}
		if seen[r.Name] {
			return fmt.Errorf("config.routes[%d]: name %q is used twice", i, r.Name)
		}
		seen[r.Name] = true
	}
	return nil
}

// Validate checks a Route.
func (r Route) Validate() error {
	if !routeName(r.Name) {
		return fmt.Errorf("name %q: use 1-32 of a-z, 0-9 and '-', starting with a letter or digit, not \"proxy\"", r.Name)
	}
	u, err := url.Parse(r.Upstream)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("upstream is not an http(s) URL without user, query or fragment")
	}
	if r.CAPEM != "" {
		if _, err := CertPool(r.CAPEM); err != nil {
			return fmt.Errorf("ca_pem: %w", err)
		}
	}
	if (r.Item == "") != (r.Placeholder == "") {
		return errors.New("item and placeholder go together")
	}
	if r.Item != "" {
		if _, _, _, ok := agent.ParseItem(r.Item); !ok {
			return fmt.Errorf("item %q is not a login hjk stores", r.Item)
		}
		if r.Header == "" && r.Query == "" {
			return errors.New("a route with an item needs a header or a query parameter")
		}
		if len(r.Placeholder) < 8 || len(r.Placeholder) > maxPlaceholder || !printable(r.Placeholder) || strings.ContainsAny(r.Placeholder, "&=") {
			return errors.New("placeholder must be 8 to 16384 printable characters without spaces, '&' or '='")
		}
	}
	if r.Header != "" && !token(r.Header) {
		return errors.New("header is not a header name")
	}
	if r.Scheme != "" && !token(r.Scheme) {
		return errors.New("scheme is not a token")
	}
	if r.Query != "" && (!token(r.Query) || strings.ContainsAny(r.Query, "&=")) {
		return errors.New("query is not a query parameter name")
	}
	for k, v := range r.Extra {
		if !token(k) || !headerValue(v) {
			return fmt.Errorf("extra_headers %q is not a header name with a value on one line", k)
		}
	}
	for i, l := range r.Local {
		if !token(l.Method) || !strings.HasPrefix(l.Path, "/") || len(l.Path) > maxText || !printable(l.Path) {
			return fmt.Errorf("local[%d]: method or path is malformed", i)
		}
		if l.Status < 200 || l.Status > 599 {
			return fmt.Errorf("local[%d]: status %d is not 200-599", i, l.Status)
		}
		if !headerValue(l.ContentType) || len(l.Body) > maxBody {
			return fmt.Errorf("local[%d]: content_type or body is malformed or too long", i)
		}
	}
	return nil
}

// Validate checks a Login: its item, agent and kind agree, and its secret
// is well formed for them (agent.Validate).
func (l Login) Validate() error {
	a, k, _, ok := agent.ParseItem(l.Item)
	if !ok {
		return fmt.Errorf("item %q is not a login hjk stores", l.Item)
	}
	if l.Agent != a.Name || l.Kind != k {
		return fmt.Errorf("item %q is a %s %s, not a %s %s", l.Item, a.Name, k, l.Agent, l.Kind)
	}
	if len(l.Secret) > MaxSecret {
		return fmt.Errorf("%s: secret is longer than %d bytes", l.Item, MaxSecret)
	}
	if a.Name == agent.Claude.Name && k == agent.Subscription && strings.Contains(l.Secret, `"claudeAiOauth"`) {
		return fmt.Errorf("%s: a claude login with a refresh token (claudeAiOauth) is not supported by the gate yet: store a `claude setup-token` token", l.Item)
	}
	if err := agent.Validate(a, k, l.Secret); err != nil {
		return fmt.Errorf("%s: %w", l.Item, err)
	}
	if l.TokenURL != "" {
		u, err := url.Parse(l.TokenURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return fmt.Errorf("%s: token_url is not an http(s) URL", l.Item)
		}
	}
	if l.CAPEM != "" {
		if _, err := CertPool(l.CAPEM); err != nil {
			return fmt.Errorf("%s: ca_pem: %w", l.Item, err)
		}
	}
	return nil
}

// CertPool is the system roots plus the certificates in pemText.
func CertPool(pemText string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if pemText == "" {
		return pool, nil
	}
	rest, n := []byte(pemText), 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, errors.New("holds a certificate that does not parse")
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("holds no PEM certificate")
	}
	return pool, nil
}

func routeName(s string) bool {
	if s == "" || len(s) > 32 || s == "proxy" || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// token is an HTTP token (RFC 9110): header names, methods, schemes.
func token(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func headerValue(s string) bool {
	return len(s) <= maxText && !strings.ContainsAny(s, "\r\n\x00")
}

// printable is printable ASCII without spaces.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// text is a line a person reads: valid UTF-8, no control characters.
func text(s string) error {
	if len(s) > maxText {
		return fmt.Errorf("is longer than %d bytes", maxText)
	}
	if !utf8.ValidString(s) {
		return errors.New("is not UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errors.New("holds control characters")
		}
	}
	return nil
}
