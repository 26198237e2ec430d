package gatee2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/fakeapi"
	"github.com/hjk-dev/hjk/internal/host/instance"
)

// TestGateRefresh: five instances on one codex login run sessions at
// once. The stored access token is about to expire and every token the
// fake issues is short-lived, so each session's gate needs a fresh one
// from the keeper: the keeper refreshes, spending each single-use refresh
// token exactly once (the fake counts reuses), and the store ends with the
// newest login, taken back from the keeper. Logins forged inside a
// container (a future last_refresh and no account id, 300 KB, 50 MB)
// change nothing in the store.
func TestGateRefresh(t *testing.T) {
	forEngine(t, func(t *testing.T, e string) {
		// Under 5 minutes: the keeper refreshes every token it is asked for.
		w := newWorld(t, e, fakeapi.Options{TokenLifetime: 4 * time.Minute})
		w.upstream(agent.Codex, fakeapi.ChatGPT)
		w.ok("config", "agents.codex.token_url", w.fake.BaseURL(fakeapi.OpenAIToken))
		l := codexLogin(w.fake, time.Now().Add(time.Minute), time.Now().Add(-time.Hour))
		watch := watchArgv(t, l.s)
		w.save(l.agent, l.kind, l.secret)

		const n = 5
		branches := make([]string, n)
		for i := range branches {
			branches[i] = fmt.Sprintf("r%d", i)
			// The instances first (no credential: a shell), so the
			// sessions below start together.
			w.ok("run", branches[i], "--agent", "shell", "--", "-c", "true")
		}
		var wg sync.WaitGroup
		results := make([]result, n)
		for i, b := range branches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = w.hjk("run", b, "--agent", "codex", "--", "exec", "say hi")
			}()
		}
		wg.Wait()
		for i, r := range results {
			if r.code != 0 || !strings.Contains(r.stdout, fakeapi.DefaultAnswer) {
				t.Errorf("session %d: exit %d\nstdout: %s\nstderr: %s", i, r.code, r.stdout, r.stderr)
			}
		}
		for _, b := range branches {
			rss, peak := memory(t, e, w.instance(b).GateName())
			t.Logf("the gate of %s: %.1f MB resident, %.1f MB at its peak", b, float64(rss)/1024, float64(peak)/1024)
		}
		rss, peak := memory(t, e, instance.KeeperName(w.data))
		t.Logf("the keeper: %.1f MB resident, %.1f MB at its peak", float64(rss)/1024, float64(peak)/1024)
		grants := w.fake.Grants(fakeapi.OpenAIToken)
		t.Logf("%d refreshes for %d sessions at once, %d reuses", w.fake.Refreshes(fakeapi.OpenAIToken), n, w.fake.Reuses(fakeapi.OpenAIToken))
		if len(grants) == 0 {
			t.Fatal("the keeper never refreshed")
		}
		if err := w.fake.Err(); err != nil {
			t.Error(err)
		}
		if got := w.fake.Refreshes(fakeapi.OpenAIToken); got != len(grants) {
			t.Errorf("%d refreshes, %d grants", got, len(grants))
		}
		// Every session's requests carried a token the fake issued.
		for _, q := range w.fake.RequestsTo(fakeapi.ChatGPT) {
			if q.Credential != "" && !q.Accepted {
				t.Errorf("the fake refused %s %s", q.Method, q.Path)
			}
		}
		for i, g := range grants {
			l.s.add(fmt.Sprintf("refreshed access token %d", i), g.Access)
			l.s.add(fmt.Sprintf("refreshed refresh token %d", i), g.Refresh)
		}
		newest := grants[len(grants)-1]
		stored := w.stored(agent.Codex, agent.Subscription)
		if got := gjson.Get(stored.Secret, "tokens.refresh_token").String(); got != newest.Refresh {
			t.Errorf("the store holds refresh token %s, want the newest (%d refreshes)", which(got, l.secret, grants), len(grants))
		}
		if got := gjson.Get(stored.Secret, "tokens.access_token").String(); got != newest.Access {
			t.Error("the store does not hold the newest access token")
		}

		// Forged logins inside a container: with the gate, nothing is
		// ever taken back from it.
		before := stored.Secret
		forged := `{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"` +
			fakeapi.IDToken(fakeapi.Account{AccountID: "someone-else"}, time.Now().Add(time.Hour)) +
			`","access_token":"forged-access","refresh_token":"forged-refresh"},"last_refresh":"9999-01-01T00:00:00Z"}`
		for _, c := range []struct{ name, script string }{
			{"future, no account", "printf '%s' '" + forged + "' > ~/.codex/auth.json"},
			{"300 KB", `printf '{"tokens":{"refresh_token":"%s","account_id":"00000000-fake-acct-0000-000000000000"},"last_refresh":"9999-01-01T00:00:00Z"}' "$(head -c 300000 /dev/zero | tr '\0' x)" > ~/.codex/auth.json`},
			{"50 MB", `head -c 52428800 /dev/zero | tr '\0' x > ~/.codex/auth.json`},
		} {
			w.ok("exec", branches[0], "--", "sh", "-c", c.script)
			w.ok("stop", branches[0])
			if got := w.stored(agent.Codex, agent.Subscription).Secret; got != before {
				t.Errorf("a login forged in the container (%s) changed the store", c.name)
			}
			w.ok("exec", branches[0], "--", "true") // starts it again
		}
		w.ok("rm", "-f", branches[0])
		if got := w.stored(agent.Codex, agent.Subscription).Secret; got != before {
			t.Error("removing the instance with a forged login changed the store")
		}

		w.ok("run", "-d", branches[1], "--agent", "codex", "--name", "scan")
		w.scanAgent(l.s, branches[1], "CODEX_REFRESH_TOKEN_URL_OVERRIDE=")
		w.stillRunning(branches[1], "scan")
		watch.check(t)
		w.noSecretsSaid(l.s)
	})
}

// which names a refresh token for a failure message: the stored one, a
// grant's number, or unknown (never the value).
func which(rt, stored string, grants []fakeapi.Grant) string {
	if rt == gjson.Get(stored, "tokens.refresh_token").String() {
		return "of the first login"
	}
	for i, g := range grants {
		if g.Refresh == rt {
			return fmt.Sprintf("of grant %d", i)
		}
	}
	return "unknown to the fake"
}
