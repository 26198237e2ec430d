package agent

import (
	"strings"
	"testing"
	"unicode"
)

func TestItemRoundTrip(t *testing.T) {
	for _, a := range All() {
		for _, k := range []Kind{Subscription, APIKey} {
			for _, acct := range []string{"", "work", "a.b_c-1"} {
				item := a.Item(k, acct)
				ga, gk, gacct, ok := ParseItem(item)
				if !ok || ga.Name != a.Name || gk != k || gacct != acct {
					t.Errorf("ParseItem(%q) = %s %s %q %v; want %s %s %q", item, ga.Name, gk, gacct, ok, a.Name, k, acct)
				}
			}
		}
	}
	if _, _, _, ok := ParseItem("something-else"); ok {
		t.Error("ParseItem accepted an unknown item")
	}
}

func TestOlderDesignItemNames(t *testing.T) {
	// The store's item names are shared with the older design: changing one
	// loses every user's stored login.
	// An agent the older design did not know may name its items freely.
	want := map[string]string{"claude": "claude-oidc-token", "gemini": "gemini-oauth-creds", "codex": "codex-oauth-creds"}
	for name, item := range want {
		a, err := Lookup(name)
		if err != nil {
			t.Errorf("%s is gone: %v", name, err)
			continue
		}
		if got := a.Item(Subscription, ""); got != item {
			t.Errorf("%s item = %q, want %q", name, got, item)
		}
	}
}

func TestLookup(t *testing.T) {
	a, err := Lookup("codex")
	if err != nil || a.SubscriptionVar != "CODEX_AUTH_JSON" || a.APIKeyVar != "OPENAI_API_KEY" {
		t.Fatalf("Lookup(codex) = %+v, %v", a, err)
	}
	var names []string
	for _, a := range All() {
		names = append(names, a.Name)
	}
	if _, err := Lookup("cursor"); err == nil || !strings.Contains(err.Error(), strings.Join(names, ", ")) {
		t.Fatalf("Lookup(cursor) error = %v, want one listing the known agents", err)
	}
}

func TestCheckAccount(t *testing.T) {
	for _, ok := range []string{"", "work", "Team_2.x-y"} {
		if err := CheckAccount(ok); err != nil {
			t.Errorf("CheckAccount(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"a@b", "a b", "a/b", strings.Repeat("x", 65), "é"} {
		if err := CheckAccount(bad); err == nil {
			t.Errorf("CheckAccount(%q) accepted it", bad)
		}
	}
}

// TestRowsComplete holds the claim of the package doc: an agent is its
// row, so every row must be filled in, and unlike the others where it
// names something.
func TestRowsComplete(t *testing.T) {
	seen := map[string]string{}
	unique := func(a, what, v string) {
		t.Helper()
		if v == "" {
			t.Errorf("%s: %s is empty", a, what)
			return
		}
		if prev, ok := seen[what+"\x00"+v]; ok {
			t.Errorf("%s: %s %q is %s's too", a, what, v, prev)
		}
		seen[what+"\x00"+v] = a
	}
	ports := map[int]string{ProxyPort: "the proxy"}
	for _, a := range All() {
		unique(a.Name, "name", a.Name)
		unique(a.Name, "subscription variable", a.SubscriptionVar)
		unique(a.Name, "API key variable", a.APIKeyVar)
		unique(a.Name, "subscription item", a.SubscriptionItem)
		unique(a.Name, "API key item", a.APIKeyItem)
		unique(a.Name, "home variable", a.Home.Var)
		unique(a.Name, "npm package", a.Package)
		if a.Command == "" || a.Version == "" {
			t.Errorf("%s: no command or no version", a.Name)
		}
		// images/agents/agents.txt has them as words of a line.
		for _, w := range []string{a.Name, a.Command, a.Package, a.Version} {
			if strings.ContainsFunc(w, unicode.IsSpace) || strings.HasPrefix(w, "#") || strings.ContainsAny(w, "=\"'$`") {
				t.Errorf("%s: %q cannot be a word in agents.txt (no spaces, quotes, '$', '=' or a leading '#')", a.Name, w)
			}
		}
		if a.Login.Validate == nil {
			t.Errorf("%s: no Login.Validate", a.Name)
		}
		l := a.Login
		if l.Rotates && (l.Refresh == "" || l.Account == "" || l.Expiry == "" && l.ExpiryJWT == "") {
			t.Errorf("%s: a login that rotates needs its refresh token, account and expiry paths", a.Name)
		}
		if l.ClientID != "" && (a.GateLogin.TokenURL == "" || l.Tokens == "" || l.Access == "") {
			t.Errorf("%s: a refresh client needs GateLogin.TokenURL, Login.Tokens and Login.Access", a.Name)
		}
		if l.Rotates != (l.ClientID != "") {
			t.Errorf("%s: a login the agent refreshes must be one the gate can refresh, and the other way round", a.Name)
		}
		for _, r := range []GateRoute{a.GateLogin, a.GateKey} {
			unique(a.Name, "gate route", r.Name)
			if prev, ok := ports[r.Port]; ok || r.Port == 0 {
				t.Errorf("%s: route %s port %d is %s's too", a.Name, r.Name, r.Port, prev)
			}
			ports[r.Port] = r.Name
			if r.Upstream == "" || r.Header == "" || r.PlaceholderVar == "" {
				t.Errorf("%s: route %s lacks an upstream, header or placeholder variable", a.Name, r.Name)
			}
		}
	}
}
