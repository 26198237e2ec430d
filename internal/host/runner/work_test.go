package runner

import (
	"context"
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
		mgr := &instance.Manager{Data: t.TempDir(), Runtime: func(string) (runtime.Runtime, error) { return eng, nil }}
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
