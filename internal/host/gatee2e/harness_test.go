package gatee2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/fakeapi"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/store"
	"github.com/hjk-dev/hjk/internal/session"
)

// world is one user's world on one engine: a private HOME and XDG
// folders, a file store, a git repository, hjk set to the engine, the test
// image and the host network for the gate, and a fake upstream on the
// host's loopback with its CA in a file.
type world struct {
	t      *testing.T
	engine string
	home   string
	config string // $XDG_CONFIG_HOME/hjk
	data   string // $XDG_DATA_HOME/hjk
	repo   string
	gitDir string
	env    []string
	fake   *fakeapi.Server
	caFile string

	mu       sync.Mutex
	branches []string
	said     bytes.Buffer // everything hjk printed, scanned for secrets
}

func newWorld(t *testing.T, e string, o fakeapi.Options) *world {
	t.Helper()
	o.TLS = true
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	fake, err := fakeapi.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	w := &world{t: t, engine: e, home: filepath.Join(dir, "home"), repo: filepath.Join(dir, "repo"), fake: fake}
	w.config = filepath.Join(w.home, ".config", "hjk")
	w.data = filepath.Join(w.home, ".local", "share", "hjk")
	w.caFile = filepath.Join(dir, "fake-ca.pem")
	if err := os.WriteFile(w.caFile, fake.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "HJK_") || strings.HasPrefix(name, "XDG_") || strings.HasPrefix(name, "GIT_") || name == "HOME" {
			continue
		}
		w.env = append(w.env, kv)
	}
	w.env = append(w.env,
		"HOME="+w.home,
		"XDG_CONFIG_HOME="+filepath.Join(w.home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(w.home, ".local", "share"),
		"HJK_STORE=file",
		"HJK_RUNTIME="+e,
		"NO_COLOR=1",
	)
	if err := os.MkdirAll(w.config, 0o700); err != nil {
		t.Fatal(err)
	}
	w.git("init", "-q", "-b", "main", w.repo)
	w.git("-C", w.repo, "commit", "-q", "--allow-empty", "-m", "first")
	gd, err := filepath.EvalSymlinks(filepath.Join(w.repo, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	w.gitDir = gd
	t.Cleanup(w.cleanup)
	w.ok("config", "image", image)
	w.ok("config", "gate.network", "host")
	return w
}

// cleanup removes every instance this world made, then whatever of them
// an engine still has, by name: containers, volumes, the keeper.
func (w *world) cleanup() {
	if w.t.Failed() {
		for _, in := range w.instances() {
			if in.Credentials == instance.CredentialsGate {
				out, _ := exec.Command(w.engine, "logs", in.GateName()).CombinedOutput()
				w.t.Logf("the log of %s:\n%s", in.GateName(), out)
			}
		}
		out, _ := exec.Command(w.engine, "logs", instance.KeeperName(w.data)).CombinedOutput()
		w.t.Logf("the keeper's log:\n%s", out)
	}
	names := map[string]bool{}
	for _, in := range w.instances() {
		names[in.Name] = true
	}
	for _, b := range w.branches {
		w.hjk("rm", "-f", b)
	}
	if ids := strings.Fields(string(run(w.engine, "ps", "-aq", "--filter", "label=dev.hjk.repo="+w.gitDir))); len(ids) > 0 {
		exec.Command(w.engine, append([]string{"rm", "-f"}, ids...)...).Run()
	}
	keeper := instance.KeeperName(w.data)
	var ctrs, vols []string
	for n := range names {
		ctrs = append(ctrs, n, n+"-gate")
		vols = append(vols, n+"-data", n+"-work", n+"-gate")
	}
	ctrs, vols = append(ctrs, keeper), append(vols, keeper)
	exec.Command(w.engine, append([]string{"rm", "-f"}, ctrs...)...).Run()
	for _, v := range vols {
		exec.Command(w.engine, "volume", "rm", "-f", v).Run()
	}
}

func run(name string, args ...string) []byte {
	out, _ := exec.Command(name, args...).Output()
	return out
}

// git runs git as the user would, with an identity for commits.
func (w *world) git(args ...string) string {
	w.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com"}, args...)...)
	cmd.Env = w.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

type result struct {
	stdout, stderr string
	code           int
}

// command is hjk with args, run in the repository.
func (w *world) command(args ...string) *exec.Cmd {
	if len(args) > 1 && (args[0] == "run") {
		w.noteBranch(args[1:])
	}
	cmd := exec.Command(hjkBin, args...)
	cmd.Dir = w.repo
	cmd.Env = w.env
	return cmd
}

// noteBranch remembers the branch of a run, for cleanup.
func (w *world) noteBranch(args []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return
		case a == "--agent" || a == "--name" || a == "--credentials" || a == "--workspace" || a == "--account" || a == "--image" || a == "--runtime":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			w.mu.Lock()
			defer w.mu.Unlock()
			if !slices.Contains(w.branches, a) {
				w.branches = append(w.branches, a)
			}
			return
		}
	}
}

// hjk runs hjk to the end, stdin empty.
func (w *world) hjk(args ...string) result {
	w.t.Helper()
	cmd := w.command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	w.mu.Lock()
	w.said.WriteString(r.stdout)
	w.said.WriteString(r.stderr)
	w.mu.Unlock()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		w.t.Fatalf("hjk %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs hjk and fails the test unless it exits 0.
func (w *world) ok(args ...string) string {
	w.t.Helper()
	r := w.hjk(args...)
	if r.code != 0 {
		w.t.Fatalf("hjk %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// instances is `hjk ps --json`.
func (w *world) instances() []instance.Instance {
	cmd := exec.Command(hjkBin, "ps", "--json")
	cmd.Dir, cmd.Env = w.repo, w.env
	out, _ := cmd.Output()
	var list []instance.Instance
	json.Unmarshal(out, &list)
	return list
}

// instance is the instance of branch, as `hjk ps --json` tells it.
func (w *world) instance(branch string) instance.Instance {
	w.t.Helper()
	for _, in := range w.instances() {
		if in.Branch == branch {
			return in
		}
	}
	w.t.Fatalf("hjk ps --json lists no instance of %q", branch)
	return instance.Instance{}
}

// store is the world's file store.
func (w *world) store() store.Store { return store.NewFile(w.config, io.Discard) }

// save puts a credential in the store.
func (w *world) save(a agent.Agent, k agent.Kind, secret string) {
	w.t.Helper()
	if err := store.SaveCredential(w.store(), a, "", agent.Credential{Kind: k, Secret: secret, CapturedAt: time.Now()}); err != nil {
		w.t.Fatal(err)
	}
}

// stored is the stored credential of a and k.
func (w *world) stored(a agent.Agent, k agent.Kind) agent.Credential {
	w.t.Helper()
	c, err := store.LoadKind(w.store(), a, k, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// upstream points agent a's route at the fake's api, trusting its CA.
func (w *world) upstream(a agent.Agent, api fakeapi.API) {
	w.t.Helper()
	url := w.fake.BaseURL(api)
	if api == fakeapi.ChatGPT {
		url = w.fake.URL() // codex's provider adds /backend-api itself
	}
	w.ok("config", "agents."+a.Name+".upstream", url)
	w.ok("config", "agents."+a.Name+".ca_file", w.caFile)
}

// stillRunning fails the test unless session name of branch runs: an
// agent that stopped on its own (an error it printed, shown from its log)
// did not work through the gate.
func (w *world) stillRunning(branch, name string) {
	w.t.Helper()
	var list []session.State
	if err := json.Unmarshal([]byte(w.ok("ps", branch, "--json")), &list); err != nil {
		w.t.Fatal(err)
	}
	for _, st := range list {
		if st.Name == name && st.State == session.Running {
			return
		}
	}
	w.t.Errorf("session %s of %s is not running: %+v\nits log: %q", name, branch, list, w.hjk("logs", branch, name).stdout)
}

// waitLog waits until the log of session name of branch holds want.
func (w *world) waitLog(branch, name, want string) {
	w.t.Helper()
	var log string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if log = w.hjk("logs", branch, name).stdout; strings.Contains(log, want) {
			return
		}
	}
	w.t.Errorf("the log of session %s of %s never showed %q: %q", name, branch, want, log)
}
