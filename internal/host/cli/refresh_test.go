package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// exportEngine answers `hjk-init export AGENT` execs from a table and
// records every exec; any other call panics through the nil interface.
type exportEngine struct {
	runtime.Runtime
	logins  map[string]string // agent -> what export prints; missing: exit 3
	refuse  bool              // the container is not running
	execs   []string
	envSeen [][]string
}

func (e *exportEngine) Exec(_ context.Context, spec runtime.ExecSpec) error {
	e.execs = append(e.execs, strings.Join(spec.Cmd, " "))
	e.envSeen = append(e.envSeen, spec.Values)
	if e.refuse {
		return &runtime.ExitError{Code: 1, Stderr: "Error response from daemon: container abc is not running"}
	}
	if len(spec.Cmd) != 3 || spec.Cmd[0] != instance.InitPath || spec.Cmd[1] != "export" {
		return fmt.Errorf("unexpected exec %q", spec.Cmd)
	}
	out, ok := e.logins[spec.Cmd[2]]
	if !ok {
		return &runtime.ExitError{Code: 3}
	}
	_, err := spec.Stdout.Write([]byte(out))
	return err
}

func codexLogin(refresh, last string) string {
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1893456000}`))
	return `{"tokens":{"id_token":"eyJhbGciOiJub25lIn0.` + claims + `.c2ln","access_token":"at-fake","refresh_token":"` + refresh +
		`","account_id":"acc"},"last_refresh":"` + last + `"}`
}

// TestTakeBackAll: before stop, rm and recreate, one export per agent the
// store hands a subscription login for the instance's account (none for
// claude, none for an API key), the newer login stored, nothing of it shown.
func TestTakeBackAll(t *testing.T) {
	gemini := `{"oauth_creds":{"access_token":"ya29.fake","refresh_token":"1//fake-cli","expiry_date":1800000000000}}`
	tests := []struct {
		name      string
		stored    map[string]agent.Credential
		eng       exportEngine
		wantExecs []string
		wantCodex string // refresh token stored afterwards
		wantOut   string // on stderr
	}{
		{name: "codex and gemini, codex refreshed",
			stored: map[string]agent.Credential{
				"codex":  {Kind: agent.Subscription, Secret: codexLogin("rt-fake-old", "2026-11-20T00:00:00Z")},
				"gemini": {Kind: agent.Subscription, Secret: gemini},
				"claude": {Kind: agent.Subscription, Secret: agent.ClaudeTokenPrefix + strings.Repeat("x", 80)},
			},
			eng:       exportEngine{logins: map[string]string{"codex": codexLogin("rt-fake-new", "2026-11-28T00:00:00Z"), "gemini": gemini}},
			wantExecs: []string{instance.InitPath + " export gemini", instance.InitPath + " export codex"},
			wantCodex: "rt-fake-new", wantOut: "took back the codex login of account work"},
		{name: "codex api key only",
			stored:    map[string]agent.Credential{"codex": {Kind: agent.APIKey, Secret: "sk-fake-0123456789abcdef"}},
			eng:       exportEngine{logins: map[string]string{"codex": codexLogin("rt-fake-new", "2026-11-28T00:00:00Z")}},
			wantExecs: nil},
		{name: "not running: one try, quiet",
			stored: map[string]agent.Credential{
				"codex":  {Kind: agent.Subscription, Secret: codexLogin("rt-fake-old", "2026-11-20T00:00:00Z")},
				"gemini": {Kind: agent.Subscription, Secret: gemini},
			},
			eng:       exportEngine{refuse: true},
			wantExecs: []string{instance.InitPath + " export gemini"},
			wantCodex: "rt-fake-old"},
		{name: "nothing in the container",
			stored: map[string]agent.Credential{
				"codex": {Kind: agent.Subscription, Secret: codexLogin("rt-fake-old", "2026-11-20T00:00:00Z")},
			},
			wantExecs: []string{instance.InitPath + " export codex"},
			wantCodex: "rt-fake-old"},
		{name: "malformed from the container",
			stored: map[string]agent.Credential{
				"codex": {Kind: agent.Subscription, Secret: codexLogin("rt-fake-old", "2026-11-20T00:00:00Z")},
			},
			eng:       exportEngine{logins: map[string]string{"codex": `{"tokens":{"refresh_token":"rt-fake-new"}}`}},
			wantExecs: []string{instance.InitPath + " export codex"},
			wantCodex: "rt-fake-old", wantOut: "hjk: warning: the codex login read back from the container is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := store.NewMemory()
			for name, c := range tt.stored {
				a, _ := agent.Lookup(name)
				if err := store.SaveCredential(st, a, "work", c); err != nil {
					t.Fatal(err)
				}
			}
			var stderr bytes.Buffer
			app := NewApp(nil, &bytes.Buffer{}, &stderr, func(string) string { return "" })
			app.OpenStore = func() (store.Store, error) { return st, nil }
			eng := &tt.eng
			is := &instances{
				cfg: config.Config{Agents: map[string]config.AgentConfig{"codex": {Env: map[string]string{"CODEX_HOME": "/work/codex"}}}},
				mgr: &instance.Manager{Runtime: func(string) (runtime.Runtime, error) { return eng, nil }},
			}
			in := instance.Instance{Name: "hjk-r-b", Branch: "b", Account: "work", Runtime: "docker"}
			app.takeBackAll(context.Background(), is, in)
			if strings.Join(eng.execs, "\n") != strings.Join(tt.wantExecs, "\n") {
				t.Errorf("execs:\n%s\nwant:\n%s", strings.Join(eng.execs, "\n"), strings.Join(tt.wantExecs, "\n"))
			}
			for i, x := range eng.execs {
				if strings.HasSuffix(x, "codex") && !(len(eng.envSeen[i]) == 1 && eng.envSeen[i][0] == "CODEX_HOME=/work/codex") {
					t.Errorf("export codex got env %q, want the configured CODEX_HOME", eng.envSeen[i])
				}
			}
			if tt.wantCodex != "" {
				c, err := store.LoadKind(st, agent.Codex, agent.Subscription, "work")
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(c.Secret, `"refresh_token":"`+tt.wantCodex+`"`) {
					t.Errorf("the store does not hold the expected codex refresh token (%s)", tt.wantCodex)
				}
			}
			if tt.wantOut == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.wantOut) {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.wantOut)
			}
			if strings.Contains(stderr.String(), "rt-fake") || strings.Contains(stderr.String(), "1//fake") {
				t.Errorf("a token is on stderr")
			}
		})
	}
}
