package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// With the gate (the default), a rotated login comes back from the keeper,
// never from the agent's container (the gate's own e2e tests show it).
// These are the instances given the login itself (--credentials inject):
// what hjk takes back from such a container, and what it refuses.

// codexLogin is a fake ChatGPT login of account id acc with refresh token
// rt, last refreshed at when.
func codexLogin(acc, rt, when string) string {
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1893456000}`))
	return `{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"eyJhbGciOiJub25lIn0.` + claims +
		`.c2ln","access_token":"at-e2eFAKE","refresh_token":"` + rt + `","account_id":"` + acc + `"},"last_refresh":"` + when + `"}`
}

// storedRefresh is the refresh token the store holds for codex's account.
func (h *harness) storedRefresh(account string) string {
	h.t.Helper()
	c, err := store.LoadKind(store.NewFile(h.config, nil), agent.Codex, agent.Subscription, account)
	if err != nil {
		h.t.Fatal(err)
	}
	return gjson.Get(c.Secret, "tokens.refresh_token").String()
}

func newRefreshToken() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "rt-e2eFAKE" + hex.EncodeToString(b)
}

// TestRefreshTakenBack: codex refreshes its login in one instance's
// container; hjk takes the new single-use refresh token back into the store
// when the session ends, and a session in a second instance gets it. An
// instance keeps its account (--account work) for later sessions; `hjk
// stop` and `hjk recreate` take back a refresh made outside a session; an
// older copy never replaces a newer one (`hjk rm`). No token shows in hjk's
// output.
func TestRefreshTakenBack(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		rt := newRefreshToken()
		auth := codexLogin("acc-work", rt, "2020-01-01T00:00:00Z")
		st := store.NewFile(h.config, nil)
		if err := store.SaveCredential(st, agent.Codex, "work", agent.Credential{Kind: agent.Subscription, Secret: auth}); err != nil {
			t.Fatal(err)
		}
		stored := func() string { t.Helper(); return h.storedRefresh("work") }
		var outputs []string
		run := func(args ...string) string {
			t.Helper()
			r := h.hjk(args...)
			outputs = append(outputs, r.stdout, r.stderr)
			if r.code != 0 {
				t.Fatalf("hjk %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
			}
			return r.stdout
		}
		rotated, twice, thrice := rt+"-rotated", rt+"-rotated-rotated", rt+"-rotated-rotated-rotated"

		// The agent refreshes in instance one, then exits.
		out := run("run", "one", "--agent", "codex", "--account", "work", "--credentials", "inject", "--", "rotate")
		if !strings.Contains(out, "refresh-sha256="+sha(rt)) || !strings.Contains(out, "rotated") {
			t.Fatalf("the stand-in did not get the stored login or did not rotate it: %q", out)
		}
		if got := stored(); got != rotated {
			t.Fatalf("after the session the store holds %s, want the rotated refresh token", map[bool]string{true: "the old refresh token", false: "another refresh token"}[got == rt])
		}
		if _, err := store.LoadKind(store.NewFile(h.config, nil), agent.Codex, agent.Subscription, ""); err == nil {
			t.Error("the login was taken back into the default account, not the instance's")
		}

		// A second instance starts from the new token.
		out = run("run", "two", "--agent", "codex", "--account", "work", "--credentials", "inject")
		if !strings.Contains(out, "refresh-sha256="+sha(rotated)) {
			t.Fatalf("the session in a second instance did not get the rotated token: %q", out)
		}
		// Instance one remembers its account without the flag.
		out = run("run", "one", "--agent", "codex")
		if !strings.Contains(out, "refresh-sha256="+sha(rotated)) {
			t.Fatalf("a later session of instance one without --account did not get account work's login: %q", out)
		}
		for _, b := range []string{"one", "two"} {
			if acc := h.ps()[b].Account; acc != "work" {
				t.Errorf("hjk ps shows account %q for %s, want work", acc, b)
			}
		}

		// A refresh outside a session (hjk exec carries no credential) is
		// taken back when the instance stops.
		run("exec", "two", "--", "codex", "rotate")
		if got := stored(); got != rotated {
			t.Fatal("hjk exec changed the store")
		}
		run("stop", "two")
		if got := stored(); got != twice {
			t.Fatal("hjk stop did not take back the login refreshed in the container")
		}
		if s := h.state("two"); s == "running" {
			t.Errorf("instance two is still running after hjk stop")
		}

		// hjk recreate takes back what the old container refreshed.
		run("exec", "two", "--", "codex", "rotate")
		run("recreate", "two")
		if got := stored(); got != thrice {
			t.Fatal("hjk recreate did not take back the login refreshed in the old container")
		}

		// Instance one still holds an older copy: removing it takes
		// nothing back.
		run("rm", "one", "-f")
		if got := stored(); got != thrice {
			t.Fatal("hjk rm replaced the newer login with instance one's older copy")
		}

		// Moving an instance to another account takes back the old
		// account's login first: the new session's login replaces it.
		other := strings.NewReplacer("acc-work", "acc-other", rt, "rt-e2eFAKEother").Replace(auth)
		if err := store.SaveCredential(st, agent.Codex, "other", agent.Credential{Kind: agent.Subscription, Secret: other}); err != nil {
			t.Fatal(err)
		}
		run("run", "two", "--agent", "codex")
		run("exec", "two", "--", "codex", "rotate")
		r := h.hjk("run", "two", "--agent", "codex", "--account", "other")
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != 0 || !strings.Contains(r.stderr, `the instance of "two" now uses account other (was work)`) {
			t.Errorf("switching the account: exit %d, stderr %q", r.code, r.stderr)
		}
		if got := stored(); got != thrice+"-rotated" {
			t.Fatal("switching the instance to another account lost the login refreshed in it")
		}

		for _, o := range outputs {
			for _, secret := range []string{rt, "at-e2eFAKE"} {
				if strings.Contains(o, secret) {
					t.Fatal("a token is in hjk's output")
				}
			}
		}
	})
}

// TestTakeBackRefused: what the agent leaves as its login is a claim, not
// a login. A link to a file only root may read, a FIFO, a login of
// another account, one refreshed in the future and one too large are each
// refused when the instance stops: the store keeps its login, hjk says
// why on a line of its own (no hang, no file's content), and the session
// after still gets the stored login.
func TestTakeBackRefused(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		rt := newRefreshToken()
		if err := store.SaveCredential(store.NewFile(h.config, nil), agent.Codex, "", agent.Credential{Kind: agent.Subscription, Secret: codexLogin("acc-mine", rt, "2020-01-01T00:00:00Z")}); err != nil {
			t.Fatal(err)
		}
		if out := h.ok("run", "claims", "--agent", "codex", "--credentials", "inject"); !strings.Contains(out, "refresh-sha256="+sha(rt)) {
			t.Fatalf("the stand-in did not get the stored login: %q", out)
		}
		future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
		for _, c := range []struct{ what, script, says string }{
			{"a link to a file only root may read", "ln -sf /root/only-root ~/.codex/auth.json", "is a symbolic link"},
			{"a FIFO", "rm -f ~/.codex/auth.json && mkfifo ~/.codex/auth.json", "not a regular file"},
			{"another account's login", "printf '%s' '" + codexLogin("acc-theirs", rt+"-x", "2021-01-01T00:00:00Z") + "' > ~/.codex/auth.json", "not of the stored account"},
			{"a login refreshed in the future", "printf '%s' '" + codexLogin("acc-mine", rt+"-x", future) + "' > ~/.codex/auth.json", "in the future"},
			{"a login too large", "head -c 100000 /dev/zero | tr '\\0' x > ~/.codex/auth.json", "larger than"},
		} {
			h.sh("claims", c.script)
			r := h.hjk("stop", "claims")
			if r.code != 0 {
				t.Errorf("%s: hjk stop: exit %d: %s", c.what, r.code, r.stderr)
			}
			if got := h.storedRefresh(""); got != rt {
				t.Errorf("%s: the store took it (%s)", c.what, map[bool]string{true: "the agent's token", false: "another token"}[got == rt+"-x"])
			}
			if !strings.Contains(r.stderr, "hjk: warning:") || !strings.Contains(r.stderr, c.says) {
				t.Errorf("%s: hjk stop said %q, want a warning saying %q", c.what, r.stderr, c.says)
			}
			if strings.Contains(r.stderr+r.stdout, "root-only-e2eFAKE") || strings.Contains(r.stderr+r.stdout, rt) {
				t.Errorf("%s: hjk showed a file's content or a token", c.what)
			}
			h.sh("claims", "rm -f ~/.codex/auth.json")
		}
		if out := h.ok("run", "claims", "--agent", "codex"); !strings.Contains(out, "refresh-sha256="+sha(rt)) {
			t.Errorf("the session after did not get the stored login: %q", out)
		}
	})
}
