package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// standInCodex stands for codex: it prints a hash of the refresh token its
// auth.json holds (never the token), and with "rotate" does what codex does
// when it refreshes: it rewrites auth.json with a new single-use refresh
// token ("<old>-rotated") and a later last_refresh, by rename, 0600.
const standInCodex = `#!/bin/sh
set -eu
f="${CODEX_HOME:-$HOME/.codex}/auth.json"
rt=$(sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p' "$f")
printf 'refresh-sha256=%s\n' "$(printf %s "$rt" | sha256sum | cut -d' ' -f1)"
if [ "${1:-}" = rotate ]; then
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  sed -e "s/\"refresh_token\":\"[^\"]*\"/\"refresh_token\":\"$rt-rotated\"/" \
      -e "s/\"last_refresh\":\"[^\"]*\"/\"last_refresh\":\"$now\"/" "$f" >"$f.tmp"
  chmod 600 "$f.tmp"
  mv "$f.tmp" "$f"
  echo rotated
fi
`

// refreshImage builds, on the harness's image, one with the stand-in codex,
// a user "agent" (uid 1000) and a file only root may read, and makes it the
// image of new instances.
func refreshImage(t *testing.T, h *harness) {
	t.Helper()
	dir := t.TempDir()
	// One image per test: each removes its own when it ends.
	tag := fmt.Sprintf("hjke2e-refresh-%s:%d", strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), os.Getpid())
	os.WriteFile(filepath.Join(dir, "codex"), []byte(standInCodex), 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+h.image+"\nCOPY codex /usr/local/bin/codex\n"+
		// A label of its own: two tests building the same content would
		// share one image, and one's rmi -f would take it from the other.
		"LABEL dev.hjk.e2e.tag="+tag+"\n"+
		"RUN useradd -m -u 1000 agent && printf root-only-e2eFAKE >/root/only-root && chmod 600 /root/only-root\n"), 0o644)
	if out, err := exec.Command(h.engine, "build", "-q", "-t", tag, dir).CombinedOutput(); err != nil {
		t.Fatalf("%s build: %v: %s", h.engine, err, out)
	}
	t.Cleanup(func() { exec.Command(h.engine, "rmi", "-f", tag).Run() })
	if err := os.WriteFile(filepath.Join(h.config, "config.toml"), []byte("image = \""+tag+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestRefreshTakenBack: codex refreshes its login in one instance's
// container; hjk takes the new single-use refresh token back into the store
// when the session ends, and a session in a second instance gets it. An
// instance keeps its account (--account work) for later sessions; `hjk
// stop` and `hjk recreate` take back a refresh made outside a session; an older copy never
// replaces a newer one (`hjk rm`). No token shows in hjk's output.
func TestRefreshTakenBack(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		refreshImage(t, h)
		b := make([]byte, 12)
		rand.Read(b)
		rt := "rt-e2eFAKE" + hex.EncodeToString(b)
		claims := base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1893456000}`))
		auth := `{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{"id_token":"eyJhbGciOiJub25lIn0.` + claims +
			`.c2ln","access_token":"at-e2eFAKE","refresh_token":"` + rt + `","account_id":"acc-work"},"last_refresh":"2020-01-01T00:00:00Z"}`
		st := store.NewFile(h.config, nil)
		if err := store.SaveCredential(st, agent.Codex, "work", agent.Credential{Kind: agent.Subscription, Secret: auth}); err != nil {
			t.Fatal(err)
		}
		stored := func() string {
			t.Helper()
			c, err := store.LoadKind(store.NewFile(h.config, nil), agent.Codex, agent.Subscription, "work")
			if err != nil {
				t.Fatal(err)
			}
			return gjson.Get(c.Secret, "tokens.refresh_token").String()
		}
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
		out := run("run", "one", "--agent", "codex", "--account", "work", "--", "rotate")
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
		out = run("run", "two", "--agent", "codex", "--account", "work")
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
		run("run", "two", "--agent", "codex", "--account", "other")
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

// TestExportAsUser: in a container running as root, `hjk-init export` with
// HJK_USER reads the home hjk-init wrote for that user, as that user: a
// file the agent pointed at something only root may read stays unread.
func TestExportAsUser(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		refreshImage(t, h)
		h.ok("run", "asuser", "--agent", "shell", "true")
		name := h.ps()["asuser"].Name
		claims := base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1893456000}`))
		auth := `{"tokens":{"id_token":"eyJhbGciOiJub25lIn0.` + claims + `.c2ln","access_token":"at-e2eFAKE","refresh_token":"rt-e2eFAKE-user","account_id":"a"},"last_refresh":"2026-11-27T00:00:00Z"}`
		exe := func(env []string, args ...string) (string, string, int) {
			t.Helper()
			argv := []string{"exec"}
			for _, e := range env {
				k, _, _ := strings.Cut(e, "=")
				argv = append(argv, "-e", k)
			}
			cmd := exec.Command(h.engine, append(append(argv, name), args...)...)
			cmd.Env = append(os.Environ(), env...)
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			return out.String(), errb.String(), code
		}
		user := []string{agent.UserVar + "=agent"}
		if out, _, code := exe(user, instance.InitPath, "export", "codex"); code != 3 || out != "" {
			t.Fatalf("export before any login: exit %d, %d bytes out; want 3 and nothing", code, len(out))
		}
		if _, errs, code := exe(append(user, agent.Codex.SubscriptionVar+"="+auth), instance.InitPath, "--", "true"); code != 0 {
			t.Fatalf("hjk-init writing the login for HJK_USER=agent: exit %d: %s", code, errs)
		}
		if owner, _, _ := exe(nil, "stat", "-c", "%U", "/home/agent/.codex/auth.json"); strings.TrimSpace(owner) != "agent" {
			t.Fatalf("auth.json in agent's home belongs to %q", owner)
		}
		out, errs, code := exe(user, instance.InitPath, "export", "codex")
		if code != 0 || strings.TrimSpace(out) != auth {
			t.Fatalf("export as HJK_USER=agent: exit %d (%s), and %s", code, errs, map[bool]string{true: "the login as written", false: "not the login hjk-init wrote"}[strings.TrimSpace(out) == auth])
		}
		// As root without HJK_USER, root's home holds no login.
		if _, _, code := exe(nil, instance.InitPath, "export", "codex"); code != 3 {
			t.Errorf("export as root without HJK_USER: exit %d, want 3 (root's home has no login)", code)
		}
		exe(nil, "ln", "-sf", "/root/only-root", "/home/agent/.codex/auth.json")
		out, errs, code = exe(user, instance.InitPath, "export", "codex")
		if code != 125 || out != "" || !strings.Contains(errs, "permission denied") {
			t.Errorf("export through a link to a root-only file: exit %d, %d bytes out, stderr %q; want 125, nothing, permission denied", code, len(out), errs)
		}
		if strings.Contains(out+errs, "root-only-e2eFAKE") || strings.Contains(out+errs, "rt-e2eFAKE") {
			t.Error("export showed a file's content in its error")
		}

		// Another --account switches the instance, and says so.
		r := h.hjk("run", "asuser", "--agent", "shell", "--account", "personal", "true")
		if r.code != 0 || !strings.Contains(r.stderr, `the instance of "asuser" now uses account personal (was the default)`) {
			t.Errorf("switching the account: exit %d, stderr %q", r.code, r.stderr)
		}
		if acc := h.ps()["asuser"].Account; acc != "personal" {
			t.Errorf("after --account personal, hjk ps shows account %q", acc)
		}
	})
}
