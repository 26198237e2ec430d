package cli

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hjk-dev/hjk/internal/host/store"
)

// TestMain lets testscript run hjk in-process: `exec hjk ...` in a script
// re-executes this test binary as hjk.
func TestMain(m *testing.M) {
	testscript.Main(withFakes{m}, map[string]func(){
		"hjk": func() { os.Exit(Main(os.Args[1:])) },
	})
}

// fakes is a folder holding stand-in agent CLIs (claude, codex) built from
// ../capture/testdata for the tests; scripts see it as $FAKES.
var fakes string

// withFakes builds the stand-ins before the tests run, and only then: the
// same binary re-executed as hjk must start fast.
type withFakes struct{ m *testing.M }

func (w withFakes) Run() int {
	dir, err := os.MkdirTemp("", "hjk-cli-fakes")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"claude", "codex"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), "../capture/testdata/fake"+name).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build the stand-in %s: %v\n%s", name, err, out)
			return 1
		}
	}
	fakes = dir
	return w.m.Run()
}

// TestScripts runs every testdata/*.txtar as a user's session with hjk.
// Each script gets a private HOME and XDG folders under $WORK, and
// HJK_STORE=file (a store in $WORK): a script that wants the real keyring
// sets `env HJK_STORE=secret-service` after `[!secretservice] skip`.
//
// Run one script with: go test ./internal/host/cli -run TestScripts/NAME
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup:               scriptSetup,
		Condition:           scriptCondition,
		Cmds:                scriptCmds,
	})
}

// passEnv are variables a script inherits from the test's environment: the
// session bus (for the Secret Service), engines and e2e gating.
var passEnv = []string{
	"DBUS_SESSION_BUS_ADDRESS", "HJK_E2E", "HJK_AGENTS_DIR",
	"DOCKER_HOST", "DOCKER_CONTEXT", "CONTAINER_HOST", "TERM",
}

func scriptSetup(env *testscript.Env) error {
	home := filepath.Join(env.WorkDir, "home")
	set := map[string]string{
		"HOME":            home,
		"XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_DATA_HOME":   filepath.Join(home, ".local", "share"),
		"XDG_STATE_HOME":  filepath.Join(home, ".local", "state"),
		"XDG_CACHE_HOME":  filepath.Join(home, ".cache"),
		"HJK_STORE":       store.File,
		"NO_COLOR":        "1",
		"FAKES":           fakes,
		// The folder testscript put hjk in: PATH=$HJKBIN hides everything
		// else.
		"HJKBIN": filepath.SplitList(os.Getenv("PATH"))[0],
		// A name no other script or package uses, for things shared beyond
		// $WORK: keyring accounts, containers.
		"UNIQUE": fmt.Sprintf("t%d%d", os.Getpid(), time.Now().UnixNano()%1e6),
		// The agents as errors list them ("claude, gemini, codex"):
		// scripts match ${AGENTS@R}, so a new agent changes no script.
		"AGENTS": strings.Join(agentNames(""), ", "),
	}
	for _, v := range passEnv {
		if val, ok := os.LookupEnv(v); ok {
			set[v] = val
		}
	}
	for k, v := range set {
		env.Setenv(k, v)
	}
	return os.MkdirAll(home, 0o700)
}

// scriptConditions are the [name] conditions scripts may test, beyond
// testscript's own (exec:prog, unix, ...). With HJK_E2E=1 a missing real
// thing is an error, not a skip.
var scriptConditions = map[string]func() bool{
	"secretservice": func() bool {
		s := store.NewSecretService(os.Getenv)
		s.SetTimeout(5 * time.Second)
		_, err := s.List()
		return err == nil
	},
}

func scriptCondition(cond string) (bool, error) {
	f, ok := scriptConditions[cond]
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if f() {
		return true, nil
	}
	if os.Getenv("HJK_E2E") == "1" {
		return false, fmt.Errorf("condition %q is false and HJK_E2E=1: set up the real thing (see scripts/test)", cond)
	}
	return false, nil
}

// scriptCmds are commands scripts may use besides testscript's own.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// nofile DIR STRING: no file under DIR holds STRING (a secret must not
	// be left on disk). With !, some file must.
	"nofile": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: nofile DIR STRING")
		}
		var found []string
		err := filepath.WalkDir(ts.MkAbs(args[0]), func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(args[1])) {
				found = append(found, p)
			}
			return nil
		})
		ts.Check(err)
		switch {
		case !neg && len(found) > 0:
			ts.Fatalf("found in %s", strings.Join(found, ", "))
		case neg && len(found) == 0:
			ts.Fatalf("no file under %s holds it", args[0])
		}
	},
	// perm MODE FILE: FILE has exactly these permission bits (octal).
	"perm": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: perm MODE FILE")
		}
		fi, err := os.Stat(ts.MkAbs(args[1]))
		ts.Check(err)
		got := fmt.Sprintf("%o", fi.Mode().Perm())
		if (got == strings.TrimLeft(args[0], "0")) == neg {
			ts.Fatalf("%s has mode %s", args[1], got)
		}
	},
}
