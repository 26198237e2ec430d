// Package kube runs the built hjk against the real single-node Kubernetes
// cluster CI brings up (internal/testinfra.Kubernetes, scripts/k8s), as a
// user would with `runtime = "kubernetes"`: an instance as a pod with its
// claim, a commit inside that comes home, host commits that reach it as a
// bundle, stop and run again with the work kept, attach and detach on a
// terminal, the gate holding a real login (against internal/fakeapi, with
// the real claude CLI), the pod's egress locked to the gate, no credential
// anywhere in the pod, and rm leaving nothing behind.
//
// Each test gets a namespace of its own, deleted at its end. With HJK_E2E=1
// a cluster that cannot be had fails the tests; without it they are
// skipped.
package kube

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/fakeapi"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/store"
	"github.com/hjk-dev/hjk/internal/testinfra"
)

func TestMain(m *testing.M) {
	code := testinfra.Main(m)
	if built.tmp != "" {
		os.RemoveAll(built.tmp)
	}
	os.Exit(code)
}

// agentsImage is scripts/test-images' agent image: the real CLIs, USER
// agent (uid 1000).
const agentsImage = "hjk-test/agents:latest"

// built is hjk and its shim image, made once per test binary.
var built struct {
	sync.Once
	hjk, shim string
	err       error
	tmp       string
}

// build builds hjk-init and hjk-gate, hjk embedding them (through a build
// overlay, never into the source tree), and the shim image from the same
// two binaries (images/hjk-init/Dockerfile), tagged by their hash.
func build(t testing.TB) (hjk, shim string) {
	t.Helper()
	built.Do(func() {
		root, _ := filepath.Abs("../../../..")
		tmp, err := os.MkdirTemp("", "hjk-kube-e2e-")
		if err != nil {
			built.err = err
			return
		}
		built.tmp = tmp
		goBuild := func(out, pkg string, env []string, flags ...string) error {
			cmd := exec.Command("go", append(append([]string{"build", "-trimpath", "-o", out}, flags...), pkg)...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), env...)
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("build %s: %v\n%s", pkg, err, b)
			}
			return nil
		}
		arch := goruntime.GOARCH
		ctxDir := filepath.Join(tmp, "shim")
		replace := map[string]string{}
		sum := sha256.New()
		for _, prog := range []string{"hjk-init", "hjk-gate"} {
			bin := filepath.Join(ctxDir, "linux-"+arch, prog)
			if built.err = goBuild(bin, "./cmd/"+prog, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch}); built.err != nil {
				return
			}
			replace[filepath.Join(root, "internal/host/shimbin/bin/linux-"+arch, prog)] = bin
			b, _ := os.ReadFile(bin)
			sum.Write(b)
		}
		ovl := filepath.Join(tmp, "overlay.json")
		b, _ := json.Marshal(map[string]any{"Replace": replace})
		os.WriteFile(ovl, b, 0o644)
		built.hjk = filepath.Join(tmp, "hjk")
		if built.err = goBuild(built.hjk, "./cmd/hjk", nil, "-overlay", ovl); built.err != nil {
			return
		}
		built.shim = "hjk-test/k8s-shim:" + hex.EncodeToString(sum.Sum(nil)[:6])
		cmd := exec.Command("docker", "build", "-q", "--build-arg", "TARGETARCH="+arch, "-t", built.shim, "-f", filepath.Join(root, "images/hjk-init/Dockerfile"), ctxDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("docker build the shim image: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.hjk, built.shim
}

// loaded loads the images once per binary (tests run in parallel).
var loaded sync.Once

// world is one user's: a private HOME, a file store, a git repository,
// hjk set to the cluster and a namespace of the test's own.
type world struct {
	t          testing.TB
	c          *testinfra.Cluster
	hjk        string
	env        []string
	home, repo string
	ns         string
}

func newWorld(t testing.TB) *world {
	t.Helper()
	c := testinfra.Kubernetes(t)
	hjk, shim := build(t)
	loaded.Do(func() {
		start := time.Now()
		c.Load(t, shim, agentsImage)
		t.Logf("images in the cluster in %s", time.Since(start).Round(100*time.Millisecond))
	})
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, c: c, hjk: hjk, home: filepath.Join(root, "home"), repo: filepath.Join(root, "repo"), ns: "hjk-e2e-" + randHex(4)}
	for _, k := range os.Environ() {
		name, _, _ := strings.Cut(k, "=")
		if strings.HasPrefix(name, "HJK_") || strings.HasPrefix(name, "XDG_") || strings.HasPrefix(name, "GIT_") || name == "HOME" || name == "KUBECONFIG" || name == "PATH" {
			continue
		}
		w.env = append(w.env, k)
	}
	w.env = append(w.env, c.Env()...)
	w.env = append(w.env, "HOME="+w.home, "XDG_CONFIG_HOME="+filepath.Join(w.home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(w.home, ".local", "share"), "HJK_STORE=file", "NO_COLOR=1")
	os.MkdirAll(w.home, 0o700)
	os.WriteFile(filepath.Join(w.home, ".gitconfig"), []byte("[user]\n\tname = Test\n\temail = test@example.com\n"), 0o644)
	w.git("init", "-q", "-b", "main", w.repo)
	w.git("commit", "-q", "--allow-empty", "-m", "first")
	w.kubectl("create", "namespace", w.ns)
	t.Cleanup(func() {
		// Whatever state the test left: the namespace and all in it.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		w.c.Command(ctx, "delete", "namespace", w.ns, "--wait=false").Run()
	})
	w.ok("config", "runtime", "kubernetes")
	w.ok("config", "image", agentsImage)
	w.ok("config", "kubernetes.namespace", w.ns)
	w.ok("config", "kubernetes.shim_image", shim)
	return w
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (w *world) git(args ...string) string {
	w.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = w.repo
	if args[0] == "init" {
		cmd.Dir = ""
	}
	cmd.Env = w.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (w *world) command(args ...string) *exec.Cmd {
	cmd := exec.Command(w.hjk, args...)
	cmd.Dir = w.repo
	cmd.Env = w.env
	return cmd
}

// ok runs hjk and fails the test unless it exits 0; it returns stdout.
func (w *world) ok(args ...string) string {
	w.t.Helper()
	var out, errb bytes.Buffer
	cmd := w.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		w.t.Fatalf("hjk %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	if d := time.Since(start); d > time.Second {
		w.t.Logf("hjk %s: %s", args[0], d.Round(100*time.Millisecond))
	}
	return out.String()
}

// kubectl runs kubectl in the test's namespace and returns its stdout.
func (w *world) kubectl(args ...string) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := w.c.Command(ctx, append([]string{"--namespace", w.ns}, args...)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		w.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return string(out)
}

func (w *world) ps(all bool) map[string]instance.Instance {
	w.t.Helper()
	args := []string{"ps", "--json"}
	if all {
		args = append(args, "-a")
	}
	var list []instance.Instance
	if err := json.Unmarshal([]byte(w.ok(args...)), &list); err != nil {
		w.t.Fatal(err)
	}
	m := map[string]instance.Instance{}
	for _, in := range list {
		m[in.Runtime+":"+in.Branch] = in
	}
	return m
}

// objects lists the names of the pods and claims in the namespace.
func (w *world) objects() []string {
	return strings.Fields(w.kubectl("get", "pods,persistentvolumeclaims", "-o", "name"))
}

func (w *world) hostID() string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.home, ".local", "share", "hjk", "host-id"))
	if err != nil {
		w.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestLifecycle: run (a commit inside that comes home), ps, sync both ways,
// stop (the pod goes, the claim stays), run again with the work kept, ps -a
// beside a local instance, rm leaving nothing of the instance anywhere.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	start := time.Now()
	w.ok("run", "life", "--agent", "shell", `echo inside > made.txt && git add made.txt && git commit -qm "made inside" && echo committed`)
	t.Logf("first run (pods, claim, bundle, session, pull): %s", time.Since(start).Round(100*time.Millisecond))
	if got := w.git("log", "-1", "--format=%s", "life"); got != "made inside" {
		t.Fatalf("the branch is at %q, want the instance's commit", got)
	}
	in := w.ps(false)["kubernetes:life"]
	if in.State != "running" || in.Cluster == nil || in.Cluster.Namespace != w.ns || in.Workspace != "volume" {
		t.Fatalf("ps: %+v", in)
	}
	id := w.hostID()
	pod := w.kubectl("get", "pod", in.Name, "-o", "json")
	for _, want := range []string{`"dev.hjk.instance": "1"`, `"dev.hjk.host": "` + id + `"`, `"automountServiceAccountToken": false`, `"NET_ADMIN"`} {
		if !strings.Contains(pod, want) {
			t.Errorf("the pod has no %s", want)
		}
	}

	// A host commit reaches the instance (a bundle of what it lacks).
	w.git("checkout", "-q", "life")
	w.git("commit", "-q", "--allow-empty", "-m", "from the host")
	w.git("checkout", "-q", "main")
	w.ok("sync", "life")
	if got := strings.TrimSpace(w.ok("exec", "life", "--", "git", "log", "-1", "--format=%s")); got != "from the host" {
		t.Errorf("after sync the instance is at %q", got)
	}

	// stop: the pod goes, the claim stays (and the keeper, for the
	// namespace's other instances); run again: the work is there.
	w.ok("stop", "life")
	keeper := "pod/" + instance.KeeperPod(id)
	if got := strings.Join(w.objects(), " "); got != keeper+" persistentvolumeclaim/"+in.Name {
		t.Errorf("after stop the namespace holds %v, want the keeper and the claim", got)
	}
	if st := w.ps(false)["kubernetes:life"].State; st != "stopped" {
		t.Errorf("ps after stop: %s", st)
	}
	start = time.Now()
	if got := strings.TrimSpace(w.ok("exec", "life", "--", "cat", "made.txt")); got != "inside" {
		t.Errorf("the work after stop and run: %q", got)
	}
	t.Logf("run after stop (pod, session): %s", time.Since(start).Round(100*time.Millisecond))

	// A detached session: its log, ps, kill; recreate keeps the work.
	if got := strings.TrimSpace(w.ok("run", "life", "-d", "--name", "loop", "--agent", "shell", "echo started; while :; do sleep 1; done")); got != "loop" {
		t.Errorf("run -d printed %q", got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(w.ok("logs", "life", "loop"), "started") && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(w.ok("ps", "life"), "running") {
		t.Error("ps does not list the detached session running")
	}
	w.ok("kill", "life/loop")
	w.ok("recreate", "life")
	if got := strings.TrimSpace(w.ok("exec", "life", "--", "cat", "made.txt")); got != "inside" {
		t.Errorf("the work after recreate: %q", got)
	}

	// ps -a: a local instance (docker) and the cluster's, together.
	if _, err := exec.LookPath("docker"); err == nil && exec.Command("docker", "image", "inspect", agentsImage).Run() == nil {
		w.ok("config", "gate.network", "host")
		w.ok("run", "local", "--runtime", "docker", "--agent", "shell", "true")
		t.Cleanup(func() { w.command("rm", "-f", "local").Run() })
		all := w.ps(true)
		if all["docker:local"].State != "running" || all["kubernetes:life"].State != "running" {
			t.Errorf("ps -a does not list both: %v", all)
		}
		table := w.ok("ps", "-a")
		if !strings.Contains(table, " docker ") || !strings.Contains(table, " kubernetes ") {
			t.Errorf("ps -a:\n%s", table)
		}
		w.ok("rm", "-f", "local")
	} else if os.Getenv("HJK_E2E") == "1" {
		t.Error("HJK_E2E=1 but docker or " + agentsImage + " is missing for ps -a")
	}

	// rm: nothing of it is left.
	w.ok("rm", "life")
	if got := w.objects(); len(got) != 0 {
		t.Errorf("after rm the namespace holds %v", got)
	}
	if out := w.kubectl("get", "pods,persistentvolumeclaims,secrets,configmaps,services", "-A", "-l", instance.LabelHost+"="+id, "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("objects labelled with this hjk's id remain:\n%s", out)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		pvs := w.kubectl("get", "pv", "-o", "jsonpath={range .items[*]}{.spec.claimRef.namespace}{\"\\n\"}{end}")
		if !strings.Contains(pvs, w.ns) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("a volume of the namespace's claim remains after rm")
			break
		}
		time.Sleep(time.Second)
	}
	if _, ok := w.ps(true)["kubernetes:life"]; ok {
		t.Error("ps still lists the instance")
	}
	if got := w.git("log", "-1", "--format=%s", "life"); got != "from the host" {
		t.Errorf("the branch after rm: %q", got)
	}
}

// TestTerminal: a session on a terminal, detached with the keys and
// attached again; its state outlives hjk.
func TestTerminal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tm := w.terminal(t, "run", "tty", "--agent", "shell")
	tm.waitFor("$ ")
	tm.typeLine("echo marker-$((6*7))")
	tm.waitFor("marker-42")
	io.WriteString(tm.pty, "\x02d") // ctrl-b, d: the default detach keys
	if code := tm.exit(); code != 0 {
		t.Fatalf("detach: exit %d\n%s", code, tm.screen())
	}
	list := w.ok("ps", "tty")
	if !strings.Contains(list, "running") {
		t.Fatalf("after detach the session is not running:\n%s", list)
	}
	tm = w.terminal(t, "attach", "tty")
	tm.typeLine("echo again-$((6*7)); exit 7")
	tm.waitFor("again-42")
	if code := tm.exit(); code != 7 {
		t.Errorf("attach: exit %d, want the session's 7\n%s", code, tm.screen())
	}
	w.ok("rm", "-f", "tty")
	if got := w.objects(); len(got) != 0 {
		t.Errorf("after rm the namespace holds %v", got)
	}
}

// TestGate: a claude session through the gate, against the fake API: the
// agent gets a placeholder and loopback URLs, the gate adds the real login
// (which the fake sees), the keeper holds it; the pod's egress lets the
// gate out and nothing else; no file, process environment or object of the
// pod holds the login.
func TestGate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// The instance first, to learn the pods' network, where the fake
	// must listen (the gate gets its upstream with each session's
	// Prepare).
	w.ok("run", "gated", "--agent", "shell", "true")
	in := w.ps(false)["kubernetes:gated"]
	node := podsHost(t, strings.TrimSpace(w.kubectl("get", "pod", in.Name, "-o", "jsonpath={.status.podIP}")))
	fake, err := fakeapi.Start(fakeapi.Options{TLS: true, Hosts: []string{node}, Listen: node + ":0", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	b := make([]byte, 16)
	rand.Read(b)
	token := agent.ClaudeTokenPrefix + "kubeFAKE" + hex.EncodeToString(b)
	fake.Allow(fakeapi.Anthropic, token)
	cfg := filepath.Join(w.home, ".config", "hjk")
	if err := store.SaveCredential(store.NewFile(cfg, nil), agent.Claude, "", agent.Credential{Kind: agent.Subscription, Secret: token, CapturedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(w.home, "fake-ca.pem")
	os.WriteFile(ca, fake.CAPEM(), 0o644)
	w.ok("config", "agents.claude.upstream", fake.BaseURL(fakeapi.Anthropic))
	w.ok("config", "agents.claude.ca_file", ca)
	w.ok("config", "agents.claude.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")

	start := time.Now()
	out := w.ok("run", "gated", "--agent", "claude", "--", "-p", "hi")
	t.Logf("claude -p through the gate, first login: %s", time.Since(start).Round(100*time.Millisecond))
	if !strings.Contains(out, fakeapi.DefaultAnswer) {
		t.Errorf("claude did not answer through the gate: %q", out)
	}
	if !fake.Saw(fakeapi.Anthropic, token) {
		t.Error("the fake never saw the real login: the gate did not add it")
	}
	start = time.Now()
	out = w.ok("run", "gated", "--agent", "claude", "--", "-p", "again")
	t.Logf("claude -p through the gate, running instance: %s", time.Since(start).Round(100*time.Millisecond))
	if !strings.Contains(out, fakeapi.DefaultAnswer) {
		t.Errorf("the second session did not answer: %q", out)
	}

	// Egress: the agent's container reaches nothing but loopback; the
	// gate's (same pod, same network namespace, the gate's uid) gets out.
	dial := `require("net").connect(` + fakePort(t, fake) + `, "` + node + `").on("connect", () => { console.log("connected"); process.exit(0) }).on("error", e => { console.log(e.code); process.exit(3) })`
	if got, err := w.podExec(in.Name, "agent", "node", "-e", dial); err == nil || strings.Contains(got, "connected") {
		t.Errorf("the agent's container reached %s directly: %q %v", node, got, err)
	}
	if got, err := w.podExec(in.Name, "gate", "node", "-e", dial); err != nil || !strings.Contains(got, "connected") {
		t.Errorf("the gate's container could not reach %s: %q %v", node, got, err)
	}
	if got, _ := w.podExec(in.Name, "agent", "sh", "-c", "id -u; grep ^CapEff /proc/self/status"); !strings.Contains(got, "1000") || !strings.Contains(got, "0000000000000000") {
		t.Errorf("the agent's container runs as %q, want uid 1000 with no capability", got)
	}

	// No credential in the pod: its processes' environments and files,
	// the objects hjk made, hjk's own processes.
	scan := `for f in /proc/[0-9]*/environ; do cat "$f" 2>/dev/null | tr '\0' '\n'; done | grep -c -F "$1"; ` +
		`grep -rlF "$1" /workspace /.hjk /home /tmp /run/hjk /etc 2>/dev/null | head -5; exit 0`
	got, err := w.podExec(in.Name, "agent", "sh", "-c", scan, "scan", token)
	if err != nil || strings.TrimSpace(got) != "0" {
		t.Errorf("the agent's container holds the login: %q %v", got, err)
	}
	// The same scan finds what is there: PID 1's variables, the
	// repository's files.
	if got, err := w.podExec(in.Name, "agent", "sh", "-c", scan, "scan", "HJK_READY="); err != nil || strings.HasPrefix(strings.TrimSpace(got), "0") {
		t.Errorf("the scan does not see the processes' environments: %q %v", got, err)
	}
	if got, err := w.podExec(in.Name, "agent", "sh", "-c", scan, "scan", "gitdir: "); err != nil || !strings.Contains(got, "/workspace/.git") {
		t.Errorf("the scan does not see the files: %q %v", got, err)
	}
	for _, obj := range []string{"pods", "persistentvolumeclaims", "secrets", "configmaps", "events"} {
		if y := w.kubectl("get", obj, "-o", "yaml"); strings.Contains(y, token) {
			t.Errorf("kubectl get %s -o yaml holds the login", obj)
		}
	}
	if ps, err := exec.Command("ps", "-eo", "args").Output(); err == nil && bytes.Contains(ps, []byte(token)) {
		t.Error("the login is in the host's process list")
	}

	w.ok("rm", "-f", "gated")
	if got := w.objects(); len(got) != 0 {
		t.Errorf("after rm the namespace holds %v (the keeper goes with the last gated instance)", got)
	}
}

// podsHost is this machine's address in the network of a pod: where
// a pod reaches a server of the test's (this cluster's pods have no route
// beyond their bridge).
func podsHost(t testing.TB, podIP string) string {
	t.Helper()
	ip := net.ParseIP(podIP)
	addrs, err := net.InterfaceAddrs()
	if err != nil || ip == nil {
		t.Fatalf("pod IP %q: %v", podIP, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.Contains(ip) && !ipn.IP.Equal(ip) {
			return ipn.IP.String()
		}
	}
	t.Fatalf("no address of this machine is in the network of the pod %s", podIP)
	return ""
}

// podExec runs a command in a container of a pod and returns its output.
func (w *world) podExec(pod, container string, cmd ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := w.c.Command(ctx, append([]string{"--namespace", w.ns, "exec", pod, "-c", container, "--"}, cmd...)...).CombinedOutput()
	return string(out), err
}

func fakePort(t testing.TB, s *fakeapi.Server) string {
	u := s.URL()
	return u[strings.LastIndexByte(u, ':')+1:]
}

// terminal is hjk on a real PTY, as a user at a terminal runs it.
type terminal struct {
	t   testing.TB
	cmd *exec.Cmd
	pty *os.File
	mu  sync.Mutex
	out bytes.Buffer
}

func (w *world) terminal(t testing.TB, args ...string) *terminal {
	return w.terminalCmd(t, w.command(args...))
}

// terminalCmd runs cmd on a PTY of its own.
func (w *world) terminalCmd(t testing.TB, cmd *exec.Cmd) *terminal {
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, cmd: cmd, pty: f}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); f.Close() })
	return tm
}

func (tm *terminal) waitFor(s string) {
	tm.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		tm.mu.Lock()
		ok := strings.Contains(tm.out.String(), s)
		tm.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.t.Fatalf("terminal never showed %q; it shows:\n%s", s, tm.screen())
}

func (tm *terminal) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

func (tm *terminal) typeLine(s string) { io.WriteString(tm.pty, s+"\r") }

func (tm *terminal) exit() int {
	tm.t.Helper()
	done := make(chan error, 1)
	go func() { done <- tm.cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			tm.t.Fatal(err)
		}
		return 0
	case <-time.After(time.Minute):
		tm.t.Fatalf("hjk did not end; the terminal shows:\n%s", tm.screen())
		return -1
	}
}

// TestDoctor: hjk doctor on the cluster: everything it checks passes in
// the test's namespace; a namespace that enforces Pod Security's baseline
// refuses the init container's NET_ADMIN, and doctor says so.
func TestDoctor(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	out := w.ok("doctor")
	for _, want := range []string{"ok    runtime  kubernetes ", "ok    namespace " + w.ns, "ok    access ", "ok    admission ", "ok    storage "} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor does not say %q:\n%s", want, out)
		}
	}
	w.kubectl("label", "namespace", w.ns, "pod-security.kubernetes.io/enforce=baseline")
	cmd := w.command("doctor")
	b, err := cmd.Output()
	if err == nil || !strings.Contains(string(b), "fail  admission ") || !strings.Contains(string(b), "NET_ADMIN") {
		t.Errorf("doctor in a baseline namespace: %v\n%s", err, b)
	}
}
