package instance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Repo is a git repository on the host.
type Repo struct {
	// Dir is the main worktree, or the git dir of a bare repository: what
	// `git worktree` commands run in.
	Dir string
	// GitDir is the common git dir (absolute, symlinks resolved): every
	// linked worktree's .git file points under it, so containers mount it
	// at this same path.
	GitDir string
}

// Name is the repository's folder name, for container and folder names.
func (r Repo) Name() string { return strings.TrimSuffix(filepath.Base(r.Dir), ".git") }

// FindRepo returns the repository dir is in. From inside a linked worktree
// (an instance's, say) it finds the main repository, so the same branch is
// the same instance wherever hjk runs.
func FindRepo(ctx context.Context, dir string) (Repo, error) {
	out, ok := commonDir(dir)
	if !ok {
		var err error
		out, err = git(ctx, dir, "rev-parse", "--path-format=absolute", "--git-common-dir")
		if err != nil {
			return Repo{}, fmt.Errorf("%s is not in a git repository: run hjk inside one (or 'git init' first)", dir)
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

// commonDir finds the common git dir above dir by reading the files git
// leaves (.git, a linked worktree's gitdir and commondir), as git does,
// without starting git: this is on the path of every session. It answers
// only the plain cases; anything else (bare repositories, GIT_DIR, odd
// files) is left to git itself.
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

// CheckBranch refuses a name git would not take as a branch.
func CheckBranch(ctx context.Context, branch string) error {
	if branch == "" || strings.HasPrefix(branch, "-") {
		return fmt.Errorf("%q is not a valid branch name", branch)
	}
	if _, err := git(ctx, "", "check-ref-format", "--branch", branch); err != nil {
		return fmt.Errorf("%q is not a valid branch name", branch)
	}
	return nil
}

// addWorktree makes path a worktree of branch, creating the branch from
// HEAD when it does not exist yet. A worktree already at path (left by an
// instance whose container went away) is kept as it is: it may hold work.
func addWorktree(ctx context.Context, r Repo, branch, path string) error {
	if _, err := os.Stat(filepath.Join(path, ".git")); err == nil {
		return nil
	}
	// A worktree folder deleted by hand leaves git's record of it behind,
	// which would make git refuse the branch as "already checked out".
	if _, err := git(ctx, r.Dir, "worktree", "prune"); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create worktree folder: %w", err)
	}
	args := []string{"worktree", "add", "--quiet"}
	if _, err := git(ctx, r.Dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch); err == nil {
		args = append(args, path, branch)
	} else {
		args = append(args, "-b", branch, path, "HEAD")
	}
	_, err := git(ctx, r.Dir, args...)
	if err != nil && strings.Contains(err.Error(), "already") {
		// git keeps one worktree per branch: the user's own checkout
		// holds it.
		return fmt.Errorf("%w\nan instance needs the branch in a worktree of its own: check out another branch there first", err)
	}
	return err
}

// DirtyError is Remove's refusal of a worktree holding uncommitted work.
type DirtyError struct {
	Worktree string
	Err      error // git's refusal, or why git could not be asked
}

func (e *DirtyError) Error() string {
	return fmt.Sprintf("the worktree %s has uncommitted changes, or could not be checked: %v", e.Worktree, e.Err)
}

func (e *DirtyError) Unwrap() error { return e.Err }

// removeWorktree removes the worktree at path (the branch stays). Without
// force, git refuses a worktree with modified or untracked files, and a
// worktree whose repository is gone (nothing can tell what in it is
// committed) is kept: both are a *DirtyError.
func removeWorktree(ctx context.Context, r Repo, path string, force bool) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(r.GitDir); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		_, err := git(ctx, r.Dir, "worktree", "prune")
		return err
	}
	if _, err := os.Stat(r.GitDir); errors.Is(err, os.ErrNotExist) {
		// The repository is gone: git has nothing to update, and the
		// worktree (without its git dir) is only files.
		if !force {
			return &DirtyError{Worktree: path, Err: fmt.Errorf("its repository %s is gone", r.Dir)}
		}
		return os.RemoveAll(path)
	}
	args := []string{"worktree", "remove", path}
	if force {
		args = []string{"worktree", "remove", "--force", path}
	}
	if _, err := git(ctx, r.Dir, args...); err != nil {
		if !force {
			return &DirtyError{Worktree: path, Err: err}
		}
		return err
	}
	return nil
}

// Dirty reports whether the worktree at path holds changes not committed:
// modified, staged or untracked files. A missing worktree holds nothing.
func Dirty(ctx context.Context, path string) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	out, err := git(ctx, path, "status", "--porcelain")
	if err != nil {
		return false, err
	}
	return out != "", nil
}

// git runs git in dir and returns its trimmed output; its error carries
// git's own message.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimPrefix(msg, "fatal: ")
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}
