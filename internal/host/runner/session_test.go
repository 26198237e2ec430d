package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// The engine's refusal of an exec in a stopped container is held back so
// hjk can start the container and retry without showing it.
func TestHoldWriter(t *testing.T) {
	var out bytes.Buffer
	h := newHoldWriter(&out, time.Hour)
	h.Write([]byte("Error response from daemon: container is not running\n"))
	if out.Len() != 0 {
		t.Fatal("held output was written")
	}
	if !h.settle() {
		t.Fatal("settle: not holding")
	}
	if !runtime.Refused("docker", &runtime.ExitError{Code: 1}, h.head()) {
		t.Error("head does not hold the refusal")
	}
	h.drop()
	h.release()
	if out.Len() != 0 {
		t.Errorf("dropped output was written: %q", out.String())
	}

	// A session's own error output comes through, in order, once the
	// hold time is over.
	out.Reset()
	h = newHoldWriter(&out, 10*time.Millisecond)
	h.Write([]byte("a"))
	time.Sleep(50 * time.Millisecond)
	h.Write([]byte("b"))
	if h.settle() {
		t.Error("settle after the hold time: still holding")
	}
	if out.String() != "ab" {
		t.Errorf("got %q, want ab", out.String())
	}

	// Output on stdout lets the errors through at once.
	out.Reset()
	h = newHoldWriter(&out, time.Hour)
	h.Write([]byte("warning: x\n"))
	var stdout bytes.Buffer
	(&releaser{w: &stdout, hold: h}).Write([]byte("result\n"))
	if out.String() != "warning: x\n" || stdout.String() != "result\n" {
		t.Errorf("after stdout: stderr %q, stdout %q", out.String(), stdout.String())
	}
	h.settle()

	// Much output is never held for long.
	out.Reset()
	h = newHoldWriter(&out, time.Hour)
	h.Write(bytes.Repeat([]byte("x"), 70<<10))
	if out.Len() != 70<<10 {
		t.Errorf("%d bytes through after 70 KiB written", out.Len())
	}
	h.settle()
}

// A session's command is the agent's CLI with the config's flags, the
// user's arguments and the prompt; its login is returned apart, never in
// the command or its variables.
func TestAgentSpec(t *testing.T) {
	mem := store.NewMemory()
	const secret = "sk-ant-oat01-FAKEsessionTOKEN"
	if err := store.SaveCredential(mem, agent.Claude, "work", agent.Credential{Kind: agent.Subscription, Secret: secret}); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Store: func() (store.Store, error) { return mem, nil }, Config: config.Config{Agents: map[string]config.AgentConfig{
		"claude": {Env: map[string]string{"B_VAR": "2", "A_VAR": "1"}, Args: []string{"--verbose"}},
	}}}
	spec, lg, err := r.agentSpec("claude", "work", Request{Prompt: "fix the tests", Args: []string{"--model", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(spec.Cmd, " "), "claude --verbose --model x fix the tests"; got != want {
		t.Errorf("Cmd = %q, want %q", got, want)
	}
	if got, want := strings.Join(spec.Env, ","), "A_VAR,B_VAR"; got != want {
		t.Errorf("Env = %q, want %q", got, want)
	}
	if lg == nil || lg.cred.Secret != secret || lg.item() != "claude-oidc-token@work" {
		t.Errorf("login %+v", lg)
	}
	if strings.Contains(strings.Join(append(append(spec.Cmd, spec.Env...), spec.Values...), " "), secret) {
		t.Error("the credential is in the command or its variables")
	}
	var nc *store.NotConfiguredError
	if _, _, err := r.agentSpec("claude", "", Request{}); !errors.As(err, &nc) {
		t.Errorf("no credential: %v", err)
	}
	r.Store = func() (store.Store, error) { t.Fatal("the shell agent opened the store"); return nil, nil }
	spec, lg, err = r.agentSpec(ShellAgent, "", Request{Prompt: "make test"})
	if err != nil || lg != nil || spec.Cmd[len(spec.Cmd)-2] != "-c" || spec.Cmd[len(spec.Cmd)-1] != "make test" || len(spec.Values) != 0 {
		t.Errorf("shell session = %q, %v, %v", spec.Cmd, lg, err)
	}
	if got := promptArgs(agent.Gemini, "p"); strings.Join(got, " ") != "--prompt-interactive p" {
		t.Errorf("gemini prompt args = %q", got)
	}
	if _, _, err := r.agentSpec("nope", "", Request{}); !errors.As(err, new(*UnknownAgentError)) {
		t.Errorf("unknown agent: %v", err)
	}
}

// withHandover puts the hand-over id in front of the agent's command,
// also under a session server.
func TestWithHandover(t *testing.T) {
	spec := runtime.ExecSpec{Cmd: []string{"/.hjk/bin/hjk-init", "session", "start", "--name", "c", "--", "/.hjk/bin/hjk-init", "--", "claude"}}
	got := strings.Join(withHandover(spec, "ID").Cmd, " ")
	if want := "/.hjk/bin/hjk-init session start --name c -- /.hjk/bin/hjk-init --creds ID -- claude"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// sessionEngine plays one exec per entry of runs: what it writes to stderr
// and stdout and the exit status; it counts the execs.
type sessionEngine struct {
	runtime.Runtime
	name    string
	runs    []sessionRun
	execs   int
	stdouts []io.Writer // what each exec was given as its stdout
}

type sessionRun struct {
	stdout, stderr string
	code           int
}

func (e *sessionEngine) Name() string { return e.name }

func (e *sessionEngine) Endpoint() runtime.Endpoint {
	return runtime.Endpoint{Kind: runtime.EndpointDefault}
}

func (e *sessionEngine) Exec(_ context.Context, spec runtime.ExecSpec) error {
	r := e.runs[min(e.execs, len(e.runs)-1)]
	e.execs++
	e.stdouts = append(e.stdouts, spec.Stdout)
	io.WriteString(spec.Stdout, r.stdout)
	io.WriteString(spec.Stderr, r.stderr)
	if r.code != 0 {
		return &runtime.ExitError{Code: r.code}
	}
	return nil
}

var podmanImproper = sessionRun{stderr: "Error: can only create exec sessions on running containers: container state improper\n", code: 255}

// Only the engine's own refusal makes hjk start the container and run the
// session again; a session that fails saying "is not running" runs once.
func TestSessionRetriesOnlyRefusals(t *testing.T) {
	t.Parallel()
	ok := sessionRun{stdout: "done\n"}
	for _, tt := range []struct {
		name      string
		engine    string
		runs      []sessionRun
		wantExecs int
		wantCode  int
		wantErr   string
	}{
		{"own stderr, docker", "docker", []sessionRun{{stderr: "db is not running\n", code: 1}, ok}, 1, 1, "db is not running"},
		{"own stderr, podman", "podman", []sessionRun{{stderr: "no such container here\n", code: 125}, ok}, 1, 125, "no such container"},
		{"own copy of docker's words", "docker", []sessionRun{{stderr: "x\nError response from daemon: No such container: c\n", code: 1}, ok}, 1, 1, "No such container"},
		{"docker's words, other status", "docker", []sessionRun{{stderr: "Error response from daemon: No such container: c\n", code: 2}, ok}, 1, 2, "No such container"},
		{"docker's words after stdout", "docker", []sessionRun{{stdout: "x", stderr: "Error response from daemon: No such container: c\n", code: 1}, ok}, 1, 1, "No such container"},
		{"docker refuses", "docker", []sessionRun{{stderr: "Error response from daemon: Container 0123 is not running\n", code: 1}, ok}, 2, 0, ""},
		{"podman refuses a stopped container", "podman", []sessionRun{{stderr: "Error: can only create exec sessions on running containers: container state improper\n", code: 255}, ok}, 2, 0, ""},
		{"podman refuses", "podman", []sessionRun{{stderr: `Error: no container with name or ID "c" found: no such container` + "\n", code: 125}, ok}, 2, 0, ""},
		// Refused again just after ensure started it (a loaded podman):
		// ensured once more; a third refusal is the answer.
		{"podman refuses after the start", "podman", []sessionRun{podmanImproper, podmanImproper, ok}, 3, 0, ""},
		{"podman keeps refusing", "podman", []sessionRun{podmanImproper, podmanImproper, podmanImproper, ok}, 3, 255, "container state improper"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			eng := &sessionEngine{name: tt.engine, runs: tt.runs}
			r := &Runner{Mgr: &instance.Manager{Runtime: func(string, runtime.Endpoint) (runtime.Runtime, error) { return eng, nil }},
				IO: IO{Stdout: &stdout, Stderr: &stderr}}
			in := instance.Instance{Name: "hjk-r-b", Branch: "b", Runtime: tt.engine}
			ensured := 0
			ensure := func() (instance.Instance, instance.Action, error) { ensured++; return in, instance.Started, nil }
			err := r.session(context.Background(), in, runtime.ExecSpec{Cmd: []string{"sh"}}, nil, false, ensure)
			if eng.execs != tt.wantExecs {
				t.Errorf("%d execs, want %d (ensure ran %d times)", eng.execs, tt.wantExecs, ensured)
			}
			var ee *ExitError
			if code := 0; errors.As(err, &ee) {
				code = ee.Code
				if code != tt.wantCode {
					t.Errorf("exit %d, want %d", code, tt.wantCode)
				}
			} else if err != nil || tt.wantCode != 0 {
				t.Errorf("err = %v, want exit %d", err, tt.wantCode)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) || tt.wantErr == "" && strings.Contains(stderr.String(), "Error") {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

// A terminal reaches the engine's CLI as it is, on every try: the CLI
// reads the terminal's size from its stdout, and the agent gets a
// terminal of no size through a pipe (gemini then draws no prompt).
func TestSessionKeepsTheTerminal(t *testing.T) {
	t.Parallel()
	var term, stderr bytes.Buffer
	eng := &sessionEngine{name: "podman", runs: []sessionRun{podmanImproper, {stdout: "done\n"}}}
	r := &Runner{Mgr: &instance.Manager{Runtime: func(string, runtime.Endpoint) (runtime.Runtime, error) { return eng, nil }},
		IO: IO{Stdout: &term, Stderr: &stderr, TTY: true}}
	in := instance.Instance{Name: "hjk-r-b", Branch: "b", Runtime: "podman"}
	ensure := func() (instance.Instance, instance.Action, error) { return in, instance.Started, nil }
	for _, fresh := range []bool{false, true} {
		eng.execs, eng.stdouts = 0, nil
		if err := r.session(context.Background(), in, runtime.ExecSpec{Cmd: []string{"sh"}}, nil, fresh, ensure); err != nil {
			t.Fatalf("fresh %v: %v", fresh, err)
		}
		if len(eng.stdouts) != 2 {
			t.Fatalf("fresh %v: %d execs, want 2", fresh, len(eng.stdouts))
		}
		for i, w := range eng.stdouts {
			if w != io.Writer(&term) {
				t.Errorf("fresh %v, exec %d: stdout is %T, not the terminal", fresh, i+1, w)
			}
		}
	}
}
