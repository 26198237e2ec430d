package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/keeper"
	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// Fake credentials: the real ones the keeper holds, and the placeholders
// the agent was given.
const (
	realClaude  = "sk-ant-oat01-REALgatewayTOKEN_0123456789"
	placeClaude = "sk-ant-oat01-PLACEHOLDERgateway_000000"
	realKey     = "AIzaREALgatewayKEY0123456789"
	placeKey    = "AIzaPLACEHOLDERgateway0000"
)

// syncBuffer is a log both the gate and the test touch.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// upstream is a fake HTTPS API that records what reached it.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
	body [][]byte
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream { return newUpstreamH2(t, h, false) }

// newUpstreamH2 offers HTTP/2 too when h2 is set, as the real APIs do.
func newUpstreamH2(t *testing.T, h http.HandlerFunc, h2 bool) *upstream {
	u := &upstream{}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, r.Clone(context.Background()))
		u.body = append(u.body, b)
		u.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	u.Config.ErrorLog = log.New(io.Discard, "", 0) // tunnels closed mid-handshake are routine here
	u.EnableHTTP2 = h2
	u.StartTLS()
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last(t *testing.T) *http.Request {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("nothing reached the upstream")
	}
	return u.seen[len(u.seen)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

func caPEM(s *httptest.Server) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
}

// harness is a gate and a keeper on real unix sockets.
type harness struct {
	t      *testing.T
	dir    string
	gate   *Server
	keeper *keeper.Keeper
	log    *syncBuffer
}

func newHarness(t *testing.T) *harness {
	dir, err := os.MkdirTemp("", "hg") // short: a socket path has 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &harness{t: t, dir: dir, log: &syncBuffer{}}
	h.keeper = keeper.New(keeper.Options{Log: h.log})
	ln, err := net.Listen("unix", filepath.Join(dir, "keeper.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ks := &http.Server{Handler: h.keeper.Handler()}
	go ks.Serve(ln)
	t.Cleanup(func() { ks.Close() })
	h.gate, err = New(Options{Dir: filepath.Join(dir, "gate"), Keeper: NewKeeperClient(filepath.Join(dir, "keeper.sock")), Log: h.log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.gate.Close()
		for _, s := range []string{realClaude, realKey, "REAL"} {
			if strings.Contains(h.log.String(), s) {
				t.Errorf("the gate's log holds a real credential:\n%s", h.log.String())
			}
		}
	})
	return h
}

func (h *harness) prepare(p wire.Prepare) wire.PrepareResult {
	h.t.Helper()
	res, err := h.gate.Prepare(context.Background(), p)
	if err != nil {
		h.t.Fatalf("Prepare: %v", err)
	}
	return res
}

// client speaks HTTP to one of the gate's sockets, as the container's
// loopback relay passes it on.
func (h *harness) client(name string) *http.Client {
	sock := filepath.Join(h.dir, "gate", name+".sock")
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		DisableCompression: true,
	}, Timeout: 20 * time.Second}
}

func (h *harness) dial(name string) net.Conn {
	h.t.Helper()
	c, err := net.Dial("unix", filepath.Join(h.dir, "gate", name+".sock"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	return c
}

func do(t *testing.T, c *http.Client, method, url string, body io.Reader, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func claudeRoute(u *upstream, base string) wire.Route {
	return wire.Route{Name: "claude", Upstream: u.URL + base, CAPEM: caPEM(u.Server), Item: "claude-oidc-token",
		Header: "Authorization", Scheme: "Bearer", Placeholder: placeClaude, Extra: map[string]string{"X-Hjk-Extra": "on-swap"}}
}

func claudeLogin() wire.Login {
	return wire.Login{Item: "claude-oidc-token", Agent: "claude", Kind: "subscription", Secret: realClaude}
}

func TestSwapOnlyTheExactPlaceholderOnTheRoute(t *testing.T) {
	h := newHarness(t)
	u := newUpstream(t, nil)
	plainUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "auth="+r.Header.Get("Authorization"))
	}))
	defer plainUp.Close()
	gem := wire.Route{Name: "gemini-api", Upstream: u.URL, CAPEM: caPEM(u.Server), Item: "gemini-api-key",
		Header: "x-goog-api-key", Query: "key", Placeholder: placeKey}
	res := h.prepare(wire.Prepare{
		Config: wire.Config{Instance: "t", Allow: []string{"127.0.0.1"}, Routes: []wire.Route{claudeRoute(u, "/base"), gem}},
		Logins: []wire.Login{claudeLogin(), {Item: "gemini-api-key", Agent: "gemini", Kind: "api-key", Secret: realKey}},
	})
	if strings.Join(res.Routes, ",") != "claude,gemini-api" || len(res.Logins) != 2 || res.Logins[0].Result != wire.Loaded {
		t.Fatalf("Prepare = %+v", res)
	}
	c := h.client("claude")
	tests := []struct {
		auth, want string
		extra      bool
	}{
		{"Bearer " + placeClaude, "Bearer " + realClaude, true},
		{"bearer " + placeClaude, "Bearer " + realClaude, true},
		{"Bearer " + placeClaude + "x", "Bearer " + placeClaude + "x", false},
		{"Bearer sk-ant-oat01-somethingelse", "Bearer sk-ant-oat01-somethingelse", false},
		{placeClaude, placeClaude, false}, // no scheme: not what the route expects
		{"Basic " + placeClaude, "Basic " + placeClaude, false},
		{"", "", false},
	}
	for _, tt := range tests {
		resp, body := do(t, c, "POST", "http://127.0.0.1:7801/v1/messages?beta=true", strings.NewReader(`{"x":1}`),
			"Authorization", tt.auth, "X-Custom", "kept", "Accept", "text/event-stream")
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
		r := u.last(t)
		if got := r.Header.Get("Authorization"); got != tt.want {
			t.Errorf("auth %q reached upstream as %q, want %q", clipped(tt.auth), clipped(got), clipped(tt.want))
		}
		if (r.Header.Get("X-Hjk-Extra") == "on-swap") != tt.extra {
			t.Errorf("auth %q: extra header present = %v, want %v", clipped(tt.auth), !tt.extra, tt.extra)
		}
		if r.URL.Path != "/base/v1/messages" || r.URL.RawQuery != "beta=true" || r.Header.Get("X-Custom") != "kept" ||
			r.Header.Get("Accept") != "text/event-stream" || r.Host != strings.TrimPrefix(u.URL, "https://") {
			t.Errorf("upstream saw %s %s?%s host %s headers %v", r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header)
		}
	}
	// Two Authorization headers: not exactly the placeholder.
	do(t, c, "GET", "http://127.0.0.1:7801/v1/models", nil, "Authorization", "Bearer "+placeClaude, "Authorization", "Bearer x")
	if vs := u.last(t).Header.Values("Authorization"); len(vs) != 2 || vs[0] != "Bearer "+placeClaude {
		t.Errorf("two headers became %d", len(vs))
	}

	// The query parameter, every other byte of the query as it was.
	g := h.client("gemini-api")
	do(t, g, "GET", "http://127.0.0.1:7803/v1beta/models?z=1&key="+placeKey+"&alt=sse&b=%2F", nil)
	if q := u.last(t).URL.RawQuery; q != "z=1&key="+realKey+"&alt=sse&b=%2F" {
		t.Errorf("query reached upstream as %q", strings.ReplaceAll(q, realKey, "REALKEY"))
	}
	do(t, g, "GET", "http://127.0.0.1:7803/v1beta/models", nil, "x-goog-api-key", placeKey)
	if u.last(t).Header.Get("x-goog-api-key") != realKey {
		t.Error("x-goog-api-key was not swapped")
	}
	do(t, g, "GET", "http://127.0.0.1:7803/v1beta/models?key=other", nil, "x-goog-api-key", "other")
	if r := u.last(t); r.URL.RawQuery != "key=other" || r.Header.Get("x-goog-api-key") != "other" {
		t.Error("a request with another key was changed")
	}

	// The proxy never swaps, even the placeholder to an allowed host.
	p := proxyClient(h)
	_, body := do(t, p, "GET", plainUp.URL+"/x", nil, "Authorization", "Bearer "+placeClaude)
	if body != "auth=Bearer "+placeClaude {
		t.Errorf("through the proxy the placeholder became %q", clipped(body))
	}
}

func clipped(s string) string {
	return strings.NewReplacer(realClaude, "REAL-CLAUDE", realKey, "REAL-KEY").Replace(s)
}

func proxyClient(h *harness) *http.Client {
	sock := filepath.Join(h.dir, "gate", "proxy.sock")
	return &http.Client{Transport: &http.Transport{
		Proxy: func(*http.Request) (*url.URL, error) { return url.Parse("http://proxy.invalid") },
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}, Timeout: 20 * time.Second}
}

func TestSSEIsStreamed(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("upstream-h2=%v", h2), func(t *testing.T) { testSSE(t, h2) })
	}
}

func testSSE(t *testing.T, h2 bool) {
	h := newHarness(t)
	second := make(chan struct{})
	u := newUpstreamH2(t, func(w http.ResponseWriter, r *http.Request) {
		if h2 != (r.ProtoMajor == 2) {
			http.Error(w, "wrong protocol "+r.Proto, 500)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: one\ndata: 1\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-second:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "event: two\ndata: 2\n\n")
	}, h2)
	h.prepare(wire.Prepare{Config: wire.Config{Routes: []wire.Route{claudeRoute(u, "")}}, Logins: []wire.Login{claudeLogin()}})
	req, _ := http.NewRequest("POST", "http://127.0.0.1:7801/v1/messages", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+placeClaude)
	resp, err := h.client("claude").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	got := make(chan string, 1)
	go func() {
		var b strings.Builder
		for !strings.HasSuffix(b.String(), "\n\n") {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil {
				break
			}
		}
		got <- b.String()
	}()
	select {
	case first := <-got:
		if first != "event: one\ndata: 1\n\n" {
			t.Fatalf("first event = %q", first)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event did not arrive before the upstream sent the second: the gate buffers")
	}
	close(second)
	rest, _ := io.ReadAll(br)
	if string(rest) != "event: two\ndata: 2\n\n" {
		t.Fatalf("rest = %q", rest)
	}
}

func TestWebSocketUpgradeBothWays(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("upstream-h2=%v", h2), func(t *testing.T) { testWebSocket(t, h2) })
	}
}

func testWebSocket(t *testing.T, h2 bool) {
	h := newHarness(t)
	u := newUpstreamH2(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" || !strings.EqualFold(r.Header.Get("Connection"), "Upgrade") {
			http.Error(w, "want an upgrade", 400)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\nhello\n")
		rw.Flush()
		line, _ := rw.ReadString('\n')
		fmt.Fprintf(rw, "echo %s", line)
		rw.Flush()
	}, h2)
	h.prepare(wire.Prepare{Config: wire.Config{Routes: []wire.Route{claudeRoute(u, "/v1")}}, Logins: []wire.Login{claudeLogin()}})
	c := h.dial("claude")
	fmt.Fprintf(c, "GET /responses HTTP/1.1\r\nHost: 127.0.0.1:7802\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer %s\r\n\r\n", placeClaude)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if line, _ := br.ReadString('\n'); line != "hello\n" {
		t.Fatalf("upstream to agent: %q", line)
	}
	io.WriteString(c, "ping\n")
	if line, _ := br.ReadString('\n'); line != "echo ping\n" {
		t.Fatalf("agent to upstream and back: %q", line)
	}
	if r := u.last(t); r.URL.Path != "/v1/responses" || r.Header.Get("Authorization") != "Bearer "+realClaude {
		t.Errorf("upgrade reached upstream at %s with the placeholder swapped = %v", r.URL.Path, r.Header.Get("Authorization") == "Bearer "+realClaude)
	}
}

func TestConnect(t *testing.T) {
	h := newHarness(t)
	u := newUpstream(t, nil)
	port := u.Listener.Addr().(*net.TCPAddr).Port
	h.prepare(wire.Prepare{Config: wire.Config{Instance: "t", Allow: []string{"127.0.0.1"}, Preset: "agents", RefuseHint: "hjk config network.allow %s"}})

	// Allowed: a tunnel, through which TLS to the upstream works.
	c := h.dial("proxy")
	fmt.Fprintf(c, "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port, port)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT = %v, %v", resp, err)
	}
	tc := tls.Client(&bufConn{Conn: c, r: br}, &tls.Config{RootCAs: u.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, ServerName: "127.0.0.1"})
	fmt.Fprintf(tc, "GET /through HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	tresp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil || tresp.StatusCode != 200 {
		t.Fatalf("through the tunnel: %v, %v", tresp, err)
	}
	if u.last(t).URL.Path != "/through" {
		t.Fatal("the tunnel did not reach the upstream")
	}

	// Refused: the text, the log entry, the log line.
	before := time.Now().Add(-time.Second)
	status, body := connect(t, h, "evil.example:443")
	want := "hjk gate: evil.example is not allowed for this instance (network: agents); allow it with: hjk config network.allow evil.example\n"
	if status != 403 || body != want {
		t.Fatalf("refused CONNECT = %d %q", status, body)
	}
	rs := h.gate.Refusals(before)
	if len(rs) != 1 || rs[0].Host != "evil.example" || rs[0].Port != 443 || rs[0].Method != "CONNECT" || rs[0].Reason != "not allowed" {
		t.Fatalf("Refusals = %+v", rs)
	}
	if len(h.gate.Refusals(time.Now().Add(time.Hour))) != 0 {
		t.Error("Refusals(later) is not empty")
	}
	if !strings.Contains(h.log.String(), "refused CONNECT evil.example:443: not allowed") {
		t.Errorf("no log line for the refusal:\n%s", h.log.String())
	}
	if status, _ := connect(t, h, "nonsense"); status != 400 {
		t.Errorf("CONNECT without a port = %d", status)
	}

	// "*" allows every name, but not loopback addresses unless named.
	h.prepare(wire.Prepare{Config: wire.Config{Allow: []string{"*"}}})
	for _, target := range []string{fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("localhost:%d", port), fmt.Sprintf("[::ffff:127.0.0.1]:%d", port), "169.254.169.254:80"} {
		if status, body := connect(t, h, target); status != 403 || !strings.Contains(body, "is not allowed") {
			t.Errorf("CONNECT %s with allow * = %d %q", target, status, body)
		}
	}
	if rs := h.gate.Refusals(before); rs[len(rs)-1].Reason != "address not allowed" {
		t.Errorf("reason = %q", rs[len(rs)-1].Reason)
	}
	h.prepare(wire.Prepare{Config: wire.Config{Allow: []string{"localhost"}}})
	if status, _ := connect(t, h, fmt.Sprintf("localhost:%d", port)); status != 200 {
		t.Errorf("CONNECT to a loopback host named in the list = %d", status)
	}
}

// connect sends CONNECT target and returns the answer's status and body.
func connect(t *testing.T, h *harness, target string) (int, string) {
	t.Helper()
	c := h.dial("proxy")
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == 200 {
		return 200, ""
	}
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("refusal content type %q", ct)
	}
	return resp.StatusCode, string(b)
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func TestPlainHTTPProxy(t *testing.T) {
	h := newHarness(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
	}))
	defer up.Close()
	h.prepare(wire.Prepare{Config: wire.Config{Allow: []string{"127.0.0.1"}, Preset: "agents"}})
	p := proxyClient(h)
	if resp, body := do(t, p, "PUT", up.URL+"/a/b", strings.NewReader("x")); resp.StatusCode != 200 || body != "PUT /a/b" {
		t.Errorf("allowed = %d %q", resp.StatusCode, body)
	}
	resp, body := do(t, p, "GET", "http://evil.example/x", nil)
	if resp.StatusCode != 403 || !strings.HasPrefix(body, "hjk gate: evil.example is not allowed for this instance (network: agents)") {
		t.Errorf("refused = %d %q", resp.StatusCode, body)
	}
	if rs := h.gate.Refusals(time.Time{}); len(rs) != 1 || rs[0].Method != "GET" || rs[0].Port != 80 {
		t.Errorf("Refusals = %+v", rs)
	}
	// Not a proxy request at all.
	if resp, _ := do(t, h.client("proxy"), "GET", "http://127.0.0.1:7800/", nil); resp.StatusCode != 400 {
		t.Errorf("origin-form request to the proxy = %d", resp.StatusCode)
	}
}

// tokenServer answers codex refreshes with the next access token, each
// refresh token once.
func tokenServer(t *testing.T, access string) (*httptest.Server, *int) {
	var mu sync.Mutex
	n := 0
	used := map[string]bool{}
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var m map[string]string
		json.NewDecoder(r.Body).Decode(&m)
		if used[m["refresh_token"]] {
			http.Error(w, `{"error":"refresh_token_reused"}`, 400)
			return
		}
		used[m["refresh_token"]] = true
		n++
		fmt.Fprintf(w, `{"access_token":%q,"refresh_token":"rt-FAKE-%d"}`, access, n)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func codexLogin(access string, ts *httptest.Server) wire.Login {
	secret := `{"tokens":{"id_token":"` + fakeJWT(`{"email":"dev@example.com"}`) + `","access_token":"` + access +
		`","refresh_token":"rt-FAKE-0","account_id":"acc"},"last_refresh":"` + time.Now().UTC().Format(time.RFC3339) + `"}`
	return wire.Login{Item: "codex-oauth-creds", Agent: "codex", Kind: "subscription", Secret: secret, TokenURL: ts.URL, CAPEM: caPEM(ts)}
}

func TestUnauthorizedRefreshesOnceAndRetries(t *testing.T) {
	h := newHarness(t)
	exp := time.Now().Add(time.Hour).Unix()
	old, fresh := fakeJWT(fmt.Sprintf(`{"exp":%d,"v":"REAL-old"}`, exp)), fakeJWT(fmt.Sprintf(`{"exp":%d,"v":"REAL-new"}`, exp))
	ts, refreshes := tokenServer(t, fresh)
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer "+fresh || len(b) > maxReplay {
			http.Error(w, "expired", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "got %d bytes", len(b))
	})
	route := wire.Route{Name: "codex", Upstream: u.URL, CAPEM: caPEM(u.Server), Item: "codex-oauth-creds", Header: "Authorization", Scheme: "Bearer",
		Placeholder: fakeJWT(`{"placeholder":true}`), Extra: map[string]string{"ChatGPT-Account-Id": "acc"}}
	h.prepare(wire.Prepare{Config: wire.Config{Routes: []wire.Route{route}}, Logins: []wire.Login{codexLogin(old, ts)}})
	c := h.client("codex")
	body := strings.Repeat("x", 1000)
	resp, got := do(t, c, "POST", "http://127.0.0.1:7802/responses", strings.NewReader(body), "Authorization", "Bearer "+route.Placeholder)
	if resp.StatusCode != 200 || got != "got 1000 bytes" {
		t.Fatalf("after a 401: %d %q", resp.StatusCode, got)
	}
	if *refreshes != 1 || u.count() != 2 {
		t.Fatalf("%d refreshes, %d upstream requests; want 1, 2", *refreshes, u.count())
	}
	u.mu.Lock()
	if string(u.body[0]) != body || string(u.body[1]) != body {
		t.Error("the retry did not send the same body")
	}
	u.mu.Unlock()
	// The new value is cached: no keeper refresh, one upstream request.
	do(t, c, "POST", "http://127.0.0.1:7802/responses", strings.NewReader("y"), "Authorization", "Bearer "+route.Placeholder)
	if *refreshes != 1 || u.count() != 3 {
		t.Fatalf("second request: %d refreshes, %d upstream requests", *refreshes, u.count())
	}

	// A body over 1 MiB is not kept, so its 401 goes to the agent as is.
	big := bytes.Repeat([]byte("z"), maxReplay+1)
	resp, _ = do(t, c, "POST", "http://127.0.0.1:7802/responses", bytes.NewReader(big), "Authorization", "Bearer "+route.Placeholder)
	if resp.StatusCode != 401 || *refreshes != 1 {
		t.Fatalf("large body: %d with %d refreshes; want 401 and no refresh", resp.StatusCode, *refreshes)
	}
	u.mu.Lock()
	if n := len(u.body[len(u.body)-1]); n != len(big) {
		t.Errorf("large body reached upstream with %d bytes", n)
	}
	u.mu.Unlock()

	// A request without the placeholder gets the upstream's 401, untouched.
	n := u.count()
	resp, _ = do(t, c, "GET", "http://127.0.0.1:7802/models", nil, "Authorization", "Bearer mine")
	if resp.StatusCode != 401 || u.count() != n+1 {
		t.Errorf("foreign credential: %d after %d requests", resp.StatusCode, u.count()-n)
	}
}

func TestLocalAnswers(t *testing.T) {
	h := newHarness(t)
	u := newUpstream(t, nil)
	route := claudeRoute(u, "")
	route.Local = []wire.Local{{Method: "POST", Path: "/oauth/token", Status: 200, ContentType: "application/json", Body: `{"access_token":"placeholder"}`}}
	h.prepare(wire.Prepare{Config: wire.Config{Routes: []wire.Route{route}}})
	resp, body := do(t, h.client("claude"), "POST", "http://127.0.0.1:7801/oauth/token", strings.NewReader(`{"refresh_token":"x"}`))
	if resp.StatusCode != 200 || body != `{"access_token":"placeholder"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("local answer = %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	if u.count() != 0 {
		t.Fatal("a local answer contacted the upstream")
	}
	do(t, h.client("claude"), "GET", "http://127.0.0.1:7801/oauth/token", nil)
	if u.count() != 1 {
		t.Fatal("another method on the local path did not go upstream")
	}
}

func TestMissingLogin(t *testing.T) {
	h := newHarness(t)
	u := newUpstream(t, nil)
	h.prepare(wire.Prepare{Config: wire.Config{MissingHint: "run 'hjk run fix' on the host (%s)", Routes: []wire.Route{claudeRoute(u, "")}}})
	resp, body := do(t, h.client("claude"), "POST", "http://127.0.0.1:7801/v1/messages", nil, "Authorization", "Bearer "+placeClaude)
	want := "hjk gate: no claude login is loaded for this instance: run 'hjk run fix' on the host (claude)\n"
	if resp.StatusCode != 502 || body != want {
		t.Fatalf("missing login = %d %q", resp.StatusCode, body)
	}
	if u.count() != 0 {
		t.Fatal("the placeholder went upstream")
	}
	// A keeper that cannot be reached says the same.
	g, err := New(Options{Dir: filepath.Join(h.dir, "g2"), Keeper: NewKeeperClient(filepath.Join(h.dir, "nothing.sock"))})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Apply(wire.Config{Routes: []wire.Route{claudeRoute(u, "")}}); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return net.Dial("unix", filepath.Join(h.dir, "g2", "claude.sock"))
	}}}
	resp, body = do(t, c, "POST", "http://x/v1/messages", nil, "Authorization", "Bearer "+placeClaude)
	if resp.StatusCode != 502 || !strings.HasPrefix(body, "hjk gate: no claude login is loaded for this instance: ") {
		t.Fatalf("keeper unreachable = %d %q", resp.StatusCode, body)
	}
}

func TestRefreshFailureTextReachesTheAgent(t *testing.T) {
	h := newHarness(t)
	dead := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(400) }))
	defer dead.Close()
	u := newUpstream(t, nil)
	route := wire.Route{Name: "codex", Upstream: u.URL, CAPEM: caPEM(u.Server), Item: "codex-oauth-creds", Header: "Authorization", Scheme: "Bearer", Placeholder: "PLACEHOLDER-codex"}
	expired := fakeJWT(fmt.Sprintf(`{"exp":%d}`, time.Now().Add(-time.Hour).Unix()))
	h.prepare(wire.Prepare{Config: wire.Config{Routes: []wire.Route{route}}, Logins: []wire.Login{codexLogin(expired, dead)}})
	resp, body := do(t, h.client("codex"), "POST", "http://x/responses", nil, "Authorization", "Bearer PLACEHOLDER-codex")
	want := "hjk gate: refreshing the codex login failed: the token endpoint answered 400 Bad Request; run 'hjk auth codex' on the host\n"
	if resp.StatusCode != 502 || body != want {
		t.Fatalf("refresh failure = %d %q", resp.StatusCode, body)
	}
	if u.count() != 0 {
		t.Fatal("the request went upstream without a credential")
	}
}

func TestPrepareReplacesTheConfig(t *testing.T) {
	h := newHarness(t)
	u := newUpstream(t, nil)
	gem := wire.Route{Name: "gemini-api", Upstream: u.URL, CAPEM: caPEM(u.Server), Item: "gemini-api-key", Header: "x-goog-api-key", Placeholder: placeKey}
	h.prepare(wire.Prepare{Config: wire.Config{Routes: []wire.Route{claudeRoute(u, ""), gem}},
		Logins: []wire.Login{claudeLogin(), {Item: "gemini-api-key", Agent: "gemini", Kind: "api-key", Secret: realKey}}})
	for _, n := range []string{"proxy", "claude", "gemini-api"} {
		fi, err := os.Stat(filepath.Join(h.dir, "gate", n+".sock"))
		if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o666 {
			t.Fatalf("%s.sock: %v %v", n, fi.Mode(), err)
		}
	}
	do(t, h.client("gemini-api"), "GET", "http://x/m", nil, "x-goog-api-key", placeKey)
	if u.last(t).Header.Get("x-goog-api-key") != realKey {
		t.Fatal("not swapped")
	}
	// A new key for the same item, and the claude route gone: the cached
	// value is forgotten and claude.sock disappears.
	res := h.prepare(wire.Prepare{Config: wire.Config{Allow: []string{"example.com"}, Routes: []wire.Route{gem}},
		Logins: []wire.Login{{Item: "gemini-api-key", Agent: "gemini", Kind: "api-key", Secret: realKey + "2"}}})
	if res.Logins[0].Result != wire.Replaced {
		t.Fatalf("Prepare = %+v", res)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "gate", "claude.sock")); !os.IsNotExist(err) {
		t.Errorf("claude.sock is still there: %v", err)
	}
	do(t, h.client("gemini-api"), "GET", "http://x/m", nil, "x-goog-api-key", placeKey)
	if u.last(t).Header.Get("x-goog-api-key") != realKey+"2" {
		t.Fatal("the old key is still used after a prepare")
	}
	// A bad config changes nothing.
	if _, err := h.gate.Prepare(context.Background(), wire.Prepare{Config: wire.Config{Allow: []string{"bad host"}}}); err == nil {
		t.Fatal("a bad config was applied")
	}
	if !h.gate.state.Load().allow.Allows("example.com") {
		t.Fatal("a refused Prepare changed the config")
	}
}

func TestRingKeepsTheLastThousand(t *testing.T) {
	r := newRing(maxRefusals)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxRefusals + 5 {
		r.add(wire.Refusal{Time: t0.Add(time.Duration(i) * time.Second), Port: i})
	}
	all := r.since(time.Time{})
	if len(all) != maxRefusals || all[0].Port != 5 || all[len(all)-1].Port != maxRefusals+4 {
		t.Fatalf("ring holds %d, first %d, last %d", len(all), all[0].Port, all[len(all)-1].Port)
	}
	if late := r.since(t0.Add(time.Duration(maxRefusals+3) * time.Second)); len(late) != 2 || late[0].Port != maxRefusals+3 {
		t.Fatalf("since = %+v", late)
	}
}

// TestTLSRoute: a route with TLS is served over TLS on its socket, with a
// certificate for the loopback addresses signed by the gate's own CA,
// whose certificate (never its key) is in DIR/ca.pem for the agent to
// trust. Codex refuses a ChatGPT backend that is not https, and a
// self-signed leaf (docs/notes/gate-facts.md).
func TestTLSRoute(t *testing.T) {
	h := newHarness(t)
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "auth="+r.Header.Get("Authorization"))
	})
	r := claudeRoute(u, "")
	r.TLS = true
	h.prepare(wire.Prepare{Config: wire.Config{Instance: "t", Routes: []wire.Route{r}}, Logins: []wire.Login{claudeLogin()}})

	b, err := os.ReadFile(filepath.Join(h.dir, "gate", wire.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(h.dir, "gate", wire.CAFile)); fi.Mode().Perm() != 0o644 {
		t.Errorf("%s is %v, want 0644 (the agent reads it)", wire.CAFile, fi.Mode().Perm())
	}
	if strings.Contains(string(b), "PRIVATE KEY") {
		t.Fatalf("%s holds a private key", wire.CAFile)
	}
	pool, err := wire.CertPool(string(b))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("%s is not a CA certificate (%v)", wire.CAFile, err)
	}
	sock := filepath.Join(h.dir, "gate", "claude.sock")
	for _, host := range []string{"127.0.0.1", "localhost"} {
		var leaf *x509.Certificate
		c := &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
			TLSClientConfig: &tls.Config{RootCAs: pool, VerifyConnection: func(cs tls.ConnectionState) error {
				leaf = cs.PeerCertificates[0]
				return nil
			}},
		}, Timeout: 20 * time.Second}
		resp, body := do(t, c, "POST", "https://"+host+":7803/v1/messages", strings.NewReader("{}"), "Authorization", "Bearer "+placeClaude)
		if resp.StatusCode != 200 || body != "auth=Bearer "+realClaude {
			t.Errorf("%s: status %d, body %q", host, resp.StatusCode, clipped(body))
		}
		if leaf == nil || leaf.IsCA || !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
			t.Errorf("%s: the gate's certificate must be a server certificate, not a CA", host)
		}
	}
	// Plain HTTP on a TLS route gets nowhere.
	resp, err := h.client("claude").Get("http://127.0.0.1:7803/v1/models")
	if err == nil && resp.StatusCode == 200 {
		t.Error("a TLS route answered plain HTTP")
	}

	// The same route without TLS, in a later prepare: plain HTTP again.
	r.TLS = false
	h.prepare(wire.Prepare{Config: wire.Config{Instance: "t", Routes: []wire.Route{r}}})
	if resp, body := do(t, h.client("claude"), "GET", "http://127.0.0.1:7803/v1/models", nil, "Authorization", "Bearer "+placeClaude); resp.StatusCode != 200 {
		t.Errorf("the route back to plain HTTP: status %d %q", resp.StatusCode, clipped(body))
	}
}
