// Package fakeapi stands in for the agents' upstream APIs in tests: one
// loopback server that answers just enough of the Anthropic Messages API,
// the OpenAI Responses API (WebSocket and SSE), the ChatGPT backend codex
// uses with a ChatGPT login, Google Code Assist, the Gemini API and the two
// OAuth token endpoints (OpenAI's and Google's) for the real claude, codex
// and gemini CLIs to finish a run, and records every request for
// assertions.
//
// It is used by tests only, but is a normal package so that end-to-end tests
// in other packages (the credential gate's, the host's) can import it. It
// touches nothing but its own listener: no files, no environment, no
// processes.
//
// Every API but the ChatGPT backend lives under a path prefix of its own on
// one listener, so a test also proves that a client (or a gate in between)
// keeps a base URL's path:
//
//	API          base URL (Server.BaseURL)          what the client appends
//	Anthropic    URL/anthropic                      /v1/messages (SSE), /api/hello
//	OpenAI       URL/openai/v1                      /responses (WebSocket, then POST SSE), /models
//	ChatGPT      URL/backend-api                    /codex/responses (WebSocket, POST SSE), /codex/models, /wham/accounts/check
//	CodeAssist   URL/codeassist                     /v1internal:loadCodeAssist, :streamGenerateContent, ...
//	Gemini       URL/gemini                         /v1beta/models/MODEL:streamGenerateContent, ...
//	OpenAIToken  URL/openai-auth/oauth/token        (the whole URL: a JSON refresh)
//	GoogleToken  URL/google-oauth/token             (the whole URL: a form refresh)
//
// The ChatGPT backend stays at /backend-api because codex, with a ChatGPT
// login and its built-in provider, posts to the origin of chatgpt_base_url
// and drops its path (docs/notes/gate-facts.md has the details).
//
// An API answers only requests that carry a credential it accepts (Allow,
// or an access token its token endpoint issued and that has not expired)
// where that API carries it: Authorization: Bearer, x-api-key (Anthropic),
// x-goog-api-key or ?key= (Gemini). Anything else gets 401.
//
// The token endpoints accept each refresh token given to AddRefreshToken, or
// issued by them, exactly once: a refresh answers a new access token (valid
// for Options.TokenLifetime) and a new refresh token, and spends the old
// one. A spent refresh token presented again is answered 400
// (refresh_token_reused for OpenAI, invalid_grant for Google), counted
// (Reuses, Err) and logged (Options.Logf): sending a single-use refresh token
// twice is the bug the credential gate exists to prevent. (Google itself
// does not rotate refresh tokens, and gemini ignores a rotated one; the fake
// is stricter on purpose.)
package fakeapi

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// API names one of the upstream APIs the server stands in for.
type API string

// The APIs. Each but ChatGPT (at /backend-api) lives under its name as a
// path prefix.
const (
	Anthropic   API = "anthropic"
	OpenAI      API = "openai"
	ChatGPT     API = "chatgpt"
	CodeAssist  API = "codeassist"
	Gemini      API = "gemini"
	OpenAIToken API = "openai-auth"
	GoogleToken API = "google-oauth"
)

// APIs lists every API, in a stable order.
func APIs() []API {
	return []API{Anthropic, OpenAI, ChatGPT, CodeAssist, Gemini, OpenAIToken, GoogleToken}
}

// DefaultAnswer is what every model answers when Options.Answer is empty.
const DefaultAnswer = "fakeapi-answer-7f3c"

// Options configure a Server. The zero value serves plain HTTP and answers
// DefaultAnswer.
type Options struct {
	// TLS serves HTTPS with a certificate signed by a CA of the server's own
	// (CAPEM), valid for 127.0.0.1, ::1, localhost and Hosts.
	TLS   bool
	Hosts []string
	// Listen is the address to listen on (default 127.0.0.1:0): a
	// cluster's pods reach the host on another.
	Listen string

	// Answer is the text every model streams back.
	Answer string

	// TokenLifetime is how long the access tokens the token endpoints issue
	// are accepted (default one hour). It is also their expires_in and the
	// exp of the OpenAI access token.
	TokenLifetime time.Duration

	// Account is who the OpenAI token endpoint's id tokens name.
	Account Account

	// EventDelay is a pause between the events of every stream (SSE and
	// WebSocket), for tests that must see the first event arrive before
	// the last is sent.
	EventDelay time.Duration

	// Logf, when set, gets a line per refusal and per refresh token reuse
	// (tests pass t.Logf). Lines never hold a credential.
	Logf func(format string, args ...any)
}

// Account is the ChatGPT account the OpenAI token endpoint's tokens are for.
// Empty fields get the defaults shown.
type Account struct {
	Email     string // dev@example.com
	Plan      string // pro
	AccountID string // 00000000-fake-acct-0000-000000000000
	UserID    string // user-fakeapi
}

func (a Account) withDefaults() Account {
	a.Email = cmp.Or(a.Email, "dev@example.com")
	a.Plan = cmp.Or(a.Plan, "pro")
	a.AccountID = cmp.Or(a.AccountID, "00000000-fake-acct-0000-000000000000")
	a.UserID = cmp.Or(a.UserID, "user-fakeapi")
	return a
}

// Request is one request the server saw.
type Request struct {
	Time   time.Time
	API    API    // "" when the path matched no API
	Method string // GET for a WebSocket upgrade
	Path   string // the full path, prefix included
	Query  string
	Header http.Header
	Body   []byte // for a WebSocket, the text frames the client sent, one per line

	// Credential is the value found where the API carries one ("" when
	// none), and Accepted says whether the server took it.
	Credential string
	Accepted   bool
	WebSocket  bool
	Status     int // the status answered (101 for an upgraded WebSocket)
}

// Grant is an access and refresh token pair a token endpoint issued.
type Grant struct {
	Access, Refresh, IDToken string
	Expires                  time.Time
}

// Server is a running fake upstream. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	url  string
	ca   []byte
	srv  *http.Server

	mu        sync.Mutex
	reqs      []Request
	accept    map[API]map[string]time.Time // credential -> expiry (zero: never)
	refresh   map[API]map[string]bool      // refresh token -> spent
	grants    map[API][]Grant
	refreshes map[API]int
	reuses    map[API]int
	conns     map[net.Conn]bool // hijacked WebSocket connections, closed by Close
	seq       int
	done      chan struct{} // closed by Close: ends pauses
	closeOnce sync.Once
}

// Start starts a server on a loopback port. Close it when done.
func Start(o Options) (*Server, error) {
	o.Answer = cmp.Or(o.Answer, DefaultAnswer)
	o.TokenLifetime = cmp.Or(o.TokenLifetime, time.Hour)
	o.Account = o.Account.withDefaults()
	s := &Server{
		opts:      o,
		accept:    map[API]map[string]time.Time{},
		refresh:   map[API]map[string]bool{},
		grants:    map[API][]Grant{},
		refreshes: map[API]int{},
		reuses:    map[API]int{},
		conns:     map[net.Conn]bool{},
		done:      make(chan struct{}),
	}
	ln, err := net.Listen("tcp", cmp.Or(o.Listen, "127.0.0.1:0"))
	if err != nil {
		return nil, fmt.Errorf("fakeapi: listen: %w", err)
	}
	scheme := "http"
	if o.TLS {
		ca, cert, err := newCA(o.Hosts)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("fakeapi: certificates: %w", err)
		}
		s.ca = ca
		// HTTP/1.1 only: WebSocket upgrades need it, and every CLI speaks it.
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
		scheme = "https"
	}
	s.url = scheme + "://" + ln.Addr().String()
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server and ends its WebSocket connections.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.srv.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// URL is the server's root, "http://127.0.0.1:PORT" or "https://...".
func (s *Server) URL() string { return s.url }

// BaseURL is what to hand a client for api (see the package doc).
func (s *Server) BaseURL(api API) string {
	switch api {
	case OpenAI:
		return s.url + "/openai/v1"
	case ChatGPT:
		return s.url + "/backend-api"
	case OpenAIToken:
		return s.url + "/openai-auth/oauth/token"
	case GoogleToken:
		return s.url + "/google-oauth/token"
	}
	return s.url + "/" + string(api)
}

// CAPEM is the PEM of the CA that signed the server's certificate, or nil
// for a plain-HTTP server.
func (s *Server) CAPEM() []byte { return slices.Clone(s.ca) }

// Client returns an HTTP client that trusts the server's CA and ignores
// proxy variables.
func (s *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if s.ca != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: certPool(s.ca)}
	}
	return &http.Client{Transport: tr}
}

// Allow makes api accept cred, with no expiry.
func (s *Server) Allow(api API, cred string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowLocked(api, cred, time.Time{})
}

func (s *Server) allowLocked(api API, cred string, exp time.Time) {
	if s.accept[api] == nil {
		s.accept[api] = map[string]time.Time{}
	}
	s.accept[api][cred] = exp
}

// Revoke makes api refuse cred again (an upstream that ended a token early).
func (s *Server) Revoke(api API, cred string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accept[api], cred)
}

// AddRefreshToken makes the token endpoint tok (OpenAIToken or GoogleToken)
// accept rt, once.
func (s *Server) AddRefreshToken(tok API, rt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refresh[tok] == nil {
		s.refresh[tok] = map[string]bool{}
	}
	s.refresh[tok][rt] = false
}

// Requests returns every request seen so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// RequestsTo returns the requests seen for api.
func (s *Server) RequestsTo(api API) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.API == api {
			out = append(out, r)
		}
	}
	return out
}

// Saw reports whether api accepted a request carrying cred.
func (s *Server) Saw(api API, cred string) bool {
	return slices.ContainsFunc(s.Requests(), func(r Request) bool {
		return r.API == api && r.Accepted && r.Credential == cred
	})
}

// Grants returns the token pairs the token endpoint tok issued, oldest first.
func (s *Server) Grants(tok API) []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.grants[tok])
}

// Refreshes counts the successful refreshes at the token endpoint tok.
func (s *Server) Refreshes(tok API) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes[tok]
}

// Reuses counts the spent refresh tokens presented again at tok.
func (s *Server) Reuses(tok API) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reuses[tok]
}

// Err is an error when any refresh token was presented twice, for a test to
// fail on.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, tok := range APIs() {
		if n := s.reuses[tok]; n > 0 {
			errs = append(errs, fmt.Errorf("fakeapi: %s: %d spent refresh token(s) presented again", tok, n))
		}
	}
	return errors.Join(errs...)
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf("fakeapi: "+format, args...)
	}
}

// maxBody bounds what the server reads of a request body (claude and codex
// send 50-100 kB of tools and instructions).
const maxBody = 16 << 20

// serve routes a request to its API by the first path segment, records it,
// and checks its credential.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	first, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	api := API(first)
	switch {
	case first == "backend-api":
		// The ChatGPT backend keeps its own path: codex sends its responses
		// to the origin of chatgpt_base_url, dropping any prefix.
		api, rest = ChatGPT, r.URL.Path[1:]
	case api == ChatGPT || !slices.Contains(APIs(), api):
		api = ""
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	rec := Request{
		Time: time.Now(), API: api, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, WebSocket: isUpgrade(r),
	}
	rest = "/" + rest
	needsCred := api != "" && api != OpenAIToken && api != GoogleToken &&
		!(api == Anthropic && rest == "/api/hello") // claude's connectivity probe carries no credential
	if needsCred {
		rec.Credential = credential(api, r)
		rec.Accepted = s.accepts(api, rec.Credential)
	}
	i := s.add(rec)
	rw := &statusWriter{ResponseWriter: w}
	defer func() {
		s.update(i, func(r *Request) {
			if r.Status == 0 {
				r.Status = cmp.Or(rw.status, http.StatusOK)
			}
		})
	}()
	switch {
	case api == "":
		writeJSON(rw, http.StatusNotFound, map[string]any{"error": map[string]any{"message": "fakeapi: no API at " + r.URL.Path}})
		return
	case api == OpenAIToken || api == GoogleToken:
		s.token(rw, r, api, rest, body)
		return
	case !needsCred:
		rw.WriteHeader(http.StatusOK)
		return
	case !rec.Accepted:
		s.logf("%s %s %s: refused (credential missing, unknown or expired)", api, r.Method, r.URL.Path)
		unauthorized(rw, api)
		return
	}
	switch api {
	case Anthropic:
		s.anthropic(rw, r, rest, body)
	case OpenAI, ChatGPT:
		s.openai(rw, r, api, rest, body, i)
	case CodeAssist:
		s.codeAssist(rw, r, rest, body)
	case Gemini:
		s.gemini(rw, r, rest, body)
	}
}

// add records a request and returns its index for update.
func (s *Server) add(r Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r)
	return len(s.reqs) - 1
}

// update changes the recorded request i.
func (s *Server) update(i int, f func(*Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.reqs[i])
}

// credential finds the value api carries its credential in.
func credential(api API, r *http.Request) string {
	switch api {
	case Anthropic:
		if k := r.Header.Get("X-Api-Key"); k != "" {
			return k
		}
	case Gemini:
		if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
			return k
		}
		if k := r.URL.Query().Get("key"); k != "" {
			return k
		}
	}
	scheme, v, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return v
}

func (s *Server) accepts(api API, cred string) bool {
	if cred == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.accept[api][cred]
	return ok && (exp.IsZero() || time.Now().Before(exp))
}

func unauthorized(w http.ResponseWriter, api API) {
	msg := "fakeapi: invalid credential"
	switch api {
	case Anthropic:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"type": "error", "error": map[string]any{"type": "authentication_error", "message": msg}})
	case CodeAssist, Gemini:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "message": msg, "status": "UNAUTHENTICATED"}})
	default:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": "invalid_api_key"}})
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"code": 404, "message": "fakeapi: nothing at " + r.Method + " " + r.URL.Path, "status": "NOT_FOUND"}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// sse writes events as a text/event-stream, flushing after each (and
// pausing Options.EventDelay between them), so a client, or a gate in
// between, sees the first before the last is written.
func (s *Server) sse(w http.ResponseWriter, r *http.Request, events []event) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	for i, e := range events {
		if i > 0 && !s.pause(r.Context()) {
			return
		}
		var b bytes.Buffer
		if e.name != "" {
			fmt.Fprintf(&b, "event: %s\n", e.name)
		}
		d, _ := json.Marshal(e.data)
		fmt.Fprintf(&b, "data: %s\n\n", d)
		w.Write(b.Bytes())
		if f != nil {
			f.Flush()
		}
	}
}

// pause waits Options.EventDelay, or until ctx ends (the client went away)
// or the server closes: false then.
func (s *Server) pause(ctx context.Context) bool {
	if s.opts.EventDelay <= 0 {
		return true
	}
	t := time.NewTimer(s.opts.EventDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// event is one server-sent event: its name (may be empty) and JSON data.
type event struct {
	name string
	data any
}

// nextID returns a fresh id with a prefix ("msg", "resp"), for answers.
func (s *Server) nextID(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%s_fakeapi%d", prefix, s.seq)
}

// statusWriter remembers the status written, and passes Flush and Hijack on.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
