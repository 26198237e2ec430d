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

// Describe reads Info from a credential's secret, by the paths of the
// agent's Login. It never fails: a payload it cannot read simply tells
// nothing.
func Describe(a Agent, c Credential) Info {
	if c.Kind != Subscription {
		return Info{}
	}
	l, s := a.Login, c.Secret
	var in Info
	if l.Lifetime > 0 && !c.CapturedAt.IsZero() {
		in.Expires = c.CapturedAt.Add(l.Lifetime).UTC()
	}
	if l.Refresh != "" {
		in.Renews = gjson.Get(s, l.Refresh).String() != ""
	}
	if l.Expiry != "" {
		if ms := gjson.Get(s, l.Expiry); ms.Type == gjson.Number {
			in.Expires = time.UnixMilli(ms.Int()).UTC()
		}
	}
	if l.ExpiryJWT != "" {
		if exp, ok := jwtExp(gjson.Get(s, l.ExpiryJWT).String()); ok {
			in.Expires = exp.UTC()
		}
	}
	if l.Refreshed != "" {
		if t, err := time.Parse(time.RFC3339Nano, gjson.Get(s, l.Refreshed).String()); err == nil {
			in.Refreshed = t.UTC()
		}
	}
	return in
}

// jwtExp is the exp claim of a JWT.
func jwtExp(tok string) (time.Time, bool) {
	claims, err := jwtClaims(tok)
	if err != nil {
		return time.Time{}, false
	}
	exp := claims.Get("exp")
	if exp.Type != gjson.Number {
		return time.Time{}, false
	}
	return time.Unix(exp.Int(), 0), true
}

// Newer reports whether candidate, read back from a container, is a fresher
// copy of the same login than stored: the agent refreshed it there, and the
// store must take it or the next session starts from a dead refresh token.
// A candidate of another kind, or one that tells no time, is never newer: a
// login the user renewed on the host must not be overwritten by an old copy.
// Only a login that rotates is ever newer.
func Newer(a Agent, stored, candidate Credential) bool {
	if !a.Login.Rotates || stored.Kind != Subscription || candidate.Kind != Subscription || stored.Secret == candidate.Secret {
		return false
	}
	s, c := Describe(a, stored), Describe(a, candidate)
	if a.Login.Refreshed == "" {
		return c.Expires.After(s.Expires)
	}
	if c.Refreshed.After(s.Refreshed) {
		return true
	}
	// Same refresh time but a rotated refresh token: the agent wrote it
	// after the last refresh we know of.
	return !c.Refreshed.IsZero() && c.Refreshed.Equal(s.Refreshed) && a.Login.Refresh != "" &&
		gjson.Get(candidate.Secret, a.Login.Refresh).String() != gjson.Get(stored.Secret, a.Login.Refresh).String()
}
