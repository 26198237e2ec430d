package gate

// These tests run the built hjk-gate (static, trimmed, as hjk will ship
// it): serve and keep as processes on real unix sockets, driven by the
// prepare, load, export and log subcommands with JSON on stdin, the way hjk
// drives them through `<engine> exec -i`.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/gatetest"
	"github.com/hjk-dev/hjk/internal/gate/wire"
)

var bin string // the hjk-gate under test

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hjkgate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "hjk-gate")
	if err := gatetest.Build(bin, runtime.GOARCH); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Fake credentials.
const (
	realClaude  = "sk-ant-oat01-REALbinaryTOKEN_0123456789"
	placeClaude = "sk-ant-oat01-PLACEHOLDERbinary_00000000"
	realRefresh = "rt-REALbinary-0"
)

func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

// proc is a running serve or keep.
type proc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t testing.TB, wait string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), stderr: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd.Stderr = p.stderr
	p.cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(wait); err == nil {
			return p
		}
		if i > 500 {
			t.Fatalf("%s did not make %s:\n%s", args[0], wait, p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t testing.TB) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM", p.cmd.Args[1])
	}
	p.done <- nil // for the cleanup
	return p.cmd.ProcessState.ExitCode()
}

// gateCmd runs a subcommand with stdin and returns stdout, stderr, code.
func gateCmd(t testing.TB, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// pair is a keeper and a gate, as processes.
type pair struct {
	dir          string
	keep, serve  *proc
	gctl, kctl   string
	gateSockets  string
	keeperSocket string
}

func startPair(t testing.TB) *pair {
	dir, err := os.MkdirTemp("", "hgb") // short: socket paths have 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &pair{dir: dir, gctl: filepath.Join(dir, "gc", "ctl.sock"), kctl: filepath.Join(dir, "kc", "ctl.sock"),
		gateSockets: filepath.Join(dir, "g"), keeperSocket: filepath.Join(dir, "k", "keeper.sock")}
	p.keep = start(t, p.kctl, "keep", "--dir", filepath.Join(dir, "k"), "--control", p.kctl)
	p.serve = start(t, p.gctl, "serve", "--dir", p.gateSockets, "--keeper", p.keeperSocket, "--control", p.gctl)
	return p
}

func (p *pair) client(name string) *http.Client {
	sock := filepath.Join(p.gateSockets, name+".sock")
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}, Timeout: 20 * time.Second}
}

// upstream is a fake HTTPS API that answers with the Authorization it got.
func upstream(t testing.TB) (*httptest.Server, string) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%s %s auth=%s", r.Method, r.URL.Path, r.Header.Get("Authorization"))
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
}

// tokenEndpoint rotates single-use codex refresh tokens and refuses reuse.
func tokenEndpoint(t testing.TB, access string) (*httptest.Server, func() (int, int)) {
	var mu sync.Mutex
	valid := map[string]bool{realRefresh: true}
	n, reused := 0, 0
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var m map[string]string
		json.NewDecoder(r.Body).Decode(&m)
		if !valid[m["refresh_token"]] {
			reused++
			http.Error(w, `{"error":{"code":"refresh_token_reused"}}`, 400)
			return
		}
		delete(valid, m["refresh_token"])
		n++
		next := fmt.Sprintf("rt-REALbinary-%d", n)
		valid[next] = true
		fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q}`, access, next)
	}))
	t.Cleanup(s.Close)
	return s, func() (int, int) { mu.Lock(); defer mu.Unlock(); return n, reused }
}

func TestSubcommands(t *testing.T) {
	p := startPair(t)
	up, upCA := upstream(t)
	exp := time.Now().Add(time.Hour).Unix()
	freshAccess := fakeJWT(fmt.Sprintf(`{"exp":%d,"REALbinary":"new"}`, exp))
	expiredAccess := fakeJWT(fmt.Sprintf(`{"exp":%d,"REALbinary":"old"}`, time.Now().Add(-time.Hour).Unix()))
	tok, counts := tokenEndpoint(t, freshAccess)
	tokCA := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tok.Certificate().Raw}))
	codexSecret := `{"tokens":{"id_token":"` + fakeJWT(`{"email":"dev@example.com"}`) + `","access_token":"` + expiredAccess +
		`","refresh_token":"` + realRefresh + `","account_id":"acc"},"last_refresh":"2026-11-01T00:00:00Z"}`
	codexPlace := fakeJWT(`{"placeholder":1}`)
	prep := wire.Prepare{
		Config: wire.Config{
			Instance: "hjk-test-bin", Allow: []string{"example.com"}, Preset: "agents",
			RefuseHint: "hjk config network.allow %s", MissingHint: "run 'hjk run bin' on the host",
			Routes: []wire.Route{
				{Name: "claude", Upstream: up.URL + "/anthropic", CAPEM: upCA, Item: "claude-oidc-token", Header: "Authorization", Scheme: "Bearer", Placeholder: placeClaude},
				{Name: "codex", Upstream: up.URL + "/chatgpt", CAPEM: upCA, Item: "codex-oauth-creds@work", Header: "Authorization", Scheme: "Bearer", Placeholder: codexPlace},
			},
		},
		Logins: []wire.Login{
			{Item: "claude-oidc-token", Agent: "claude", Kind: "subscription", Secret: realClaude, CapturedAt: time.Now().UTC()},
			{Item: "codex-oauth-creds@work", Agent: "codex", Kind: "subscription", Secret: codexSecret, TokenURL: tok.URL + "/oauth/token", CAPEM: tokCA},
		},
	}
	in, _ := json.Marshal(prep)
	out, errs, code := gateCmd(t, string(in), "prepare", "--control", p.gctl)
	if code != 0 {
		t.Fatalf("prepare = %d: %s", code, errs)
	}
	var res wire.PrepareResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || strings.Join(res.Routes, ",") != "claude,codex" ||
		len(res.Logins) != 2 || res.Logins[0].Result != "loaded" || res.Logins[1].Result != "loaded" {
		t.Fatalf("prepare printed %q (%v)", out, err)
	}
	assertClean(t, "prepare's output", out+errs)

	get := func(route, path, auth string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://127.0.0.1:7801"+path, strings.NewReader("{}"))
		req.Header.Set("Authorization", auth)
		resp, err := p.client(route).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get("claude", "/v1/messages", "Bearer "+placeClaude); got != "POST /anthropic/v1/messages auth=Bearer "+realClaude {
		t.Fatalf("claude route answered %q", strings.ReplaceAll(got, realClaude, "REAL"))
	}
	if got := get("codex", "/backend-api/codex/responses", "Bearer "+codexPlace); got != "POST /chatgpt/backend-api/codex/responses auth=Bearer "+freshAccess {
		t.Fatalf("codex route answered %q", got)
	}
	if n, reused := counts(); n != 1 || reused != 0 {
		t.Fatalf("token endpoint: %d refreshes, %d reuses", n, reused)
	}

	// A refused CONNECT, then the log.
	c, err := net.Dial("unix", filepath.Join(p.gateSockets, "proxy.sock"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	c.Close()
	if resp.StatusCode != 403 || string(body) != "hjk gate: evil.example is not allowed for this instance (network: agents); allow it with: hjk config network.allow evil.example\n" {
		t.Fatalf("refused CONNECT = %d %q", resp.StatusCode, body)
	}
	out, errs, code = gateCmd(t, "", "log", "--control", p.gctl)
	var r wire.Refusal
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Host != "evil.example" || r.Port != 443 || strings.Count(out, "\n") != 1 {
		t.Fatalf("log = %d %q %s", code, out, errs)
	}
	if out, _, code = gateCmd(t, "", "log", "--control", p.gctl, "--since", time.Now().Add(time.Hour).Format(time.RFC3339)); code != 0 || out != "" {
		t.Fatalf("log --since later = %d %q", code, out)
	}

	// export: the rotated codex login only; load it back: same.
	out, errs, code = gateCmd(t, "", "export", "--control", p.kctl, "claude-oidc-token")
	if code != ExitNothing || strings.TrimSpace(out) != "[]" {
		t.Fatalf("export of a login never refreshed = %d %q %s", code, out, errs)
	}
	out, errs, code = gateCmd(t, "", "export", "--control", p.kctl)
	var rotated []wire.Login
	if code != 0 || json.Unmarshal([]byte(out), &rotated) != nil || len(rotated) != 1 || rotated[0].Item != "codex-oauth-creds@work" ||
		!strings.Contains(rotated[0].Secret, "rt-REALbinary-1") || !strings.Contains(rotated[0].Secret, freshAccess) {
		t.Fatalf("export = %d %s", code, errs)
	}
	back, _ := json.Marshal(rotated)
	out, errs, code = gateCmd(t, string(back), "load", "--control", p.kctl)
	if code != 0 || !strings.Contains(out, `"result":"same"`) {
		t.Fatalf("load = %d %q %s", code, out, errs)
	}
	assertClean(t, "load's output", out+errs)
	if _, _, code = gateCmd(t, "", "export", "--control", p.kctl); code != ExitNothing {
		t.Fatalf("export after the host took the login back = %d, want %d", code, ExitNothing)
	}

	// Nothing secret in the daemons' argv, environment or stderr.
	for _, d := range []*proc{p.keep, p.serve} {
		for _, f := range []string{"cmdline", "environ"} {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", d.cmd.Process.Pid, f))
			if err != nil {
				t.Fatal(err)
			}
			assertClean(t, d.cmd.Args[1]+" "+f, string(b))
		}
	}
	if code := p.serve.stop(t); code != 0 {
		t.Errorf("serve exited %d on SIGTERM", code)
	}
	if code := p.keep.stop(t); code != 0 {
		t.Errorf("keep exited %d on SIGTERM", code)
	}
	for _, d := range []*proc{p.keep, p.serve} {
		logs := d.stderr.String()
		assertClean(t, d.cmd.Args[1]+"'s stderr", logs)
		for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
			if !strings.HasPrefix(line, "hjk-gate "+d.cmd.Args[1]+": ") {
				t.Errorf("%s logged a line without its prefix: %q", d.cmd.Args[1], line)
			}
		}
	}
	for _, want := range []string{"config applied: instance=hjk-test-bin routes=claude,codex", "refused CONNECT evil.example:443"} {
		if !strings.Contains(p.serve.stderr.String(), want) {
			t.Errorf("serve's log lacks %q:\n%s", want, p.serve.stderr.String())
		}
	}
	if !strings.Contains(p.keep.stderr.String(), "refresh done codex-oauth-creds@work") {
		t.Errorf("keep's log lacks the refresh:\n%s", p.keep.stderr.String())
	}
	if left, _ := filepath.Glob(filepath.Join(p.gateSockets, "*.sock")); len(left) != 0 {
		t.Errorf("serve left sockets behind: %v", left)
	}
}

// assertClean fails when s holds any of the test's real secrets.
func assertClean(t *testing.T, what, s string) {
	t.Helper()
	for _, v := range []string{realClaude, "REALbinary", realRefresh} {
		if strings.Contains(s, v) {
			t.Errorf("%s holds a secret", what)
		}
	}
}

func TestExitCodes(t *testing.T) {
	p := startPair(t)
	leaky := `{"logins":[{"item":"claude-oidc-token","agent":"claude","kind":"subscription","secret":"` + realClaude + `"}`
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"version", "", []string{"version"}, 0, ""},
		{"no command", "", nil, ExitFailure, "usage"},
		{"unknown command", "", []string{"frobnicate"}, ExitFailure, "usage"},
		{"bad flag", "", []string{"serve", "--nope=" + realClaude}, ExitFailure, "bad arguments"},
		{"stray argument", "", []string{"prepare", "--control", p.gctl, realClaude}, ExitFailure, "bad arguments"},
		{"bad JSON", leaky, []string{"prepare", "--control", p.gctl}, ExitFailure, "not valid JSON"},
		{"bad login", strings.Replace(leaky, `"subscription"`, `"api-key"`, 1) + "]}", []string{"prepare", "--control", p.gctl}, ExitFailure, "claude-oidc-token"},
		{"gate not running", `{"config":{}}`, []string{"prepare", "--control", filepath.Join(p.dir, "none.sock")}, ExitFailure, "not running"},
		{"keeper not running", `[]`, []string{"load", "--control", filepath.Join(p.dir, "none.sock")}, ExitFailure, "not running"},
		{"load bad JSON", `[{`, []string{"load", "--control", p.kctl}, ExitFailure, "not valid JSON"},
		{"export nothing", "", []string{"export", "--control", p.kctl}, ExitNothing, ""},
		{"log bad since", "", []string{"log", "--control", p.gctl, "--since", "yesterday"}, ExitFailure, "RFC 3339"},
		{"serve twice", "", []string{"serve", "--dir", filepath.Join(p.dir, "x"), "--control", "/proc/none/ctl.sock"}, ExitFailure, "control folder"},
	}
	for _, tt := range tests {
		out, errs, code := gateCmd(t, tt.stdin, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%s: exit %d stderr %q; want %d and %q", tt.name, code, errs, tt.code, tt.want)
		}
		if tt.code == ExitFailure && tt.name != "no command" && tt.name != "unknown command" && strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: stderr is not one line: %q", tt.name, errs)
		}
		assertClean(t, tt.name+" output", out+errs)
	}
	if out, _, _ := gateCmd(t, "", "version"); !strings.HasPrefix(out, "hjk-gate ") {
		t.Errorf("version = %q", out)
	}
}
