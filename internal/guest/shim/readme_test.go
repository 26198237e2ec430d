package shim

import (
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/creds"
	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/guest/export"
	"github.com/hjk-dev/hjk/internal/guest/pid1"
	"github.com/hjk-dev/hjk/internal/layout"
	"github.com/hjk-dev/hjk/internal/session"
)

// README.md is hjk-init's reference. These tests hold its tables against
// the code: the agent table and the other variables read, the files
// creds writes, the exit codes, the signals pid1 forwards, the
// subcommands. A change to one side alone fails here.

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text under the heading that is exactly head, up to
// the next heading of the same or a higher level.
func section(t *testing.T, doc, head string) string {
	t.Helper()
	level := strings.Index(head, " ")
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if l != head {
			continue
		}
		var out []string
		for _, l := range lines[i+1:] {
			if n := strings.Index(l, " "); strings.HasPrefix(l, "#") && n > 0 && n <= level && strings.Trim(l[:n], "#") == "" {
				break
			}
			out = append(out, l)
		}
		return strings.Join(out, "\n")
	}
	t.Fatalf("README.md has no heading %q", head)
	return ""
}

// tables returns the markdown tables in text, each as rows of cells
// (header and separator left out), backticks removed.
func tables(text string) [][][]string {
	var all [][][]string
	var cur [][]string
	header := 0
	for _, l := range strings.Split(text+"\n", "\n") {
		if !strings.HasPrefix(l, "|") {
			if cur != nil || header > 0 {
				all = append(all, cur)
			}
			cur, header = nil, 0
			continue
		}
		if header < 2 { // the header row and the |---| row
			header++
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(l, "|"), "|") {
			cells = append(cells, strings.TrimSpace(strings.ReplaceAll(c, "`", "")))
		}
		cur = append(cur, cells)
	}
	return all
}

func table(t *testing.T, doc, head string, n int) [][]string {
	t.Helper()
	ts := tables(section(t, doc, head))
	if len(ts) <= n {
		t.Fatalf("README.md: no table %d under %q", n, head)
	}
	return ts[n]
}

// The variables hjk-init reads, from the code: the agent table, where each
// agent's folder is, and the rest of the contract's names.
func codeVariables() []string {
	var vars []string
	for _, a := range agent.All() {
		vars = append(vars, a.Vars()...)
	}
	for _, f := range creds.Folders(nil, "/") {
		vars = append(vars, f.Var)
	}
	vars = append(vars, agent.Gemini.GateLogin.PlaceholderVar, agent.GeminiGCAVar)
	vars = append(vars, agent.GeminiTrustedFoldersVar, agent.GeminiKeychainVar, agent.WorkdirVar, agent.UserVar,
		"HOME", "PATH", session.DirVar, session.RunVar, session.DetachVar,
		layout.HostUIDVar, layout.HostGIDVar, layout.WorkspaceVar, layout.GateVar, layout.GateUIDVar, layout.ReadyVar)
	return vars
}

func TestReadmeVariables(t *testing.T) {
	t.Parallel()
	// Each agent's variables (generated), then hjk-init's own.
	rows := append(table(t, readme(t), "## Variables read", 0), table(t, readme(t), "## Variables read", 1)...)
	var doc []string
	text := map[string]string{}
	for _, r := range rows {
		doc = append(doc, r[0])
		text[r[0]] = strings.Join(r, " ")
	}
	code := codeVariables()
	if !slices.Equal(sorted(doc), sorted(code)) {
		t.Errorf("README's variables\n  %q\nthe code's\n  %q", sorted(doc), sorted(code))
	}
	for v, want := range map[string]string{session.DirVar: session.GuestDir, session.RunVar: session.RunDir, session.DetachVar: session.DefaultDetachKeys} {
		if !strings.Contains(text[v], want) {
			t.Errorf("README's %s row does not give its default %s", v, want)
		}
	}
}

// Every variable the guest's code looks up is one of codeVariables: the
// second argument of each environ.Get and envDir call is a name the test
// knows, and no other lookup of the environment exists.
func TestReadmeVariablesCoverTheCode(t *testing.T) {
	t.Parallel()
	known := map[string]string{
		"agent.WorkdirVar": agent.WorkdirVar, "agent.UserVar": agent.UserVar,
		"agent.GeminiKeychainVar": agent.GeminiKeychainVar, "agent.GeminiTrustedFoldersVar": agent.GeminiTrustedFoldersVar,
		"agent.GeminiGCAVar": agent.GeminiGCAVar,
		"session.DirVar":     session.DirVar, "session.RunVar": session.RunVar, "session.DetachVar": session.DetachVar,
		"layout.UserVar": layout.UserVar, "layout.HostUIDVar": layout.HostUIDVar, "layout.HostGIDVar": layout.HostGIDVar,
		"layout.WorkspaceVar": layout.WorkspaceVar, "layout.GateVar": layout.GateVar, "layout.ReadyVar": layout.ReadyVar,
		"layout.GateUIDVar": layout.GateUIDVar,
	}
	// Names that vary, each drawn from a list codeVariables covers: the
	// agent table (creds' validate, doctor's credentials), creds.Folders
	// (envDir's parameter, doctor's folders).
	dynamic := []string{"name", "v", "f.Var", "v.name", "a.Home.Var"}
	call := regexp.MustCompile(`(?:environ\.Get|envDir)\([^,()]+,\s*([^,()]+)[,)]`)
	other := regexp.MustCompile(`os\.Getenv|os\.LookupEnv|syscall\.Getenv`)
	comment := regexp.MustCompile(`(?m)^\s*//.*$`)
	vars := codeVariables()
	files, _ := filepath.Glob("../*/*.go")
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := comment.ReplaceAllString(string(b), "")
		if other.MatchString(src) {
			t.Errorf("%s reads the environment around environ.Get", f)
		}
		for _, m := range call.FindAllStringSubmatch(src, -1) {
			arg := strings.TrimSpace(m[1])
			seen++
			name, ok := known[arg]
			if s, err := strconv.Unquote(arg); err == nil {
				name, ok = s, true
			}
			switch {
			case slices.Contains(dynamic, arg):
			case !ok:
				t.Errorf("%s looks up %s: add it to README.md's variables and to this test", f, arg)
			case !slices.Contains(vars, name):
				t.Errorf("%s looks up %s, which README.md does not list", f, name)
			}
		}
	}
	if seen < 10 {
		t.Errorf("found only %d lookups: the pattern no longer matches the code", seen)
	}
}

func TestReadmeFiles(t *testing.T) {
	t.Parallel()
	doc := readme(t)
	var got []creds.File
	for _, r := range table(t, doc, "## Files written", 0) {
		got = append(got, creds.File{Agent: r[0], Folder: r[1], Name: r[2], Login: r[3] == "yes", Holds: r[4]})
	}
	want := creds.Files()
	for i := range want {
		want[i].Holds = strings.ReplaceAll(want[i].Holds, "`", "")
	}
	if !slices.Equal(got, want) {
		t.Errorf("README's files\n  %v\nthe code's\n  %v", got, want)
	}
	// The link rules name the login files and the settings files.
	links := section(t, doc, "## Symbolic links")
	name := regexp.MustCompile("`([^`/ ]+\\.(?:json|toml))`")
	for _, para := range strings.Split(links, "\n- ") {
		login := strings.Contains(para, "**holds a login**")
		settings := strings.Contains(para, "**settings file**")
		for _, m := range name.FindAllStringSubmatch(para, -1) {
			if login && !creds.IsLogin(m[1]) || settings && creds.IsLogin(m[1]) {
				t.Errorf("README's link rules put %s on the wrong side", m[1])
			}
		}
	}
}

func TestReadmeExitCodes(t *testing.T) {
	t.Parallel()
	doc := readme(t)
	rows := map[string]string{}
	for _, r := range table(t, doc, "## Exit codes", 0) {
		rows[r[0]] = r[1]
	}
	for code, err := range map[int]error{
		agent.ExitFailure:       errors.New("a malformed payload"),
		agent.ExitNotExecutable: &environ.CommandError{Name: "x", Err: syscall.EACCES},
		agent.ExitNotFound:      &environ.CommandError{Name: "x", Err: environ.ErrNotFound},
	} {
		if exitCode(err) != code {
			t.Errorf("exitCode(%v) = %d, want %d", err, exitCode(err), code)
		}
		if rows[strconv.Itoa(code)] == "" {
			t.Errorf("README's exit codes have no row %d", code)
		}
	}
	if len(rows) != 5 || rows["COMMAND's"] == "" || rows["128+N"] == "" {
		t.Errorf("README's exit codes: %q", rows)
	}
	if !strings.Contains(rows["127"], "not found") || !strings.Contains(rows["126"], "cannot be executed") || !strings.Contains(rows["125"], "hjk-init itself failed") {
		t.Errorf("README's exit codes say otherwise than the code: %q", rows)
	}

	// export: each code the table gives, from the real subcommand.
	exp := map[string]string{}
	for _, r := range table(t, doc, "### export", 1) {
		exp[r[0]] = r[1]
	}
	if want := []string{"0", strconv.Itoa(agent.ExitNothing), strconv.Itoa(agent.ExitFailure)}; !slices.Equal(slices.Sorted(maps.Keys(exp)), sorted(want)) {
		t.Errorf("README's export codes %q, the code's %q", slices.Sorted(maps.Keys(exp)), want)
	}
	if code := export.Main([]string{"claude"}, io.Discard, io.Discard); !strings.HasPrefix(exp[strconv.Itoa(code)], "nothing to export") {
		t.Errorf("export claude exits %d, which README.md does not call nothing to export", code)
	}
	if code := export.Main(nil, io.Discard, io.Discard); !strings.HasPrefix(exp[strconv.Itoa(code)], "failure") {
		t.Errorf("export without an agent exits %d, which README.md does not call a failure", code)
	}
}

func TestReadmeSignals(t *testing.T) {
	t.Parallel()
	doc := readme(t)
	names := map[syscall.Signal]string{
		syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGQUIT: "QUIT", syscall.SIGUSR1: "USR1",
		syscall.SIGUSR2: "USR2", syscall.SIGTERM: "TERM", syscall.SIGWINCH: "WINCH", syscall.SIGCHLD: "CHLD",
		syscall.SIGALRM: "ALRM", syscall.SIGCONT: "CONT", syscall.SIGPIPE: "PIPE", syscall.SIGTSTP: "TSTP",
	}
	var code []string
	for _, s := range pid1.Forwarded {
		n, ok := names[s.(syscall.Signal)]
		if !ok {
			t.Fatalf("pid1 forwards %v: name it in this test and README.md", s)
		}
		code = append(code, n)
	}
	var forwarded []string
	var term string
	for _, r := range table(t, doc, "## Signals", 0) {
		if strings.HasPrefix(r[1], "forwarded") {
			forwarded = append(forwarded, strings.Split(r[0], ", ")...)
		}
		if r[0] == "TERM" {
			term = r[2]
		}
	}
	if !slices.Equal(sorted(forwarded), sorted(code)) {
		t.Errorf("README forwards %q, pid1 forwards %q", forwarded, code)
	}
	if want := "up to " + strconv.Itoa(int(ShutdownGrace/time.Second)) + " s"; !strings.Contains(term, want) {
		t.Errorf("README's idle TERM says %q, the grace is %v", term, ShutdownGrace)
	}
}

func TestReadmeSubcommands(t *testing.T) {
	t.Parallel()
	doc := readme(t)
	var got, want []string
	for _, r := range table(t, doc, "## Subcommands", 0) {
		got = append(got, r[0])
	}
	for _, c := range commands() {
		want = append(want, c.name)
		if !strings.Contains(doc, "\nhjk-init "+c.name) {
			t.Errorf("README's usage does not show %s", c.name)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("README's subcommands %q, commands() %q", got, want)
	}
}

// Links from README.md, and the relative paths it quotes, lead to files of
// the repository that exist.
func TestReadmeLinks(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no repository root at %s: %v", root, err)
	}
	for _, m := range regexp.MustCompile("\\]\\(([^)]+)\\)|`(\\.\\.?/[^`]+)`").FindAllStringSubmatch(readme(t), -1) {
		target := m[1] + m[2]
		if strings.HasPrefix(target, "#") || strings.Contains(target, "://") {
			continue
		}
		p, _ := filepath.Abs(strings.SplitN(target, "#", 2)[0])
		if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("README.md links outside the repository: %s", target)
		} else if _, err := os.Stat(p); err != nil {
			t.Errorf("README.md links to %s: %v", target, err)
		}
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
