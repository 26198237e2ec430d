package keeper

import (
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/tidwall/gjson"
)

// FuzzMergeAnswer: whatever a token endpoint answers, merging it into a
// login never panics, and what it keeps is still a login of the agent.
func FuzzMergeAnswer(f *testing.F) {
	f.Add("codex", `{"access_token":"a","refresh_token":"r2","id_token":"e30.e30.e30"}`)
	f.Add("codex", `{"access_token":1,"id_token":"not a jwt"}`)
	f.Add("gemini", `{"access_token":"ya29.x","expires_in":3599,"scope":"s"}`)
	f.Add("gemini", `{"access_token":"ya29.x","expires_in":-5,"refresh_token":""}`)
	codex := `{"tokens":{"id_token":"e30.e30.e30","access_token":"a0","refresh_token":"r0","account_id":"x"},"last_refresh":"2026-01-01T00:00:00Z"}`
	gemini := `{"oauth_creds":{"access_token":"ya29.old","refresh_token":"1//r","expiry_date":1},"google_accounts":{"active":"a@example.com"}}`
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, agentName, answer string) {
		secret := map[string]string{"codex": codex, "gemini": gemini}[agentName]
		if secret == "" || !gjson.Valid(answer) || !gjson.Parse(answer).IsObject() {
			return
		}
		a, _ := agent.Lookup(agentName)
		out, hasAccess, err := updated(a.Login, secret, gjson.Parse(answer), now)
		if err != nil {
			return
		}
		if err := agent.Validate(a, agent.Subscription, out); err != nil {
			t.Fatalf("merging %q made an invalid %s login: %v", answer, agentName, err)
		}
		path := map[string]string{"codex": "tokens.", "gemini": "oauth_creds."}[agentName]
		if hasAccess && gjson.Get(out, path+"access_token").String() != gjson.Get(answer, "access_token").String() {
			t.Fatal("the access token that came is not the one kept")
		}
		if rt := gjson.Get(answer, "refresh_token"); !(rt.Type == gjson.String && rt.Str != "") &&
			gjson.Get(out, path+"refresh_token").String() != gjson.Get(secret, path+"refresh_token").String() {
			t.Fatal("the refresh token changed though none came")
		}
	})
}
