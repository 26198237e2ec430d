package instance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// Commits come back from an instance as data: the container writes a git
// bundle of its branch on the exec's stdout, without what the host has;
// hjk keeps it in a file of its own (under a size cap), checks it with
// `git bundle verify`, fetches it with fsck on into refs/hjk/<branch>, and
// moves refs/heads/<branch> only by fast-forward. Nothing else on the host
// is ever touched: no other ref, no work tree, no config.

// DefaultMaxBundle caps what one pull takes from a container.
const DefaultMaxBundle = 2 << 30

// KeptRef is the ref of hjk's own holding an instance's tip that could not
// become the branch.
func KeptRef(branch string) string { return "refs/hjk/" + branch }

// Why a pull kept the instance's tip aside instead of moving the branch.
const (
	KeptDiverged   = "diverged"    // both sides have commits the other lacks
	KeptCheckedOut = "checked-out" // the branch is checked out in a host worktree
)

// PullResult says what Pull did.
type PullResult struct {
	Tip   string // the instance's branch commit, "" when nothing came
	From  string // the host branch's commit before
	Moved bool   // the host branch moved (or was made) to Tip
	// Kept is KeptRef(branch) when Tip was kept aside, Why says why, and
	// Worktrees where the branch is checked out.
	Kept, Why string
	Worktrees []string
}

// Pull brings the commits of the instance's branch to the host.
func (m *Manager) Pull(ctx context.Context, in Instance, repo Repo) (PullResult, error) {
	var res PullResult
	rt, err := m.Execer(in)
	if err != nil {
		return res, err
	}
	host, err := repo.tip(ctx, in.Branch)
	if err != nil {
		return res, err
	}
	res.From = host
	args := []string{"repo", "bundle", "--branch", in.Branch}
	for _, n := range uniq(host, in.Base) {
		args = append(args, "--not", n)
	}
	f, err := m.tempFile("pull-*.bundle")
	if err != nil {
		return res, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	w := &capWriter{w: f, max: m.maxBundle()}
	err = m.guest(ctx, rt, in, nil, w, args...)
	if code, ok := runtime.ExitCode(err); ok && code == layout.ExitNothing && !w.over {
		return res, m.movedOff(ctx, repo, in, &res)
	}
	if w.over {
		return res, fmt.Errorf("the bundle from %s is %w (%d bytes): raise the cap or look at what the agent committed", in.Name, ErrTooLarge, m.maxBundle())
	}
	if err != nil {
		return res, fmt.Errorf("ask %s for its commits: %w", in.Name, err)
	}
	if err := f.Close(); err != nil {
		return res, err
	}
	tip, err := repo.checkBundle(ctx, f.Name(), in.Branch)
	if err != nil {
		return res, fmt.Errorf("the bundle from %s: %w", in.Name, err)
	}
	res.Tip = tip
	kept := KeptRef(in.Branch)
	_, err = repo.git(ctx, "-c", "fetch.fsckObjects=true", "-c", "transfer.fsckObjects=true", "-c", "fetch.writeCommitGraph=false",
		"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", "--no-auto-gc",
		f.Name(), "+refs/heads/"+in.Branch+":"+kept)
	if err != nil {
		return res, fmt.Errorf("fetch the commits of %s: %w", in.Name, err)
	}
	if err := m.settle(ctx, repo, in, &res); err != nil {
		return res, err
	}
	if res.Moved || res.Kept == "" {
		m.Update(in, func(i *Instance) { i.Base = tip })
	}
	return res, nil
}

// movedOff notices a branch the user moved off the instance's commits
// (reset, or forced) while the instance has nothing newer than what the
// host had: they are then on no branch, so they are kept at KeptRef and
// reported as diverged.
func (m *Manager) movedOff(ctx context.Context, repo Repo, in Instance, res *PullResult) error {
	if in.Base == "" || res.From == "" || in.Base == res.From {
		return nil
	}
	if ok, err := repo.isAncestor(ctx, in.Base, res.From); err != nil || ok {
		return err
	}
	if _, err := repo.git(ctx, "update-ref", "-m", "hjk: commits of its instance", KeptRef(in.Branch), in.Base); err != nil {
		return err
	}
	res.Tip, res.Kept, res.Why = in.Base, KeptRef(in.Branch), KeptDiverged
	return nil
}

// settle moves the host branch to res.Tip (now at KeptRef) when that is a
// fast-forward and the branch is not checked out, and drops KeptRef when
// the branch holds all of it.
func (m *Manager) settle(ctx context.Context, repo Repo, in Instance, res *PullResult) error {
	kept, ref := KeptRef(in.Branch), "refs/heads/"+in.Branch
	drop := func() error { _, err := repo.git(ctx, "update-ref", "-d", kept, res.Tip); return err }
	if res.From == res.Tip {
		return drop()
	}
	if res.From != "" {
		behind, err := repo.isAncestor(ctx, res.Tip, res.From)
		if err != nil {
			return err
		}
		if behind { // the host has it all already
			return drop()
		}
		ff, err := repo.isAncestor(ctx, res.From, res.Tip)
		if err != nil {
			return err
		}
		if !ff {
			res.Kept, res.Why = kept, KeptDiverged
			return nil
		}
	}
	wts, err := repo.checkedOut(ctx, in.Branch)
	if err != nil {
		return err
	}
	if len(wts) > 0 {
		res.Kept, res.Why, res.Worktrees = kept, KeptCheckedOut, wts
		return nil
	}
	// The old value makes it a compare-and-swap: a branch the user moved
	// meanwhile is left alone.
	if _, err := repo.git(ctx, "update-ref", "-m", "hjk: commits of its instance", ref, res.Tip, res.From); err != nil {
		res.Kept, res.Why = kept, KeptDiverged
		return nil
	}
	res.Moved = true
	return drop()
}

// checkBundle verifies a bundle against the repository and returns the
// commit it holds for branch, the only ref hjk takes from it.
func (r Repo) checkBundle(ctx context.Context, file, branch string) (string, error) {
	if _, err := r.git(ctx, "bundle", "verify", "--quiet", file); err != nil {
		return "", err
	}
	out, err := r.git(ctx, "bundle", "list-heads", file)
	if err != nil {
		return "", err
	}
	want := "refs/heads/" + branch
	var tip string
	for _, l := range strings.Split(out, "\n") {
		id, ref, ok := strings.Cut(l, " ")
		if ok && ref == want {
			if tip != "" || !isSHA(id) {
				return "", fmt.Errorf("it names %s twice, or not by a commit id", want)
			}
			tip = id
		}
	}
	if tip == "" {
		return "", fmt.Errorf("it holds no %s", want)
	}
	return tip, nil
}

// PushResult says what Push did.
type PushResult struct {
	From, To string // the instance's branch before, and the host's commit
	Moved    bool
	// Why the instance was not moved: "dirty" (uncommitted changes),
	// "ahead" (it has commits the host lacks: pull first) or "" (nothing
	// to do).
	Why string
}

// Push fast-forwards the instance's branch to the host branch when the
// host is ahead and the instance's work tree is clean.
func (m *Manager) Push(ctx context.Context, in Instance, repo Repo) (PushResult, error) {
	var res PushResult
	rt, err := m.Execer(in)
	if err != nil {
		return res, err
	}
	host, err := repo.tip(ctx, in.Branch)
	if err != nil || host == "" {
		return res, err
	}
	res.To = host
	st, err := m.repoStatus(ctx, rt, in)
	if err != nil {
		return res, err
	}
	res.From = st.Tip
	if st.Tip == host {
		return res, nil
	}
	if st.Tip != "" {
		if _, err := repo.git(ctx, "cat-file", "-e", st.Tip+"^{commit}"); err != nil {
			res.Why = "ahead"
			return res, nil
		}
		ok, err := repo.isAncestor(ctx, st.Tip, host)
		if err != nil {
			return res, err
		}
		if !ok {
			res.Why = "ahead"
			return res, nil
		}
	}
	args := []string{"repo", "update", "--branch", in.Branch, "--to", host}
	if in.Runtime == runtime.Kubernetes {
		// No host objects there: what the instance lacks goes as a bundle.
		err = m.pushBundle(ctx, rt, in, repo, st.Tip, args)
	} else {
		err = m.guest(ctx, rt, in, nil, io.Discard, args...)
	}
	code, _ := runtime.ExitCode(err)
	switch {
	case code == layout.ExitDirty:
		res.Why = "dirty"
		return res, nil
	case code == layout.ExitDiverged:
		res.Why = "ahead"
		return res, nil
	case err != nil:
		return res, fmt.Errorf("move the branch of %s: %w", in.Name, err)
	}
	res.Moved = true
	_, err = m.Update(in, func(i *Instance) { i.Base = host })
	var ne *NoInstanceError
	if errors.As(err, &ne) {
		err = nil
	}
	return res, err
}

func (m *Manager) maxBundle() int64 { return DefaultMaxBundle }

// uniq is the non-empty ones of ids, once each.
func uniq(ids ...string) []string {
	var out []string
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
