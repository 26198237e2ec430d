package fakeapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// The public OAuth clients of the CLIs (installed-app values, shipped in
// their code). The fake token endpoints refuse any other, so a refresher
// under test proves it sends the right one.
const (
	codexClientID      = "app_EMoamEEZ73f0CkXaXp7hrann"
	geminiClientID     = "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com"
	geminiClientSecret = "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"
)

// tokenRequest is a refresh as either endpoint takes it: OpenAI's as JSON
// (codex sends JSON), Google's as a form.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	RefreshToken string `json:"refresh_token"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

func parseTokenRequest(r *http.Request, body []byte) (tokenRequest, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var t tokenRequest
	switch ct {
	case "application/json":
		if err := json.Unmarshal(body, &t); err != nil {
			return t, fmt.Errorf("body is not JSON: %v", err)
		}
	case "application/x-www-form-urlencoded":
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return t, fmt.Errorf("body is not a form: %v", err)
		}
		t = tokenRequest{GrantType: f.Get("grant_type"), RefreshToken: f.Get("refresh_token"),
			ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret")}
	default:
		return t, fmt.Errorf("content type %q is neither JSON nor a form", ct)
	}
	return t, nil
}

// token answers a refresh at OpenAI's (POST /oauth/token) or Google's (POST
// /token) endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request, api API, path string, body []byte) {
	want := "/oauth/token"
	if api == GoogleToken {
		want = "/token"
	}
	if path != want || r.Method != http.MethodPost {
		notFound(w, r)
		return
	}
	fail := func(status int, code, desc string) {
		s.logf("%s: refresh refused: %s", api, desc)
		if api == OpenAIToken { // codex reads error.code
			writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": "fakeapi: " + desc}})
		} else {
			writeJSON(w, status, map[string]any{"error": code, "error_description": "fakeapi: " + desc})
		}
	}
	t, err := parseTokenRequest(r, body)
	switch {
	case err != nil:
		fail(http.StatusBadRequest, "invalid_request", err.Error())
		return
	case t.GrantType != "refresh_token":
		fail(http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not refresh_token", t.GrantType))
		return
	case api == OpenAIToken && t.ClientID != codexClientID,
		api == GoogleToken && (t.ClientID != geminiClientID || t.ClientSecret != geminiClientSecret):
		fail(http.StatusUnauthorized, "invalid_client", "unknown client_id or client_secret")
		return
	}

	s.mu.Lock()
	spent, known := s.refresh[api][t.RefreshToken]
	switch {
	case !known || t.RefreshToken == "":
		s.mu.Unlock()
		fail(http.StatusBadRequest, "invalid_grant", "unknown refresh token")
		return
	case spent:
		s.reuses[api]++
		n := s.reuses[api]
		s.mu.Unlock()
		s.logf("%s: REUSE: a spent refresh token was presented again (%d so far)", api, n)
		code := "invalid_grant"
		if api == OpenAIToken {
			code = "refresh_token_reused"
		}
		fail(http.StatusBadRequest, code, "refresh token was already used")
		return
	}
	s.refresh[api][t.RefreshToken] = true
	s.refreshes[api]++
	n := s.refreshes[api]
	exp := time.Now().Add(s.opts.TokenLifetime)
	g := Grant{Refresh: fmt.Sprintf("fakeapi-rt-%d-%s", n, random()), Expires: exp}
	a := s.opts.Account
	if api == OpenAIToken {
		g.Access = AccessToken(a, exp)
		g.IDToken = IDToken(a, exp)
		s.allowLocked(ChatGPT, g.Access, exp)
	} else {
		g.Access = fmt.Sprintf("ya29.fakeapi-%d-%s", n, random())
		s.allowLocked(CodeAssist, g.Access, exp)
	}
	s.refresh[api][g.Refresh] = false
	s.grants[api] = append(s.grants[api], g)
	s.mu.Unlock()

	secs := int(time.Until(exp).Round(time.Second).Seconds())
	if api == OpenAIToken {
		writeJSON(w, http.StatusOK, map[string]any{
			"id_token": g.IDToken, "access_token": g.Access, "refresh_token": g.Refresh,
			"token_type": "Bearer", "expires_in": secs,
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": g.Access, "refresh_token": g.Refresh, "expires_in": secs, "token_type": "Bearer",
		"scope": "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile openid",
	})
}

func random() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// JWT returns a token with claims and a fake signature. The CLIs read the
// claims of their tokens without verifying them (that is the issuer's
// business), so this is all a test needs.
func JWT(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "fakeapi"}) + "." + enc(claims) + "." +
		base64.RawURLEncoding.EncodeToString([]byte("fakeapi-signature"))
}

// authClaims is the namespaced claim OpenAI puts the ChatGPT account in.
func authClaims(a Account) map[string]any {
	return map[string]any{
		"chatgpt_account_id": a.AccountID,
		"chatgpt_plan_type":  a.Plan,
		"chatgpt_user_id":    a.UserID,
		"user_id":            a.UserID,
	}
}

// IDToken returns an id token for a ChatGPT account, expiring at exp, as
// OpenAI's token endpoint issues it: codex shows its email and plan.
func IDToken(a Account, exp time.Time) string {
	a = a.withDefaults()
	return JWT(map[string]any{
		"iss": "https://auth.openai.com", "aud": []string{codexClientID}, "sub": "auth0|" + a.UserID,
		"email": a.Email, "email_verified": true,
		"iat": time.Now().Unix(), "exp": exp.Unix(),
		"https://api.openai.com/auth": authClaims(a),
	})
}

// AccessToken returns a ChatGPT access token for a, expiring at exp. Codex
// reads its exp to decide when to refresh.
func AccessToken(a Account, exp time.Time) string {
	a = a.withDefaults()
	return JWT(map[string]any{
		"iss": "https://auth.openai.com", "aud": []string{"https://api.openai.com/v1"}, "sub": "auth0|" + a.UserID,
		"iat": time.Now().Unix(), "exp": exp.Unix(), "jti": random(),
		"https://api.openai.com/auth":    authClaims(a),
		"https://api.openai.com/profile": map[string]any{"email": a.Email, "email_verified": true},
		"scp":                            []string{"openid", "profile", "email", "offline_access"},
	})
}
