package instance

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hjk-dev/hjk/internal/host/runtime"
	"github.com/hjk-dev/hjk/internal/layout"
)

// Commits come back from an instance as data: the container writes a git
// bundle of its branch on the exec's stdout, without what the host has;
// hjk keeps it in a file of its own (under a size cap), checks it with
// `git bundle verify` and every object of it with `git index-pack
// --strict` in a quarantine, fetches it with fsck on into refs/hjk/<branch>, and
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
	err = m.guestStream(ctx, rt, in, w, args...)
	if code, ok := runtime.ExitCode(err); ok && code == layout.ExitNothing && !w.over {
		if err := m.movedOff(ctx, repo, in, &res); err != nil || res.Kept != "" {
			return res, err
		}
		return res, repo.dropMerged(ctx, in.Branch, res.From)
	}
	if w.over {
		return res, fmt.Errorf("the bundle from %s is %w (over %s: sync.max_bundle)", in.Name, ErrTooLarge, byteSize(m.maxBundle()))
	}
	if err != nil {
		return res, fmt.Errorf("ask %s for its commits: %w", in.Name, err)
	}
	if err := f.Close(); err != nil {
		return res, err
	}
	tip, err := repo.checkBundle(ctx, f.Name(), in.Branch)
	if err == nil {
		err = repo.fsckBundle(ctx, f.Name(), filepath.Dir(f.Name()))
	}
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

// dropMerged drops KeptRef(branch) once the host branch at from holds all
// of it: the user merged it, as hjk advised, and the instance has nothing
// newer.
func (r Repo) dropMerged(ctx context.Context, branch, from string) error {
	kept, err := r.git(ctx, "rev-parse", "-q", "--verify", KeptRef(branch))
	if err != nil || from == "" {
		return nil // nothing kept
	}
	if ok, err := r.isAncestor(ctx, kept, from); err != nil || !ok {
		return nil // not merged (or no commit): it stays
	}
	_, err = r.git(ctx, "update-ref", "-d", KeptRef(branch), kept)
	return err
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

// fsckBundle checks every object of a bundle's pack as fetch.fsckObjects
// would, which git before 2.46 does not do for a fetch from a bundle:
// `git index-pack --strict` of the pack into a quarantine folder of hjk's
// own (under tmp), the host repository's objects as alternates for the
// bases of a thin pack, so that nothing of it reaches the repository
// unless every object and link is sound. It costs what the bundle holds,
// whatever the repository's size; the quarantine is removed.
func (r Repo) fsckBundle(ctx context.Context, file, tmp string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := skipBundleHeader(f); err != nil {
		return err
	}
	q, err := os.MkdirTemp(tmp, "quarantine-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(q)
	if err := os.Mkdir(filepath.Join(q, "pack"), 0o700); err != nil {
		return err
	}
	env := []string{"GIT_OBJECT_DIRECTORY=" + q, "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + filepath.Join(r.GitDir, "objects")}
	_, err = runGit(ctx, r.GitDir, env, f, "--git-dir="+r.GitDir, "index-pack", "--stdin", "--fix-thin", "--strict")
	return err
}

// skipBundleHeader moves f past a bundle's header (its signature,
// capabilities, prerequisites and refs, each a line, ended by an empty
// line) to the pack. git has verified the header already.
func skipBundleHeader(f *os.File) error {
	br := bufio.NewReader(f)
	var off int64
	for {
		line, err := br.ReadSlice('\n')
		off += int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // a long line: read on to its end
		}
		if err != nil {
			return fmt.Errorf("the bundle has no pack: %w", err)
		}
		if len(line) == 1 {
			break
		}
	}
	_, err := f.Seek(off, io.SeekStart)
	return err
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
//
// The instance's Base says what it last agreed with the host: when the
// host's branch is still there, nothing is asked of the engine at all (the
// path of every session in an instance). Otherwise the instance is asked
// to move (it refuses, by exit code, when dirty or ahead); a remote one
// gets a bundle of the host's commits after Base, or, when it lacks Base
// (its branch was rewritten there), after its tip.
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
	if cur, err := m.Get(repo, in.Branch); err == nil && cur.Name == in.Name {
		in.Base = cur.Base // a pull just now may have moved it
	}
	if in.Base == host {
		res.From = host
		return res, nil
	}
	from := in.Base
	if _, err := repo.git(ctx, "cat-file", "-e", from+"^{commit}"); from == "" || err != nil {
		tip, ahead, err := m.pushFrom(ctx, rt, in, repo, host)
		res.From = tip
		if err != nil || ahead || tip == host {
			if ahead {
				res.Why = "ahead"
			}
			return res, err
		}
		from = tip
	}
	res.From = from
	args := []string{"repo", "update", "--branch", in.Branch, "--to", host}
	if in.Remote || in.Runtime == runtime.Kubernetes {
		// No alternates there: the commits go as a bundle of what the
		// instance lacks.
		err = m.pushBundle(ctx, rt, in, repo, from, args)
		if code, ok := runtime.ExitCode(err); ok && code == 125 && from == in.Base {
			// It lacks its Base: ask its tip, and send what follows.
			tip, ahead, serr := m.pushFrom(ctx, rt, in, repo, host)
			switch {
			case serr == nil && ahead:
				res.From, res.Why = tip, "ahead"
				return res, nil
			case serr == nil && tip != from && tip != host:
				res.From = tip
				err = m.pushBundle(ctx, rt, in, repo, tip, args)
			}
		}
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

func (m *Manager) maxBundle() int64 { return cmp.Or(m.MaxBundle, DefaultMaxBundle) }

// pushFrom asks the instance for its branch's commit, the base of a
// push; ahead when the host lacks that commit, or it is not an ancestor of
// host: the instance has commits of its own to pull first.
func (m *Manager) pushFrom(ctx context.Context, rt runtime.Execer, in Instance, repo Repo, host string) (tip string, ahead bool, err error) {
	st, err := m.repoStatus(ctx, rt, in)
	if err != nil || st.Tip == "" || st.Tip == host {
		return st.Tip, false, err
	}
	if _, err := repo.git(ctx, "cat-file", "-e", st.Tip+"^{commit}"); err != nil {
		return st.Tip, true, nil
	}
	ok, err := repo.isAncestor(ctx, st.Tip, host)
	return st.Tip, !ok, err
}

// pushBundle sends the host branch's commits the instance lacks (those
// after its tip, when it has one) with `repo update ... --bundle`.
func (m *Manager) pushBundle(ctx context.Context, rt runtime.Execer, in Instance, repo Repo, tip string, args []string) error {
	f, size, err := m.bundle(ctx, repo, in.Branch, uniq(tip)...)
	if err != nil {
		return err
	}
	defer f.Close()
	return m.sendBundle(ctx, rt, in, f, size, io.Discard, append(args, "--bundle")...)
}

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
