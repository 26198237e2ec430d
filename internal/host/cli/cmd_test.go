package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/hjk-dev/hjk/internal/agent"
)

// parse runs cmd on argv as hjk would and returns its error: its runF has
// caught the options instead of running the command.
func parse(t *testing.T, cmd *cobra.Command, argv ...string) error {
	t.Helper()
	cmd.SetArgs(argv)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.Execute()
}

// Each NewCmdX fills its options from the command line, as gh's do, and
// hands them to the run function: tests of the work call xRun with options
// of their own, without argv.
func TestNewCmdParses(t *testing.T) {
	t.Parallel()
	app := NewApp(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })

	var run *RunOptions
	cmd := NewCmdRun(app, func(o *RunOptions) error { run = o; return nil })
	if err := parse(t, cmd, "fix", "--agent", "codex", "-d", "--name", "s1", "do it", "--", "--model", "x"); err != nil {
		t.Fatal(err)
	}
	want := RunOptions{App: app, Agent: "codex", Detach: true, Name: "s1", Branch: "fix", Prompt: "do it", AgentArgs: []string{"--model", "x"}}
	if !reflect.DeepEqual(*run, want) {
		t.Errorf("run: %+v, want %+v", *run, want)
	}

	var exec *ExecOptions
	if err := parse(t, NewCmdExec(app, func(o *ExecOptions) error { exec = o; return nil }), "b", "--", "git", "log", "-3"); err != nil {
		t.Fatal(err)
	}
	if exec.Branch != "b" || strings.Join(exec.Command, " ") != "git log -3" {
		t.Errorf("exec: %+v", *exec)
	}

	for _, argv := range [][]string{{"feat/one/claude-2"}, {"feat/one", "claude-2"}} {
		var kill *KillOptions
		if err := parse(t, NewCmdKill(app, func(o *KillOptions) error { kill = o; return nil }), append(argv, "--term")...); err != nil {
			t.Fatal(err)
		}
		if kill.Branch != "feat/one" || kill.Session != "claude-2" || !kill.Term {
			t.Errorf("kill %q: %+v", argv, *kill)
		}
	}

	var logs *LogsOptions
	if err := parse(t, NewCmdLogs(app, func(o *LogsOptions) error { logs = o; return nil }), "b", "-f", "s", "-n", "5"); err != nil {
		t.Fatal(err)
	}
	if logs.Branch != "b" || logs.Session != "s" || !logs.Follow || logs.Tail != 5 {
		t.Errorf("logs: %+v", *logs)
	}

	// A value that looks like flags, after the key.
	var conf *ConfigOptions
	if err := parse(t, NewCmdConfig(app, func(o *ConfigOptions) error { conf = o; return nil }), "agents.claude.args", "--model opus"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(conf.Args, "|") != "agents.claude.args|--model opus" || conf.Unset {
		t.Errorf("config: %+v", *conf)
	}

	var login *AuthLoginOptions
	if err := parse(t, NewCmdAuthLogin(app, agent.Codex, func(o *AuthLoginOptions) error { login = o; return nil }), "--account", "work", "--", "--device-auth"); err != nil {
		t.Fatal(err)
	}
	if login.Agent.Name != "codex" || login.Account != "work" || strings.Join(login.Args, " ") != "--device-auth" || login.APIKey {
		t.Errorf("auth codex: %+v", *login)
	}

	// What the parse refuses never reaches the run function.
	for _, argv := range [][]string{{"a", "b", "c"}, {"a", "--account", "bad name"}, {}} {
		if err := parse(t, NewCmdRun(app, func(*RunOptions) error { t.Errorf("run %q ran", argv); return nil }), argv...); err == nil {
			t.Errorf("run %q: no error", argv)
		}
	}
}

// versionRun works from its options alone.
func TestVersionRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	app := NewApp(nil, &out, io.Discard, func(string) string { return "" })
	if err := versionRun(&VersionOptions{App: app, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var v versionJSON
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.Version == "" || v.Go == "" {
		t.Errorf("version --json: %q, %v", out.String(), err)
	}
}
