package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/spf13/pflag"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// complete asks hjk what the shells ask it (cobra's 'hjk __complete WORD...
// CURRENT'), and returns the candidates, sorted, without descriptions.
func complete(t *testing.T, app *App, words ...string) []string {
	t.Helper()
	var out bytes.Buffer
	app.Stdout, app.Stderr = &out, io.Discard
	if code := app.Run(append([]string{"__complete"}, words...)); code != 0 {
		t.Fatalf("hjk __complete %q: exit %d", words, code)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("hjk __complete %q: no directive in %q", words, out.String())
	}
	var got []string
	for _, l := range lines[:len(lines)-1] {
		c, _, _ := strings.Cut(l, "\t")
		got = append(got, c)
	}
	slices.Sort(got)
	return got
}

// TestComplete drives the completer as the shells' scripts do: the words
// after "hjk", the one being typed last. (Branches: ux-completion.txtar and
// TestShellsQuoteCandidates, in a real repository and real shells.)
func TestComplete(t *testing.T) {
	t.Parallel()
	app := NewApp(strings.NewReader(""), nil, nil, func(string) string { return "" })
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"ve"}, []string{"version"}},
		{[]string{"__"}, nil}, // hidden commands are not offered
		{[]string{"--ver"}, []string{"--verbose", "--version"}},
		{[]string{"-v", "doc"}, []string{"doctor"}},
		{[]string{"completion", ""}, []string{"bash", "fish", "powershell", "zsh"}},
		{[]string{"completion", "bash", ""}, nil},
		{[]string{"auth", "c"}, sorted(agentNames("c"))},
		{[]string{"auth", "rm", "g"}, sorted(agentNames("g"))},
		{[]string{"auth", "rm", "gemini", ""}, nil},
		{[]string{"auth", "status", "--j"}, []string{"--json"}},
		{[]string{"auth", "codex", "--a"}, []string{"--account", "--api-key"}},
		{[]string{"run", "b", "--runtime", "p"}, []string{"podman"}},
		{[]string{"run", "b", "--agent", ""}, sorted(append(agentNames(""), "shell"))},
		// --agent=s: the value after "="; the scripts keep "--agent=" in
		// front (bash's readline, fish's and zsh's prefix).
		{[]string{"run", "b", "--agent=s"}, []string{"shell"}},
		{[]string{"run", "b", "--agent=co"}, sorted(agentNames("co"))},
		{[]string{"run", "b", "--runtime="}, []string{"container", "docker", "podman"}},
		{[]string{"doctor", "--runtime", "d"}, []string{"docker"}},
		// A flag's value is not taken for the branch.
		{[]string{"run", "--image", "x", "b", "--ag"}, []string{"--agent"}},
		// After --, the words are the agent's.
		{[]string{"run", "b", "--", "--ag"}, nil},
		{[]string{"config", "run"}, []string{"runtime"}},
		{[]string{"config", "agents.codex."}, []string{"agents.codex.args", "agents.codex.env."}},
		{[]string{"config", "store", ""}, store.Names()},
		{[]string{"rm", "--"}, []string{"--force", "--help", "--keep-volume", "--quiet", "--verbose"}},
		{[]string{"rm", "-"}, []string{"--force", "--help", "--keep-volume", "--quiet", "--verbose", "-f", "-h", "-q", "-v"}},
		{[]string{"nosuch", ""}, nil},
	} {
		want := slices.Sorted(slices.Values(tc.want))
		if got := complete(t, app, tc.words...); !slices.Equal(got, want) {
			t.Errorf("complete %q = %q, want %q", tc.words, got, want)
		}
	}
}

// createEngine is an engine on which an instance can be made: no container
// yet, every image present; it keeps the spec of the container created.
type createEngine struct {
	runtime.Runtime
	created runtime.Spec
}

func (e *createEngine) Name() string { return "docker" }

func (e *createEngine) Endpoint() runtime.Endpoint {
	return runtime.Endpoint{Kind: runtime.EndpointDefault}
}
func (e *createEngine) ImageExists(context.Context, string) (bool, error) {
	return true, nil
}
func (e *createEngine) Inspect(context.Context, string) (runtime.Container, error) {
	return runtime.Container{}, runtime.ErrNoSuchContainer
}
func (e *createEngine) Create(_ context.Context, spec runtime.Spec) error {
	e.created = spec
	return nil
}

// gitRepo makes a repository with a first commit and branches in a new
// folder.
func gitRepo(t *testing.T, branches ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(dir, "repo")
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q", "-b", "main")
	git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "first")
	for _, b := range branches {
		git("branch", b)
	}
	return dir
}

// TestCompleteSessions: attach, logs and kill offer the sessions hjk
// recorded starting in the branch's instance (its own record in the
// catalog: no engine is asked), the latest first, and nothing for a branch
// without an instance.
func TestCompleteSessions(t *testing.T) {
	repoDir := gitRepo(t, "feat/one", "other")
	t.Chdir(repoDir)
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	dirs, err := config.DirsFrom(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	gd, err := filepath.EvalSymlinks(filepath.Join(repoDir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	in := instance.Instance{Name: "hjk-x", Repo: filepath.Dir(gd), GitDir: gd, Branch: "feat/one", Workspace: "volume",
		Runtime: "docker", Sessions: []string{"codex", "claude-2", "claude", "bad name"}}
	b, _ := json.Marshal(map[string]any{"version": 2, "instances": []instance.Instance{in}})
	os.MkdirAll(dirs.Data, 0o700)
	if err := os.WriteFile(filepath.Join(dirs.Data, "instances.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}

	app := NewApp(strings.NewReader(""), nil, nil, func(k string) string { return env[k] })
	app.OpenStore = func() (store.Store, error) { t.Error("completion opened the store"); return nil, errors.New("no") }
	app.OpenRuntime = func(string, runtime.Endpoint) (runtime.Runtime, error) {
		t.Error("completion opened a runtime")
		return nil, errors.New("no")
	}
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"attach", "feat/one", ""}, []string{"claude", "claude-2", "codex"}},
		{[]string{"logs", "feat/one", "cl"}, []string{"claude", "claude-2"}},
		{[]string{"attach", "other", ""}, nil},
		{[]string{"logs", "nosuch", ""}, nil},
		{[]string{"attach", "f"}, []string{"feat/one"}},
		{[]string{"kill", "f"}, []string{"feat/one/"}},
		{[]string{"kill", "feat/one/c"}, []string{"feat/one/claude", "feat/one/claude-2", "feat/one/codex"}},
		{[]string{"kill", "feat/one/co"}, []string{"feat/one/codex"}},
		{[]string{"kill", "feat/one", "claude-"}, []string{"claude-2"}},
	} {
		if got := complete(t, app, tc.words...); !slices.Equal(got, tc.want) {
			t.Errorf("complete %q = %q, want %q", tc.words, got, tc.want)
		}
	}
}

// TestWorkspaceRepoIsRecorded: inside an instance's workspace, completion
// offers the branches of the repository hjk recorded for it, and doctor
// names that repository: never a .git the container planted in a
// subfolder, in which neither runs git at all.
func TestWorkspaceRepoIsRecorded(t *testing.T) {
	repoDir := gitRepo(t, "feat/one", "other")
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	dirs, err := config.DirsFrom(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	gd, err := filepath.EvalSymlinks(filepath.Join(repoDir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dirs.Data, "workspaces", "repo-feat-one-12345678")
	in := instance.Instance{Name: "hjk-repo-feat-one-12345678", Repo: filepath.Dir(gd), GitDir: gd, Branch: "feat/one",
		Workspace: "folder", Folder: folder, Runtime: "docker"}
	b, _ := json.Marshal(map[string]any{"version": 2, "instances": []instance.Instance{in}})
	os.MkdirAll(dirs.Data, 0o700)
	if err := os.WriteFile(filepath.Join(dirs.Data, "instances.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	// The container's work: a repository of its own in a subfolder, with
	// a branch of its own and a config that would stop git.
	sub := filepath.Join(folder, "sub")
	planted := gitRepo(t, "planted")
	os.MkdirAll(sub, 0o755)
	if err := os.Rename(filepath.Join(planted, ".git"), filepath.Join(sub, ".git")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(folder, ".git"), []byte("hjk: guard\n"), 0o444)
	app := NewApp(strings.NewReader(""), nil, nil, func(k string) string { return env[k] })
	for _, dir := range []string{folder, sub} {
		t.Chdir(dir)
		if got, want := complete(t, app, "attach", ""), []string{"feat/one", "main", "other"}; !slices.Equal(got, want) {
			t.Errorf("in %s: complete attach = %q, want the recorded repository's %q", dir, got, want)
		}
		if c := app.gitChecks(context.Background()); len(c) != 2 || c[1].Status != "ok" || c[1].Detail != filepath.Dir(gd) {
			t.Errorf("in %s: doctor's repo check %+v, want ok and %s", dir, c, filepath.Dir(gd))
		}
	}
}

// gitAcceptsBranch is git's own answer.
func gitAcceptsBranch(name string) bool {
	return exec.Command("git", "check-ref-format", "--branch", name).Run() == nil
}

// validBranchCases are names git takes or refuses for a reason of its own.
var validBranchCases = []string{
	"main", "feat/one", "fix-login", "v1.2", "a@b", "ünï", "x$(>f)", "`id`", ";x", "(echo>f)", "a'q", `b"q`, "a&b|c<d>",
	"", "-x", "HEAD", "@", "sp ace", "nl\nx", "tab\tx", "a..b", "a@{b", ".a", "a/.b", "a.", "a/", "/a", "a//b",
	"a.lock", "a.lock/b", "ab.lock.x", "a~b", "a^b", "a:b", "a?b", "a*b", "a[b", `a\b`, "a\x7fb", "\xff", "a\u0085b",
}

// TestValidBranch holds validBranch against git: every name it offers, git
// accepts; what git accepts and it refuses is only what a shell should not
// be handed (not printable UTF-8) or reads as a flag or HEAD.
func TestValidBranch(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	t.Parallel()
	for _, name := range validBranchCases {
		checkValidBranch(t, name)
	}
	for _, want := range []string{"main", "feat/one", "x$(>f)", "`id`", "ünï"} {
		if !validBranch(want) {
			t.Errorf("validBranch(%q) = false", want)
		}
	}
}

func checkValidBranch(t *testing.T, name string) {
	t.Helper()
	ok, git := validBranch(name), gitAcceptsBranch(name)
	switch {
	case ok && !git:
		t.Errorf("validBranch(%q) = true, but git refuses it", name)
	case !ok && git && printable(name) && name != "@":
		t.Errorf("validBranch(%q) = false, but git takes it and a shell can be handed it", name)
	}
}

// printable: valid UTF-8 of graphic characters.
func printable(s string) bool {
	return utf8.ValidString(s) && regexp.MustCompile(`^[\p{L}\p{M}\p{N}\p{P}\p{S}]*$`).MatchString(s)
}

// FuzzValidBranch: what validBranch accepts, git accepts.
func FuzzValidBranch(f *testing.F) {
	if _, err := exec.LookPath("git"); err != nil {
		f.Skip("no git")
	}
	for _, s := range validBranchCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if strings.ContainsRune(name, 0) {
			return // no argv can hold it
		}
		checkValidBranch(t, name)
	})
}

// TestCompletionDoesNoWork: completing any command line, --help of every
// command and the docs ask nothing of the store or an engine, and write
// nothing under HOME.
func TestCompletionDoesNoWork(t *testing.T) {
	t.Chdir(gitRepo(t, "fix-login"))
	home := t.TempDir()
	env := map[string]string{"HOME": home, "HJK_STORE": "file"}
	app := NewApp(strings.NewReader(""), io.Discard, io.Discard, func(k string) string { return env[k] })
	app.OpenStore = func() (store.Store, error) { t.Error("opened the store"); return nil, errors.New("no") }
	app.OpenRuntime = func(string, runtime.Endpoint) (runtime.Runtime, error) {
		t.Error("opened a runtime")
		return nil, errors.New("no")
	}
	root := NewCmdRoot(app)
	var lines [][]string
	for _, c := range documented(root) {
		path := strings.Fields(c.CommandPath())[1:]
		lines = append(lines,
			append(slices.Clone(path), ""),
			append(slices.Clone(path), "-"),
			append(slices.Clone(path), "fix-login", ""),
			append(slices.Clone(path), "fix-login", "x", ""),
		)
		c.Flags().VisitAll(func(f *pflag.Flag) {
			lines = append(lines, append(slices.Clone(path), "--"+f.Name, ""), append(slices.Clone(path), "--"+f.Name+"="))
		})
	}
	for _, words := range lines {
		complete(t, app, words...)
	}
	for _, c := range documented(root) {
		app.Stdout = io.Discard
		if code := app.Run(append(strings.Fields(c.CommandPath())[1:], "--help")); code != 0 {
			t.Errorf("%s --help: exit %d", c.CommandPath(), code)
		}
	}
	if _, err := docPages(app); err != nil {
		t.Fatal(err)
	}
	if _, err := manPages(app); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(home)
	for _, e := range entries {
		t.Errorf("written under HOME: %s", e.Name())
	}
}

// shellCases are what TestShellsQuoteCandidates types, and the words the
// shell must read. Most complete branch names git takes that a shell would
// run as a command if hjk's completion put them on the command line
// unquoted, or evaluated them once there: each writes the file pwned.
// "sp ace" is a name git refuses (a ref file made by hand): it must not be
// offered.
var shellCases = []struct {
	typed string
	want  []string
}{
	// Two branches share the prefix x$(>pwned): a TAB inserts only that
	// prefix, quoted, and the next word's TAB evaluates the line.
	{"hjk attach x\t1", []string{"hjk", "attach", "x$(>pwned)1"}},
	{`hjk stop \$\(t`, []string{"hjk", "stop", "$(touch${IFS}pwned)"}},
	{"hjk stop \\`", []string{"hjk", "stop", "`>pwned`"}},
	{`hjk stop \;`, []string{"hjk", "stop", ";>pwned"}},
	{`hjk stop \(e`, []string{"hjk", "stop", "(echo>pwned)"}},
	{`hjk stop a\'`, []string{"hjk", "stop", "a'q"}},
	{`hjk stop am`, []string{"hjk", "stop", "amp&x|y<z>"}},
	{`hjk stop sp`, []string{"hjk", "stop", "sp"}},
	// A flag's value after "=", and a key that takes no space after it.
	{`hjk doctor --runtime=po`, []string{"hjk", "doctor", "--runtime=podman"}},
	{`hjk config agents.codex.e`, []string{"hjk", "config", "agents.codex.env."}},
}

// TestShellsQuoteCandidates types at a real bash, zsh and fish, on a
// terminal, with the script 'hjk completion SHELL' prints: a branch name
// full of shell syntax, completed with TAB and then followed by another
// TAB on the next word, lands on the command line quoted (printf prints it
// back as it is), and nothing of it runs.
func TestShellsQuoteCandidates(t *testing.T) {
	t.Parallel()
	hjk, err := exec.LookPath("hjk") // the test binary, as testscript put it on PATH
	if err != nil {
		t.Skip("no hjk on PATH")
	}
	names := []string{"x$(>pwned)1", "x$(>pwned)2", "$(touch${IFS}pwned)", "`>pwned`", ";>pwned", "(echo>pwned)", "a'q", "amp&x|y<z>", "main2"}
	// bash with the bash-completion package, which cobra's script uses
	// when it is there, and without.
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	for _, shell := range []string{"bash", "bash+bash-completion", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			sh, withPackage := strings.CutSuffix(shell, "+bash-completion")
			if _, err := exec.LookPath(sh); err != nil {
				t.Skipf("no %s", sh)
			}
			if _, err := os.Stat(bashCompletion); withPackage && err != nil {
				t.Skipf("no bash-completion package (%s)", bashCompletion)
			}
			repo := gitRepo(t, names...)
			head, err := exec.Command("git", "rev-parse", "HEAD").Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, broken := range []string{"sp ace", "sp\nnl"} {
				if err := os.WriteFile(filepath.Join(repo, ".git", "refs", "heads", broken), head, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			home := t.TempDir()
			var script bytes.Buffer
			app := NewApp(strings.NewReader(""), &script, io.Discard, func(string) string { return "" })
			if code := app.Run([]string{"completion", sh}); code != 0 {
				t.Fatalf("hjk completion %s: exit %d", sh, code)
			}
			file := filepath.Join(home, "hjk-completion")
			if err := os.WriteFile(file, script.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			var argv []string
			switch sh {
			case "bash":
				rc := "PS1='$ '\n"
				if withPackage {
					rc += "source " + bashCompletion + "\n"
				}
				os.WriteFile(filepath.Join(home, "rc"), []byte(rc+"source "+file+"\n"), 0o644)
				argv = []string{"bash", "--noprofile", "--rcfile", filepath.Join(home, "rc"), "-i"}
			case "zsh":
				os.WriteFile(filepath.Join(home, ".zshrc"), []byte("PROMPT='$ '\nunsetopt PROMPT_SP\nautoload -U compinit\ncompinit -u -D\nsource "+file+"\n"), 0o644)
				argv = []string{"zsh", "-i"}
			case "fish":
				argv = []string{"fish", "--no-config", "-C", "source " + file}
			}
			sess := startShell(t, argv, repo, []string{
				"HOME=" + home, "ZDOTDIR=" + home, "XDG_CONFIG_HOME=" + home, "XDG_DATA_HOME=" + home,
				"PATH=" + filepath.Dir(hjk) + string(os.PathListSeparator) + os.Getenv("PATH"), "TERM=xterm",
			})
			for i, c := range shellCases {
				// TAB, then a TAB on the next word (its completion evaluates
				// the line), then back to the start to print the words.
				sess.send(c.typed + "\t \t\x01printf '<<%s>>\\n' \r")
				if words := sess.words(t, i); !slices.Equal(words, c.want) {
					t.Errorf("typed %q and TAB: the shell read %q, want %q", c.typed, words, c.want)
				}
			}
			if _, err := os.Stat(filepath.Join(repo, "pwned")); err == nil {
				t.Errorf("a candidate ran as a command: %s/pwned exists", repo)
			}
			sess.close()
		})
	}
}

// shellSession is an interactive shell on a terminal.
type shellSession struct {
	cmd  *exec.Cmd
	ptm  *os.File
	out  syncBuffer
	done chan struct{}
	seen int // how much of out the cases before have used
}

func startShell(t *testing.T, argv []string, dir string, env []string) *shellSession {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	ptm, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	s := &shellSession{cmd: cmd, ptm: ptm, done: make(chan struct{})}
	go func() { io.Copy(&s.out, ptm); close(s.done) }()
	t.Cleanup(s.close)
	return s
}

func (s *shellSession) send(keys string) { io.WriteString(s.ptm, keys) }

// words waits for case i's printf and returns the words it printed.
func (s *shellSession) words(t *testing.T, i int) []string {
	t.Helper()
	end := fmt.Sprintf("END%d", i)
	s.send(fmt.Sprintf("echo EN''D%d\r", i)) // the echo of the line is not the marker
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := s.out.String()
		if j := strings.Index(out[s.seen:], end+"\r\n"); j >= 0 {
			chunk := out[s.seen : s.seen+j]
			s.seen += j + len(end)
			var words []string
			for _, m := range regexp.MustCompile(`<<([^\r\n]*?)>>\r?\n`).FindAllStringSubmatch(chunk, -1) {
				words = append(words, m[1])
			}
			return words
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %d: no %s from the shell; it showed:\n%q", i, end, out[s.seen:])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *shellSession) close() {
	if s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.ptm.Close()
	<-s.done
	s.cmd.Process = nil
}

// agentNames are the names of the agents that start with prefix, in
// agent.All()'s order.
func agentNames(prefix string) []string {
	var names []string
	for _, a := range agent.All() {
		if strings.HasPrefix(a.Name, prefix) {
			names = append(names, a.Name)
		}
	}
	return names
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
