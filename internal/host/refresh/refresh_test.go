package refresh

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/store"
)

func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".sig"
}

func codexAuth(refresh, lastRefresh, account string) string {
	return `{"tokens":{"id_token":"` + jwt(`{"exp":1893456000}`) + `","access_token":"at-fake","refresh_token":"` + refresh +
		`","account_id":"` + account + `"},"last_refresh":"` + lastRefresh + `"}`
}

func geminiCreds(expiryMs int64, active string) string {
	return fmt.Sprintf(`{"oauth_creds":{"access_token":"ya29.fake","refresh_token":"1//fake","expiry_date":%d},"google_accounts":{"active":%q}}`, expiryMs, active)
}

// exporter returns out once and counts its calls.
type exporter struct {
	out   string
	err   error
	calls int
}

func (e *exporter) export(context.Context, agent.Agent) ([]byte, error) {
	e.calls++
	return []byte(e.out), e.err
}

// testNow is the clock of the take-backs: after every refresh in the table.
var testNow = time.UnixMilli(1_800_000_000_000).Add(30 * time.Minute)

func TestTake(t *testing.T) {
	t.Parallel()
	captured := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	old := codexAuth("rt-fake-old", "2026-11-20T00:00:00Z", "acc-1")
	tests := []struct {
		name      string
		agent     agent.Agent
		account   string
		stored    *agent.Credential
		apiKey    bool // an API key captured after the login is stored too
		exp       exporter
		want      Outcome
		wantErr   string
		wantCalls int
		wantStore string // the secret stored afterwards ("" : unchanged)
	}{
		{name: "codex refreshed", agent: agent.Codex, account: "work",
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{out: codexAuth("rt-fake-new", "2026-11-28T00:00:00Z", "acc-1") + "\n"},
			want:   Updated, wantCalls: 1, wantStore: codexAuth("rt-fake-new", "2026-11-28T00:00:00Z", "acc-1")},
		{name: "codex same", agent: agent.Codex,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{out: old}, want: Unchanged, wantCalls: 1},
		{name: "codex older in container", agent: agent.Codex,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{out: codexAuth("rt-fake-new", "2026-11-01T00:00:00Z", "acc-1")}, want: Unchanged, wantCalls: 1},
		{name: "codex other account", agent: agent.Codex,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{out: codexAuth("rt-fake-new", "2026-11-28T00:00:00Z", "acc-2")}, want: Unchanged, wantErr: "not of the stored account", wantCalls: 1},
		{name: "codex without an account", agent: agent.Codex,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{out: codexAuth("rt-fake-new", "2026-11-28T00:00:00Z", "")}, want: Unchanged, wantErr: "not of the stored account", wantCalls: 1},
		{name: "codex refreshed in the future", agent: agent.Codex,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{out: codexAuth("rt-fake-new", "9999-01-01T00:00:00Z", "acc-1")}, want: Unchanged, wantErr: "in the future", wantCalls: 1},
		{name: "codex oversized", agent: agent.Codex,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{out: codexAuth("rt-fake-new"+strings.Repeat("x", MaxLogin), "2026-11-28T00:00:00Z", "acc-1")}, want: Unchanged, wantErr: "larger than", wantCalls: 1},
		{name: "codex nothing in container", agent: agent.Codex,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{err: ErrNothing}, want: Unchanged, wantCalls: 1},
		{name: "codex malformed from container", agent: agent.Codex,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{out: `{"tokens":{"refresh_token":"rt-fake-new"}}`}, want: Unchanged, wantErr: "not valid", wantCalls: 1},
		{name: "codex exec fails", agent: agent.Codex,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{err: errors.New("container is not running")}, want: Unchanged, wantErr: "not running", wantCalls: 1},
		{name: "codex api key handed over", agent: agent.Codex, apiKey: true,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured},
			exp:    exporter{out: codexAuth("rt-fake-new", "2026-11-28T00:00:00Z", "acc-1")}, want: Skipped},
		{name: "codex nothing stored", agent: agent.Codex,
			exp: exporter{out: codexAuth("rt-fake-new", "2026-11-28T00:00:00Z", "acc-1")}, want: Skipped},
		{name: "gemini refreshed", agent: agent.Gemini,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: geminiCreds(1_800_000_000_000, "dev@example.com"), CapturedAt: captured},
			exp:    exporter{out: geminiCreds(1_800_000_360_000, "dev@example.com")},
			want:   Updated, wantCalls: 1, wantStore: geminiCreds(1_800_000_360_000, "dev@example.com")},
		{name: "gemini other account", agent: agent.Gemini,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: geminiCreds(1_800_000_000_000, "dev@example.com"), CapturedAt: captured},
			exp:    exporter{out: geminiCreds(1_800_000_360_000, "other@example.com")}, want: Unchanged, wantErr: "not of the stored account", wantCalls: 1},
		{name: "gemini expiring far ahead", agent: agent.Gemini,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: geminiCreds(1_800_000_000_000, "dev@example.com"), CapturedAt: captured},
			exp:    exporter{out: geminiCreds(253_402_300_799_000, "dev@example.com")}, want: Unchanged, wantErr: "expires later", wantCalls: 1},
		{name: "claude never asked", agent: agent.Claude,
			stored: &agent.Credential{Kind: agent.Subscription, Secret: "sk-ant-oat01-" + strings.Repeat("a", 60), CapturedAt: captured},
			exp:    exporter{out: "x"}, want: Skipped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := store.NewMemory()
			if tt.stored != nil {
				if err := store.SaveCredential(st, tt.agent, tt.account, *tt.stored); err != nil {
					t.Fatal(err)
				}
			}
			if tt.apiKey {
				if err := store.SaveCredential(st, tt.agent, tt.account, agent.Credential{Kind: agent.APIKey, Secret: "sk-fake-key-0123456789", CapturedAt: captured.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			exp := tt.exp
			got, err := Take(context.Background(), st, nil, tt.agent, tt.account, exp.export, testNow)
			if got != tt.want {
				t.Errorf("outcome %d, want %d", got, tt.want)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "rt-fake") {
				t.Errorf("the error shows a token")
			}
			if exp.calls != tt.wantCalls {
				t.Errorf("%d execs, want %d", exp.calls, tt.wantCalls)
			}
			if tt.stored == nil {
				return
			}
			now, err := store.LoadKind(st, tt.agent, agent.Subscription, tt.account)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.wantStore
			if want == "" {
				want = tt.stored.Secret
			}
			if now.Secret != want {
				t.Errorf("the store holds refresh token %q, want the secret %s", gjson.Get(now.Secret, "tokens.refresh_token"), map[bool]string{true: "updated", false: "unchanged"}[tt.wantStore != ""])
			}
			if !now.CapturedAt.Equal(captured) {
				t.Errorf("capture time %v, want the stored one kept (%v)", now.CapturedAt, captured)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	// An access token without a refresh token: the login ends with it.
	access := func(exp time.Time) agent.Credential {
		return agent.Credential{Kind: agent.Subscription, Secret: fmt.Sprintf(`{"oauth_creds":{"access_token":"ya29.fake","expiry_date":%d}}`, exp.UnixMilli())}
	}
	claude := func(captured time.Time) agent.Credential {
		return agent.Credential{Kind: agent.Subscription, Secret: "sk-ant-oat01-fake", CapturedAt: captured}
	}
	year := agent.ClaudeTokenLifetime
	tests := []struct {
		a    agent.Agent
		c    agent.Credential
		want string
	}{
		{agent.Gemini, access(now.Add(-3 * time.Hour)), "expired 3h ago"},
		{agent.Gemini, access(now.Add(-72 * time.Hour)), "expired 3d ago"},
		{agent.Gemini, access(now.Add(5 * time.Hour)), "expires in 5h"},
		{agent.Gemini, access(now.Add(10 * time.Minute)), "expires in 10m"},
		{agent.Gemini, access(now.Add(25 * time.Hour)), ""},
		// gemini renews its hourly access token itself: no warning.
		{agent.Gemini, agent.Credential{Kind: agent.Subscription, Secret: geminiCreds(now.Add(-3*time.Hour).UnixMilli(), "dev@example.com")}, ""},
		{agent.Claude, claude(now.Add(-year).Add(5 * time.Hour)), "expires in 5h"},
		{agent.Claude, claude(now.Add(-year).Add(-49 * time.Hour)), "expired 2d ago"},
		{agent.Claude, claude(now.Add(-300 * 24 * time.Hour)), ""},
		{agent.Gemini, agent.Credential{Kind: agent.APIKey, Secret: "sk-fake-key-0123456789"}, ""},
	}
	for _, tt := range tests {
		got := Expiry(tt.a, tt.c, now)
		if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
			t.Errorf("Expiry(%s) = %q, want it to start with %q", tt.a.Name, got, tt.want)
		}
	}
}

// Two take-backs at once: the one whose export returns last must compare
// with the store as it is then, or its older copy replaces the newer one
// the other just saved.
func TestTakeComparesWithTheStoreOfNow(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	captured := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	old := codexAuth("rt-fake-old", "2026-11-20T00:00:00Z", "acc-1")
	newer := codexAuth("rt-fake-newer", "2026-11-28T00:00:00Z", "acc-1")
	older := codexAuth("rt-fake-mid", "2026-11-24T00:00:00Z", "acc-1")
	if err := store.SaveCredential(st, agent.Codex, "work", agent.Credential{Kind: agent.Subscription, Secret: old, CapturedAt: captured}); err != nil {
		t.Fatal(err)
	}
	lock := FileLock(t.TempDir() + "/credentials.lock")
	// B's export is slow: A runs all of its take-back meanwhile.
	slow := func(ctx context.Context, a agent.Agent) ([]byte, error) {
		got, err := Take(ctx, st, lock, a, "work", (&exporter{out: newer}).export, testNow)
		if got != Updated || err != nil {
			t.Errorf("A: %d, %v", got, err)
		}
		return []byte(older), nil
	}
	if got, err := Take(context.Background(), st, lock, agent.Codex, "work", slow, testNow); got != Unchanged || err != nil {
		t.Errorf("B: %d, %v; want Unchanged", got, err)
	}
	c, err := store.LoadKind(st, agent.Codex, agent.Subscription, "work")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Secret, "rt-fake-newer") {
		t.Error("the older login replaced the newer one")
	}
}

// FileLock keeps a second holder out until the first lets go.
func TestFileLock(t *testing.T) {
	t.Parallel()
	lock := FileLock(t.TempDir() + "/d/credentials.lock")
	unlock, err := lock()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		u, err := lock()
		if err != nil {
			t.Error(err)
		} else {
			u()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("the lock was taken twice")
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the lock was not released")
	}
}
