package gatee2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/fakeapi"
)

// TestInjectTakeBack: with --credentials inject the container gets the
// real login, over stdin only (never an exec's -e, never podman's state
// database); what it hands back is checked: a login forged there (a future
// time and no account id), an oversized one (300 KB, 50 MB) and another
// account's are each refused with a warning that names no secret, and the
// store keeps its login.
func TestInjectTakeBack(t *testing.T) {
	forEngine(t, func(t *testing.T, e string) {
		w := newWorld(t, e, fakeapi.Options{})
		cx := codexLogin(w.fake, time.Now().Add(time.Hour), time.Now().Add(-time.Hour))
		gm := geminiLogin(w.fake, time.Now().Add(30*time.Minute))
		s := secrets{}
		for l, v := range cx.s {
			s[l] = v
		}
		for l, v := range gm.s {
			s[l] = v
		}
		watch := watchArgv(t, s)
		w.save(cx.agent, cx.kind, cx.secret)
		w.save(gm.agent, gm.kind, gm.secret)

		// The CLIs need no network to start: each gets its login and exits.
		w.ok("run", "b", "--credentials", "inject", "--agent", "codex", "--", "--version")
		w.ok("run", "b", "--agent", "gemini", "--", "--version")
		in := w.instance("b")
		if in.Credentials != "inject" || len(in.Handed) != 2 {
			t.Fatalf("the instance has credentials %q, handed %v", in.Credentials, in.Handed)
		}
		// The container has the real logins in its files, as asked.
		// (Read by the engine directly: what hjk prints is scanned.)
		got, err := exec.Command(e, "exec", "-u", in.User, in.Name, "sh", "-c", "cat ~/.codex/auth.json ~/.gemini/oauth_creds.json").Output()
		if err != nil || !bytes.Contains(got, []byte(gjson.Get(cx.secret, "tokens.refresh_token").String())) ||
			!bytes.Contains(got, []byte(gjson.Get(gm.secret, "oauth_creds.refresh_token").String())) {
			t.Fatalf("the container did not get the real logins (%v)", err)
		}
		// A detached session holds its exec open meanwhile: its record in
		// the engine (podman keeps exec sessions in its database) has no
		// secret either.
		w.ok("run", "-d", "b", "--agent", "codex", "--name", "keep")
		time.Sleep(2 * time.Second)
		w.scanInspect(s, in)
		if e == "podman" {
			podmanDB(t, s)
		}

		forgedRT := "forged-refresh-" + randHex(12)
		forged := secrets{}
		forged.add("the forged refresh token", forgedRT)
		other := fakeapi.Account{AccountID: "11111111-other-acct-1111-111111111111", Email: "other@example.com"}
		now := time.Now().UTC().Format(time.RFC3339)
		cases := []struct {
			name, agent, script, want string
		}{
			{"codex: future, no account id", "codex",
				`printf '{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"%s","access_token":"a","refresh_token":"` + forgedRT + `"},"last_refresh":"9999-01-01T00:00:00Z"}' "` +
					fakeapi.IDToken(fakeapi.Account{}, time.Now().Add(time.Hour)) + `" > .codex/auth.json`,
				"not of the stored account"},
			{"codex: 300 KB", "codex",
				`printf '{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"%s","access_token":"a","refresh_token":"` + forgedRT + `%s","account_id":"00000000-fake-acct-0000-000000000000"},"last_refresh":"` + now + `"}' "` +
					fakeapi.IDToken(fakeapi.Account{}, time.Now().Add(time.Hour)) + `" "$(head -c 300000 /dev/zero | tr '\0' x)" > .codex/auth.json`,
				"larger than"},
			{"codex: 50 MB", "codex", `head -c 52428800 /dev/zero | tr '\0' x > .codex/auth.json`, "larger than"},
			{"codex: another account", "codex",
				`printf '{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"%s","access_token":"%s","refresh_token":"` + forgedRT + `","account_id":"` + other.AccountID + `"},"last_refresh":"` + now + `"}' "` +
					fakeapi.IDToken(other, time.Now().Add(time.Hour)) + `" "` + fakeapi.AccessToken(other, time.Now().Add(time.Hour)) + `" > .codex/auth.json`,
				"not of the stored account"},
			{"gemini: another account", "gemini",
				`printf '{"access_token":"ya29.x","refresh_token":"` + forgedRT + `","token_type":"Bearer","expiry_date":` + strconv.FormatInt(time.Now().Add(30*time.Minute).UnixMilli(), 10) + `}' > .gemini/oauth_creds.json && printf '{"active":"other@example.com","old":[]}' > .gemini/google_accounts.json`,
				"not of the stored account"},
			{"gemini: expires in 9999", "gemini",
				`printf '{"access_token":"ya29.x","refresh_token":"` + forgedRT + `","token_type":"Bearer","expiry_date":253370764800000}' > .gemini/oauth_creds.json && printf '{"active":"dev@example.com","old":[]}' > .gemini/google_accounts.json`,
				"expires later than a refresh can make it"},
		}
		for _, c := range cases {
			a, _ := agent.Lookup(c.agent)
			before := w.stored(a, agent.Subscription).Secret
			w.ok("exec", "b", "--", "sh", "-c", "cd ~ && "+c.script)
			// hjk's peak memory through GNU time: the rusage of a child
			// Go starts counts the test process's own peak (it shares
			// its memory until exec).
			if _, err := os.Stat(timeBin); err != nil {
				t.Fatalf("%s is missing (.ci/install installs it): %v", timeBin, err)
			}
			rssFile := filepath.Join(t.TempDir(), "rss")
			cmd := w.command("stop", "b")
			cmd.Path, cmd.Args = timeBin, append([]string{timeBin, "-f", "%M", "-o", rssFile}, cmd.Args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			w.mu.Lock()
			w.said.Write(stdout.Bytes())
			w.said.Write(stderr.Bytes())
			w.mu.Unlock()
			if err != nil {
				t.Errorf("%s: hjk stop: %v\n%s", c.name, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.want) || !strings.Contains(stderr.String(), "the store keeps its "+c.agent+" login") {
				t.Errorf("%s: hjk stop warned %q, want %q", c.name, stderr.String(), c.want)
			}
			if found := forged.in(stderr.Bytes()); len(found) > 0 {
				t.Errorf("%s: the warning holds %v", c.name, found)
			}
			b, rerr := os.ReadFile(rssFile)
			rss, perr := strconv.Atoi(strings.TrimSpace(string(b)))
			if rerr != nil || perr != nil {
				t.Errorf("%s: hjk stop's peak memory: %q, %v, %v", c.name, b, rerr, perr)
			} else if rss > 100<<10 {
				t.Errorf("%s: hjk stop used %d MB", c.name, rss>>10)
			} else {
				t.Logf("%s: hjk stop: %d MB resident at most; warned: %s", c.name, rss>>10, strings.TrimSpace(stderr.String()))
			}
			if got := w.stored(a, agent.Subscription).Secret; got != before {
				t.Errorf("%s: the store changed", c.name)
			}
			w.ok("exec", "b", "--", "true") // start it again
		}
		// The logins still start agents: hjk hands the stored ones again.
		w.ok("run", "b", "--agent", "codex", "--", "--version")
		if e == "podman" {
			podmanDB(t, s)
		}
		w.scanInspect(s, w.instance("b"))
		watch.check(t)
		w.noSecretsSaid(s)
		w.noSecretsSaid(forged)
		if t.Failed() {
			out, _ := exec.Command(e, "ps", "-a").Output()
			t.Logf("%s", out)
		}
	})
}

// timeBin is GNU time (Debian's package time), which reports the peak
// memory of the one process it runs.
const timeBin = "/usr/bin/time"
