package fakeapi

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func start(t *testing.T, o Options) *Server {
	t.Helper()
	o.Logf = t.Logf
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func post(t *testing.T, s *Server, url, ctype, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// sseData returns the data lines of an event stream, in order.
func sseData(body string) []string {
	var out []string
	for l := range strings.Lines(body) {
		if d, ok := strings.CutPrefix(strings.TrimRight(l, "\n"), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestCredentialsPerAPI(t *testing.T) {
	s := start(t, Options{})
	s.Allow(Anthropic, "sk-ant-oat01-good")
	s.Allow(Gemini, "AIza-good")
	msg := `{"model":"m","stream":true,"messages":[]}`
	cases := []struct {
		name, url string
		hdr       map[string]string
		status    int
		cred      string
	}{
		{"bearer", s.BaseURL(Anthropic) + "/v1/messages", map[string]string{"Authorization": "Bearer sk-ant-oat01-good"}, 200, "sk-ant-oat01-good"},
		{"x-api-key", s.BaseURL(Anthropic) + "/v1/messages", map[string]string{"X-Api-Key": "sk-ant-oat01-good"}, 200, "sk-ant-oat01-good"},
		{"wrong", s.BaseURL(Anthropic) + "/v1/messages", map[string]string{"X-Api-Key": "sk-ant-oat01-bad"}, 401, "sk-ant-oat01-bad"},
		{"none", s.BaseURL(Anthropic) + "/v1/messages", nil, 401, ""},
		{"other API's key", s.BaseURL(OpenAI) + "/responses", map[string]string{"Authorization": "Bearer sk-ant-oat01-good"}, 401, "sk-ant-oat01-good"},
		{"goog header", s.BaseURL(Gemini) + "/v1beta/models/g:generateContent", map[string]string{"X-Goog-Api-Key": "AIza-good"}, 200, "AIza-good"},
		{"goog query", s.BaseURL(Gemini) + "/v1beta/models/g:generateContent?key=AIza-good", nil, 200, "AIza-good"},
	}
	for _, c := range cases {
		resp, _ := post(t, s, c.url, "application/json", msg, c.hdr)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		reqs := s.Requests()
		last := reqs[len(reqs)-1]
		if last.Credential != c.cred || last.Accepted != (c.status == 200) || last.Status != c.status {
			t.Errorf("%s: recorded credential %q accepted %v status %d", c.name, last.Credential, last.Accepted, last.Status)
		}
	}
	if !s.Saw(Anthropic, "sk-ant-oat01-good") || s.Saw(Anthropic, "sk-ant-oat01-bad") || s.Saw(OpenAI, "sk-ant-oat01-good") {
		t.Error("Saw does not match what was accepted")
	}
	s.Revoke(Anthropic, "sk-ant-oat01-good")
	if resp, _ := post(t, s, s.BaseURL(Anthropic)+"/v1/messages", "application/json", msg, map[string]string{"X-Api-Key": "sk-ant-oat01-good"}); resp.StatusCode != 401 {
		t.Errorf("revoked credential: status %d", resp.StatusCode)
	}
}

func TestAnthropicStream(t *testing.T) {
	s := start(t, Options{Answer: "hello there"})
	s.Allow(Anthropic, "k")
	resp, body := post(t, s, s.BaseURL(Anthropic)+"/v1/messages?beta=true", "application/json", `{"model":"m","stream":true}`, map[string]string{"X-Api-Key": "k"})
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var types []string
	var text string
	for _, d := range sseData(body) {
		var e struct {
			Type  string `json:"type"`
			Delta struct {
				Text string `json:"text"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(d), &e); err != nil {
			t.Fatalf("event %q: %v", d, err)
		}
		types = append(types, e.Type)
		text += e.Delta.Text
	}
	want := "message_start content_block_start content_block_delta content_block_stop message_delta message_stop"
	if strings.Join(types, " ") != want || text != "hello there" {
		t.Errorf("events %v, text %q", types, text)
	}
	if !strings.Contains(body, "event: message_start\n") {
		t.Error("events are not named (claude needs the event: lines)")
	}
}

func TestResponsesSSE(t *testing.T) {
	s := start(t, Options{})
	s.Allow(OpenAI, "sk-proj-x")
	_, body := post(t, s, s.BaseURL(OpenAI)+"/responses", "application/json", `{"model":"m"}`, map[string]string{"Authorization": "Bearer sk-proj-x"})
	data := sseData(body)
	if len(data) != 5 || !strings.Contains(data[3], DefaultAnswer) || !strings.Contains(data[4], `"response.completed"`) {
		t.Errorf("stream: %q", data)
	}
	_, body = post(t, s, s.BaseURL(OpenAI)+"/responses", "application/json", `{"model":"m","generate":false}`, map[string]string{"Authorization": "Bearer sk-proj-x"})
	if data := sseData(body); len(data) != 2 {
		t.Errorf("warm-up answered %d events, want created and completed", len(data))
	}
}

// wsDial is a WebSocket client just big enough for the test: handshake,
// masked text frames out, frames in.
func wsDial(t *testing.T, s *Server, rawURL, bearer string) (*wsConn, net.Conn, *http.Response) {
	t.Helper()
	u, _ := url.Parse(rawURL)
	var conn net.Conn
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{RootCAs: certPool(s.CAPEM()), ServerName: "127.0.0.1"})
		conn = tc
	}
	t.Cleanup(func() { conn.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key))
	req.Header.Set("Authorization", "Bearer "+bearer)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	return &wsConn{rw: bufio.NewReadWriter(br, bufio.NewWriter(conn))}, conn, resp
}

func wsSendMasked(t *testing.T, c net.Conn, op byte, payload []byte, fin bool) {
	t.Helper()
	b0 := op
	if fin {
		b0 |= 0x80
	}
	hdr := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	mask := []byte{1, 2, 3, 4}
	m := bytes.Clone(payload)
	for i := range m {
		m[i] ^= mask[i%4]
	}
	if _, err := c.Write(append(append(hdr, mask...), m...)); err != nil {
		t.Fatal(err)
	}
}

func TestResponsesWebSocket(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		s := start(t, Options{TLS: tlsOn})
		s.Allow(ChatGPT, "at")
		wsURL := s.BaseURL(ChatGPT) + "/codex/responses"
		if _, _, resp := wsDial(t, s, wsURL, "wrong"); resp.StatusCode != 401 {
			t.Fatalf("tls=%v: upgrade with a wrong credential: %d", tlsOn, resp.StatusCode)
		}
		ws, conn, resp := wsDial(t, s, wsURL, "at")
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("tls=%v: upgrade: %d", tlsOn, resp.StatusCode)
		}
		// A ping, then a request split over two frames, one of them large.
		wsSendMasked(t, conn, opPing, []byte("p"), true)
		big := `{"type":"response.create","model":"m","input":"` + strings.Repeat("x", 70000) + `"}`
		wsSendMasked(t, conn, opText, []byte(big[:100]), false)
		wsSendMasked(t, conn, opCont, []byte(big[100:]), true)
		var types []string
		for len(types) < 10 {
			_, op, payload, err := ws.frame()
			if err != nil {
				t.Fatalf("tls=%v: read: %v", tlsOn, err)
			}
			if op == opPong {
				continue
			}
			var e struct{ Type string }
			json.Unmarshal(payload, &e)
			types = append(types, e.Type)
			if e.Type == "response.completed" {
				break
			}
		}
		if got := strings.Join(types, " "); got != "response.created response.output_item.added response.output_text.delta response.output_item.done response.completed" {
			t.Errorf("tls=%v: events %s", tlsOn, got)
		}
		wsSendMasked(t, conn, opClose, nil, true)
		// The record holds the message the client sent, whole.
		deadline := time.Now().Add(5 * time.Second)
		for {
			var ws Request
			for _, r := range s.RequestsTo(ChatGPT) {
				if r.WebSocket && r.Accepted {
					ws = r
				}
			}
			if ws.Status == http.StatusSwitchingProtocols && string(ws.Body) == big+"\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tls=%v: recorded websocket: status %d, %d bytes", tlsOn, ws.Status, len(ws.Body))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestTokenRotation(t *testing.T) {
	s := start(t, Options{TokenLifetime: 90 * time.Minute, Account: Account{Email: "a@example.com"}})
	s.AddRefreshToken(OpenAIToken, "rt-0")
	refresh := func(rt, client string) (*http.Response, map[string]any) {
		body := `{"client_id":"` + client + `","grant_type":"refresh_token","refresh_token":"` + rt + `"}`
		resp, b := post(t, s, s.BaseURL(OpenAIToken), "application/json", body, nil)
		var m map[string]any
		json.Unmarshal([]byte(b), &m)
		return resp, m
	}
	if resp, _ := refresh("rt-0", "app_other"); resp.StatusCode != 401 {
		t.Errorf("wrong client id: %d", resp.StatusCode)
	}
	resp, m := refresh("rt-0", codexClientID)
	if resp.StatusCode != 200 {
		t.Fatalf("refresh: %d %v", resp.StatusCode, m)
	}
	at, _ := m["access_token"].(string)
	rt1, _ := m["refresh_token"].(string)
	if at == "" || rt1 == "" || rt1 == "rt-0" {
		t.Fatalf("answer %v", m)
	}
	claims, err := jwtPayload(at)
	if err != nil {
		t.Fatal(err)
	}
	if exp, _ := claims["exp"].(float64); time.Until(time.Unix(int64(exp), 0)) < 89*time.Minute {
		t.Errorf("access token exp %v is not 90 minutes away", exp)
	}
	id, _ := jwtPayload(m["id_token"].(string))
	if id["email"] != "a@example.com" {
		t.Errorf("id token email %v", id["email"])
	}
	// The new access token is good on the ChatGPT backend.
	r, _ := post(t, s, s.BaseURL(ChatGPT)+"/codex/responses", "application/json", `{}`, map[string]string{"Authorization": "Bearer " + at})
	if r.StatusCode != 200 {
		t.Errorf("issued access token refused: %d", r.StatusCode)
	}
	// The spent refresh token fails, loudly; the new one works once.
	if resp, m := refresh("rt-0", codexClientID); resp.StatusCode != 400 || !strings.Contains(toJSON(m), "refresh_token_reused") {
		t.Errorf("reuse: %d %v", resp.StatusCode, m)
	}
	if resp, _ := refresh(rt1, codexClientID); resp.StatusCode != 200 {
		t.Errorf("rotated refresh token: %d", resp.StatusCode)
	}
	if s.Refreshes(OpenAIToken) != 2 || s.Reuses(OpenAIToken) != 1 || s.Err() == nil || len(s.Grants(OpenAIToken)) != 2 {
		t.Errorf("refreshes %d reuses %d err %v grants %d", s.Refreshes(OpenAIToken), s.Reuses(OpenAIToken), s.Err(), len(s.Grants(OpenAIToken)))
	}
	if resp, _ := refresh("never-issued", codexClientID); resp.StatusCode != 400 || s.Reuses(OpenAIToken) != 1 {
		t.Errorf("unknown refresh token: %d (reuses %d)", resp.StatusCode, s.Reuses(OpenAIToken))
	}
}

func TestGoogleTokenForm(t *testing.T) {
	s := start(t, Options{TokenLifetime: -time.Second}) // issued already expired
	s.AddRefreshToken(GoogleToken, "1//rt")
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"1//rt"}, "client_id": {geminiClientID}, "client_secret": {"wrong"}}
	if resp, _ := post(t, s, s.BaseURL(GoogleToken), "application/x-www-form-urlencoded", form.Encode(), nil); resp.StatusCode != 401 {
		t.Errorf("wrong secret: %d", resp.StatusCode)
	}
	form.Set("client_secret", geminiClientSecret)
	resp, body := post(t, s, s.BaseURL(GoogleToken), "application/x-www-form-urlencoded;charset=UTF-8", form.Encode(), nil)
	var m struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	json.Unmarshal([]byte(body), &m)
	if resp.StatusCode != 200 || !strings.HasPrefix(m.AccessToken, "ya29.") || m.RefreshToken == "" || m.ExpiresIn > 0 {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	// Expired at once: Code Assist refuses it.
	r, _ := post(t, s, s.BaseURL(CodeAssist)+"/v1internal:loadCodeAssist", "application/json", `{}`, map[string]string{"Authorization": "Bearer " + m.AccessToken})
	if r.StatusCode != 401 {
		t.Errorf("expired access token: %d", r.StatusCode)
	}
	if resp, _ := post(t, s, s.BaseURL(GoogleToken), "application/x-www-form-urlencoded", form.Encode(), nil); resp.StatusCode != 400 || s.Reuses(GoogleToken) != 1 {
		t.Errorf("reuse: %d, reuses %d", resp.StatusCode, s.Reuses(GoogleToken))
	}
}

func TestGoogleAnswers(t *testing.T) {
	s := start(t, Options{TLS: true})
	s.Allow(CodeAssist, "ya29.x")
	auth := map[string]string{"Authorization": "Bearer ya29.x"}
	_, body := post(t, s, s.BaseURL(CodeAssist)+"/v1internal:loadCodeAssist", "application/json", `{}`, auth)
	if !strings.Contains(body, `"cloudaicompanionProject":"`+fakeProject+`"`) || !strings.Contains(body, `"currentTier"`) {
		t.Errorf("loadCodeAssist: %s", body)
	}
	_, body = post(t, s, s.BaseURL(CodeAssist)+"/v1internal:streamGenerateContent?alt=sse", "application/json", `{"request":{}}`, auth)
	if d := sseData(body); len(d) != 1 || !strings.Contains(d[0], `"response":{"candidates"`) || !strings.Contains(d[0], DefaultAnswer) {
		t.Errorf("streamGenerateContent: %q", body)
	}
	// gemini's model router asks for JSON of a schema and retries for a
	// minute when the answer does not parse.
	req := `{"request":{"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":{"type":"OBJECT","properties":{"reasoning":{"type":"STRING"},"model_choice":{"type":"STRING","enum":["flash","pro"]},"n":{"type":"integer"}}}}}}`
	_, body = post(t, s, s.BaseURL(CodeAssist)+"/v1internal:generateContent", "application/json", req, auth)
	var out struct {
		Response struct {
			Candidates []struct {
				Content struct {
					Parts []struct{ Text string }
				}
			}
		}
	}
	json.Unmarshal([]byte(body), &out)
	var choice map[string]any
	if err := json.Unmarshal([]byte(out.Response.Candidates[0].Content.Parts[0].Text), &choice); err != nil || choice["model_choice"] != "flash" || choice["n"] != 1.0 {
		t.Errorf("JSON answer %s: %v", body, err)
	}
}

func TestUnknownPath(t *testing.T) {
	s := start(t, Options{})
	resp, _ := post(t, s, s.URL()+"/nowhere/v1/messages", "application/json", `{}`, nil)
	if resp.StatusCode != 404 || s.Requests()[0].API != "" {
		t.Errorf("status %d, api %q", resp.StatusCode, s.Requests()[0].API)
	}
	// ChatGPT is served at /backend-api, not under its name.
	resp, _ = post(t, s, s.URL()+"/chatgpt/backend-api/codex/responses", "application/json", `{}`, nil)
	if resp.StatusCode != 404 {
		t.Errorf("/chatgpt prefix: %d", resp.StatusCode)
	}
}

func jwtPayload(tok string) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, io.ErrUnexpectedEOF
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzWebSocketRead feeds arbitrary bytes to the frame reader: it must end
// with a message or an error, never panic or loop.
func FuzzWebSocketRead(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1})
	f.Add([]byte{0x01, 0x81, 0, 0, 0, 0, 'a', 0x80, 0x81, 0, 0, 0, 0, 'b'})
	f.Add([]byte{0x89, 0x80, 0, 0, 0, 0, 0x88, 0x80, 0, 0, 0, 0})
	f.Add([]byte{0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &wsConn{rw: bufio.NewReadWriter(bufio.NewReader(bytes.NewReader(data)), bufio.NewWriter(io.Discard))}
		for range 64 {
			if _, _, err := c.read(); err != nil {
				return
			}
		}
	})
}

// FuzzTokenRequest parses arbitrary token request bodies of both kinds.
func FuzzTokenRequest(f *testing.F) {
	f.Add("application/json", `{"client_id":"app_x","grant_type":"refresh_token","refresh_token":"r"}`)
	f.Add("application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=1%2F%2Fr&client_id=c&client_secret=s")
	f.Add("text/plain", "x")
	f.Fuzz(func(t *testing.T, ctype, body string) {
		r, _ := http.NewRequest(http.MethodPost, "http://x/", nil)
		r.Header.Set("Content-Type", ctype)
		parseTokenRequest(r, []byte(body))
	})
}

// FuzzFillSchema fills arbitrary schemas: the result must always marshal.
func FuzzFillSchema(f *testing.F) {
	f.Add(`{"type":"OBJECT","properties":{"a":{"type":"STRING","enum":["x"]},"b":{"type":"array","items":{"type":"number"}}}}`)
	f.Add(`{"type":"array","items":{"type":"array","items":{"type":"array"}}}`)
	f.Fuzz(func(t *testing.T, schema string) {
		var m map[string]any
		if json.Unmarshal([]byte(schema), &m) != nil {
			return
		}
		if _, err := json.Marshal(fillSchema(m, 0)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLogsHoldNoSecret scans every line the server logs, and every body it
// answers, for the credentials and refresh tokens the requests carried.
func TestLogsHoldNoSecret(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	s, err := Start(Options{Logf: func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(f, a...))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cred, rt := "sk-ant-oat01-secretvalue", "rt-secretvalue"
	s.AddRefreshToken(OpenAIToken, rt)
	var bodies []string
	_, b := post(t, s, s.BaseURL(Anthropic)+"/v1/messages", "application/json", `{}`, map[string]string{"Authorization": "Bearer " + cred})
	bodies = append(bodies, b)
	for range 2 { // the second one is a reuse
		_, b = post(t, s, s.BaseURL(OpenAIToken), "application/json", `{"client_id":"`+codexClientID+`","grant_type":"refresh_token","refresh_token":"`+rt+`"}`, nil)
		bodies = append(bodies, b)
	}
	_, b = post(t, s, s.BaseURL(OpenAIToken), "application/json", `{"client_id":"`+rt+`","grant_type":"refresh_token","refresh_token":"`+rt+`"}`, nil)
	bodies = append(bodies, b)
	mu.Lock()
	defer mu.Unlock()
	if len(lines) < 3 {
		t.Fatalf("expected refusal and reuse lines, got %q", lines)
	}
	for _, l := range append(lines, bodies[0], bodies[2], bodies[3]) {
		if strings.Contains(l, "secretvalue") {
			t.Errorf("a secret in %q", l)
		}
	}
}

// TestStreamsAsItGoes: with a pause longer than any test between events,
// the first event still arrives, so each is flushed as it is written.
func TestStreamsAsItGoes(t *testing.T) {
	s := start(t, Options{EventDelay: time.Hour})
	s.Allow(Anthropic, "k")
	req, _ := http.NewRequest(http.MethodPost, s.BaseURL(Anthropic)+"/v1/messages", strings.NewReader(`{"stream":true}`))
	req.Header.Set("X-Api-Key", "k")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "data: ") {
			if !strings.Contains(l, "message_start") {
				t.Errorf("first event %q", l)
			}
			break
		}
	}
	// The same over a WebSocket: the first frame comes, then Close ends the pause.
	s.Allow(OpenAI, "k")
	ws, conn, _ := wsDial(t, s, s.BaseURL(OpenAI)+"/responses", "k")
	wsSendMasked(t, conn, opText, []byte(`{"type":"response.create"}`), true)
	if _, _, payload, err := ws.frame(); err != nil || !strings.Contains(string(payload), "response.created") {
		t.Fatalf("first frame %q: %v", payload, err)
	}
}
