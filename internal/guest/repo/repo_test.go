package repo

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/layout"
)

// hostRepo is a repository standing for the host's, with a commit on main.
func hostRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "host")
	run(t, "", "git", "init", "-q", "-b", "main", dir)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644)
	run(t, dir, "git", "add", "a.txt")
	commit(t, dir, "first")
	return dir
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(gitFree(os.Environ()), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func commit(t *testing.T, dir, msg string) string {
	t.Helper()
	run(t, dir, "git", "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-am", msg)
	return run(t, dir, "git", "rev-parse", "HEAD")
}

// instance is an instance's repository and work tree, both empty.
func instance(t *testing.T) *Repo {
	t.Helper()
	d := t.TempDir()
	r := &Repo{GitDir: filepath.Join(d, "data", "git"), Workdir: filepath.Join(d, "work"), Stderr: new(bytes.Buffer)}
	os.MkdirAll(r.Workdir, 0o755)
	return r
}

func (r *Repo) do(t *testing.T, stdin []byte, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	r.Stderr.(*bytes.Buffer).Reset()
	code := r.Main(args, bytes.NewReader(stdin), &out)
	return out.String(), code
}

func (r *Repo) must(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	out, code := r.do(t, stdin, args...)
	if code != 0 {
		t.Fatalf("repo %s: exit %d: %s", strings.Join(args, " "), code, r.Stderr)
	}
	return out
}

func status(t *testing.T, r *Repo) Status {
	t.Helper()
	var st Status
	if err := json.Unmarshal([]byte(r.must(t, nil, "status", "--branch", "main")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestInitWithAlternates(t *testing.T) {
	host := hostRepo(t)
	tip := run(t, host, "git", "rev-parse", "HEAD")
	r := instance(t)
	r.must(t, nil, "init", "--branch", "main", "--tip", tip, "--alternates", filepath.Join(host, ".git", "objects"),
		"--user-name", "Ann", "--user-email", "ann@example.com")
	if b, _ := os.ReadFile(filepath.Join(r.Workdir, "a.txt")); string(b) != "a\n" {
		t.Errorf("a.txt checked out as %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(r.Workdir, ".git")); string(b) != "gitdir: "+r.GitDir+"\n" {
		t.Errorf(".git reads %q", b)
	}
	st := status(t, r)
	if st.Tip != tip || st.Head != "refs/heads/main" || st.Dirty {
		t.Errorf("status after init: %+v", st)
	}
	// Nothing was copied: the objects are the host's.
	if n := run(t, "", "git", "--git-dir", r.GitDir, "count-objects"); !strings.HasPrefix(n, "0 objects") {
		t.Errorf("the instance copied objects: %s", n)
	}
	if name := run(t, "", "git", "--git-dir", r.GitDir, "config", "user.email"); name != "ann@example.com" {
		t.Errorf("user.email = %q", name)
	}
	// A second init changes nothing.
	os.WriteFile(filepath.Join(r.Workdir, "new.txt"), []byte("x"), 0o644)
	r.must(t, nil, "init", "--branch", "main", "--tip", tip)
	if st := status(t, r); !st.Dirty || st.Tip != tip {
		t.Errorf("status after a second init with an untracked file: %+v", st)
	}
}

func TestInitKeepsFiles(t *testing.T) {
	host := hostRepo(t)
	tip := run(t, host, "git", "rev-parse", "HEAD")
	r := instance(t)
	os.WriteFile(filepath.Join(r.Workdir, "a.txt"), []byte("edited by the agent\n"), 0o644)
	r.must(t, nil, "init", "--branch", "main", "--tip", tip, "--alternates", filepath.Join(host, ".git", "objects"))
	if b, _ := os.ReadFile(filepath.Join(r.Workdir, "a.txt")); string(b) != "edited by the agent\n" {
		t.Errorf("init overwrote a file that was there: %q", b)
	}
	if st := status(t, r); !st.Dirty {
		t.Error("the kept edit does not show as a change")
	}
}

func TestBundleAndUpdate(t *testing.T) {
	host := hostRepo(t)
	base := run(t, host, "git", "rev-parse", "HEAD")
	r := instance(t)
	r.must(t, nil, "init", "--branch", "main", "--tip", base, "--alternates", filepath.Join(host, ".git", "objects"))

	if _, code := r.do(t, nil, "bundle", "--branch", "main", "--not", base); code != layout.ExitNothing {
		t.Errorf("bundle with nothing new: exit %d, want %d", code, layout.ExitNothing)
	}
	// The agent commits twice.
	os.WriteFile(filepath.Join(r.Workdir, "b.txt"), []byte("b\n"), 0o644)
	env := []string{"GIT_DIR=" + r.GitDir, "GIT_WORK_TREE=" + r.Workdir}
	agentGit := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=A", "-c", "user.email=a@example.com"}, args...)...)
		cmd.Dir, cmd.Env = r.Workdir, append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	agentGit("add", "b.txt")
	agentGit("commit", "-qm", "agent one")
	agentGit("commit", "-q", "--allow-empty", "-m", "agent two")
	b := r.must(t, nil, "bundle", "--branch", "main", "--not", base)
	file := filepath.Join(t.TempDir(), "x.bundle")
	os.WriteFile(file, []byte(b), 0o600)
	run(t, host, "git", "bundle", "verify", "-q", file)
	heads := run(t, host, "git", "bundle", "list-heads", file)
	if !strings.HasSuffix(heads, " refs/heads/main") {
		t.Errorf("bundle heads: %q", heads)
	}
	// Only the two new commits travel.
	run(t, host, "git", "fetch", "-q", file, "main:refs/hjk/main")
	if n := run(t, host, "git", "rev-list", "--count", base+"..refs/hjk/main"); n != "2" {
		t.Errorf("%s new commits, want 2", n)
	}

	// The host moves ahead of the agent's tip: update fast-forwards.
	run(t, host, "git", "merge", "-q", "--ff-only", "refs/hjk/main")
	hostTip := commit(t, host, "host three")
	r.must(t, nil, "update", "--branch", "main", "--to", hostTip)
	if st := status(t, r); st.Tip != hostTip || st.Dirty {
		t.Errorf("after update: %+v, want tip %s", st, hostTip)
	}

	// A dirty work tree refuses, and keeps the change.
	next := commit(t, host, "host four")
	os.WriteFile(filepath.Join(r.Workdir, "b.txt"), []byte("changed\n"), 0o644)
	if _, code := r.do(t, nil, "update", "--branch", "main", "--to", next); code != layout.ExitDirty {
		t.Errorf("update with a dirty tree: exit %d, want %d", code, layout.ExitDirty)
	}
	if b, _ := os.ReadFile(filepath.Join(r.Workdir, "b.txt")); string(b) != "changed\n" {
		t.Error("the refused update lost the change")
	}
	// Diverged: the agent commits, the host has another commit.
	agentGit("commit", "-qam", "agent five")
	if _, code := r.do(t, nil, "update", "--branch", "main", "--to", next); code != layout.ExitDiverged {
		t.Errorf("update of a diverged branch: exit %d, want %d", code, layout.ExitDiverged)
	}
}

func TestInitFromBundle(t *testing.T) {
	host := hostRepo(t)
	tip := commit(t, host, "second")
	file := filepath.Join(t.TempDir(), "seed.bundle")
	run(t, host, "git", "bundle", "create", "-q", file, "main")
	b, _ := os.ReadFile(file)
	r := instance(t)
	r.must(t, b, "init", "--branch", "main", "--bundle")
	if st := status(t, r); st.Tip != tip {
		t.Errorf("tip after a bundle seed: %+v, want %s", st, tip)
	}
	// Later commits on the host come as a bundle of what the instance lacks.
	next := commit(t, host, "third")
	run(t, host, "git", "bundle", "create", "-q", file, "main", "^"+tip)
	b, _ = os.ReadFile(file)
	r.must(t, b, "update", "--branch", "main", "--to", next, "--bundle")
	if st := status(t, r); st.Tip != next {
		t.Errorf("tip after a bundle update: %+v, want %s", st, next)
	}
}

func TestRefusesBadArguments(t *testing.T) {
	r := instance(t)
	for _, args := range [][]string{
		{"init", "--branch", "-x", "--tip", strings.Repeat("a", 40)},
		{"init", "--branch", "main", "--tip", "HEAD"},
		{"bundle", "--branch", "main", "--not", "$(touch x)"},
		{"status"},
		{"frobnicate", "--branch", "main"},
	} {
		if _, code := r.do(t, nil, args...); code != 125 {
			t.Errorf("%q: exit %d, want 125", args, code)
		}
	}
}

// Hooks and fsmonitor the agent put in the repository's config never run
// in hjk's own calls.
func TestHooksDoNotRun(t *testing.T) {
	host := hostRepo(t)
	tip := run(t, host, "git", "rev-parse", "HEAD")
	r := instance(t)
	r.must(t, nil, "init", "--branch", "main", "--tip", tip, "--alternates", filepath.Join(host, ".git", "objects"))
	marker := filepath.Join(t.TempDir(), "ran")
	hook := "#!/bin/sh\ntouch " + marker + "\n"
	for _, h := range []string{"reference-transaction", "post-merge", "post-checkout"} {
		os.WriteFile(filepath.Join(r.GitDir, "hooks", h), []byte(hook), 0o755)
	}
	os.WriteFile(filepath.Join(r.GitDir, "fsmon"), []byte(hook), 0o755)
	run(t, "", "git", "--git-dir", r.GitDir, "config", "core.fsmonitor", filepath.Join(r.GitDir, "fsmon"))
	next := commit(t, host, "two")
	status(t, r)
	r.must(t, nil, "update", "--branch", "main", "--to", next)
	if _, err := os.Stat(marker); err == nil {
		t.Error("a hook or fsmonitor of the instance's repository ran in hjk's own git call")
	}
}

// FuzzParse: what hjk passes is checked before git sees any of it: a
// branch git would take, commit ids in full hex.
func FuzzParse(f *testing.F) {
	f.Add("--branch\x00main\x00--tip\x00" + strings.Repeat("a", 40))
	f.Add("--branch\x00-x")
	f.Add("--not\x00$(touch x)\x00--branch\x00b")
	f.Add("--bundle\x00--branch\x00feat/one\x00--to\x00" + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, joined string) {
		o, err := parse(strings.Split(joined, "\x00"))
		if err != nil {
			return
		}
		if o.branch == "" || strings.HasPrefix(o.branch, "-") || strings.ContainsAny(o.branch, " \t\n~^:?*[\\") {
			t.Fatalf("took branch %q", o.branch)
		}
		for _, s := range append([]string{o.tip, o.to}, o.not...) {
			if s != "" && !isSHA(s) {
				t.Fatalf("took commit %q", s)
			}
		}
	})
}
