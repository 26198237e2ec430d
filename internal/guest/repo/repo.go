// Package repo is `hjk-init repo`: the instance's own git repository, which
// lives in the container (layout.GitDir, on the instance's data volume) and
// which the host never runs git in. hjk on the host asks these commands, by
// exec, to seed the repository, to tell its state, and to move commits
// across as git bundles on the exec's streams:
//
//	hjk-init repo init --branch B (--tip SHA | --bundle) [--alternates DIR]
//	                   [--user-name N] [--user-email E]
//	hjk-init repo status --branch B
//	hjk-init repo bundle --branch B [--not SHA]...
//	hjk-init repo update --branch B --to SHA [--bundle]
//
// init makes the repository (when there is none yet; otherwise it only
// prints the status): its branch B at SHA, found through the alternates
// folder (the host repository's objects, mounted read-only), or the branch
// of the bundle read on standard input; HEAD on B; the work tree
// (layout.Workdir) checked out when it is empty, else only the index read,
// so files already there are kept as changes. status prints one JSON
// object (Status). bundle writes to standard output a git bundle of B
// without the commits the host already has (--not, those the repository
// knows of). update moves B to SHA (whose objects come from the
// alternates, or from the bundle on standard input) only by fast-forward,
// and only with a clean work tree when B is checked out.
//
// The git it runs is the image's, as the container's user, with the
// repository's hooks and fsmonitor switched off: hjk's own calls must not
// run what the agent put in the repository's config, nor wait on it.
//
// Exit codes: 0 done; 3 (layout.ExitNothing) nothing to bundle or no
// branch B; 4 (layout.ExitDirty) update refused, the work tree has
// uncommitted changes; 5 (layout.ExitDiverged) update refused, B is not an
// ancestor of SHA; 125 any other failure, git's message on standard error.
package repo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/layout"
)

// Status is what `repo status` prints (the contract's type).
type Status = layout.RepoStatus

// Repo is the instance's repository and work tree.
type Repo struct {
	GitDir, Workdir string
	Stderr          io.Writer
}

// Main is `hjk-init repo ARGS`.
func Main(args []string, stdout, stderr io.Writer) int {
	r := &Repo{GitDir: layout.GitDir, Workdir: layout.Workdir, Stderr: stderr}
	return r.Main(args, os.Stdin, stdout)
}

const usage = `usage: hjk-init repo init --branch B (--tip SHA | --bundle) [--alternates DIR] [--user-name N] [--user-email E]
       hjk-init repo status --branch B
       hjk-init repo bundle --branch B [--not SHA]...
       hjk-init repo update --branch B --to SHA [--bundle]
`

type options struct {
	branch, tip, to, alternates, name, email string
	bundle                                   bool
	not                                      []string
}

// isSHA accepts a full commit id, SHA-1 or SHA-256 (no regexp: hjk-init
// stays small).
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func parse(args []string) (options, error) {
	var o options
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--bundle" {
			o.bundle = true
			continue
		}
		if i+1 >= len(args) {
			return o, fmt.Errorf("%s needs a value", a)
		}
		v := args[i+1]
		i++
		switch a {
		case "--branch":
			o.branch = v
		case "--tip":
			o.tip = v
		case "--to":
			o.to = v
		case "--not":
			o.not = append(o.not, v)
		case "--alternates":
			o.alternates = v
		case "--user-name":
			o.name = v
		case "--user-email":
			o.email = v
		default:
			return o, fmt.Errorf("unknown option %s", a)
		}
	}
	if o.branch == "" || strings.HasPrefix(o.branch, "-") || strings.ContainsAny(o.branch, " \t\n~^:?*[\\") {
		return o, fmt.Errorf("--branch %q is not a branch name", o.branch)
	}
	for _, s := range append([]string{o.tip, o.to}, o.not...) {
		if s != "" && !isSHA(s) {
			return o, fmt.Errorf("%q is not a full commit id", s)
		}
	}
	return o, nil
}

// Main runs one repo command.
func (r *Repo) Main(args []string, stdin io.Reader, stdout io.Writer) int {
	if len(args) == 0 {
		io.WriteString(r.Stderr, usage)
		return 125
	}
	o, err := parse(args[1:])
	if err != nil {
		fmt.Fprintf(r.Stderr, "hjk-init: repo %s: %v\n%s", args[0], err, usage)
		return 125
	}
	switch args[0] {
	case "init":
		err = r.init(o, stdin)
		if err == nil {
			err = r.printStatus(o.branch, stdout)
		}
	case "status":
		err = r.printStatus(o.branch, stdout)
	case "bundle":
		err = r.bundle(o, stdout)
	case "update":
		err = r.update(o, stdin, stdout)
	default:
		io.WriteString(r.Stderr, usage)
		return 125
	}
	var ce codeError
	if errors.As(err, &ce) {
		fmt.Fprintf(r.Stderr, "hjk-init: repo %s: %v\n", args[0], err)
		return ce.code
	}
	if err != nil {
		fmt.Fprintf(r.Stderr, "hjk-init: repo %s: %v\n", args[0], err)
		return 125
	}
	return 0
}

// codeError is a refusal with an exit code of its own.
type codeError struct {
	code int
	msg  string
}

func (e codeError) Error() string { return e.msg }

// git runs git on the repository; its error carries git's message.
func (r *Repo) git(stdin io.Reader, stdout io.Writer, args ...string) error {
	path, err := findGit()
	if err != nil {
		return err
	}
	safe := []string{"git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false"}
	env := append(gitFree(os.Environ()), "GIT_TERMINAL_PROMPT=0")
	if args[0] != "init" { // init names its folder itself
		env = append(env, "GIT_DIR="+r.GitDir, "GIT_WORK_TREE="+r.Workdir)
	}
	var errb bytes.Buffer
	if err := start(path, append(safe, args...), env, r.Workdir, stdin, stdout, &errb); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("git %s: %v: %s", args[0], err, msg)
	}
	return nil
}

// findGit finds git on PATH.
func findGit() (string, error) {
	p, err := environ.LookPath("git", environ.Get(os.Environ(), "PATH"))
	if err != nil {
		return "", fmt.Errorf("git is not installed in this image, and an hjk instance needs it: %w", err)
	}
	return p, nil
}

// start runs argv and waits for it, its streams wired to the readers and
// writers given (nil: /dev/null). os.StartProcess rather than os/exec,
// which would make hjk-init a tenth larger.
func start(path string, argv, env []string, dir string, stdin io.Reader, stdout, stderr io.Writer) error {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	files := []*os.File{null, null, null}
	var copies []chan error
	var closers []*os.File
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	if stdin != nil {
		pr, pw, err := os.Pipe()
		if err != nil {
			return err
		}
		files[0] = pr
		closers = append(closers, pr)
		go func() { io.Copy(pw, stdin); pw.Close() }()
	}
	for i, w := range []io.Writer{stdout, stderr} {
		if w == nil {
			continue
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return err
		}
		files[i+1] = pw
		closers = append(closers, pw)
		done := make(chan error, 1)
		copies = append(copies, done)
		go func() { _, err := io.Copy(w, pr); io.Copy(io.Discard, pr); pr.Close(); done <- err }()
	}
	p, err := os.StartProcess(path, argv, &os.ProcAttr{Dir: dir, Env: env, Files: files})
	if err != nil {
		return err
	}
	for _, f := range closers {
		f.Close() // the child has its own copies
	}
	closers = nil
	st, err := p.Wait()
	for _, c := range copies {
		<-c
	}
	if err != nil {
		return err
	}
	if !st.Success() {
		return fmt.Errorf("%s", st)
	}
	return nil
}

// out runs git and returns its trimmed output.
func (r *Repo) out(args ...string) (string, error) {
	var b bytes.Buffer
	err := r.git(nil, &b, args...)
	return strings.TrimSpace(b.String()), err
}

// gitFree drops the variables that would point git elsewhere.
func gitFree(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GIT_") {
			out = append(out, kv)
		}
	}
	return out
}

func (r *Repo) exists() bool {
	_, err := os.Stat(filepath.Join(r.GitDir, "HEAD"))
	return err == nil
}

func (r *Repo) init(o options, stdin io.Reader) error {
	if r.exists() {
		return nil
	}
	if o.tip == "" && !o.bundle {
		return errors.New("init needs --tip or --bundle")
	}
	if err := os.MkdirAll(r.GitDir, 0o755); err != nil {
		return err
	}
	if err := r.git(nil, io.Discard, "init", "-q", "--bare", r.GitDir); err != nil {
		return err
	}
	cfg := [][2]string{{"core.bare", "false"}, {"core.logAllRefUpdates", "true"}}
	if o.name != "" {
		cfg = append(cfg, [2]string{"user.name", o.name})
	}
	if o.email != "" {
		cfg = append(cfg, [2]string{"user.email", o.email})
	}
	for _, kv := range cfg {
		if err := r.git(nil, io.Discard, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	if o.alternates != "" {
		if err := os.WriteFile(filepath.Join(r.GitDir, "objects", "info", "alternates"), []byte(o.alternates+"\n"), 0o644); err != nil {
			return err
		}
	}
	ref := "refs/heads/" + o.branch
	if o.bundle {
		file, err := r.saveBundle(stdin)
		if err != nil {
			return err
		}
		defer os.Remove(file)
		if err := r.git(nil, io.Discard, "fetch", "-q", "--no-tags", file, "+"+ref+":"+ref); err != nil {
			return err
		}
	} else {
		if err := r.git(nil, io.Discard, "update-ref", ref, o.tip); err != nil {
			return err
		}
	}
	if err := r.git(nil, io.Discard, "symbolic-ref", "HEAD", ref); err != nil {
		return err
	}
	if err := r.gitfile(); err != nil {
		return err
	}
	empty, err := r.emptyWorkdir()
	if err != nil {
		return err
	}
	if empty {
		return r.git(nil, io.Discard, "reset", "-q", "--hard", ref)
	}
	// Files are there already (the repository was lost, the folder kept):
	// they stay, as changes against the branch.
	return r.git(nil, io.Discard, "read-tree", ref)
}

// gitfile makes the work tree's .git name the repository, unless hjk
// mounted one there (a host folder as workspace, read-only).
func (r *Repo) gitfile() error {
	p := filepath.Join(r.Workdir, ".git")
	if _, err := os.Lstat(p); err == nil {
		return nil
	}
	return os.WriteFile(p, []byte("gitdir: "+r.GitDir+"\n"), 0o644)
}

func (r *Repo) emptyWorkdir() (bool, error) {
	ents, err := os.ReadDir(r.Workdir)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if e.Name() != ".git" {
			return false, nil
		}
	}
	return true, nil
}

// saveBundle keeps standard input in a file of the repository: git reads
// bundles from files.
func (r *Repo) saveBundle(stdin io.Reader) (string, error) {
	f, err := os.CreateTemp(r.GitDir, "hjk-*.bundle")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, stdin); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("read the bundle: %w", err)
	}
	return f.Name(), f.Close()
}

func (r *Repo) status(branch string) (Status, error) {
	st := Status{Branch: branch}
	if !r.exists() {
		return st, errors.New("the instance has no repository yet")
	}
	st.Tip, _ = r.out("rev-parse", "-q", "--verify", "refs/heads/"+branch+"^{commit}")
	st.Head, _ = r.out("symbolic-ref", "-q", "HEAD")
	var b limited
	b.max = 1
	err := r.git(nil, &b, "status", "--porcelain", "--untracked-files=normal")
	if err != nil && !errors.Is(err, errEnough) && !b.full {
		return st, err
	}
	st.Dirty = b.n > 0
	return st, nil
}

func (r *Repo) printStatus(branch string, w io.Writer) error {
	st, err := r.status(branch)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(st)
}

func (r *Repo) bundle(o options, stdout io.Writer) error {
	ref := "refs/heads/" + o.branch
	tip, _ := r.out("rev-parse", "-q", "--verify", ref+"^{commit}")
	if tip == "" {
		return codeError{layout.ExitNothing, fmt.Sprintf("no branch %s in the instance", o.branch)}
	}
	var not []string
	for _, n := range o.not {
		if r.git(nil, io.Discard, "cat-file", "-e", n+"^{commit}") != nil {
			continue // not known here: nothing to leave out
		}
		if n == tip || r.git(nil, io.Discard, "merge-base", "--is-ancestor", tip, n) == nil {
			return codeError{layout.ExitNothing, "no commit the host lacks"}
		}
		not = append(not, "^"+n)
	}
	return r.git(nil, stdout, append([]string{"bundle", "create", "-q", "-", ref}, not...)...)
}

func (r *Repo) update(o options, stdin io.Reader, stdout io.Writer) error {
	if o.to == "" {
		return errors.New("update needs --to")
	}
	if o.bundle {
		file, err := r.saveBundle(stdin)
		if err != nil {
			return err
		}
		defer os.Remove(file)
		if err := r.git(nil, io.Discard, "bundle", "unbundle", file); err != nil {
			return err
		}
	}
	if err := r.git(nil, io.Discard, "cat-file", "-e", o.to+"^{commit}"); err != nil {
		return fmt.Errorf("commit %s is not in the instance: %w", o.to, err)
	}
	ref := "refs/heads/" + o.branch
	cur, _ := r.out("rev-parse", "-q", "--verify", ref+"^{commit}")
	if cur == o.to {
		return nil
	}
	if cur != "" && r.git(nil, io.Discard, "merge-base", "--is-ancestor", cur, o.to) != nil {
		return codeError{layout.ExitDiverged, fmt.Sprintf("%s has commits the host's branch lacks", o.branch)}
	}
	head, _ := r.out("symbolic-ref", "-q", "HEAD")
	if head != ref {
		return r.git(nil, io.Discard, "update-ref", ref, o.to, cur)
	}
	st, err := r.status(o.branch)
	if err != nil {
		return err
	}
	if st.Dirty {
		return codeError{layout.ExitDirty, "the work tree has uncommitted changes"}
	}
	return r.git(nil, io.Discard, "merge", "-q", "--ff-only", o.to)
}

var errEnough = errors.New("enough output")

// limited counts lines written to it and stops the writer (with errEnough)
// after max of them: a work tree with a million untracked files answers
// "dirty" at its first.
type limited struct {
	max, n int
	full   bool
}

func (l *limited) Write(p []byte) (int, error) {
	if l.full {
		return 0, errEnough
	}
	l.n += bytes.Count(p, []byte{'\n'})
	if l.n >= l.max && l.n > 0 {
		l.full = true
	}
	return len(p), nil
}
