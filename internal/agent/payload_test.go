package agent

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeJWT builds an unsigned token with the given claims: enough for the
// shape checks codex makes, and obviously not a real credential.
func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func TestValidate(t *testing.T) {
	jwt := fakeJWT(`{"exp":1893456000,"email":"dev@example.com"}`)
	codex := `{"tokens":{"id_token":"` + jwt + `","access_token":"at-fake","refresh_token":"rt-fake","account_id":"acc"},"last_refresh":"2026-11-27T00:00:00Z"}`
	tests := []struct {
		agent   Agent
		kind    Kind
		secret  string
		wantErr string // "" means valid
	}{
		{Claude, Subscription, "sk-ant-oat01-abcDEF_123-x", ""},
		{Claude, Subscription, "sk-ant-api03-abc", "does not start with"},
		{Claude, Subscription, "sk-ant-oat01-", "empty after its prefix"},
		{Claude, Subscription, "sk-ant-oat01-abc def", "characters other than"},
		{Claude, APIKey, "sk-ant-api03-xyz", ""},
		{Claude, APIKey, "", "empty"},
		{Claude, APIKey, "sk-ant\nx", "white space"},
		{Claude, APIKey, "sk-ant-\xf0", "printable ASCII"},
		{Gemini, APIKey, "AIza-é", "printable ASCII"},
		{Gemini, Subscription, `{"oauth_creds":{"refresh_token":"1//rt","access_token":"ya29.x"},"google_accounts":{"active":"dev@example.com","old":[]}}`, ""},
		{Gemini, Subscription, `{"oauth_creds":{"refresh_token":"1//rt"}}`, ""},
		{Gemini, Subscription, `{"oauth_creds":{"refresh_token":"1//rt"},"google_accounts":null}`, ""},
		{Gemini, Subscription, `{"oauth_creds":{"refresh_token":"1//rt"},"google_accounts":[]}`, "google_accounts is not an object"},
		{Gemini, Subscription, `{"oauth_creds":{}}`, "neither refresh_token nor access_token"},
		{Gemini, Subscription, `{"oauth_creds":"x"}`, "not an object"},
		{Gemini, Subscription, `{"oauth_creds":{"refresh_token":"1//rt"}`, "not valid JSON"},
		{Gemini, Subscription, `[1,2]`, "not a JSON object"},
		{Gemini, Subscription, `  `, "empty"},
		{Codex, Subscription, codex, ""},
		{Codex, Subscription, `{"OPENAI_API_KEY":"sk-fake"}`, ""},
		{Codex, Subscription, `{"OPENAI_API_KEY":null,"tokens":null}`, "neither tokens nor OPENAI_API_KEY"},
		{Codex, Subscription, strings.Replace(codex, jwt, "not-a-jwt", 1), "is not a JWT"},
		{Codex, Subscription, strings.Replace(codex, jwt, "a.!!!.c", 1), "not base64url"},
		{Codex, Subscription, strings.Replace(codex, `"refresh_token":"rt-fake",`, "", 1), "tokens.refresh_token"},
		{Codex, Subscription, strings.Replace(codex, "2026-11-27T00:00:00Z", "yesterday", 1), "last_refresh"},
		{Codex, Subscription, codex[:len(codex)-10], "not valid JSON"},
		{Codex, Subscription, `"just a string"`, "not a JSON object"},
	}
	for _, tt := range tests {
		err := Validate(tt.agent, tt.kind, tt.secret)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Validate(%s, %s, #%d) = %v, want nil", tt.agent.Name, tt.kind, len(tt.secret), err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Validate(%s, %s, #%d) = %v, want error containing %q", tt.agent.Name, tt.kind, len(tt.secret), err, tt.wantErr)
		}
		if err != nil && len(tt.secret) > 8 && strings.Contains(err.Error(), tt.secret) {
			t.Errorf("error for %s quotes the secret", tt.agent.Name)
		}
	}
}

func TestParseGeminiKeepsRawObjects(t *testing.T) {
	p, err := ParseGemini(`{"oauth_creds":{"refresh_token":"rt","x":{"y":1}},"google_accounts":{"active":"a@example.com"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if p.OAuthCreds != `{"refresh_token":"rt","x":{"y":1}}` || p.GoogleAccounts != `{"active":"a@example.com"}` {
		t.Fatalf("ParseGemini = %+v", p)
	}
}

func TestDescribe(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	codex := Credential{Kind: Subscription, Secret: `{"tokens":{"id_token":"` + fakeJWT(`{"exp":`+itoa(exp.Unix())+`}`) + `","access_token":"a","refresh_token":"r"},"last_refresh":"2026-11-27T10:00:00Z"}`}
	in := Describe(Codex, codex)
	if !in.Expires.Equal(exp) || !in.Refreshed.Equal(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("Describe(codex) = %+v", in)
	}
	gem := Credential{Kind: Subscription, Secret: `{"oauth_creds":{"refresh_token":"r","expiry_date":` + itoa(exp.UnixMilli()) + `}}`}
	if in := Describe(Gemini, gem); !in.Expires.Equal(exp) {
		t.Errorf("Describe(gemini) = %+v", in)
	}
	if in := Describe(Codex, Credential{Kind: APIKey, Secret: "sk-x"}); !in.Expires.IsZero() {
		t.Errorf("Describe(api key) = %+v, want nothing", in)
	}
	if in := Describe(Codex, Credential{Kind: Subscription, Secret: "{broken"}); !in.Expires.IsZero() || !in.Refreshed.IsZero() {
		t.Errorf("Describe(broken) = %+v, want nothing", in)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestCredentialNeverPrintsSecret(t *testing.T) {
	c := Credential{Kind: Subscription, Secret: "sk-ant-oat01-SECRETVALUE", CapturedAt: time.Unix(0, 0)}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "SECRETVALUE") {
			t.Fatalf("formatted credential shows the secret: %s", s)
		}
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalCredential(b)
	if err != nil || back.Secret != c.Secret || back.Kind != c.Kind || !back.CapturedAt.Equal(c.CapturedAt) {
		t.Fatalf("round trip = %v, %v", back, err)
	}
	for _, bad := range []string{`{`, `{"kind":"x","secret":"s"}`, `{"kind":"api-key","secret":""}`} {
		if _, err := UnmarshalCredential([]byte(bad)); err == nil {
			t.Errorf("UnmarshalCredential(%s) accepted it", bad)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("claude", `sk-ant-oat01-x`)
	f.Add("gemini", `{"oauth_creds":{"refresh_token":"r"},"google_accounts":{"active":"a"}}`)
	f.Add("codex", `{"tokens":{"id_token":"e30.e30.e30","access_token":"a","refresh_token":"r"}}`)
	f.Add("codex", `{"OPENAI_API_KEY":"sk"}`)
	f.Fuzz(func(t *testing.T, name, secret string) {
		a, err := Lookup(name)
		if err != nil {
			return
		}
		err = Validate(a, Subscription, secret)
		if err != nil && len(secret) >= 16 && strings.Contains(err.Error(), secret) {
			t.Fatalf("error quotes the payload")
		}
		if err == nil {
			// Whatever validates must also be describable without a panic.
			_ = Describe(a, Credential{Kind: Subscription, Secret: secret})
		}
	})
}

func TestNewer(t *testing.T) {
	codex := func(rt, refreshed string) Credential {
		return Credential{Kind: Subscription, Secret: `{"tokens":{"id_token":"e30.e30.e30","access_token":"a","refresh_token":"` + rt + `"},"last_refresh":"` + refreshed + `"}`}
	}
	gemini := func(rt string, exp int64) Credential {
		return Credential{Kind: Subscription, Secret: `{"oauth_creds":{"refresh_token":"` + rt + `","expiry_date":` + itoa(exp) + `}}`}
	}
	tests := []struct {
		name              string
		a                 Agent
		stored, candidate Credential
		want              bool
	}{
		{"codex refreshed later", Codex, codex("r1", "2026-11-01T00:00:00Z"), codex("r2", "2026-11-09T00:00:00Z"), true},
		{"codex same copy", Codex, codex("r1", "2026-11-01T00:00:00Z"), codex("r1", "2026-11-01T00:00:00Z"), false},
		{"codex older copy", Codex, codex("r2", "2026-11-09T00:00:00Z"), codex("r1", "2026-11-01T00:00:00Z"), false},
		{"codex rotated at same time", Codex, codex("r1", "2026-11-01T00:00:00Z"), codex("r2", "2026-11-01T00:00:00Z"), true},
		{"codex without time", Codex, codex("r1", "2026-11-01T00:00:00Z"), Credential{Kind: Subscription, Secret: `{"tokens":{"refresh_token":"r9"}}`}, false},
		{"codex api key in container", Codex, codex("r1", "2026-11-01T00:00:00Z"), Credential{Kind: APIKey, Secret: "sk"}, false},
		{"gemini later expiry", Gemini, gemini("r", 1000), gemini("r", 2000), true},
		{"gemini earlier expiry", Gemini, gemini("r", 2000), gemini("r", 1000), false},
		{"claude token never rotates", Claude, Credential{Kind: Subscription, Secret: "sk-ant-oat01-a"}, Credential{Kind: Subscription, Secret: "sk-ant-oat01-b"}, false},
	}
	for _, tt := range tests {
		if got := Newer(tt.a, tt.stored, tt.candidate); got != tt.want {
			t.Errorf("%s: Newer = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDescribeRenewsAndClaudeYear(t *testing.T) {
	captured := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := Describe(Claude, Credential{Kind: Subscription, Secret: "sk-ant-oat01-x", CapturedAt: captured})
	if !in.Expires.Equal(captured.Add(ClaudeTokenLifetime)) || in.Renews {
		t.Errorf("Describe(claude) = %+v, want a year after capture, not renewing", in)
	}
	if in := Describe(Gemini, Credential{Kind: Subscription, Secret: `{"oauth_creds":{"refresh_token":"r","expiry_date":1}}`}); !in.Renews {
		t.Errorf("gemini with a refresh token: Renews = false")
	}
	if in := Describe(Gemini, Credential{Kind: Subscription, Secret: `{"oauth_creds":{"access_token":"a","expiry_date":1}}`}); in.Renews {
		t.Errorf("gemini without a refresh token: Renews = true")
	}
}
