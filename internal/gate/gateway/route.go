package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// maxReplay is the largest request body the gate keeps to send again
// after a 401; a larger one is streamed and not retried.
const maxReplay = 1 << 20

// route is one applied Route.
type route struct {
	cfg       wire.Route
	agent     string // for the agent's texts
	missing   string // the text when the keeper has no login
	transport *http.Transport
	proxy     *httputil.ReverseProxy
}

func (s *Server) newRoute(cfg wire.Config, rc wire.Route) (*route, error) {
	target, err := url.Parse(rc.Upstream)
	if err != nil {
		return nil, errors.New("upstream is not a URL")
	}
	pool, err := wire.CertPool(rc.CAPEM)
	if err != nil {
		return nil, err
	}
	t := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		// The agent asked for what it can read; pass bodies through as
		// they come.
		DisableCompression: true,
	}
	r := &route{cfg: rc, transport: t}
	if a, _, _, ok := agent.ParseItem(rc.Item); ok {
		r.agent = a.Name
	}
	hint := "have hjk load it: run 'hjk run' for this instance on the host"
	if cfg.MissingHint != "" {
		hint = strings.ReplaceAll(cfg.MissingHint, "%s", r.agent)
	}
	r.missing = "hjk gate: no " + r.agent + " login is loaded for this instance: " + hint
	r.proxy = &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport:     &swapper{route: r, creds: s.creds, base: t},
		FlushInterval: -1, // every write reaches the agent at once (SSE)
		ErrorHandler:  s.routeError(r),
		ErrorLog:      s.log, // copy errors: addresses and causes, never a URL or body
	}
	return r, nil
}

// routeHandler serves DIR/<name>.sock with whatever route the current
// config names so.
func (s *Server) routeHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r := s.state.Load().routes[name]
		if r == nil {
			plain(w, http.StatusServiceUnavailable, "hjk gate: route "+name+" is not configured for this instance")
			return
		}
		for _, l := range r.cfg.Local {
			if l.Method == req.Method && l.Path == req.URL.Path {
				io.Copy(io.Discard, io.LimitReader(req.Body, maxReplay))
				if l.ContentType != "" {
					w.Header().Set("Content-Type", l.ContentType)
				}
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(l.Status)
				io.WriteString(w, l.Body)
				return
			}
		}
		r.proxy.ServeHTTP(w, req)
	})
}

func (s *Server) routeError(r *route) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, req *http.Request, err error) {
		var ge *gateError
		switch {
		case errors.As(err, &ge):
			s.log.Printf("route %s: %s %s: answered %d", r.cfg.Name, req.Method, req.URL.Path, ge.status)
			plain(w, ge.status, ge.text)
		case errors.Is(err, context.Canceled):
			// The agent went away; nobody to answer.
		default:
			s.log.Printf("route %s: %s %s: upstream: %s", r.cfg.Name, req.Method, req.URL.Path, describe(err))
			plain(w, http.StatusBadGateway, "hjk gate: the "+r.cfg.Name+" upstream could not be reached: "+describe(err))
		}
	}
}

// swapper puts the real credential in place of the placeholder on the way
// out, and after a 401 asks the keeper once for a fresh one and retries
// when the body can be sent again.
type swapper struct {
	route *route
	creds *creds
	base  http.RoundTripper
}

func (t *swapper) RoundTrip(req *http.Request) (*http.Response, error) {
	inHeader, inQuery := t.carries(req)
	if !inHeader && !inQuery {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	value, err := t.credential(ctx, "")
	if err != nil {
		return nil, err
	}
	body, replay, err := bufferBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(t.with(req, value, body, inHeader, inQuery))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replay {
		return resp, err
	}
	fresh, err := t.credential(ctx, value)
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if fresh == value {
		return resp, nil // nothing newer to try: the agent sees the 401
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return t.base.RoundTrip(t.with(req, fresh, body, inHeader, inQuery))
}

// carries reports whether req holds exactly the placeholder in the
// route's header (after its scheme) or query parameter.
func (t *swapper) carries(req *http.Request) (inHeader, inQuery bool) {
	rc := t.route.cfg
	if rc.Placeholder == "" {
		return false, false
	}
	if rc.Header != "" {
		if vs := req.Header.Values(rc.Header); len(vs) == 1 {
			inHeader = headerHolds(vs[0], rc.Scheme, rc.Placeholder)
		}
	}
	if rc.Query != "" {
		_, inQuery = swapQuery(req.URL.RawQuery, rc.Query, rc.Placeholder, "")
	}
	return inHeader, inQuery
}

func headerHolds(v, scheme, placeholder string) bool {
	if scheme == "" {
		return v == placeholder
	}
	s, rest, ok := strings.Cut(v, " ")
	return ok && strings.EqualFold(s, scheme) && rest == placeholder
}

// with is req carrying value where it carried the placeholder, the
// route's extra headers, and body (when kept) from its start.
func (t *swapper) with(req *http.Request, value string, body *replayBody, inHeader, inQuery bool) *http.Request {
	rc := t.route.cfg
	out := req.Clone(req.Context())
	if inHeader {
		v := value
		if rc.Scheme != "" {
			v = rc.Scheme + " " + value
		}
		out.Header.Set(rc.Header, v)
	}
	if inQuery {
		u := *out.URL
		u.RawQuery, _ = swapQuery(u.RawQuery, rc.Query, rc.Placeholder, value)
		out.URL = &u
	}
	for k, v := range rc.Extra {
		out.Header.Set(k, v)
	}
	if body != nil {
		out.Body = body.reader()
		out.GetBody = func() (io.ReadCloser, error) { return body.reader(), nil }
	}
	return out
}

// credential asks the cache, wording its failures for the agent.
func (t *swapper) credential(ctx context.Context, stale string) (string, error) {
	v, err := t.creds.get(ctx, t.route.cfg.Item, stale)
	var rf *RefreshFailed
	switch {
	case err == nil:
		return v, nil
	case errors.As(err, &rf):
		return "", &gateError{status: http.StatusBadGateway, text: rf.Text}
	case errors.Is(err, ErrMissing):
		return "", &gateError{status: http.StatusBadGateway, text: t.route.missing}
	case errors.Is(err, context.Canceled):
		return "", err
	}
	return "", &gateError{status: http.StatusBadGateway, text: "hjk gate: the " + t.route.agent + " credential could not be had: " + err.Error()}
}

// replayBody is a request body kept to be sent again.
type replayBody struct{ b []byte }

func (r *replayBody) reader() io.ReadCloser { return io.NopCloser(bytes.NewReader(r.b)) }

// bufferBody keeps req's body when it is at most maxReplay bytes (replay
// true, body returned); a larger one goes on as a stream of what was read
// and the rest (replay false, req.Body replaced). No body replays.
func bufferBody(req *http.Request) (*replayBody, bool, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, true, nil
	}
	head, err := io.ReadAll(io.LimitReader(req.Body, maxReplay+1))
	if err != nil {
		return nil, false, err
	}
	if len(head) <= maxReplay {
		req.Body.Close()
		return &replayBody{b: head}, true, nil
	}
	req.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), req.Body), req.Body}
	return nil, false, nil
}

// swapQuery finds the query parameters name=placeholder in raw and, with
// value != "", puts value in their place; every other byte stays as it
// was.
func swapQuery(raw, name, placeholder, value string) (string, bool) {
	if raw == "" {
		return raw, false
	}
	parts := strings.Split(raw, "&")
	found := false
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		uk, err1 := url.QueryUnescape(k)
		uv, err2 := url.QueryUnescape(v)
		if err1 == nil && err2 == nil && uk == name && uv == placeholder {
			found = true
			if value != "" {
				parts[i] = k + "=" + url.QueryEscape(value)
			}
		}
	}
	return strings.Join(parts, "&"), found
}
