package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/guest/environ"
)

// fakeBin makes a PATH folder of shell scripts standing in for the CLIs.
// node answers --version with nodeVersion and, run as a script's
// interpreter (node SCRIPT --version), prints what the script's second
// line says after "#v ".
func fakeBin(t *testing.T, nodeVersion string, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if nodeVersion != "" {
		write("node", `#!/bin/sh
if [ "$1" = --version ]; then echo `+nodeVersion+`; exit 0; fi
sed -n 's/^#v //p' "$1"
`)
	}
	for name, body := range scripts {
		write(name, body)
	}
	return dir
}

const (
	claudeOK = "#!/bin/sh\necho '2.1.332 (Claude Code)'\n"
	codexOK  = "#!/usr/bin/env node\n#v codex-cli 0.171.0\n"
	geminiOK = "#!/usr/bin/env node\n#v 0.61.0\n"
)

func allOK() map[string]string {
	return map[string]string{"claude": claudeOK, "codex": codexOK, "gemini": geminiOK}
}

// options runs as uid 1000 "agent" with a writable HOME and PATH=bin plus
// a folder of the few system tools the fakes use (not the host's node).
func options(t *testing.T, bin string, env ...string) Options {
	t.Helper()
	sys := t.TempDir()
	for _, tool := range []string{"sh", "sed", "env", "sleep", "git"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("the fakes need %s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(sys, tool)); err != nil {
			t.Fatal(err)
		}
	}
	passwd := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000::/home/agent:/bin/sh\n"), 0o644)
	return Options{
		Env:     append([]string{"HOME=" + t.TempDir(), "PATH=" + bin + ":" + sys}, env...),
		UID:     1000,
		GID:     1000,
		Passwd:  passwd,
		Timeout: 10 * time.Second,
	}
}

func find(t *testing.T, checks []Check, name string) Check {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %q check in %+v", name, checks)
	return Check{}
}

func want(t *testing.T, c Check, status Status, detail string) {
	t.Helper()
	if c.Status != status || !strings.Contains(c.Detail, detail) {
		t.Errorf("%s: got %s %q, want %s containing %q", c.Name, c.Status, c.Detail, status, detail)
	}
	if (status == Warn || status == Fail) && c.Fix == "" {
		t.Errorf("%s: %s without a fix", c.Name, status)
	}
}

func TestAllPresent(t *testing.T) {
	t.Parallel()
	checks := Run(context.Background(), options(t, fakeBin(t, "v20.20.2", allOK())))
	if Failed(checks) {
		t.Fatalf("failed: %+v", checks)
	}
	want(t, find(t, checks, "user"), OK, "agent (uid 1000, gid 1000)")
	want(t, find(t, checks, "home"), OK, "is writable")
	want(t, find(t, checks, "claude"), OK, "2.1.332 (Claude Code)")
	want(t, find(t, checks, "codex"), OK, "codex-cli 0.171.0")
	want(t, find(t, checks, "gemini"), OK, "0.61.0")
	want(t, find(t, checks, "node"), OK, "v20.20.2")
	want(t, find(t, checks, "git"), OK, "git version")
}

func TestOldNode(t *testing.T) {
	t.Parallel()
	checks := Run(context.Background(), options(t, fakeBin(t, "v18.19.0", allOK())))
	c := find(t, checks, "node")
	want(t, c, Fail, "node >= 20 needed by gemini and codex")
	if !strings.Contains(c.Fix, "node 20 or later") {
		t.Errorf("fix %q does not say which node", c.Fix)
	}
	if !Failed(checks) {
		t.Error("an old node is not a failure")
	}
}

func TestNodeOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	// Only claude, a native binary: node does not matter and is not listed.
	checks := Run(context.Background(), options(t, fakeBin(t, "", map[string]string{"claude": claudeOK})))
	for _, c := range checks {
		if c.Name == "node" {
			t.Errorf("node listed without a node CLI: %+v", c)
		}
	}
	// codex is a node script but there is no node.
	checks = Run(context.Background(), options(t, fakeBin(t, "", map[string]string{"codex": codexOK})))
	want(t, find(t, checks, "node"), Fail, "not on PATH, needed by codex")
}

func TestMissingCLI(t *testing.T) {
	t.Parallel()
	bin := fakeBin(t, "v22.1.0", map[string]string{"claude": claudeOK})
	checks := Run(context.Background(), options(t, bin))
	want(t, find(t, checks, "codex"), Warn, "not on PATH")
	if Failed(checks) {
		t.Errorf("a missing CLI that was not required failed the run: %+v", checks)
	}

	o := options(t, bin)
	o.Require = []string{"codex"}
	checks = Run(context.Background(), o)
	want(t, find(t, checks, "codex"), Fail, "not on PATH")
	want(t, find(t, checks, "gemini"), Warn, "not on PATH")
}

func TestNoAgents(t *testing.T) {
	t.Parallel()
	checks := Run(context.Background(), options(t, t.TempDir()))
	want(t, find(t, checks, "agents"), Fail, "no agent CLI on PATH")
}

func TestBrokenCLI(t *testing.T) {
	t.Parallel()
	scripts := allOK()
	scripts["claude"] = "#!/bin/sh\necho 'error: cannot load libfoo' >&2\nexit 3\n"
	scripts["codex"] = "#!/bin/sh\nexit 0\n"
	scripts["gemini"] = "not executable as it has no shebang and is no ELF" // exec format error
	checks := Run(context.Background(), options(t, fakeBin(t, "v20.0.0", scripts)))
	want(t, find(t, checks, "claude"), Fail, "exit status 3: error: cannot load libfoo")
	want(t, find(t, checks, "codex"), Fail, "printed nothing")
	want(t, find(t, checks, "gemini"), Fail, "--version")
}

func TestHangingCLI(t *testing.T) {
	t.Parallel()
	scripts := allOK()
	// A grandchild keeps stdout open: only killing the group ends the wait.
	scripts["claude"] = "#!/bin/sh\nsleep 60 &\nsleep 60\n"
	o := options(t, fakeBin(t, "v20.0.0", scripts))
	o.Timeout = 300 * time.Millisecond
	start := time.Now()
	checks := Run(context.Background(), o)
	want(t, find(t, checks, "claude"), Fail, "no answer to --version within 300ms")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %s with a 300ms timeout: the hanging CLI was not killed", d)
	}
}

func TestNotExecutable(t *testing.T) {
	t.Parallel()
	bin := fakeBin(t, "v20.0.0", allOK())
	os.Chmod(filepath.Join(bin, "claude"), 0o644)
	checks := Run(context.Background(), options(t, bin))
	want(t, find(t, checks, "claude"), Warn, "not on PATH")
}

func TestHome(t *testing.T) {
	t.Parallel()
	bin := fakeBin(t, "v20.0.0", allOK())
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	readOnly := "/proc" // not even root may create files there
	if os.Getuid() != 0 {
		readOnly = t.TempDir()
		os.Chmod(readOnly, 0o500)
	}
	for _, tc := range []struct {
		home   string
		status Status
		detail string
	}{
		{"", Fail, "HOME is not set"},
		{file, Fail, "is not a folder"},
		{readOnly, Fail, "is not writable by uid 1000"},
		{filepath.Join(t.TempDir(), "new"), OK, "does not exist yet"},
		{readOnly + "/nothing-here", Fail, "does not exist and"},
	} {
		o := options(t, bin)
		o.Env = environ.Set(o.Env, "HOME", tc.home)
		checks := Run(context.Background(), o)
		want(t, find(t, checks, "home"), tc.status, tc.detail)
		if tc.status == Fail && !Failed(checks) {
			t.Errorf("HOME=%q: not a failure", tc.home)
		}
	}
}

func TestAgentHomes(t *testing.T) {
	t.Parallel()
	gemini := t.TempDir()
	o := options(t, fakeBin(t, "v20.0.0", allOK()), "CODEX_HOME=/proc/codex", "CLAUDE_CONFIG_DIR="+t.TempDir(), "GEMINI_CLI_HOME="+gemini)
	if os.Getuid() != 0 {
		t.Skip("needs a folder root cannot write: /proc")
	}
	checks := Run(context.Background(), o)
	want(t, find(t, checks, "CODEX_HOME"), Fail, "/proc/codex does not exist")
	want(t, find(t, checks, "CLAUDE_CONFIG_DIR"), OK, "is writable")
	// The folder hjk-init writes into, as creds.Folders works it out.
	want(t, find(t, checks, "GEMINI_CLI_HOME"), OK, gemini+"/.gemini does not exist yet")
}

func TestUser(t *testing.T) {
	t.Parallel()
	bin := fakeBin(t, "v20.0.0", allOK())
	o := options(t, bin)
	o.UID, o.GID = 0, 0
	want(t, find(t, Run(context.Background(), o), "user"), Warn, "root (uid 0, gid 0)")
	o.UID = 4242
	want(t, find(t, Run(context.Background(), o), "user"), Warn, "uid 4242, gid 0, not in")
}

func TestCredentialsNamesOnly(t *testing.T) {
	t.Parallel()
	const secret = "sk-ant-oat01-doctor-fake-value"
	o := options(t, fakeBin(t, "v20.0.0", allOK()), "CLAUDE_CODE_OAUTH_TOKEN="+secret, "OPENAI_API_KEY="+secret)
	var out, errb bytes.Buffer
	for _, args := range [][]string{nil, {"--json"}} {
		if code := run(args, o, &out, &errb); code != 0 {
			t.Fatalf("doctor %v: exit %d: %s", args, code, out.String()+errb.String())
		}
	}
	if strings.Contains(out.String()+errb.String(), secret) {
		t.Fatal("the report shows a credential's value")
	}
	if !strings.Contains(out.String(), "set: CLAUDE_CODE_OAUTH_TOKEN, OPENAI_API_KEY") {
		t.Errorf("credential variables not named:\n%s", out.String())
	}
}

func TestArgs(t *testing.T) {
	t.Parallel()
	bin := fakeBin(t, "v20.0.0", map[string]string{"claude": claudeOK})
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, 0, "no problems found"},
		{[]string{"claude"}, 0, "claude       ok"},
		{[]string{"codex"}, 1, "1 problem found"},
		{[]string{"--timeout", "5s", "claude", "gemini"}, 1, "fix: install it (npm install -g @google/gemini-cli)"},
		{[]string{"--timeout=0"}, 125, "want a positive duration"},
		{[]string{"--timeout"}, 125, "needs a duration"},
		{[]string{"--bogus"}, 125, "unknown option"},
		{[]string{"nobody"}, 125, `unknown agent "nobody"`},
		{[]string{"--help"}, 0, "usage: hjk-init doctor"},
	} {
		var out bytes.Buffer
		code := run(tc.args, options(t, bin), &out, &out)
		if code != tc.code || !strings.Contains(out.String(), tc.out) {
			t.Errorf("doctor %q: exit %d, want %d with %q in:\n%s", tc.args, code, tc.code, tc.out, out.String())
		}
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	code := run([]string{"--json", "codex"}, options(t, fakeBin(t, "v20.0.0", map[string]string{"claude": claudeOK})), &out, &out)
	var report struct {
		OK     bool    `json:"ok"`
		Checks []Check `json:"checks"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if code != 1 || report.OK {
		t.Errorf("exit %d, ok %v: a required codex is missing", code, report.OK)
	}
	want(t, find(t, report.Checks, "codex"), Fail, "not on PATH")
	want(t, find(t, report.Checks, "claude"), OK, "2.1.332")
}

// A variable given twice: doctor judges the first, the one the shim writes
// into and the agents read (it used to judge the last).
func TestFirstHomeCounts(t *testing.T) {
	t.Parallel()
	o := options(t, fakeBin(t, "v20.0.0", allOK()))
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	o.Env = append(o.Env, "HOME="+file)
	want(t, find(t, Run(context.Background(), o), "home"), OK, "is writable")
}
