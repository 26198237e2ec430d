package agent

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// Validate checks that secret is a well-formed credential of kind k for a,
// in the transport format of its variable. Errors name what is wrong, never
// the value.
func Validate(a Agent, k Kind, secret string) error {
	if k == APIKey {
		return validateAPIKey(secret)
	}
	if a.Login.Validate == nil {
		return fmt.Errorf("unknown agent %q", a.Name)
	}
	return a.Login.Validate(secret)
}

func validateAPIKey(s string) error {
	if s == "" {
		return errors.New("API key is empty")
	}
	if len(s) > 4096 {
		return errors.New("API key is longer than 4096 bytes")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return errors.New("API key holds white space or control characters")
		}
		// Every provider's keys are ASCII; claude keys an approval by the
		// last 20 characters, which must survive JSON as they are.
		if r > 0x7e {
			return errors.New("API key holds characters other than printable ASCII")
		}
	}
	return nil
}

// object parses s as a JSON object, naming the variable in errors.
func object(s, name string) (gjson.Result, error) {
	if strings.TrimSpace(s) == "" {
		return gjson.Result{}, fmt.Errorf("%s is empty", name)
	}
	if !gjson.Valid(s) {
		return gjson.Result{}, fmt.Errorf("%s is not valid JSON", name)
	}
	r := gjson.Parse(s)
	if !r.IsObject() {
		return gjson.Result{}, fmt.Errorf("%s is not a JSON object", name)
	}
	return r, nil
}

func nonEmptyString(r gjson.Result, key string) bool {
	v := r.Get(gjson.Escape(key))
	return v.Type == gjson.String && v.Str != ""
}

// JWTClaims returns the claims of a JWT (the object in its middle part),
// verifying no signature: the gate reads an access token's exp this way to
// know when to refresh it. Errors never quote the token.
func JWTClaims(tok string) (gjson.Result, error) { return jwtClaims(tok) }

// jwtClaims checks that tok has the shape of a JWT (three base64url parts,
// the middle one a JSON object) and returns that object. It verifies no
// signature: that is the issuer's business, not ours.
func jwtClaims(tok string) (gjson.Result, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return gjson.Result{}, errors.New("is not a JWT (want three dot-separated parts)")
	}
	for _, p := range parts[:2] {
		if p == "" {
			return gjson.Result{}, errors.New("is not a JWT (an empty part)")
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return gjson.Result{}, errors.New("is not a JWT (its payload is not base64url)")
	}
	if !gjson.ValidBytes(raw) || !gjson.ParseBytes(raw).IsObject() {
		return gjson.Result{}, errors.New("is not a JWT (its payload is not a JSON object)")
	}
	return gjson.ParseBytes(raw), nil
}
