package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestChoose(t *testing.T) {
	osDefault := SecretService
	if runtime.GOOS == "darwin" {
		osDefault = Keychain
	}
	tests := []struct {
		getenv     func(string) string
		configured string
		want       string
		wantErr    string
	}{
		{env(), "", osDefault, ""},
		{env(), "file", File, ""},
		{env("HJK_STORE", "secret-service"), "file", SecretService, ""},
		{env("HJK_STORE", "file"), "keychain", File, ""},
		{env("HJK_STORE", "vault"), "", "", `unknown store "vault" in HJK_STORE (valid: keychain, secret-service, file)`},
		{env(), "plain", "", `unknown store "plain" in the config file's store (valid: keychain, secret-service, file)`},
	}
	for _, tt := range tests {
		got, err := Choose(tt.getenv, tt.configured)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Choose = %q, %v; want error %q", got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Choose(%q) = %q, %v; want %q", tt.configured, got, err, tt.want)
		}
	}
}

func TestOpenNeverFallsBack(t *testing.T) {
	// No bus at all: the Secret Service store is still what is returned,
	// and using it fails; nothing quietly becomes a file.
	dir := t.TempDir()
	s, err := Open(Options{Getenv: env(), ConfigDir: dir})
	if runtime.GOOS == "darwin" {
		t.Skip("the OS default is the Keychain here")
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*SecretServiceStore); !ok {
		t.Fatalf("Open chose %s", s.Name())
	}
	if err := s.Set("x", []byte("v")); err == nil {
		t.Fatal("Set without a bus succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("Open wrote into the config folder: %v", entries)
	}
}

func TestFileStore(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "hjk")
	var warn bytes.Buffer
	f := NewFile(dir, &warn)
	if _, err := f.Get("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on no file = %v", err)
	}
	if warn.Len() != 0 {
		t.Fatalf("a read warned: %s", warn.String())
	}
	if err := f.Set("a", []byte("fake-1")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "plaintext") || !strings.Contains(warn.String(), f.Path()) {
		t.Fatalf("Set warned %q, want a plaintext warning naming the file", warn.String())
	}
	warn.Reset()
	if err := f.Set("b", []byte("fake-2")); err != nil {
		t.Fatal(err)
	}
	if warn.Len() != 0 {
		t.Fatal("the same store warned twice: once per command is enough")
	}
	var warn2 bytes.Buffer
	if err := NewFile(dir, &warn2).Delete("b"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn2.String(), "plaintext") {
		t.Fatal("a second store (the next command) did not warn on writing")
	}
	if err := NewFile(dir, nil).Set("b", []byte("fake-2")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, f.Path(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", path, fi.Mode().Perm(), want)
		}
	}
	// A second store on the same file sees the writes.
	g := NewFile(dir, nil)
	if v, err := g.Get("a"); err != nil || string(v) != "fake-1" {
		t.Fatalf("Get(a) = %q, %v", v, err)
	}
	names, err := g.List()
	if err != nil || strings.Join(names, ",") != "a,b" {
		t.Fatalf("List = %v, %v", names, err)
	}
	if err := g.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if err := g.Delete("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete twice = %v", err)
	}
	// No temporary file is left beside it.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestFileStoreBrokenFileKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := NewFile(dir, nil)
	broken := []byte(`{"items": {"a": "sk-fake-SECRET"`)
	if err := os.WriteFile(f.Path(), broken, 0o600); err != nil {
		t.Fatal(err)
	}
	err := f.Set("b", []byte("v"))
	if err == nil || !strings.Contains(err.Error(), "not valid JSON") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("Set on a broken file = %v", err)
	}
	if b, _ := os.ReadFile(f.Path()); !bytes.Equal(b, broken) {
		t.Fatal("the broken file was changed")
	}
}

func TestFileStoreConcurrentWriters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := NewFile(dir, nil).Set(string(rune('a'+i)), []byte("v")); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	names, err := NewFile(dir, nil).List()
	if err != nil || len(names) != 20 {
		t.Fatalf("List after 20 concurrent writers = %d names, %v", len(names), err)
	}
}

func TestCredentialLayer(t *testing.T) {
	t.Parallel()
	s := NewMemory()
	_, err := LoadCredential(s, agent.Claude, "")
	var nc *NotConfiguredError
	if !errors.As(err, &nc) || err.Error() != "claude auth not configured" || nc.Command() != "hjk auth claude" || !errors.Is(err, ErrNotFound) {
		t.Fatalf("LoadCredential on an empty store = %v", err)
	}
	_, err = LoadCredential(s, agent.Codex, "work")
	if !errors.As(err, &nc) || nc.Command() != "hjk auth codex --account work" {
		t.Fatalf("LoadCredential(work) = %v", err)
	}

	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sub := agent.Credential{Kind: agent.Subscription, Secret: "sk-ant-oat01-fake", CapturedAt: t0}
	key := agent.Credential{Kind: agent.APIKey, Secret: "sk-ant-api03-fake", CapturedAt: t0.Add(time.Hour)}
	if err := SaveCredential(s, agent.Claude, "", sub); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadCredential(s, agent.Claude, ""); err != nil || c.Kind != agent.Subscription || c.Secret != sub.Secret {
		t.Fatalf("LoadCredential = %v, %v", c, err)
	}
	if err := SaveCredential(s, agent.Claude, "", key); err != nil {
		t.Fatal(err)
	}
	// The most recently captured kind wins.
	if c, err := LoadCredential(s, agent.Claude, ""); err != nil || c.Kind != agent.APIKey {
		t.Fatalf("LoadCredential with both = %v, %v; want the later API key", c, err)
	}
	sub.CapturedAt = t0.Add(2 * time.Hour)
	if err := SaveCredential(s, agent.Claude, "", sub); err != nil {
		t.Fatal(err)
	}
	if c, _ := LoadCredential(s, agent.Claude, ""); c.Kind != agent.Subscription {
		t.Fatalf("LoadCredential after a new login = %v", c)
	}
	// Accounts are separate.
	if _, err := LoadCredential(s, agent.Claude, "work"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("work account = %v", err)
	}

	// Nothing invalid is stored.
	err = SaveCredential(s, agent.Claude, "x", agent.Credential{Kind: agent.Subscription, Secret: "sk-ant-api03-not-a-login"})
	if err == nil || strings.Contains(err.Error(), "not-a-login") {
		t.Fatalf("SaveCredential(invalid) = %v", err)
	}
	if err := SaveCredential(s, agent.Claude, "a b", sub); err == nil {
		t.Fatal("SaveCredential accepted a bad account name")
	}
	items, _ := s.List()
	if strings.Join(items, ",") != "claude-api-key,claude-oidc-token" {
		t.Fatalf("items = %v", items)
	}

	es, err := ListCredentials(s)
	if err != nil || len(es) != 2 || es[0].Kind != agent.Subscription || es[1].Kind != agent.APIKey {
		t.Fatalf("ListCredentials = %+v, %v", es, err)
	}

	if err := DeleteCredential(s, agent.Claude, agent.APIKey, ""); err != nil {
		t.Fatal(err)
	}
	err = DeleteCredential(s, agent.Claude, agent.APIKey, "")
	if !errors.As(err, &nc) || err.Error() != "claude API key not configured" || nc.Command() != "hjk auth claude --api-key" {
		t.Fatalf("DeleteCredential twice = %v", err)
	}
}

func TestListCredentialsShowsBrokenItems(t *testing.T) {
	t.Parallel()
	s := NewMemory()
	_ = s.Set("codex-oauth-creds@work", []byte("{not json"))
	_ = s.Set("someone-elses-item", []byte("x"))
	es, err := ListCredentials(s)
	if err != nil || len(es) != 1 || es[0].Err == nil || es[0].Account != "work" {
		t.Fatalf("ListCredentials = %+v, %v", es, err)
	}
}

func TestStoreErrorsPassThrough(t *testing.T) {
	t.Parallel()
	s := &Memory{Err: errors.New("keyring is locked")}
	_, err := LoadCredential(s, agent.Gemini, "")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("LoadCredential on a failing store = %v; want its error, not 'not configured'", err)
	}
}

// Items written by the older design hold the bare secret: they still load.
func TestLoadLegacyBareSecrets(t *testing.T) {
	t.Parallel()
	s := NewMemory()
	gemini := `{"oauth_creds":{"refresh_token":"1//fake"},"google_accounts":{"active":"a@example.com"}}`
	_ = s.Set("claude-oidc-token", []byte("sk-ant-oat01-legacyFAKE"))
	_ = s.Set("gemini-oauth-creds", []byte(gemini))
	_ = s.Set("codex-oauth-creds", []byte("not a codex payload"))
	c, err := LoadCredential(s, agent.Claude, "")
	if err != nil || c.Kind != agent.Subscription || c.Secret != "sk-ant-oat01-legacyFAKE" || !c.CapturedAt.IsZero() {
		t.Fatalf("legacy claude = %v, %v", c, err)
	}
	if c, err := LoadCredential(s, agent.Gemini, ""); err != nil || c.Secret != gemini {
		t.Fatalf("legacy gemini = %v, %v", c, err)
	}
	if _, err := LoadCredential(s, agent.Codex, ""); err == nil || errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "not a codex") {
		t.Fatalf("broken codex item = %v; want an error that does not quote it", err)
	}
}
