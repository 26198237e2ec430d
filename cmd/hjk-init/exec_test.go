package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Not PID 1, hjk-init replaces itself with COMMAND: the probe has the pid
// hjk-init was started with, and its parent is the test.
func TestExecInPlace(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(bin, "--", probe, "id")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	r := runCmd(t, cmd)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := "pid=" + strconv.Itoa(cmd.Process.Pid) + " ppid=" + strconv.Itoa(os.Getpid()) + " "
	if !strings.HasPrefix(r.stdout, want) {
		t.Errorf("probe printed %q, want it to start with %q: hjk-init left a process behind", r.stdout, want)
	}
}

func TestExecExitCodes(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	plain := filepath.Join(home, "plain")
	if err := os.WriteFile(plain, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(home, "script")
	if err := os.WriteFile(script, []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	noexec := filepath.Join(home, "noexec")
	if err := os.WriteFile(noexec, []byte("\x7fELF garbage"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		env    []string
		code   int
		stderr string
	}{
		{"success", []string{"--", probe, "exit", "0"}, nil, 0, ""},
		{"child's code", []string{"--", probe, "exit", "7"}, nil, 7, ""},
		{"child's 125", []string{"--", probe, "exit", "125"}, nil, 125, ""},
		{"child's 255", []string{"--", probe, "exit", "255"}, nil, 255, ""},
		{"PATH lookup", []string{"--", "probe", "exit", "3"}, []string{"PATH=/nonexistent:" + filepath.Dir(probe)}, 3, ""},
		{"without --", []string{probe, "exit", "4"}, nil, 4, ""},
		{"no command", nil, nil, 0, ""},
		{"no command after --", []string{"--"}, nil, 0, ""},
		{"not in PATH", []string{"--", "hjk-no-such-program"}, nil, 127, "hjk-init: hjk-no-such-program: command not found in PATH"},
		{"missing path", []string{"--", "/nonexistent/prog"}, nil, 127, "hjk-init: /nonexistent/prog: no such file or directory"},
		{"missing interpreter", []string{"--", script}, nil, 127, "hjk-init: " + script + ": no such file or directory"},
		{"not executable", []string{"--", plain}, nil, 126, "hjk-init: " + plain + ": permission denied"},
		{"directory", []string{"--", home}, nil, 126, "is a directory"},
		{"bad binary", []string{"--", noexec}, nil, 126, "exec format error"},
		{"unknown option", []string{"--frobnicate"}, nil, 125, `unknown option "--frobnicate"`},
		{"malformed payload", []string{"--", probe, "exit", "0"}, []string{`CODEX_AUTH_JSON={"tokens":{"refresh_token":"` + fakeCodexRefr}, 125, "CODEX_AUTH_JSON"},
		{"bad HJK_USER", []string{"--", probe, "exit", "0"}, []string{"HJK_USER=hjk-no-such-user"}, 125, `HJK_USER=hjk-no-such-user: no user "hjk-no-such-user" in /etc/passwd`},
		{"missing HOME", []string{"--", probe, "exit", "0"}, []string{"HOME=/nonexistent/home", "CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken}, 125, "/nonexistent/home"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(bin, tt.args...)
			cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}, tt.env...)
			r := runCmd(t, cmd)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			if tt.stderr == "" && r.stderr != "" || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q, want %q", r.stderr, tt.stderr)
			}
			assertNoSecret(t, "stderr", r.stderr)
		})
	}
}

// Not PID 1, a signal that kills COMMAND is seen by hjk-init's parent
// directly, as hjk-init is COMMAND by then.
func TestExecKilledBySignal(t *testing.T) {
	t.Parallel()
	r := runCmd(t, exec.Command(bin, "--", probe, "kill", "9"))
	ws := r.state.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("wait status %v, want killed by SIGKILL", r.state)
	}
}

// The variables whose content moved into files are gone from COMMAND's
// environment; the ones the agents read themselves stay.
func TestScrubbedEnvironment(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	cmd := exec.Command(bin, "--", probe, "env")
	cmd.Dir = home
	cmd.Env = []string{
		"HOME=" + home,
		"GEMINI_OAUTH_CREDS=" + fakeGeminiPayload(),
		"GEMINI_API_KEY=" + fakeGeminiKey,
		"CODEX_AUTH_JSON=" + fakeCodexPayload(),
		"CLAUDE_CODE_OAUTH_TOKEN=" + fakeClaudeToken,
	}
	r := runCmd(t, cmd)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	names := strings.Fields(r.stdout)
	for _, gone := range []string{"GEMINI_OAUTH_CREDS", "CODEX_AUTH_JSON"} {
		if contains(names, gone) {
			t.Errorf("%s is still in COMMAND's environment", gone)
		}
	}
	for _, kept := range []string{"GEMINI_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "HOME"} {
		if !contains(names, kept) {
			t.Errorf("%s is missing from COMMAND's environment: %q", kept, names)
		}
	}
	for _, f := range []string{".claude.json", ".gemini/oauth_creds.json", ".codex/auth.json"} {
		if _, err := os.Stat(filepath.Join(home, f)); err != nil {
			t.Errorf("hjk-init did not write %s: %v", f, err)
		}
	}
	assertNoSecret(t, "stdout and stderr", r.stdout+r.stderr)
}

// As root with HJK_USER, COMMAND runs as that user, with its groups and
// home. The files' ownership is checked in the container, whose
// /etc/passwd the test controls.
func TestExecSwitchesUser(t *testing.T) {
	needRoot(t)
	t.Parallel()
	tests := []struct{ spec, want string }{
		{"65534:65534", "uid=65534 gid=65534 groups=[65534] home="},
		{"4242", "uid=4242 gid=0 groups=[0] home=/\n"},
		{"4242:4343", "uid=4242 gid=4343 groups=[4343] home=/\n"},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, "--", probe, "id")
		cmd.Env = []string{"HOME=/root", "HJK_USER=" + tt.spec}
		r := runCmd(t, cmd)
		if r.code != 0 || !strings.Contains(r.stdout, tt.want) {
			t.Errorf("HJK_USER=%s: exit %d, printed %q, want %q; stderr %q", tt.spec, r.code, r.stdout, tt.want, r.stderr)
		}
	}
}

// Not root, hjk-init cannot become someone else: it says so instead of
// running COMMAND as the wrong user.
func TestExecRefusesSwitchWithoutRoot(t *testing.T) {
	needRoot(t)
	t.Parallel()
	for _, tt := range []struct {
		spec string
		code int
	}{{"1000:1000", 125}, {"65534", 0}} {
		cmd := exec.Command(bin, "--", probe, "id")
		cmd.Env = []string{"HOME=/", "HJK_USER=" + tt.spec}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		r := runCmd(t, cmd)
		if r.code != tt.code {
			t.Errorf("as uid 65534, HJK_USER=%s: exit %d, want %d; stderr %q", tt.spec, r.code, tt.code, r.stderr)
		}
		if tt.code == 125 && !strings.Contains(r.stderr, "HJK_USER=1000:1000: hjk-init runs as uid 65534, not root") {
			t.Errorf("stderr %q does not explain", r.stderr)
		}
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("HJK_E2E") == "1" {
			t.Fatal("this test needs root (HJK_E2E=1)")
		}
		t.Skip("needs root")
	}
}

// runRaw runs hjk-init with env exactly as given: os/exec would drop all
// but the last of two equal entries before the child starts.
func runRaw(t *testing.T, env []string, args ...string) result {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.StartProcess(bin, append([]string{bin}, args...), &os.ProcAttr{Env: env, Files: []*os.File{nil, outW, errW}})
	outW.Close()
	errW.Close()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := make(chan string), make(chan string)
	for r, c := range map[*os.File]chan string{outR: stdout, errR: stderr} {
		go func() { b, _ := io.ReadAll(r); r.Close(); c <- string(b) }()
	}
	o, e := <-stdout, <-stderr
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return result{o, e, st.ExitCode(), st}
}

// With HOME given twice, hjk-init writes the login into the home export
// reads it back from: the first, as the agent's getenv reads it. Go's
// runtime already drops the later entry from os.Environ; the shim's unit
// test (TestPrepareAndExportAgree) holds the lookup itself.
func TestDuplicateVariablesOneHome(t *testing.T) {
	t.Parallel()
	first, last := t.TempDir(), t.TempDir()
	env := []string{"HOME=" + first, "PATH=/usr/bin:/bin", "HOME=" + last, "CODEX_AUTH_JSON=" + fakeCodexPayload(), "HJK_WORKDIR=/w"}
	if r := runRaw(t, env); r.code != 0 {
		t.Fatalf("hjk-init: exit %d, stderr %q", r.code, r.stderr)
	}
	r := runRaw(t, env, "export", "codex")
	if r.code != 0 || r.stdout != fakeCodexPayload() {
		t.Errorf("export codex: exit %d, stderr %q; want the login hjk-init wrote", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(first, ".codex/auth.json")); err != nil {
		t.Errorf("auth.json is not in the first HOME: %v", err)
	}
	if entries, _ := os.ReadDir(last); len(entries) > 0 {
		t.Errorf("hjk-init wrote into the second HOME too")
	}
	assertNoSecret(t, "stderr", r.stderr)
}
