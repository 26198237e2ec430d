package keeper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// maxAnswer caps a token endpoint's answer.
const maxAnswer = 1 << 20

// Why a codex refresh happens, in codex's own words (refresh_reason).
const (
	reasonExpiry       = "proactive_expiry"      // the access token is about to expire
	reasonUnauthorized = "unauthorized_recovery" // an upstream refused it
)

// refresh renews h's login at its token endpoint, as the agent's row says
// (its Login's client and GateLogin.TokenURL). The caller holds h.mu. A
// single-use refresh token (codex's): once the connection that carries it
// was made, it counts as sent and is never sent again, whatever came back.
func (k *Keeper) refresh(ctx context.Context, h *held, reason string) error {
	now := k.now()
	if h.failed != nil && now.Sub(h.failedAt) < retryFailed {
		return h.failed
	}
	l := h.login
	ag := mustAgent(l.Agent)
	c := ag.Login
	if c.ClientID == "" || ag.GateLogin.TokenURL == "" {
		return k.fail(h, "this login cannot be refreshed")
	}
	rt, endpoint := gjson.Get(l.Secret, c.Refresh).String(), ag.GateLogin.TokenURL
	if rt == "" {
		return k.fail(h, "the login has no refresh token")
	}
	body, contentType := request(c, rt, reason)
	rotates := c.SingleUse
	if rotates && h.spent[rt] {
		return k.fail(h, "its refresh token was already used")
	}
	if l.TokenURL != "" {
		endpoint = l.TokenURL
	}
	client, err := k.client(l.CAPEM)
	if err != nil {
		return k.fail(h, "its ca_pem does not parse")
	}
	defer client.CloseIdleConnections()

	var connected atomic.Bool
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return k.fail(h, "its token endpoint is not a URL")
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if rotates && connected.Load() {
		h.spent[rt] = true
	}
	if err != nil {
		return k.fail(h, "the token endpoint could not be reached")
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil || len(answer) > maxAnswer {
		return k.fail(h, "the token endpoint's answer could not be read")
	}
	if resp.StatusCode != http.StatusOK {
		return k.fail(h, fmt.Sprintf("the token endpoint answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	a := gjson.ParseBytes(answer)
	if !gjson.ValidBytes(answer) || !a.IsObject() {
		return k.fail(h, "the token endpoint's answer is not a JSON object")
	}
	secret, hasAccess, err := updated(c, l.Secret, a, k.now())
	if err != nil {
		return k.fail(h, err.Error())
	}
	if err := agent.Validate(ag, l.Kind, secret); err != nil {
		return k.fail(h, "the token endpoint's answer did not make a valid login")
	}
	// Kept even without an access token: a rotated refresh token must
	// not be lost.
	h.login.Secret, h.rotated, h.at = secret, true, k.now()
	if !hasAccess {
		return k.fail(h, "the token endpoint's answer holds no access_token")
	}
	h.failed = nil
	k.log.Printf("refresh done %s", l.Item)
	return nil
}

// fail records a refresh failure and words it.
func (k *Keeper) fail(h *held, status string) error {
	h.failed, h.failedAt = k.failure(h, status), k.now()
	k.log.Printf("refresh failed %s: %s", h.login.Item, status)
	return h.failed
}

func mustAgent(name string) agent.Agent {
	a, _ := agent.Lookup(name)
	return a
}

// request is the body of a refresh of token rt with login c's client: a
// form or JSON, with codex's refresh_reason when c sends one.
func request(c agent.Login, rt, reason string) ([]byte, string) {
	f := map[string]string{"client_id": c.ClientID, "grant_type": "refresh_token", "refresh_token": rt}
	if c.ClientSecret != "" {
		f["client_secret"] = c.ClientSecret
	}
	if c.SendReason {
		f["refresh_reason"] = reason
	}
	if c.Form {
		v := url.Values{}
		for k, x := range f {
			v.Set(k, x)
		}
		return []byte(v.Encode()), "application/x-www-form-urlencoded"
	}
	b, _ := json.Marshal(f)
	return b, "application/json"
}

// updated returns secret with what a token endpoint answered, as login c
// says: the access token and c.Answer's fields that came, under c.Tokens;
// the expiry (ms) from expires_in, or none, when the payload keeps one;
// the refresh time = now when it keeps one (codex: last_refresh, as codex
// does).
func updated(c agent.Login, secret string, a gjson.Result, now time.Time) (string, bool, error) {
	var err error
	// A value that goes in a header must be printable ASCII without
	// spaces; an answer with anything else in a token is refused whole.
	// A scope is a list separated by spaces (RFC 6749 3.3), in no header.
	str := func(k string) (string, bool) {
		v := a.Get(k)
		if v.Type != gjson.String || v.Str == "" {
			return "", false
		}
		low := byte(0x21)
		if k == "scope" {
			low = 0x20
		}
		for i := 0; i < len(v.Str); i++ {
			if v.Str[i] < low || v.Str[i] > 0x7e {
				err = fmt.Errorf("the token endpoint's answer holds a %s that is not printable ASCII", k)
				return "", false
			}
		}
		return v.Str, true
	}
	set := func(path string, v any) {
		if err == nil {
			if secret, err = sjson.Set(secret, path, v); err != nil {
				err = errors.New("the token endpoint's answer could not be merged into the login")
			}
		}
	}
	access, hasAccess := str("access_token")
	if hasAccess {
		set(c.Access, access)
		if c.Expiry != "" {
			if in := a.Get("expires_in"); in.Type == gjson.Number && in.Int() > 0 {
				set(c.Expiry, now.Add(time.Duration(in.Int())*time.Second).UnixMilli())
			} else if err == nil {
				if secret, err = sjson.Delete(secret, c.Expiry); err != nil {
					err = errors.New("the token endpoint's answer could not be merged into the login")
				}
			}
		}
	}
	for _, k := range c.Answer {
		if v, ok := str(k); ok {
			if slices.Contains(c.JWTFields, k) {
				if _, jerr := agent.JWTClaims(v); jerr != nil {
					continue
				}
			}
			set(c.Tokens+"."+k, v)
		}
	}
	if c.Refreshed != "" {
		set(c.Refreshed, now.UTC().Format(time.RFC3339Nano))
	}
	if err != nil {
		return "", false, err
	}
	return secret, hasAccess, nil
}
