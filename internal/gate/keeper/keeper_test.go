package keeper

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/gate/wire"
	"github.com/tidwall/gjson"
)

func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

// clock is a settable time, shared by a keeper and a fake token endpoint.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// tokenServer is a fake OAuth token endpoint that rotates single-use
// refresh tokens, as OpenAI's does: a refresh token used twice is refused.
type tokenServer struct {
	*httptest.Server
	clock  *clock
	rotate bool // issue a new refresh token each time (codex)
	status int  // answer this instead, when set

	mu     sync.Mutex
	valid  map[string]bool // refresh tokens that may be used
	uses   map[string]int  // every refresh token seen, and how often
	n      int
	reused int
	forms  []url.Values
	bodies []map[string]string
}

func newTokenServer(t *testing.T, c *clock, rotate bool, first string) *tokenServer {
	ts := &tokenServer{clock: c, rotate: rotate, valid: map[string]bool{first: true}, uses: map[string]int{}}
	ts.Server = httptest.NewTLSServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var rt string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]string
		json.NewDecoder(r.Body).Decode(&m)
		ts.bodies = append(ts.bodies, m)
		rt = m["refresh_token"]
	} else {
		r.ParseForm()
		ts.forms = append(ts.forms, r.PostForm)
		rt = r.PostForm.Get("refresh_token")
	}
	ts.uses[rt]++
	if ts.status != 0 {
		w.WriteHeader(ts.status)
		return
	}
	if !ts.valid[rt] {
		ts.reused++
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"code":"refresh_token_reused"}}`)
		return
	}
	ts.n++
	exp := ts.clock.now().Add(time.Hour).Unix()
	answer := map[string]any{
		"access_token": fakeJWT(fmt.Sprintf(`{"exp":%d,"n":%d}`, exp, ts.n)),
		"id_token":     fakeJWT(fmt.Sprintf(`{"exp":%d,"email":"dev@example.com"}`, exp)),
		"expires_in":   3600,
	}
	if ts.rotate {
		delete(ts.valid, rt)
		next := fmt.Sprintf("rt-FAKE-%d", ts.n)
		ts.valid[next] = true
		answer["refresh_token"] = next
	}
	json.NewEncoder(w).Encode(answer)
}

// caPEM is the fake endpoint's certificate, as a login's ca_pem.
func (ts *tokenServer) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}))
}

func codexLogin(item, access, refresh, account string, last time.Time) wire.Login {
	secret := `{"OPENAI_API_KEY":null,"tokens":{"id_token":"` + fakeJWT(`{"email":"dev@example.com"}`) +
		`","access_token":"` + access + `","refresh_token":"` + refresh + `","account_id":"` + account +
		`"},"last_refresh":"` + last.UTC().Format(time.RFC3339) + `"}`
	return wire.Login{Item: item, Agent: "codex", Kind: agent.Subscription, Secret: secret, CapturedAt: last}
}

func newKeeper(t *testing.T, c *clock, log io.Writer) *Keeper {
	if log == nil {
		log = &bytes.Buffer{}
	}
	return New(Options{Log: log, Now: c.now})
}

func TestConcurrentRefreshSpendsEachTokenOnce(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	ts := newTokenServer(t, c, true, "rt-FAKE-0")
	var logs bytes.Buffer
	k := newKeeper(t, c, &syncWriter{w: &logs})
	expired := fakeJWT(fmt.Sprintf(`{"exp":%d}`, c.now().Add(-time.Minute).Unix()))
	l := codexLogin("codex-oauth-creds@work", expired, "rt-FAKE-0", "acc-1", c.now().Add(-time.Hour))
	l.TokenURL, l.CAPEM = ts.URL+"/oauth/token", ts.caPEM()
	if r := k.Load(l); r.Result != wire.Loaded {
		t.Fatalf("Load = %+v", r)
	}
	const gates, rounds = 5, 4
	for round := 1; round <= rounds; round++ {
		values := make([]string, gates)
		errs := make([]error, gates)
		var wg sync.WaitGroup
		for g := range gates {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := k.Token(context.Background(), wire.TokenRequest{Item: l.Item})
				values[g], errs[g] = a.Value, err
			}()
		}
		wg.Wait()
		for g := range gates {
			if errs[g] != nil {
				t.Fatalf("round %d gate %d: %v", round, g, errs[g])
			}
			if values[g] != values[0] {
				t.Fatalf("round %d: gates got different values", round)
			}
		}
		if claims, _ := agent.JWTClaims(values[0]); claims.Get("n").Int() != int64(round) {
			t.Fatalf("round %d: value is from refresh %d", round, claims.Get("n").Int())
		}
		c.add(2 * time.Hour) // every access token is expired again
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.n != rounds || ts.reused != 0 {
		t.Fatalf("token endpoint: %d refreshes, %d reuses; want %d, 0", ts.n, ts.reused, rounds)
	}
	for rt, n := range ts.uses {
		if n != 1 {
			t.Errorf("refresh token %s was sent %d times", rt, n)
		}
	}
	for _, b := range ts.bodies {
		if b["client_id"] != "app_EMoamEEZ73f0CkXaXp7hrann" || b["grant_type"] != "refresh_token" || b["refresh_reason"] != "proactive_expiry" || len(b) != 4 {
			t.Errorf("codex refresh request has %d keys, want client_id, grant_type, refresh_reason (proactive_expiry), refresh_token", len(b))
		}
	}
	// The store's copy: the newest refresh token, a later last_refresh.
	out := k.Export([]string{l.Item})
	if len(out) != 1 || gjson.Get(out[0].Secret, "tokens.refresh_token").String() != fmt.Sprintf("rt-FAKE-%d", rounds) {
		t.Fatalf("Export = %d logins, refresh token %q", len(out), gjson.Get(firstSecret(out), "tokens.refresh_token"))
	}
	if !agent.Newer(agent.Codex, l.Credential(), out[0].Credential()) {
		t.Error("the exported login is not newer than the loaded one by agent.Newer")
	}
	if err := agent.Validate(agent.Codex, agent.Subscription, out[0].Secret); err != nil {
		t.Errorf("exported login does not validate: %v", err)
	}
	assertNoSecret(t, "keeper log", logs.String(), "rt-FAKE", expired)
}

func firstSecret(ls []wire.Login) string {
	if len(ls) == 0 {
		return ""
	}
	return ls[0].Secret
}

func TestStaleRefreshesOnce(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	ts := newTokenServer(t, c, true, "rt-FAKE-0")
	k := newKeeper(t, c, nil)
	fresh := fakeJWT(fmt.Sprintf(`{"exp":%d}`, c.now().Add(time.Hour).Unix()))
	l := codexLogin("codex-oauth-creds", fresh, "rt-FAKE-0", "acc-1", c.now())
	l.TokenURL, l.CAPEM = ts.URL, ts.caPEM()
	k.Load(l)
	a, err := k.Token(context.Background(), wire.TokenRequest{Item: l.Item})
	if err != nil || a.Value != fresh || a.Expires == "" {
		t.Fatalf("Token = %+v, %v; want the loaded access token with its expiry", a, err)
	}
	if ts.n != 0 {
		t.Fatal("a fresh access token was refreshed")
	}
	c.add(time.Minute)
	// Five gates saw their request refused with the same value.
	var wg sync.WaitGroup
	got := make([]string, 5)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := k.Token(context.Background(), wire.TokenRequest{Item: l.Item, Stale: fresh})
			got[i] = a.Value
		}()
	}
	wg.Wait()
	for _, v := range got {
		if v == fresh || v != got[0] {
			t.Fatalf("after stale: values %d differ or are the stale one", len(got))
		}
	}
	if ts.n != 1 {
		t.Fatalf("stale from five gates made %d refreshes, want 1", ts.n)
	}
	if r := ts.bodies[0]["refresh_reason"]; r != "unauthorized_recovery" {
		t.Errorf("refresh_reason after a 401 = %q", r)
	}
	// The new value refused at once again: no second refresh right away.
	if a, _ := k.Token(context.Background(), wire.TokenRequest{Item: l.Item, Stale: got[0]}); a.Value != got[0] || ts.n != 1 {
		t.Fatalf("an immediate second stale refreshed again (%d refreshes)", ts.n)
	}
	c.add(staleAgain)
	if a, _ := k.Token(context.Background(), wire.TokenRequest{Item: l.Item, Stale: got[0]}); a.Value == got[0] || ts.n != 2 {
		t.Fatalf("a later stale did not refresh (%d refreshes)", ts.n)
	}
}

func TestLoadSemantics(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	ts := newTokenServer(t, c, true, "rt-FAKE-0")
	k := newKeeper(t, c, nil)
	expired := fakeJWT(fmt.Sprintf(`{"exp":%d}`, c.now().Add(-time.Minute).Unix()))
	stored := codexLogin("codex-oauth-creds", expired, "rt-FAKE-0", "acc-1", c.now().Add(-time.Hour))
	stored.TokenURL, stored.CAPEM = ts.URL, ts.caPEM()
	load := func(l wire.Login, want string) {
		t.Helper()
		if r := k.Load(l); r.Result != want || r.Item != l.Item {
			t.Fatalf("Load = %+v, want %s", r, want)
		}
	}
	load(stored, wire.Loaded)
	load(stored, wire.Same)
	other := codexLogin("codex-oauth-creds", expired, "rt-FAKE-0", "acc-1", c.now().Add(-2*time.Hour))
	other.TokenURL, other.CAPEM = stored.TokenURL, stored.CAPEM
	load(other, wire.Replaced)
	load(stored, wire.Replaced) // not rotated by the keeper: the host's word goes

	// The keeper refreshes; the host, racing it, loads its older copy.
	if _, err := k.Token(context.Background(), wire.TokenRequest{Item: stored.Item}); err != nil {
		t.Fatal(err)
	}
	load(stored, wire.KeptNewer)
	a, _ := k.Token(context.Background(), wire.TokenRequest{Item: stored.Item})
	if a.Value == expired {
		t.Fatal("kept-newer put the spent login back")
	}
	if ts.n != 1 {
		t.Fatalf("%d refreshes, want 1", ts.n)
	}
	// The host takes the rotated login back (export), then loads it:
	// same, and nothing is left to export.
	out := k.Export(nil)
	if len(out) != 1 {
		t.Fatalf("Export = %d logins, want 1", len(out))
	}
	load(out[0], wire.Same)
	if out := k.Export(nil); len(out) != 0 {
		t.Fatalf("Export after the host took it = %d logins, want 0", len(out))
	}
	// Rotated again; a login the user made since (later last_refresh)
	// replaces it, and so does one of another account.
	c.add(2 * time.Hour)
	k.Token(context.Background(), wire.TokenRequest{Item: stored.Item})
	newer := codexLogin("codex-oauth-creds", expired, "rt-NEW", "acc-1", c.now().Add(time.Minute))
	load(newer, wire.Replaced)
	k.Load(out[0]) // back to the keeper's chain (older: replaced, not rotated)
	c.add(2 * time.Hour)
	k.Token(context.Background(), wire.TokenRequest{Item: stored.Item})
	foreign := codexLogin("codex-oauth-creds", expired, "rt-OTHER", "acc-2", c.now().Add(-24*time.Hour))
	load(foreign, wire.Replaced)

	// API keys: same or replaced, never kept.
	key := wire.Login{Item: "codex-api-key", Agent: "codex", Kind: agent.APIKey, Secret: "sk-FAKE-1"}
	load(key, wire.Loaded)
	key.Secret = "sk-FAKE-2"
	load(key, wire.Replaced)

	bad := wire.Login{Item: "codex-api-key", Agent: "claude", Kind: agent.APIKey, Secret: "sk-FAKE-bad"}
	if r := k.Load(bad); r.Result != wire.Invalid || r.Error == "" || strings.Contains(r.Error, "sk-FAKE") {
		t.Fatalf("Load(bad) = %+v", r)
	}
}

func TestGeminiRefresh(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	ts := newTokenServer(t, c, false, "1//FAKE-gemini-rt")
	k := newKeeper(t, c, nil)
	secret := fmt.Sprintf(`{"oauth_creds":{"access_token":"ya29.FAKE-old","refresh_token":"1//FAKE-gemini-rt","expiry_date":%d,"token_type":"Bearer"},"google_accounts":{"active":"dev@example.com","old":[]}}`,
		c.now().Add(2*time.Minute).UnixMilli())
	l := wire.Login{Item: "gemini-oauth-creds", Agent: "gemini", Kind: agent.Subscription, Secret: secret, TokenURL: ts.URL, CAPEM: ts.caPEM()}
	k.Load(l)
	a, err := k.Token(context.Background(), wire.TokenRequest{Item: l.Item})
	if err != nil || a.Value == "ya29.FAKE-old" {
		t.Fatalf("Token = %+v, %v; want a refreshed access token (expiry within 5 min)", a, err)
	}
	want := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"1//FAKE-gemini-rt"}, "client_id": {"681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com"}, "client_secret": {"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"}}
	if len(ts.forms) != 1 || ts.forms[0].Encode() != want.Encode() {
		t.Fatalf("gemini refresh form has keys %v", keys(ts.forms))
	}
	out := k.Export(nil)
	if len(out) != 1 {
		t.Fatal("gemini refresh not exported")
	}
	oc := gjson.Get(out[0].Secret, "oauth_creds")
	if oc.Get("refresh_token").String() != "1//FAKE-gemini-rt" || oc.Get("expiry_date").Int() != c.now().Add(time.Hour).UnixMilli() ||
		gjson.Get(out[0].Secret, "google_accounts.active").String() != "dev@example.com" {
		t.Fatalf("refreshed gemini login lost or mis-set a field")
	}
	if !agent.Newer(agent.Gemini, l.Credential(), out[0].Credential()) {
		t.Error("refreshed gemini login is not newer by agent.Newer")
	}
	if a.Expires != c.now().Add(time.Hour).Format(time.RFC3339) {
		t.Errorf("Expires = %q", a.Expires)
	}
}

func keys(fs []url.Values) []string {
	var out []string
	for _, f := range fs {
		for k := range f {
			out = append(out, k)
		}
	}
	return out
}

func TestRefreshFailure(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	ts := newTokenServer(t, c, true, "rt-FAKE-0")
	ts.status = http.StatusInternalServerError
	var logs bytes.Buffer
	k := newKeeper(t, c, &logs)
	expired := fakeJWT(fmt.Sprintf(`{"exp":%d}`, c.now().Add(-time.Minute).Unix()))
	l := codexLogin("codex-oauth-creds@work", expired, "rt-FAKE-0", "acc-1", c.now().Add(-time.Hour))
	l.TokenURL, l.CAPEM = ts.URL, ts.caPEM()
	k.Load(l)
	_, err := k.Token(context.Background(), wire.TokenRequest{Item: l.Item})
	var re *RefreshError
	want := "hjk gate: refreshing the codex login failed: the token endpoint answered 500 Internal Server Error; run 'hjk auth codex --account work' on the host"
	if !errors.As(err, &re) || re.Text != want {
		t.Fatalf("Token error = %v\nwant %s", err, want)
	}
	// Answered again without asking the endpoint, for a while.
	k.Token(context.Background(), wire.TokenRequest{Item: l.Item})
	if ts.uses["rt-FAKE-0"] != 1 {
		t.Fatalf("the endpoint was asked %d times", ts.uses["rt-FAKE-0"])
	}
	// Later, and the endpoint fixed: the refresh token was sent once, so
	// it is never sent again.
	c.add(retryFailed)
	ts.status = 0
	_, err = k.Token(context.Background(), wire.TokenRequest{Item: l.Item})
	if !errors.As(err, &re) || !strings.Contains(re.Text, "already used") || ts.uses["rt-FAKE-0"] != 1 {
		t.Fatalf("after the retry wait: %v, %d uses", err, ts.uses["rt-FAKE-0"])
	}
	// A new login from the host works again.
	l2 := codexLogin(l.Item, expired, "rt-FAKE-0", "acc-1", c.now())
	ts.mu.Lock()
	ts.valid["rt-FAKE-new"] = true
	ts.mu.Unlock()
	l2 = codexLogin(l.Item, expired, "rt-FAKE-new", "acc-1", c.now())
	l2.TokenURL, l2.CAPEM = l.TokenURL, l.CAPEM
	if r := k.Load(l2); r.Result != wire.Replaced {
		t.Fatalf("Load = %+v", r)
	}
	if _, err := k.Token(context.Background(), wire.TokenRequest{Item: l.Item}); err != nil {
		t.Fatalf("Token after a new login: %v", err)
	}
	assertNoSecret(t, "keeper log", logs.String(), "rt-FAKE", expired)
	if !strings.Contains(logs.String(), "refresh failed codex-oauth-creds@work") || !strings.Contains(logs.String(), "refresh done codex-oauth-creds@work") {
		t.Errorf("log lacks the refresh events:\n%s", logs.String())
	}

	// An unreachable endpoint: the token was never sent, so it may be
	// tried again later.
	dead := codexLogin("codex-oauth-creds@dead", expired, "rt-FAKE-dead", "acc-1", c.now())
	dead.TokenURL = "https://127.0.0.1:1/oauth/token"
	k.Load(dead)
	if _, err := k.Token(context.Background(), wire.TokenRequest{Item: dead.Item}); !errors.As(err, &re) || !strings.Contains(re.Text, "could not be reached") {
		t.Fatalf("unreachable endpoint: %v", err)
	}
	c.add(retryFailed)
	if _, err := k.Token(context.Background(), wire.TokenRequest{Item: dead.Item}); !errors.As(err, &re) || strings.Contains(re.Text, "already used") {
		t.Fatalf("a token that was never sent counts as used: %v", err)
	}
}

func TestNeverRefreshed(t *testing.T) {
	c := &clock{t: time.Now()}
	k := newKeeper(t, c, nil)
	for _, l := range []wire.Login{
		{Item: "claude-oidc-token", Agent: "claude", Kind: agent.Subscription, Secret: "sk-ant-oat01-FAKEkeeper"},
		{Item: "claude-api-key", Agent: "claude", Kind: agent.APIKey, Secret: "sk-ant-api03-FAKE"},
		{Item: "gemini-api-key", Agent: "gemini", Kind: agent.APIKey, Secret: "AIzaFAKE"},
		{Item: "codex-oauth-creds@key", Agent: "codex", Kind: agent.Subscription, Secret: `{"OPENAI_API_KEY":"sk-FAKE-in-auth"}`},
	} {
		k.Load(l)
		want := l.Secret
		if l.Agent == "codex" {
			want = "sk-FAKE-in-auth"
		}
		for _, stale := range []string{"", want} {
			a, err := k.Token(context.Background(), wire.TokenRequest{Item: l.Item, Stale: stale})
			if err != nil || a.Value != want || a.Expires != "" {
				t.Errorf("%s (stale %v): Token value ok=%v expires=%q, %v", l.Item, stale != "", a.Value == want, a.Expires, err)
			}
		}
	}
	if out := k.Export(nil); len(out) != 0 {
		t.Errorf("never-refreshed logins exported: %d", len(out))
	}
	if _, err := k.Token(context.Background(), wire.TokenRequest{Item: "codex-oauth-creds"}); !errors.Is(err, ErrNoLogin) {
		t.Errorf("Token of nothing = %v", err)
	}
}

func TestCodexWithoutExpiry(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	ts := newTokenServer(t, c, true, "rt-FAKE-0")
	k := newKeeper(t, c, nil)
	l := codexLogin("codex-oauth-creds", "opaque-FAKE-access", "rt-FAKE-0", "acc", c.now().Add(-7*24*time.Hour))
	l.TokenURL, l.CAPEM = ts.URL, ts.caPEM()
	k.Load(l)
	if a, _ := k.Token(context.Background(), wire.TokenRequest{Item: l.Item}); a.Value != "opaque-FAKE-access" || ts.n != 0 {
		t.Fatal("a 7-day-old login without exp was refreshed")
	}
	c.add(25 * time.Hour)
	if a, _ := k.Token(context.Background(), wire.TokenRequest{Item: l.Item}); a.Value == "opaque-FAKE-access" || ts.n != 1 {
		t.Fatal("an 8-day-old login without exp was not refreshed")
	}
}

func TestHandlers(t *testing.T) {
	c := &clock{t: time.Now()}
	k := newKeeper(t, c, nil)
	srv := httptest.NewServer(k.Handler())
	defer srv.Close()
	ctl := httptest.NewServer(k.ControlHandler())
	defer ctl.Close()
	post := func(base, path, body string) (int, string) {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(srv.URL, "/v1/token", `{"item":"claude-oidc-token"}`); code != 404 || !strings.Contains(body, "no login") {
		t.Errorf("token before load = %d %q", code, body)
	}
	login := `{"item":"claude-oidc-token","agent":"claude","kind":"subscription","secret":"sk-ant-oat01-FAKEhttp"}`
	if code, body := post(srv.URL, "/v1/load", login); code != 200 || !strings.Contains(body, `"result":"loaded"`) {
		t.Errorf("load = %d %q", code, body)
	}
	if code, body := post(srv.URL, "/v1/token", `{"item":"claude-oidc-token"}`); code != 200 || !strings.Contains(body, `"value":"sk-ant-oat01-FAKEhttp"`) {
		t.Errorf("token = %d", code)
	}
	if code, body := post(ctl.URL, "/v1/load", "["+login+`,{"item":"x"}]`); code != 200 || !strings.Contains(body, `"same"`) || !strings.Contains(body, `"invalid"`) {
		t.Errorf("control load = %d %q", code, body)
	}
	if code, body := post(ctl.URL, "/v1/export", `{"items":[]}`); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("export = %d %q", code, body)
	}
	if code, _ := post(srv.URL, "/v1/export", `{}`); code == 200 {
		t.Error("export answered on the gates' socket")
	}
	if code, _ := post(srv.URL, "/v1/load", strings.Repeat("x", wire.MaxRequest+10)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized load = %d", code)
	}
}

// syncWriter makes a log buffer safe for concurrent writers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func assertNoSecret(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, v := range secrets {
		if strings.Contains(s, v) {
			t.Errorf("%s holds a secret (%d bytes)", what, len(v))
		}
	}
}

// TestGeminiScopeWithSpaces: Google answers a refresh with its scopes
// separated by spaces (seen from the fake token endpoint; RFC 6749 3.3):
// the refresh is taken, the scope kept as it came.
func TestGeminiScopeWithSpaces(t *testing.T) {
	secret := `{"oauth_creds":{"access_token":"ya29.old","refresh_token":"1//r","expiry_date":1},"google_accounts":{"active":"a@example.com"}}`
	scope := "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email openid"
	answer := gjson.Parse(`{"access_token":"ya29.new","expires_in":3599,"token_type":"Bearer","scope":"` + scope + `"}`)
	out, hasAccess, err := updated(agent.Gemini.Login, secret, answer, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	if err != nil || !hasAccess {
		t.Fatalf("updated = %v, %v", hasAccess, err)
	}
	if got := gjson.Get(out, "oauth_creds.scope").String(); got != scope {
		t.Errorf("scope = %q", got)
	}
	// A token with a space is still refused: it goes in a header.
	if _, _, err := updated(agent.Gemini.Login, secret, gjson.Parse(`{"access_token":"ya29 new","expires_in":3599}`), time.Now()); err == nil {
		t.Error("an access token with a space was taken")
	}
}
