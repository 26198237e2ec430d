package agent

import (
	"time"

	"github.com/tidwall/gjson"
)

// Info is what a payload tells about itself without revealing it: when it
// expires and when it was last refreshed. Zero times mean "not known".
type Info struct {
	Expires   time.Time // gemini expiry_date, codex id_token exp
	Refreshed time.Time // codex last_refresh
}

// Describe reads Info from a credential's secret. It never fails: a payload
// it cannot read simply tells nothing.
func Describe(a Agent, c Credential) Info {
	if c.Kind != Subscription {
		return Info{}
	}
	var in Info
	switch a.Name {
	case Gemini.Name:
		if ms := gjson.Get(c.Secret, "oauth_creds.expiry_date"); ms.Type == gjson.Number {
			in.Expires = time.UnixMilli(ms.Int()).UTC()
		}
	case Codex.Name:
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
