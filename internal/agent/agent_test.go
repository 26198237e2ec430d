package agent

import (
	"strings"
	"testing"
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
	want := map[string]string{"claude": "claude-oidc-token", "gemini": "gemini-oauth-creds", "codex": "codex-oauth-creds"}
	for _, a := range All() {
		if got := a.Item(Subscription, ""); got != want[a.Name] {
			t.Errorf("%s item = %q, want %q", a.Name, got, want[a.Name])
		}
	}
}

func TestLookup(t *testing.T) {
	a, err := Lookup("codex")
	if err != nil || a.SubscriptionVar != "CODEX_AUTH_JSON" || a.APIKeyVar != "OPENAI_API_KEY" {
		t.Fatalf("Lookup(codex) = %+v, %v", a, err)
	}
	if _, err := Lookup("cursor"); err == nil || !strings.Contains(err.Error(), "claude, gemini, codex") {
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
