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
	"sync/atomic"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// The agents' own public OAuth clients and token endpoints, as their CLIs
// send them (codex 0.171.0: codex-rs/login/src/auth/manager.rs, and its
// refresh request seen against a fake endpoint: JSON with client_id,
// grant_type, refresh_token and refresh_reason, no scope; gemini-cli
// 0.61.0: packages/core/src/code_assist/oauth2.ts, an installed app whose
// client secret is public by design, refreshed by google-auth-library as a
// form).
const (
	codexClientID      = "app_EMoamEEZ73f0CkXaXp7hrann"
	codexTokenURL      = "https://auth.openai.com/oauth/token"
	geminiClientID     = "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com"
	geminiClientSecret = "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"
	geminiTokenURL     = "https://oauth2.googleapis.com/token"
)

// maxAnswer caps a token endpoint's answer.
const maxAnswer = 1 << 20

// Why a codex refresh happens, in codex's own words (refresh_reason).
const (
	reasonExpiry       = "proactive_expiry"      // the access token is about to expire
	reasonUnauthorized = "unauthorized_recovery" // an upstream refused it
)

// refresh renews h's login at its token endpoint. The caller holds h.mu.
// A codex refresh token is single-use: once the connection that carries it
// was made, it counts as sent and is never sent again, whatever came back.
func (k *Keeper) refresh(ctx context.Context, h *held, reason string) error {
	now := k.now()
	if h.failed != nil && now.Sub(h.failedAt) < retryFailed {
		return h.failed
	}
	l := h.login
	var (
		rt, endpoint string
		body         []byte
		contentType  string
	)
	switch l.Agent {
	case agent.Codex.Name:
		rt, endpoint = gjson.Get(l.Secret, "tokens.refresh_token").String(), codexTokenURL
		body, _ = json.Marshal(map[string]string{"client_id": codexClientID, "grant_type": "refresh_token", "refresh_reason": reason, "refresh_token": rt})
		contentType = "application/json"
	case agent.Gemini.Name:
		rt, endpoint = gjson.Get(l.Secret, "oauth_creds.refresh_token").String(), geminiTokenURL
		body = []byte(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {geminiClientID}, "client_secret": {geminiClientSecret}}.Encode())
		contentType = "application/x-www-form-urlencoded"
	default:
		return k.fail(h, "this login cannot be refreshed")
	}
	if rt == "" {
		return k.fail(h, "the login has no refresh token")
	}
	rotates := l.Agent == agent.Codex.Name
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
	secret, hasAccess, err := updated(l.Agent, l.Secret, a, k.now())
	if err != nil {
		return k.fail(h, err.Error())
	}
	if err := agent.Validate(mustAgent(l.Agent), l.Kind, secret); err != nil {
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

// updated returns secret with what a token endpoint answered: codex gets
// the tokens that came and last_refresh = now (as codex does); gemini the
// access token, its expiry_date (ms) and whatever else came.
func updated(agentName, secret string, a gjson.Result, now time.Time) (string, bool, error) {
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
	switch agentName {
	case agent.Codex.Name:
		if hasAccess {
			set("tokens.access_token", access)
		}
		if v, ok := str("id_token"); ok {
			if _, jerr := agent.JWTClaims(v); jerr == nil {
				set("tokens.id_token", v)
			}
		}
		if v, ok := str("refresh_token"); ok {
			set("tokens.refresh_token", v)
		}
		set("last_refresh", now.UTC().Format(time.RFC3339Nano))
	case agent.Gemini.Name:
		if hasAccess {
			set("oauth_creds.access_token", access)
			if in := a.Get("expires_in"); in.Type == gjson.Number && in.Int() > 0 {
				set("oauth_creds.expiry_date", now.Add(time.Duration(in.Int())*time.Second).UnixMilli())
			} else if err == nil {
				if secret, err = sjson.Delete(secret, "oauth_creds.expiry_date"); err != nil {
					err = errors.New("the token endpoint's answer could not be merged into the login")
				}
			}
		}
		for _, k := range []string{"refresh_token", "id_token", "scope", "token_type"} {
			if v, ok := str(k); ok {
				set("oauth_creds."+k, v)
			}
		}
	}
	if err != nil {
		return "", false, err
	}
	return secret, hasAccess, nil
}
