package agent

import (
	"time"

	"github.com/tidwall/gjson"
)

// Info is what a payload tells about itself without revealing it: when it
// expires and when it was last refreshed. Zero times mean "not known".
type Info struct {
	Expires   time.Time // gemini expiry_date, codex id_token exp, claude token's year
	Refreshed time.Time // codex last_refresh
	// Renews says the agent renews Expires by itself with a refresh token:
	// an access token running out is then routine, not the user's problem.
	Renews bool
}

// ClaudeTokenLifetime is how long a `claude setup-token` token is good for.
// The token tells nothing itself, so its capture time stands for its issue.
const ClaudeTokenLifetime = 365 * 24 * time.Hour

// Describe reads Info from a credential's secret. It never fails: a payload
// it cannot read simply tells nothing.
func Describe(a Agent, c Credential) Info {
	if c.Kind != Subscription {
		return Info{}
	}
	var in Info
	switch a.Name {
	case Claude.Name:
		if !c.CapturedAt.IsZero() {
			in.Expires = c.CapturedAt.Add(ClaudeTokenLifetime).UTC()
		}
	case Gemini.Name:
		in.Renews = gjson.Get(c.Secret, "oauth_creds.refresh_token").String() != ""
		if ms := gjson.Get(c.Secret, "oauth_creds.expiry_date"); ms.Type == gjson.Number {
			in.Expires = time.UnixMilli(ms.Int()).UTC()
		}
	case Codex.Name:
		in.Renews = gjson.Get(c.Secret, "tokens.refresh_token").String() != ""
		if claims, err := jwtClaims(gjson.Get(c.Secret, "tokens.id_token").String()); err == nil {
			if exp := claims.Get("exp"); exp.Type == gjson.Number {
				in.Expires = time.Unix(exp.Int(), 0).UTC()
			}
		}
		if t, err := time.Parse(time.RFC3339Nano, gjson.Get(c.Secret, "last_refresh").String()); err == nil {
			in.Refreshed = t.UTC()
		}
	}
	return in
}

// Newer reports whether candidate, read back from a container, is a fresher
// copy of the same login than stored: the agent refreshed it there, and the
// store must take it or the next session starts from a dead refresh token.
// A candidate of another kind, or one that tells no time, is never newer: a
// login the user renewed on the host must not be overwritten by an old copy.
func Newer(a Agent, stored, candidate Credential) bool {
	if stored.Kind != Subscription || candidate.Kind != Subscription || stored.Secret == candidate.Secret {
		return false
	}
	switch a.Name {
	case Codex.Name:
		s, c := Describe(a, stored), Describe(a, candidate)
		if c.Refreshed.After(s.Refreshed) {
			return true
		}
		// Same refresh time but a rotated refresh token: codex wrote it
		// after the last refresh we know of.
		return !c.Refreshed.IsZero() && c.Refreshed.Equal(s.Refreshed) &&
			gjson.Get(candidate.Secret, "tokens.refresh_token").String() != gjson.Get(stored.Secret, "tokens.refresh_token").String()
	case Gemini.Name:
		return Describe(a, candidate).Expires.After(Describe(a, stored).Expires)
	}
	return false
}
