package wire

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	fakeClaude = "sk-ant-oat01-FAKEwireTOKEN_0123456789"
	fakeKey    = "AIzaFAKEwireKEY0123456789"
)

func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func validPrepare() Prepare {
	return Prepare{
		Config: Config{
			Instance: "hjk-repo-fix", Allow: []string{"api.anthropic.com", "*.github.com"}, Preset: "agents",
			RefuseHint: "hjk config network.allow %s", MissingHint: "run 'hjk run fix' on the host",
			Routes: []Route{
				{Name: "claude", Upstream: "https://api.anthropic.com", Item: "claude-oidc-token", Header: "Authorization", Scheme: "Bearer", Placeholder: "sk-ant-oat01-PLACEHOLDER"},
				{Name: "gemini-api", Upstream: "https://generativelanguage.googleapis.com/v1beta", Item: "gemini-api-key@work", Header: "x-goog-api-key", Query: "key", Placeholder: "AIzaPLACEHOLDER0000"},
				{Name: "codex", Upstream: "https://chatgpt.com/backend-api/codex", Item: "codex-oauth-creds", Header: "Authorization", Scheme: "Bearer",
					Placeholder: fakeJWT(`{"exp":1900000000}`), Extra: map[string]string{"ChatGPT-Account-Id": "acc-1"},
					Local: []Local{{Method: "POST", Path: "/oauth/token", Status: 200, ContentType: "application/json", Body: `{"access_token":"x"}`}}},
			},
		},
		Logins: []Login{
			{Item: "claude-oidc-token", Agent: "claude", Kind: "subscription", Secret: fakeClaude, CapturedAt: time.Unix(1e9, 0).UTC()},
			{Item: "gemini-api-key@work", Agent: "gemini", Kind: "api-key", Secret: fakeKey},
		},
	}
}

func TestDecodePrepareRoundTrip(t *testing.T) {
	p := validPrepare()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	// The field names are a contract with the host.
	for _, name := range []string{`"config"`, `"logins"`, `"instance"`, `"routes"`, `"allow"`, `"preset"`, `"refuse_hint"`, `"missing_hint"`,
		`"name"`, `"upstream"`, `"item"`, `"header"`, `"scheme"`, `"query"`, `"placeholder"`, `"extra_headers"`, `"local"`,
		`"method"`, `"path"`, `"status"`, `"content_type"`, `"body"`, `"agent"`, `"kind"`, `"secret"`, `"captured_at"`} {
		if !strings.Contains(string(b), name) {
			t.Errorf("encoded Prepare lacks %s", name)
		}
	}
	back, err := DecodePrepare(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Config.Routes) != 3 || back.Config.Routes[2].Local[0].Status != 200 || back.Logins[1].Secret != fakeKey {
		t.Fatalf("round trip lost data: %+v", back.Config.Routes)
	}
	// Unknown fields are ignored (an older keeper reads a newer hjk).
	if _, err := DecodePrepare([]byte(`{"config":{"new_field":1},"logins":[],"other":true}`)); err != nil {
		t.Errorf("unknown fields refused: %v", err)
	}
}

func TestDecodePrepareRefuses(t *testing.T) {
	mutate := func(f func(p *Prepare)) []byte {
		p := validPrepare()
		f(&p)
		b, _ := json.Marshal(p)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"not JSON", []byte(`{"config":`), "not valid JSON"},
		{"two values", []byte(`{} {}`), "more than one"},
		{"wrong type", []byte(`{"config":{"routes":"x"}}`), "wrong type"},
		{"route name", mutate(func(p *Prepare) { p.Config.Routes[0].Name = "../x" }), "name"},
		{"proxy name", mutate(func(p *Prepare) { p.Config.Routes[0].Name = "proxy" }), "name"},
		{"twice", mutate(func(p *Prepare) { p.Config.Routes[1].Name = "claude" }), "used twice"},
		{"upstream", mutate(func(p *Prepare) { p.Config.Routes[0].Upstream = "ftp://x" }), "upstream"},
		{"upstream query", mutate(func(p *Prepare) { p.Config.Routes[0].Upstream = "https://x/?a=b" }), "upstream"},
		{"ca", mutate(func(p *Prepare) { p.Config.Routes[0].CAPEM = "nope" }), "ca_pem"},
		{"item", mutate(func(p *Prepare) { p.Config.Routes[0].Item = "nothing" }), "item"},
		{"no placeholder", mutate(func(p *Prepare) { p.Config.Routes[0].Placeholder = "" }), "go together"},
		{"short placeholder", mutate(func(p *Prepare) { p.Config.Routes[0].Placeholder = "abc" }), "placeholder"},
		{"no header", mutate(func(p *Prepare) { p.Config.Routes[0].Header = "" }), "header or a query"},
		{"bad header", mutate(func(p *Prepare) { p.Config.Routes[0].Header = "X Y" }), "header"},
		{"extra newline", mutate(func(p *Prepare) { p.Config.Routes[2].Extra["X"] = "a\r\nb: c" }), "extra_headers"},
		{"local status", mutate(func(p *Prepare) { p.Config.Routes[2].Local[0].Status = 99 }), "status"},
		{"local path", mutate(func(p *Prepare) { p.Config.Routes[2].Local[0].Path = "x" }), "path"},
		{"allow", mutate(func(p *Prepare) { p.Config.Allow = []string{"exa mple.com"} }), "allow"},
		{"allow mid wildcard", mutate(func(p *Prepare) { p.Config.Allow = []string{"a.*.com"} }), "allow"},
		{"hint control", mutate(func(p *Prepare) { p.Config.RefuseHint = "a\nb" }), "refuse_hint"},
		{"login agent", mutate(func(p *Prepare) { p.Logins[0].Agent = "codex" }), "claude-oidc-token"},
		{"login kind", mutate(func(p *Prepare) { p.Logins[0].Kind = "api-key" }), "claude-oidc-token"},
		{"login secret", mutate(func(p *Prepare) { p.Logins[0].Secret = "sk-ant-api-x" }), "does not start"},
		{"claude oauth", mutate(func(p *Prepare) { p.Logins[0].Secret = `{"claudeAiOauth":{"refreshToken":"r"}}` }), "not supported"},
		{"token url", mutate(func(p *Prepare) { p.Logins[0].TokenURL = "file:///etc/passwd" }), "token_url"},
	}
	for _, tt := range tests {
		_, err := DecodePrepare(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want one containing %q", tt.name, err, tt.want)
		}
		if err != nil && (strings.Contains(err.Error(), fakeClaude) || strings.Contains(err.Error(), fakeKey)) {
			t.Errorf("%s: error quotes a secret", tt.name)
		}
	}
}

func TestLoginNeverPrintsSecret(t *testing.T) {
	l := validPrepare().Logins[0]
	for _, s := range []string{l.String(), l.GoString()} {
		if strings.Contains(s, "FAKEwire") {
			t.Fatalf("formatted login shows the secret: %s", s)
		}
	}
}

func TestAllowlist(t *testing.T) {
	a, err := ParseAllow([]string{"Example.COM.", "*.github.com", "10.0.0.7", "::1", "[fe80::1]"})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"example.com":          true,
		"EXAMPLE.com.":         true,
		"www.example.com":      false, // exact entry: no subdomains
		"github.com":           false, // a wildcard is below, not the apex
		"api.github.com":       true,
		"a.b.c.github.com":     true,
		"evilgithub.com":       false,
		"github.com.evil.test": false,
		"10.0.0.7":             true,
		"10.0.0.8":             false,
		"::1":                  true,
		"[::1]":                true,
		"::ffff:10.0.0.7":      true, // a v4-mapped address is that address
		"fe80::1":              true,
		"":                     false,
		"bad host":             false,
	} {
		if got := a.Allows(host); got != want {
			t.Errorf("Allows(%q) = %v, want %v", host, got, want)
		}
	}
	if !a.Names("example.com") || a.Names("api.github.com") {
		t.Error("Names must hold only the entries themselves")
	}
	all, _ := ParseAllow([]string{"*"})
	if !all.Allows("anything.example") || !all.Allows("192.0.2.1") || all.Names("anything.example") {
		t.Error(`"*" must allow every host and name none`)
	}
	none, _ := ParseAllow(nil)
	if none.Allows("example.com") {
		t.Error("an empty list allowed a host")
	}
	for _, bad := range []string{"", "*.", "*.10.0.0.1", "a..b", "-a.com", "a/b", "1.2.3", "fe80::1%eth0", "**.a.com", "http://x"} {
		if _, err := ParseAllow([]string{bad}); err == nil {
			t.Errorf("ParseAllow(%q) accepted it", bad)
		}
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in       string
		def      int
		host     string
		port     int
		ok       bool
		nameless bool
	}{
		{"example.com:443", 0, "example.com", 443, true, false},
		{"Example.COM.:8080", 0, "example.com", 8080, true, false},
		{"[::1]:22", 0, "::1", 22, true, false},
		{"127.0.0.1:1", 0, "127.0.0.1", 1, true, false},
		{"example.com", 0, "", 0, false, false},
		{"example.com", 80, "example.com", 80, true, false},
		{"[::1]", 80, "::1", 80, true, false},
		{"example.com:0", 0, "", 0, false, false},
		{"example.com:65536", 0, "", 0, false, false},
		{"example.com:+80", 0, "", 0, false, false},
		{"example.com:080", 0, "", 0, false, false},
		{":443", 0, "", 0, false, false},
		{"a b:443", 0, "", 0, false, false},
		{"0x7f.1:80", 0, "", 0, false, false},
		{"[fe80::1%25eth0]:80", 0, "", 0, false, false},
	}
	for _, tt := range tests {
		h, p, err := ParseTarget(tt.in, tt.def)
		if (err == nil) != tt.ok || h != tt.host || p != tt.port {
			t.Errorf("ParseTarget(%q, %d) = %q, %d, %v; want %q, %d, ok=%v", tt.in, tt.def, h, p, err, tt.host, tt.port, tt.ok)
		}
	}
}

func FuzzDecodePrepare(f *testing.F) {
	b, _ := json.Marshal(validPrepare())
	f.Add(b)
	f.Add([]byte(`{"config":{"routes":[{"name":"x","upstream":"https://h","item":"codex-api-key","query":"key","placeholder":"PPPPPPPP"}]}}`))
	f.Add([]byte(`{"logins":[{"item":"codex-oauth-creds","agent":"codex","kind":"subscription","secret":"{}"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := DecodePrepare(in)
		if err != nil {
			for _, l := range p.Logins {
				if quotesSecret(err, l) {
					t.Fatal("error quotes a secret")
				}
			}
			return
		}
		// What validates must stay valid through a round trip, and its
		// allow-list must compile.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodePrepare(b); err != nil {
			t.Fatalf("re-encoded Prepare refused: %v", err)
		}
		if _, err := ParseAllow(p.Config.Allow); err != nil {
			t.Fatal(err)
		}
	})
}

// quotesSecret says whether err shows l's secret. An error may name the
// login's item, agent and kind, so a secret that is a piece of one of those
// (the fuzzer finds "oauth-cr") is not a leak; nor is one shorter than 8
// bytes, which any message may hold by chance.
func quotesSecret(err error, l Login) bool {
	if len(l.Secret) < 8 || !strings.Contains(err.Error(), l.Secret) {
		return false
	}
	for _, named := range []string{l.Item, l.Agent, string(l.Kind)} {
		if strings.Contains(named, l.Secret) || strings.Contains(strconv.Quote(named), l.Secret) {
			return false
		}
	}
	return true
}

func TestQuotesSecret(t *testing.T) {
	l := Login{Item: "gemini-oauth-creds", Agent: "gemini", Kind: "subscription", Secret: "oauth-creds"}
	if quotesSecret(fmt.Errorf("item %q is wrong", l.Item), l) {
		t.Error("a secret that is a piece of the item name counted as a leak")
	}
	l.Secret = "s3cr3t-value"
	if !quotesSecret(fmt.Errorf("%s: bad secret %s", l.Item, l.Secret), l) {
		t.Error("an error holding the secret was not caught")
	}
}

func FuzzDecodeLogins(f *testing.F) {
	b, _ := json.Marshal(validPrepare().Logins)
	f.Add(b)
	f.Add([]byte(`[{"item":"gemini-oauth-creds","agent":"gemini","kind":"subscription","secret":"{\"oauth_creds\":{\"refresh_token\":\"r\"}}","token_url":"http://x"}]`))
	f.Add([]byte(`[{"item":"gemini-oauth-creds","agent":"codex","kind":"subscription","secret":"oauth-creds"}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		ls, err := DecodeLogins(in)
		if err != nil {
			return
		}
		for _, l := range ls {
			if err := l.Validate(); err != nil && quotesSecret(err, l) {
				t.Fatal("error quotes a secret")
			}
		}
	})
}

func FuzzAllow(f *testing.F) {
	f.Add("*.example.com", "a.example.com")
	f.Add("example.com", "EXAMPLE.COM.")
	f.Add("::1", "[::1]")
	f.Add("*", "x")
	f.Fuzz(func(t *testing.T, entry, host string) {
		a, err := ParseAllow([]string{entry})
		if err != nil {
			return
		}
		ok := a.Allows(host)
		if a.Names(host) && !ok {
			t.Fatalf("%q names %q but does not allow it", entry, host)
		}
		h, err := normalHost(host)
		if err != nil {
			if ok {
				t.Fatalf("%q allows the malformed host %q", entry, host)
			}
			return
		}
		// Matching is on the normal form: case and a final dot never
		// change the answer.
		if a.Allows(h) != ok || a.Allows(strings.ToUpper(h)+".") != ok && !isIP(h) {
			t.Fatalf("%q: Allows(%q) differs from its normal form %q", entry, host, h)
		}
		// A wildcard never allows its own apex or a look-alike.
		if strings.HasPrefix(entry, "*.") && ok && entry != "*" {
			suffix := strings.ToLower(strings.TrimSuffix(entry[1:], "."))
			if !strings.HasSuffix(h, suffix) || h == suffix[1:] {
				t.Fatalf("%q allows %q", entry, host)
			}
		}
	})
}

func FuzzParseTarget(f *testing.F) {
	f.Add("example.com:443", 0)
	f.Add("[::1]:8080", 0)
	f.Add("example.com", 80)
	f.Add("1.2.3.4:65535", 0)
	f.Fuzz(func(t *testing.T, in string, def int) {
		h, p, err := ParseTarget(in, def)
		if err != nil {
			return
		}
		if p < 1 || p > 65535 || h == "" || strings.ContainsAny(h, " /@[]%") {
			t.Fatalf("ParseTarget(%q) = %q, %d", in, h, p)
		}
		// A host it returns is in normal form, and parses again the same.
		if n, err := normalHost(h); err != nil || n != h {
			t.Fatalf("ParseTarget(%q) host %q is not normal (%q, %v)", in, h, n, err)
		}
	})
}
