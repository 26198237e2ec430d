package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tags scripts/test-images makes (see its header).
const (
	baseImage   = "hjk-test/debian:bookworm"
	initImage   = "hjk-test/hjk-init:latest"
	agentsImage = "hjk-test/agents:latest"
)

var engines = []string{"docker", "podman"}

// Fake credentials, distinctive enough to find in a tar stream.
var (
	fakeClaudeToken  = "sk-ant-oat01-imagesTEST" + strings.Repeat("Q", 60) + "-fakeAA"
	fakeCodexAccess  = "images-test-access-" + strings.Repeat("a", 40)
	fakeCodexRefresh = "images-test-refresh-" + strings.Repeat("r", 40)
	fakeIDToken      = jwt(`{"email":"dev@example.com","exp":4102444800,"https://api.openai.com/auth":{"chatgpt_plan_type":"plus","chatgpt_account_id":"acct-images-test"}}`)
)

func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("images-test-signature"))
}

func codexAuthJSON() string {
	return `{"OPENAI_API_KEY":null,"tokens":{"id_token":"` + fakeIDToken + `","access_token":"` + fakeCodexAccess +
		`","refresh_token":"` + fakeCodexRefresh + `","account_id":"acct-images-test"},"last_refresh":"` +
		time.Now().UTC().Format(time.RFC3339) + `"}`
}

func secrets() []string {
	return []string{fakeClaudeToken, fakeCodexAccess, fakeCodexRefresh, fakeIDToken, fakeGeminiKey}
}

// noSecret fails the test when s holds a fake credential, without
// printing s.
func noSecret(t *testing.T, what, s string) {
	t.Helper()
	for i, v := range secrets() {
		if strings.Contains(s, v) {
			t.Errorf("%s holds fake secret #%d", what, i)
		}
	}
}

// ready has scripts/test-images make the test images for an engine, once
// per test binary (the script itself skips what is up to date). A missing
// engine fails the test with HJK_E2E=1 and skips it otherwise.
func ready(t *testing.T, e string) {
	t.Helper()
	v, _ := preps.LoadOrStore(e, &prep{})
	p := v.(*prep)
	p.once.Do(func() { p.err = prepare(e) })
	if errors.Is(p.err, errMissing) && os.Getenv("HJK_E2E") != "1" {
		t.Skipf("%v (HJK_E2E=1 makes this a failure)", p.err)
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
}

type prep struct {
	once sync.Once
	err  error
}

var (
	preps      sync.Map
	errMissing = errors.New("engine missing")
)

func prepare(e string) error {
	if _, err := exec.LookPath(e); err != nil {
		return fmt.Errorf("%w: %s is not installed (run .ci/install)", errMissing, e)
	}
	if out, err := exec.Command(e, "info").CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s is not answering (%v: %s); run .ci/install", errMissing, e, err, lastLine(string(out)))
	}
	cmd := exec.Command("../scripts/test-images", e)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/test-images %s: %v:\n%s", e, err, out)
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// run runs the engine's CLI. env holds NAME=value pairs added to the CLI's
// own environment, so that `-e NAME` passes a value that is on no command
// line. It returns stdout and stderr together, and the exit code.
func run(t *testing.T, e string, env []string, args ...string) (string, int) {
	t.Helper()
	for _, a := range args {
		noSecret(t, e+" argv", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", e, args[0], err)
	}
	return string(out), 0
}

func each(t *testing.T, f func(t *testing.T, e string)) {
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			ready(t, e)
			f(t, e)
		})
	}
}

func TestAgentImageUser(t *testing.T) {
	each(t, func(t *testing.T, e string) {
		out, code := run(t, e, nil, "run", "--rm", agentsImage, "sh", "-c", `id -un; id -u; echo "$HOME"`)
		if code != 0 || out != "agent\n1000\n/home/agent\n" {
			t.Errorf("user in %s: exit %d, got %q, want agent, 1000, /home/agent", agentsImage, code, out)
		}
		out, code = run(t, e, nil, "image", "inspect", "--format", "{{json .Config.Entrypoint}} {{.Config.User}}", agentsImage)
		if code != 0 || strings.TrimSpace(out) != `["/usr/local/bin/hjk-init","--"] agent` {
			t.Errorf("entrypoint and user: %q", out)
		}
	})
}

// TestAgentImageList checks the image holds the CLIs agents.txt lists,
// and keeps that list (no AGENT_VERSIONS here) for whoever asks.
func TestAgentImageList(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("agents", "agents.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, l)
		}
	}
	each(t, func(t *testing.T, e string) {
		out, code := run(t, e, nil, "run", "--rm", agentsImage, "cat", "/opt/hjk-agents/agents.txt")
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				got = append(got, l)
			}
		}
		if code != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("/opt/hjk-agents/agents.txt: exit %d:\n%s\nwant the lines of agents/agents.txt:\n%s", code, out, strings.Join(want, "\n"))
		}
		for _, l := range want {
			f := strings.Fields(l)
			out, code := run(t, e, nil, "run", "--rm", agentsImage, f[1], "--version")
			if code != 0 || !strings.Contains(out, f[3]) {
				t.Errorf("%s --version: exit %d: %q, want %s", f[1], code, out, f[3])
			}
		}
	})
}

func TestAgentImageDoctor(t *testing.T) {
	each(t, func(t *testing.T, e string) {
		out, code := run(t, e, nil, "run", "--rm", agentsImage, "hjk-init", "doctor", "claude", "codex", "gemini")
		if code != 0 {
			t.Fatalf("hjk-init doctor: exit %d:\n%s", code, out)
		}
		for _, want := range []string{
			"agent (uid 1000, gid 1000)",
			"/home/agent is writable",
			"2.1.332 (Claude Code)",
			"codex-cli 0.171.0",
			"0.61.0 (/usr/local/bin/gemini)",
			"git version 2.",
			"no problems found",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("doctor output lacks %q:\n%s", want, out)
			}
		}
		// A uid the image does not know: no writable home, and doctor says
		// what to do. Docker gives it HOME=/, podman the image user's home.
		out, code = run(t, e, nil, "run", "--rm", "--user", "4242", agentsImage, "hjk-init", "doctor", "--timeout", "1m")
		fix := map[string]string{"docker": "give uid 4242 a home: useradd -m -u 4242", "podman": "chown 4242:0 /home/agent"}[e]
		if code != 1 || !strings.Contains(out, " is not writable by uid 4242") || !strings.Contains(out, "fix: "+fix) {
			t.Errorf("doctor as uid 4242: exit %d, want 1 with the home problem and its fix (%s):\n%s", code, fix, out)
		}

		out, code = run(t, e, nil, "run", "--rm", agentsImage, "git", "--version")
		if code != 0 || !strings.HasPrefix(out, "git version ") {
			t.Errorf("git --version: exit %d: %q", code, out)
		}
	})
}

// The agents' own status commands, offline, judge what hjk-init wrote from
// variables passed by name: the value is only in the engine CLI's
// environment.
func TestAgentImageLogins(t *testing.T) {
	each(t, func(t *testing.T, e string) {
		out, code := run(t, e, []string{"CODEX_AUTH_JSON=" + codexAuthJSON()},
			"run", "--rm", "-e", "CODEX_AUTH_JSON", agentsImage, "codex", "login", "status")
		noSecret(t, "codex login status output", out)
		if code != 0 || !strings.Contains(out, "Logged in using ChatGPT") {
			t.Errorf("codex login status: exit %d, want logged in:\n%s", code, out)
		}

		out, code = run(t, e, []string{"CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken},
			"run", "--rm", "-e", "CLAUDE_CODE_OAUTH_TOKEN", agentsImage, "claude", "auth", "status")
		noSecret(t, "claude auth status output", out)
		var status struct {
			LoggedIn   bool   `json:"loggedIn"`
			AuthMethod string `json:"authMethod"`
		}
		if code != 0 || json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &status) != nil ||
			!status.LoggedIn || status.AuthMethod != "oauth_token" {
			t.Errorf("claude auth status: exit %d, want loggedIn with oauth_token:\n%s", code, out)
		}

		// Without the variable, the same command says logged out: the
		// image itself holds no login.
		out, code = run(t, e, nil, "run", "--rm", agentsImage, "codex", "login", "status")
		if code == 0 || !strings.Contains(out, "Not logged in") {
			t.Errorf("codex login status with no credential: exit %d:\n%s", code, out)
		}
	})
}

// TestShimImage: the shim image holds hjk-init and hjk-gate (the init
// containers of hjk's pods on Kubernetes run both) and nothing else, and
// the two lines of images/README.md put hjk-init into any image.
func TestShimImage(t *testing.T) {
	t.Parallel()
	ready(t, "docker")
	arch := goruntime.GOARCH
	out, code := run(t, "docker", nil, "run", "--rm", initImage)
	if code != 0 || !strings.HasPrefix(out, "hjk-init ") || !strings.Contains(out, "linux/"+arch) {
		t.Errorf("docker run %s: exit %d: %q, want hjk-init's version", initImage, code, out)
	}
	files := layerFiles(t, initImage)
	if !slices.Equal(files, []string{"hjk-gate", "hjk-init"}) {
		t.Errorf("%s holds %q, want hjk-gate and hjk-init only", initImage, files)
	}

	tag := fmt.Sprintf("images-test/custom:%d", os.Getpid())
	dir := t.TempDir()
	dockerfile := "FROM " + baseImage + "\n" +
		"RUN useradd -m -u 1000 dev\n" +
		"COPY --from=" + initImage + " /hjk-init /usr/local/bin/hjk-init\n" +
		`ENTRYPOINT ["/usr/local/bin/hjk-init", "--"]` + "\n" +
		"USER dev\n"
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644)
	if out, code := run(t, "docker", nil, "build", "-q", "-t", tag, dir); code != 0 {
		t.Fatalf("docker build of a custom image: exit %d:\n%s", code, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })

	// No agent CLI in it: doctor says so, with the fix, and fails.
	out, code = run(t, "docker", nil, "run", "--rm", tag, "hjk-init", "doctor")
	if code != 1 || !strings.Contains(out, "no agent CLI on PATH") || !strings.Contains(out, "fix: ") ||
		!strings.Contains(out, "dev (uid 1000, gid 1000)") {
		t.Errorf("doctor in an image without agents: exit %d, want 1 with the problem and its fix:\n%s", code, out)
	}
	// The shim writes claude's files there too.
	out, code = run(t, "docker", []string{"CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken},
		"run", "--rm", "-e", "CLAUDE_CODE_OAUTH_TOKEN", tag, "sh", "-c", "stat -c %a ~/.claude.json && cat ~/.claude.json")
	noSecret(t, "custom image output", out)
	if code != 0 || !strings.HasPrefix(out, "600\n") || !strings.Contains(out, `"hasCompletedOnboarding"`) {
		t.Errorf("hjk-init in a custom image: exit %d: %s", code, out)
	}
}

// layerFiles lists the regular files in an image's layers, from docker save.
func layerFiles(t *testing.T, image string) []string {
	t.Helper()
	cmd := exec.Command("docker", "save", image)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var files []string
	outer := tar.NewReader(stdout)
	for {
		h, err := outer.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("docker save %s: %v", image, err)
		}
		if !strings.HasSuffix(h.Name, "layer.tar") && !strings.HasPrefix(h.Name, "blobs/") {
			continue
		}
		inner := tar.NewReader(outer)
		for {
			ih, err := inner.Next()
			if err != nil {
				break // the end, or a blob that is no layer
			}
			if ih.Typeflag == tar.TypeReg {
				files = append(files, ih.Name)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker save %s: %v", image, err)
	}
	return files
}

// TestNoCredentialInImages runs sessions with credentials, then looks for
// every byte of them in `docker save` of every test image.
func TestNoCredentialInImages(t *testing.T) {
	t.Parallel()
	ready(t, "docker")
	env := []string{"CODEX_AUTH_JSON=" + codexAuthJSON(), "CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken}
	if out, code := run(t, "docker", env, "run", "--rm", "-e", "CODEX_AUTH_JSON", "-e", "CLAUDE_CODE_OAUTH_TOKEN",
		agentsImage, "sh", "-c", "test -s ~/.codex/auth.json && test -s ~/.claude.json"); code != 0 {
		t.Fatalf("session with credentials: exit %d: %s", code, out)
	}
	cmd := exec.Command("docker", "save", baseImage, initImage, agentsImage)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n, found := scan(stdout, secrets())
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker save: %v", err)
	}
	if n < 100<<20 {
		t.Fatalf("docker save wrote only %d bytes: not the images", n)
	}
	for i, f := range found {
		if f {
			t.Errorf("docker save holds fake secret #%d", i)
		}
	}
	// The scan itself finds what is there.
	_, found = scan(strings.NewReader("x"+strings.Repeat("y", 1<<20)+fakeCodexRefresh), secrets())
	if !found[2] {
		t.Error("scan misses a secret across its buffer boundary")
	}
}

// scan reads r to its end and reports which needles occur in it, even
// across reads.
func scan(r io.Reader, needles []string) (int64, []bool) {
	found := make([]bool, len(needles))
	keep := 0
	for _, n := range needles {
		keep = max(keep, len(n)-1)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	buf := make([]byte, 0, 1<<20+keep)
	var total int64
	chunk := make([]byte, 1<<20)
	for {
		n, err := br.Read(chunk)
		total += int64(n)
		buf = append(buf, chunk[:n]...)
		for i, nd := range needles {
			if !found[i] && bytes.Contains(buf, []byte(nd)) {
				found[i] = true
			}
		}
		if len(buf) > keep {
			buf = append(buf[:0], buf[len(buf)-keep:]...)
		}
		if err != nil {
			return total, found
		}
	}
}
