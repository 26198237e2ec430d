package instance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Repo is a git repository on the host: the user's own, the only one hjk
// runs git in.
type Repo struct {
	// Dir is the main worktree, or the git dir of a bare repository.
	Dir string
	// GitDir is the common git dir (absolute, symlinks resolved).
	GitDir string
}

// Name is the repository's folder name, for container and folder names.
func (r Repo) Name() string { return strings.TrimSuffix(filepath.Base(r.Dir), ".git") }

// ErrInData is FindRepo's refusal of a folder of hjk's own that is not an
// instance's workspace.
var ErrInData = errors.New("this is a folder of hjk's own, not a repository")

// FindRepo returns the repository dir is in. Inside an instance's
// workspace it is the repository the catalog recorded for that instance:
// the workspace's files are the container's, and a .git the agent planted
// there must not pick the repository. Elsewhere under hjk's data folder it
// refuses. From inside a linked worktree it finds the main repository, so
// the same branch is the same instance wherever hjk runs.
func (m *Manager) FindRepo(ctx context.Context, dir string) (Repo, error) {
	if in, ok, err := m.workspaceOf(dir); err != nil || ok {
		return Repo{Dir: in.Repo, GitDir: in.GitDir}, err
	}
	out, ok := commonDir(dir)
	if !ok {
		var err error
		out, err = git(ctx, dir, "rev-parse", "--path-format=absolute", "--git-common-dir")
		if err != nil {
			return Repo{}, fmt.Errorf("%s is not in a git repository", dir)
		}
	}
	gd, err := filepath.EvalSymlinks(out)
	if err != nil {
		return Repo{}, fmt.Errorf("resolve git dir: %w", err)
	}
	r := Repo{Dir: gd, GitDir: gd}
	if filepath.Base(gd) == ".git" {
		r.Dir = filepath.Dir(gd)
	}
	return r, nil
}

// workspaceOf finds the instance whose workspace folder holds dir; ok is
// false when dir is outside hjk's data folder. A folder of the data folder
// that is no workspace is ErrInData.
func (m *Manager) workspaceOf(dir string) (Instance, bool, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		real = dir
	}
	data, err := filepath.EvalSymlinks(m.Data)
	if err != nil {
		data = m.Data
	}
	rel, err := filepath.Rel(data, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return Instance{}, false, nil
	}
	parts := strings.Split(rel, string(filepath.Separator))
	if len(parts) >= 2 && parts[0] == "workspaces" {
		list, err := m.catalog().Load()
		if err != nil {
			return Instance{}, true, err
		}
		for _, in := range list {
			if in.Folder != "" && filepath.Base(in.Folder) == parts[1] {
				return in, true, nil
			}
		}
	}
	return Instance{}, true, fmt.Errorf("%s: %w", dir, ErrInData)
}

// commonDir finds the common git dir above dir by reading the files git
// leaves (.git, a linked worktree's gitdir and commondir), as git does,
// without starting git: this is on the path of every session. It answers
// only the plain cases; anything else (bare repositories, GIT_DIR, odd
// files) is left to git itself. It is never used inside hjk's data folder
// (see FindRepo), where such files are the container's.
func commonDir(dir string) (string, bool) {
	if os.Getenv("GIT_DIR") != "" || os.Getenv("GIT_COMMON_DIR") != "" || !filepath.IsAbs(dir) {
		return "", false
	}
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		p := filepath.Join(d, ".git")
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return resolveCommon(p)
		case err == nil && fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			rest, found := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
			if err != nil || !found || strings.ContainsAny(rest, "\n") {
				return "", false
			}
			if !filepath.IsAbs(rest) {
				rest = filepath.Join(d, rest)
			}
			return resolveCommon(rest)
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return "", false
		}
		if d == filepath.Dir(d) {
			return "", false
		}
	}
}

// resolveCommon follows a git dir's commondir file, which a linked
// worktree's git dir holds.
func resolveCommon(gd string) (string, bool) {
	if _, err := os.Stat(filepath.Join(gd, "HEAD")); err != nil {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(gd, "commondir"))
	if errors.Is(err, os.ErrNotExist) {
		return gd, true
	}
	c := strings.TrimSpace(string(b))
	if err != nil || c == "" {
		return "", false
	}
	if !filepath.IsAbs(c) {
		c = filepath.Join(gd, c)
	}
	return filepath.Clean(c), true
}

// CheckBranch refuses a name git would not take as a branch, or one hjk
// would have to quote: a newline, a control character or white space in a
// name that reaches terminals, labels and completion.
func CheckBranch(ctx context.Context, branch string) error {
	if branch == "" || strings.HasPrefix(branch, "-") || len(branch) > 200 {
		return fmt.Errorf("%q is not a valid branch name", branch)
	}
	for _, r := range branch {
		if r < 0x21 || r == 0x7f {
			return fmt.Errorf("%q is not a branch name hjk takes: no spaces or control characters", branch)
		}
	}
	// In "/", outside any repository: git on the host never runs in the
	// folder hjk was started in (a workspace's, maybe, with a .git the
	// container planted), and --branch has no history to expand @{-N} from.
	if _, err := git(ctx, "/", "check-ref-format", "--branch", branch); err != nil {
		return fmt.Errorf("%q is not a valid branch name", branch)
	}
	return nil
}

// hostGit runs git on the repository's git dir alone: no work tree is
// involved, so nothing of a folder the container can write is read.
func (r Repo) git(ctx context.Context, args ...string) (string, error) {
	return git(ctx, r.GitDir, append([]string{"--git-dir=" + r.GitDir}, args...)...)
}

// tip is the commit refs/heads/branch names on the host, "" when the
// branch does not exist.
func (r Repo) tip(ctx context.Context, branch string) (string, error) {
	out, err := r.git(ctx, "rev-parse", "-q", "--verify", "refs/heads/"+branch+"^{commit}")
	if err != nil {
		if _, ok := exitCode(err); ok {
			return "", nil
		}
		return "", err
	}
	return out, nil
}

// ensureBranch makes the host branch exist, at HEAD when it is new, and
// returns its commit.
func (r Repo) ensureBranch(ctx context.Context, branch string) (string, error) {
	tip, err := r.tip(ctx, branch)
	if err != nil || tip != "" {
		return tip, err
	}
	head, err := r.git(ctx, "rev-parse", "-q", "--verify", "HEAD^{commit}")
	if err != nil {
		return "", fmt.Errorf("the repository %s has no commit yet to start branch %q from", r.Dir, branch)
	}
	// The zero old value: create only, never move a branch made meanwhile.
	if _, err := r.git(ctx, "update-ref", "-m", "hjk: new instance", "refs/heads/"+branch, head, ""); err != nil {
		return "", err
	}
	return head, nil
}

// isAncestor reports whether commit a is an ancestor of b (or b itself).
func (r Repo) isAncestor(ctx context.Context, a, b string) (bool, error) {
	_, err := r.git(ctx, "merge-base", "--is-ancestor", a, b)
	if code, ok := exitCode(err); ok && code == 1 {
		return false, nil
	}
	return err == nil, err
}

// checkedOut returns the host worktrees where branch is checked out: hjk
// never moves such a branch, which would leave that worktree's files and
// index behind its HEAD.
func (r Repo) checkedOut(ctx context.Context, branch string) ([]string, error) {
	out, err := r.git(ctx, "worktree", "list", "--porcelain")
	if err != nil {
		return nil, err
	}
	var dirs []string
	var cur string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "worktree "):
			cur = strings.TrimPrefix(l, "worktree ")
		case l == "branch refs/heads/"+branch:
			dirs = append(dirs, cur)
		}
	}
	return dirs, nil
}

// identity is the user's name and email as git on the host has them, for
// the commits the agent makes.
func (r Repo) identity(ctx context.Context) (name, email string) {
	name, _ = r.git(ctx, "config", "user.name")
	email, _ = r.git(ctx, "config", "user.email")
	return name, email
}

// git runs git in dir and returns its trimmed output; its error carries
// git's own message. The environment's GIT_* variables are dropped, so
// nothing but args and dir decides what git works on.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	return runGit(ctx, dir, nil, nil, args...)
}

// runGit is git with env added to hjk's environment without GIT_*, and
// stdin.
func runGit(ctx context.Context, dir string, env []string, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(gitEnv(), env...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimPrefix(msg, "fatal: ")
		if msg == "" {
			msg = err.Error()
		}
		return "", &gitError{op: command(args), msg: msg, err: err}
	}
	return strings.TrimSpace(stdout.String()), nil
}

// command is the git command args run: the first argument after git's
// own options (--git-dir=DIR, -c NAME=VALUE).
func command(args []string) string {
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-c":
			i++
		case !strings.HasPrefix(args[i], "-"):
			return args[i]
		}
	}
	return strings.Join(args, " ")
}

// gitEnv is hjk's environment without what would point git elsewhere.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return append(env, "GIT_TERMINAL_PROMPT=0")
}

type gitError struct {
	op, msg string
	err     error
}

func (e *gitError) Error() string { return "git " + e.op + ": " + e.msg }
func (e *gitError) Unwrap() error { return e.err }

// exitCode is the exit code of a git that ran and failed.
func exitCode(err error) (int, bool) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), true
	}
	return 0, false
}
