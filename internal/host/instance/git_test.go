package instance

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CheckBranch asks git about the name alone: never in the folder hjk runs
// in, which may be a workspace the container wrote (a .git planted in a
// subfolder, its config read by git on the host), nor of a repository's
// history (git check-ref-format --branch expands @{-1} to the branch
// checked out before, a name hjk would then try to make).
func TestCheckBranchIgnoresTheFolder(t *testing.T) {
	r := newRepo(t)
	run(t, r.Dir, "git", "checkout", "-q", "-b", "before")
	run(t, r.Dir, "git", "checkout", "-q", "main")
	planted := filepath.Join(t.TempDir(), "workspace", "sub")
	for _, d := range []string{"objects", "refs/heads"} {
		os.MkdirAll(filepath.Join(planted, ".git", d), 0o755)
	}
	os.WriteFile(filepath.Join(planted, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	os.WriteFile(filepath.Join(planted, ".git", "config"), []byte("[core]\n\tfsmonitor = touch marker\n[broken\n"), 0o644)
	ctx := context.Background()

	t.Chdir(planted)
	if err := CheckBranch(ctx, "feature"); err != nil {
		t.Errorf("in a folder with a planted .git: CheckBranch(feature) = %v", err)
	}
	t.Chdir(r.Dir)
	for _, name := range []string{"@{-1}", "@{-1}/x"} {
		if err := CheckBranch(ctx, name); err == nil {
			t.Errorf("in a repository with a branch checked out before: CheckBranch(%q) took it", name)
		}
	}
	if err := CheckBranch(ctx, "feat/ok"); err != nil {
		t.Errorf("CheckBranch(feat/ok) = %v", err)
	}
}

// git's errors name the command, not the options before it.
func TestGitErrorNamesTheCommand(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	_, err := r.git(context.Background(), "-c", "fetch.fsckObjects=true", "-c", "a.b=c", "no-such-command")
	if err == nil || !strings.HasPrefix(err.Error(), "git no-such-command: ") {
		t.Errorf("error %q, want it to start with \"git no-such-command: \"", err)
	}
}
