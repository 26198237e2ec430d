package runner

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
	"github.com/hjk-dev/hjk/internal/layout"
)

// cmdEngine records the command of every exec and answers each with
// ExitNothing (no new commits, no login).
type cmdEngine struct {
	runtime.Runtime
	cmds []string
}

func (e *cmdEngine) Name() string { return "docker" }

func (e *cmdEngine) Exec(_ context.Context, spec runtime.ExecSpec) error {
	e.cmds = append(e.cmds, spec.Container+" "+strings.Join(spec.Cmd, " "))
	return &runtime.ExitError{Code: layout.ExitNothing}
}

// After a session, hjk brings its commits home, and the agent's login
// from the keeper only when the session had one to rotate: a shell
// session costs no exec in the keeper.
func TestAfterTakesBackOnlyAnAgentsLogin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main", dir}, {"-C", dir, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "first"}} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", args[0], err, out)
		}
	}
	repo := instance.Repo{Dir: dir, GitDir: filepath.Join(dir, ".git")}
	in := instance.Instance{Name: "hjk-r-main", Branch: "main", Runtime: "docker", Credentials: instance.CredentialsGate}
	for _, tt := range []struct {
		agent  string
		keeper bool
	}{{ShellAgent, false}, {"claude", true}, {"codex", true}} {
		eng := &cmdEngine{}
		mgr := &instance.Manager{Data: t.TempDir(), Runtime: func(string, runtime.Endpoint) (runtime.Runtime, error) { return eng, nil }}
		r := &Runner{Mgr: mgr, Store: func() (store.Store, error) { return store.NewMemory(), nil }}
		r.after(context.Background(), in, repo, tt.agent, "")
		if !slices.ContainsFunc(eng.cmds, func(c string) bool { return strings.Contains(c, "repo bundle") }) {
			t.Errorf("%s: no bundle asked for: %q", tt.agent, eng.cmds)
		}
		if got := slices.ContainsFunc(eng.cmds, func(c string) bool { return strings.HasPrefix(c, mgr.Keeper()+" ") }); got != tt.keeper {
			t.Errorf("%s: asked the keeper: %v, want %v (%q)", tt.agent, got, tt.keeper, eng.cmds)
		}
	}
}

// syncEngine runs an instance whose container hands over bundle for its
// commits and answers status; it records the command of every exec.
type syncEngine struct {
	cmdEngine
	bundle []byte
	tip    string
}

func (e *syncEngine) Inspect(_ context.Context, name string) (runtime.Container, error) {
	return runtime.Container{Name: name, State: "running"}, nil
}

func (e *syncEngine) Exec(_ context.Context, spec runtime.ExecSpec) error {
	e.cmds = append(e.cmds, strings.Join(spec.Cmd, " "))
	switch {
	case slices.Contains(spec.Cmd, "bundle"):
		spec.Stdout.Write(e.bundle)
		return nil
	case slices.Contains(spec.Cmd, "status"):
		io.WriteString(spec.Stdout, `{"branch":"work","tip":"`+e.tip+`","head":"refs/heads/work","dirty":false}`+"\n")
		return nil
	}
	return &runtime.ExitError{Code: layout.ExitNothing}
}

// A sync whose pull moved the branch to the instance's commits asks the
// container nothing more: they agree, and the question (its status, a
// walk of the whole work tree) would cost what the repository is large.
func TestSyncAfterAMovingPull(t *testing.T) {
	t.Parallel()
	git := func(dir string, args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=T", "-c", "user.email=t@e"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", args[0], err, out)
		}
		return strings.TrimSpace(string(out))
	}
	host := filepath.Join(t.TempDir(), "host")
	git("", "init", "-q", "-b", "main", host)
	git(host, "commit", "-q", "--allow-empty", "-m", "first")
	git(host, "branch", "work")
	base := git(host, "rev-parse", "HEAD")
	inside := filepath.Join(t.TempDir(), "inside")
	git("", "clone", "-q", "-b", "work", host, inside)
	git(inside, "commit", "-q", "--allow-empty", "-m", "made inside")
	b := filepath.Join(t.TempDir(), "b.bundle")
	git(inside, "bundle", "create", "-q", b, "refs/heads/work", "^"+base)
	bundle, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	repo := instance.Repo{Dir: host, GitDir: filepath.Join(host, ".git")}
	in := instance.Instance{Name: "hjk-host-work", Repo: host, GitDir: repo.GitDir, Branch: "work", Workspace: "volume",
		Runtime: "docker", Credentials: instance.CredentialsGate, Base: base}
	cat, _ := json.Marshal(map[string]any{"version": 2, "instances": []instance.Instance{in}})
	if err := os.WriteFile(filepath.Join(data, "instances.json"), cat, 0o600); err != nil {
		t.Fatal(err)
	}
	eng := &syncEngine{bundle: bundle, tip: git(inside, "rev-parse", "HEAD")}
	r := &Runner{Mgr: &instance.Manager{Data: data, Runtime: func(string, runtime.Endpoint) (runtime.Runtime, error) { return eng, nil }}}
	if err := r.Sync(context.Background(), in, repo); err != nil {
		t.Fatal(err)
	}
	if got := git(host, "log", "-1", "--format=%s", "work"); got != "made inside" {
		t.Fatalf("the branch after sync: %q", got)
	}
	if slices.ContainsFunc(eng.cmds, func(c string) bool { return strings.Contains(c, "repo status") }) {
		t.Errorf("after a pull that moved the branch, sync asked the container: %q", eng.cmds)
	}
}
