// Package e2e runs the built hjk-gate in real containers, on docker and
// podman, laid out as hjk will lay them out: a keeper container, a gate
// container (both from the agent image, the binary from a read-only
// volume, root with no capabilities on a read-only root), and an agent
// container with no network that reaches the gate only through its socket
// folder, mounted read-only. From inside the agent's container a small
// static client (testdata/uclient) proves the placeholder is swapped on the
// route, a refused CONNECT gets the refusal text, an allowed one tunnels,
// and nothing else gets out; outside, that the real secrets are in no
// inspect, no process environment, no log and not in the agent's
// filesystem.
//
// With HJK_E2E=1 an engine or image that is missing fails the tests;
// without it, they are skipped.
package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/gatetest"
	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// image is the agent image scripts/test-images makes: the gate runs from
// it too, for its CA certificates.
const image = "hjk-test/agents:latest"

var (
	gateBin, clientBin string
	problems           = map[string]error{}
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hjkgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	gateBin, clientBin = filepath.Join(dir, "hjk-gate"), filepath.Join(dir, "uclient")
	if err := gatetest.Build(gateBin, runtime.GOARCH); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", clientBin, "./testdata/uclient")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build uclient: %v\n%s", err, out)
		return 1
	}
	for _, e := range []string{"docker", "podman"} {
		problems[e] = check(e)
	}
	return m.Run()
}

// check says why engine e cannot be used, or nil. A missing image is
// made by scripts/test-images, as the host's e2e tests do.
func check(e string) error {
	if _, err := exec.LookPath(e); err != nil {
		return fmt.Errorf("%s is not installed (.ci/install installs it)", e)
	}
	if out, err := exec.Command(e, "info").CombinedOutput(); err != nil {
		return fmt.Errorf("%s info: %v: %s (start the engine: see .ci/install)", e, err, lastLine(out))
	}
	if exec.Command(e, "image", "inspect", image).Run() != nil {
		cmd := exec.Command("../../../scripts/test-images", e)
		out, err := cmd.CombinedOutput()
		if exec.Command(e, "image", "inspect", image).Run() != nil {
			return fmt.Errorf("scripts/test-images %s did not make %s: %v: %s", e, image, err, lastLine(out))
		}
	}
	return nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// Fake credentials: the real ones (which must never reach the agent's
// container) and the placeholders it gets.
const (
	realClaude  = "sk-ant-oat01-REALe2eGATEtoken_0123456789abcdef"
	placeClaude = "sk-ant-oat01-PLACEHOLDERe2e_00000000000000"
	realRefresh = "rt-REALe2eREFRESH-0"
)

func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

// world is what one engine's test runs against: fake upstreams on the
// host's loopback (the gate and keeper containers use the host network),
// and the names of everything the test makes.
type world struct {
	t      *testing.T
	engine string
	sfx    string

	api       *httptest.Server // the agent's API (HTTPS, own CA)
	apiCA     string
	plain     *httptest.Server // an allowed plain host, for the tunnel
	token     *httptest.Server // codex's token endpoint (HTTPS)
	mu        sync.Mutex
	seenAuth  map[string]string // path -> Authorization the API got
	refreshes int
	issued    []string // refresh and access tokens the token endpoint issued
}

func TestGateInContainers(t *testing.T) {
	for _, e := range []string{"docker", "podman"} {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			if err := problems[e]; err != nil {
				if os.Getenv("HJK_E2E") == "1" {
					t.Fatalf("%s is needed with HJK_E2E=1: %v", e, err)
				}
				t.Skipf("%s: %v", e, err)
			}
			gateInContainers(t, e)
		})
	}
}

func gateInContainers(t *testing.T, e string) {
	w := newWorld(t, e)
	vBin, vSock, vKeep := w.name("bin"), w.name("sock"), w.name("keep")
	cKeep, cGate, cAgent := w.name("keeper"), w.name("gate"), w.name("agent")
	for _, v := range []string{vBin, vSock, vKeep} {
		w.must("volume", "create", v)
		t.Cleanup(func() { w.run("", "volume", "rm", "-f", v) })
	}
	for _, c := range []string{cKeep, cGate, cAgent, w.name("copy")} {
		t.Cleanup(func() { w.run("", "rm", "-f", c) })
	}
	// The binary goes into its volume by `cp` into a container that is
	// never started.
	w.must("create", "--name", w.name("copy"), "-v", vBin+":/v", image)
	w.must("cp", gateBin, w.name("copy")+":/v/hjk-gate")
	w.must("rm", w.name("copy"))

	sidecar := []string{"run", "-d", "--user", "0:0", "--cap-drop", "ALL", "--read-only", "--security-opt", "no-new-privileges",
		"--tmpfs", "/tmp", "--network", "host", "-v", vBin + ":/opt/hjk-gate:ro", "--entrypoint", "/opt/hjk-gate/hjk-gate"}
	w.must(append(sidecar, "--name", cKeep, "-v", vKeep+":/run/hjk-keeper", image, "keep")...)
	w.must(append(sidecar, "--name", cGate, "-v", vKeep+":/run/hjk-keeper", "-v", vSock+":/run/hjk-gate", image, "serve")...)
	w.waitSocket(cKeep, "/run/hjk-keeper/keeper.sock")
	w.waitSocket(cGate, "/run/hjk-gate/proxy.sock")

	// hjk's side: the config and the real logins, on stdin.
	plainHostPort := strings.TrimPrefix(w.plain.URL, "http://")
	expired := fakeJWT(fmt.Sprintf(`{"exp":%d,"REALe2e":"old"}`, time.Now().Add(-time.Hour).Unix()))
	codexSecret := `{"tokens":{"id_token":"` + fakeJWT(`{"email":"dev@example.com"}`) + `","access_token":"` + expired +
		`","refresh_token":"` + realRefresh + `","account_id":"acc-e2e"},"last_refresh":"2026-11-01T00:00:00Z"}`
	codexPlace := fakeJWT(`{"placeholder":"codex"}`)
	prep := wire.Prepare{
		Config: wire.Config{
			Instance: "hjk-e2e-" + w.sfx, Allow: []string{"127.0.0.1", "example.com"}, Preset: "agents",
			RefuseHint: "hjk config network.allow %s", MissingHint: "run 'hjk run e2e' on the host",
			Routes: []wire.Route{
				{Name: "claude", Upstream: w.api.URL + "/anthropic", CAPEM: w.apiCA, Item: "claude-oidc-token",
					Header: "Authorization", Scheme: "Bearer", Placeholder: placeClaude},
				{Name: "codex", Upstream: w.api.URL + "/chatgpt", CAPEM: w.apiCA, Item: "codex-oauth-creds",
					Header: "Authorization", Scheme: "Bearer", Placeholder: codexPlace},
			},
		},
		Logins: []wire.Login{
			{Item: "claude-oidc-token", Agent: "claude", Kind: "subscription", Secret: realClaude, CapturedAt: time.Now().UTC()},
			{Item: "codex-oauth-creds", Agent: "codex", Kind: "subscription", Secret: codexSecret, TokenURL: w.token.URL + "/oauth/token", CAPEM: w.apiCA},
		},
	}
	in, _ := json.Marshal(prep)
	out := w.mustIn(string(in), "exec", "-i", cGate, "/opt/hjk-gate/hjk-gate", "prepare")
	if !strings.Contains(out, `"routes":["claude","codex"]`) || strings.Count(out, `"result":"loaded"`) != 2 {
		t.Fatalf("prepare printed %q", out)
	}

	// The agent: no network, the gate's sockets read-only.
	w.must("run", "-d", "--name", cAgent, "--network", "none", "-v", vSock+":/.hjk/gate:ro", image)
	w.must("cp", clientBin, cAgent+":/tmp/uclient")
	inside := func(args ...string) string {
		t.Helper()
		r := w.run("", append([]string{"exec", "-u", "agent", cAgent, "/tmp/uclient"}, args...)...)
		w.scan("uclient output", r.out+r.err)
		return r.out
	}

	// The placeholder is swapped on the route; the API saw the real token.
	if got := inside("http", "/.hjk/gate/claude.sock", "POST", "http://127.0.0.1:7801/v1/messages?beta=true", "Authorization: Bearer "+placeClaude); got != "status 200\nok /anthropic/v1/messages" {
		t.Fatalf("claude route from inside: %q", got)
	}
	if w.auth("/anthropic/v1/messages") != "Bearer "+realClaude {
		t.Fatal("the API did not get the real claude token")
	}
	// The codex login's access token was expired: the keeper refreshed it
	// (once) and the API got the new one.
	if got := inside("http", "/.hjk/gate/codex.sock", "POST", "http://127.0.0.1:7802/backend-api/codex/responses", "Authorization: Bearer "+codexPlace); got != "status 200\nok /chatgpt/backend-api/codex/responses" {
		t.Fatalf("codex route from inside: %q", got)
	}
	w.mu.Lock()
	fresh, refreshes := w.issued[len(w.issued)-1], w.refreshes
	w.mu.Unlock()
	if refreshes != 1 || w.auth("/chatgpt/backend-api/codex/responses") != "Bearer "+fresh {
		t.Fatalf("codex: %d refreshes; the API got the refreshed token = %v", refreshes, w.auth("/chatgpt/backend-api/codex/responses") == "Bearer "+fresh)
	}
	// Anything else goes on unchanged.
	inside("http", "/.hjk/gate/claude.sock", "GET", "http://127.0.0.1:7801/v1/models", "Authorization: Bearer sk-ant-oat01-mine")
	if w.auth("/anthropic/v1/models") != "Bearer sk-ant-oat01-mine" {
		t.Fatal("a request with another token was changed")
	}

	// Egress: refused with the text, allowed through a tunnel, and no
	// other way out.
	refusal := "hjk gate: evil.example is not allowed for this instance (network: agents); allow it with: hjk config network.allow evil.example\n"
	if got := inside("connect", "/.hjk/gate/proxy.sock", "evil.example:443"); got != "status 403\n"+refusal {
		t.Fatalf("refused CONNECT from inside: %q", got)
	}
	if got := inside("connect", "/.hjk/gate/proxy.sock", plainHostPort, "/tunnel"); got != "status 200\ntunnel status 200\ntunnel-ok" {
		t.Fatalf("allowed CONNECT from inside: %q", got)
	}
	if got := inside("tcp", plainHostPort); !strings.HasPrefix(got, "error:") {
		t.Fatalf("a direct connection from inside: %q", got)
	}
	if r := w.run("", "exec", cAgent, "sh", "-c", "touch /.hjk/gate/x"); r.code == 0 {
		t.Fatal("the agent can write the gate's socket folder")
	}
	logOut := w.must("exec", cGate, "/opt/hjk-gate/hjk-gate", "log").out
	var ref wire.Refusal
	if json.Unmarshal([]byte(logOut), &ref) != nil || ref.Host != "evil.example" || ref.Port != 443 {
		t.Fatalf("hjk-gate log = %q", logOut)
	}

	// The rotated login reaches hjk through the keeper, never the agent.
	r := w.run("", "exec", cKeep, "/opt/hjk-gate/hjk-gate", "export")
	if r.code != 0 || !strings.Contains(r.out, `"item":"codex-oauth-creds"`) || !strings.Contains(r.out, fresh) {
		t.Fatalf("export = %d %q %q", r.code, r.out, r.err)
	}

	// No real secret in any inspect, process environment or argv, or log.
	for _, c := range []string{cKeep, cGate, cAgent} {
		w.scan(c+" inspect", w.must("inspect", c).out)
		w.scan(c+" logs", w.must("logs", c).all())
		w.scanProcesses(c)
	}
	for _, v := range []string{vBin, vSock, vKeep} {
		w.scan(v+" inspect", w.must("volume", "inspect", v).out)
	}
	// Nor anywhere in the agent's filesystem.
	w.scanExport(cAgent)

	// What the gate and keeper cost in memory, there (reported only:
	// BenchmarkSSE measures it).
	for _, c := range []string{cGate, cKeep} {
		st := w.must("exec", c, "sh", "-c", "grep -E '^Vm(RSS|HWM)' /proc/1/status | tr -s ' \t\n' ' '").out
		t.Logf("%s %s: %s", e, c, st)
	}

	// The gate's own lines, and a clean stop on SIGTERM (PID 1).
	logs := w.must("logs", cGate).all()
	for _, want := range []string{"config applied: instance=hjk-e2e-" + w.sfx + " routes=claude,codex", "refused CONNECT evil.example:443: not allowed"} {
		if !strings.Contains(logs, want) {
			t.Errorf("gate log lacks %q:\n%s", want, logs)
		}
	}
	t0 := time.Now()
	w.must("stop", cGate)
	if took := time.Since(t0); took > 8*time.Second {
		t.Errorf("%s stop took %v: the gate did not exit on SIGTERM", e, took)
	}
	if code := strings.TrimSpace(w.must("inspect", "-f", "{{.State.ExitCode}}", cGate).out); code != "0" {
		t.Errorf("the gate exited %s on SIGTERM", code)
	}
}

func newWorld(t *testing.T, e string) *world {
	b := make([]byte, 4)
	rand.Read(b)
	w := &world{t: t, engine: e, sfx: "gate-" + e + "-" + hex.EncodeToString(b), seenAuth: map[string]string{}}
	w.api = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.mu.Lock()
		w.seenAuth[r.URL.Path] = r.Header.Get("Authorization")
		w.mu.Unlock()
		io.WriteString(rw, "ok "+r.URL.Path)
	}))
	w.api.Config.ErrorLog = log.New(io.Discard, "", 0)
	w.api.StartTLS()
	t.Cleanup(w.api.Close)
	w.apiCA = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.api.Certificate().Raw}))
	w.plain = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, "tunnel-ok")
	}))
	t.Cleanup(w.plain.Close)
	// The token endpoint shares the API's certificate (httptest's), so
	// one CA serves both.
	valid := map[string]bool{realRefresh: true}
	w.token = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m map[string]string
		json.NewDecoder(r.Body).Decode(&m)
		w.mu.Lock()
		defer w.mu.Unlock()
		if !valid[m["refresh_token"]] {
			http.Error(rw, `{"error":{"code":"refresh_token_reused"}}`, 400)
			return
		}
		delete(valid, m["refresh_token"])
		w.refreshes++
		rt := fmt.Sprintf("rt-REALe2eREFRESH-%d", w.refreshes)
		valid[rt] = true
		access := fakeJWT(fmt.Sprintf(`{"exp":%d,"REALe2e":%d}`, time.Now().Add(time.Hour).Unix(), w.refreshes))
		w.issued = append(w.issued, rt, access)
		fmt.Fprintf(rw, `{"access_token":%q,"refresh_token":%q}`, access, rt)
	}))
	w.token.Config.ErrorLog = log.New(io.Discard, "", 0)
	w.token.StartTLS()
	t.Cleanup(w.token.Close)
	return w
}

// name is a name for something this test makes, unique to it.
func (w *world) name(what string) string { return "hjk-" + w.sfx + "-" + what }

func (w *world) auth(path string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seenAuth[path]
}

// secrets are every real credential the test knows of by now.
func (w *world) secrets() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string{realClaude, realRefresh, "REALe2e"}, w.issued...)
}

func (w *world) scan(what, s string) {
	w.t.Helper()
	for _, v := range w.secrets() {
		if strings.Contains(s, v) {
			w.t.Errorf("%s holds a real secret (%d bytes)", what, len(v))
		}
	}
}

// scanProcesses reads every process's environment and argv in container
// c, as root and as the agent's user (root without CAP_SYS_PTRACE cannot
// read another user's), and fails unless each was read and holds no
// secret.
func (w *world) scanProcesses(c string) {
	w.t.Helper()
	const script = `for p in /proc/[0-9]*; do
  if cat $p/environ $p/cmdline 2>/dev/null; then echo; else [ -e $p ] && echo "UNREADABLE ${p#/proc/}"; fi
done`
	unreadable := map[string]int{}
	for _, user := range []string{"0", "1000"} {
		out := w.must("exec", "-u", user, c, "sh", "-c", script).out
		w.scan(c+" process environments and argv", out)
		for _, line := range strings.Split(out, "\n") {
			if pid, ok := strings.CutPrefix(line, "UNREADABLE "); ok {
				unreadable[pid]++
			}
		}
	}
	for pid, n := range unreadable {
		if n == 2 {
			w.t.Errorf("%s: process %s could be read neither as root nor as the agent's user", c, pid)
		}
	}
}

// scanExport streams the container's filesystem and looks for every
// secret in it, across block boundaries.
func (w *world) scanExport(c string) {
	w.t.Helper()
	cmd := exec.Command(w.engine, "export", c)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	secrets := w.secrets()
	longest := 0
	for _, s := range secrets {
		longest = max(longest, len(s))
	}
	br := bufio.NewReaderSize(pipe, 1<<20)
	buf := make([]byte, 0, 1<<20+longest)
	var total int64
	found := map[string]bool{}
	for {
		chunk := make([]byte, 1<<20)
		n, err := io.ReadFull(br, chunk)
		buf = append(buf, chunk[:n]...)
		total += int64(n)
		for _, s := range secrets {
			if bytes.Contains(buf, []byte(s)) {
				found[s] = true
			}
		}
		if len(buf) > longest {
			buf = append(buf[:0], buf[len(buf)-longest:]...)
		}
		if err != nil {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		w.t.Fatalf("%s export: %v: %s", w.engine, err, errb.String())
	}
	if total < 1<<20 {
		w.t.Fatalf("%s export gave only %d bytes", w.engine, total)
	}
	for s := range found {
		w.t.Errorf("the agent container's filesystem holds a real secret (%d bytes)", len(s))
	}
	w.t.Logf("%s export: %d MB scanned", w.engine, total>>20)
}

// waitSocket waits until path is a socket in container c.
func (w *world) waitSocket(c, path string) {
	w.t.Helper()
	for i := 0; i < 100; i++ {
		if w.run("", "exec", c, "test", "-S", path).code == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.t.Fatalf("%s: %s never appeared; logs:\n%s", c, path, w.run("", "logs", c).all())
}

type result struct {
	out, err string
	code     int
}

func (r result) all() string { return r.out + r.err }

func (w *world) run(stdin string, args ...string) result {
	cmd := exec.Command(w.engine, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return result{out: out.String(), err: errb.String(), code: code}
}

// must runs args and fails the test unless it succeeds.
func (w *world) must(args ...string) result {
	w.t.Helper()
	r := w.run("", args...)
	if r.code != 0 {
		w.t.Fatalf("%s %s: exit %d: %s", w.engine, strings.Join(args, " "), r.code, r.err)
	}
	return r
}

// mustIn is must with stdin, which may hold secrets: the command's output
// must not.
func (w *world) mustIn(stdin string, args ...string) string {
	w.t.Helper()
	r := w.run(stdin, args...)
	if r.code != 0 {
		w.t.Fatalf("%s %s: exit %d: %s", w.engine, strings.Join(args[:2], " "), r.code, r.err)
	}
	w.scan("the output of "+strings.Join(args, " "), r.all())
	return r.out
}
