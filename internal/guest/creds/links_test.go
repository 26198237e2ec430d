package creds

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// These tests play the agent: between sessions (or during one) it may
// plant links and FIFOs in its own home, pointing at the work folder (the
// host's worktree, which gets committed and pushed) or at files outside
// the home.

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func isRegular(t *testing.T, path string) bool {
	t.Helper()
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().IsRegular()
}

// A login file that is a link (into the work folder, outside the home, or
// even to a dotfiles folder in the home) is replaced by a regular file
// holding the login, with a warning naming the file; where it pointed is
// never written. (Before, CODEX_AUTH_JSON went into the link's target.)
func TestApplyNeverWritesLoginThroughLink(t *testing.T) {
	t.Parallel()
	for _, file := range []string{".codex/auth.json", ".gemini/oauth_creds.json", ".gemini/google_accounts.json"} {
		for _, where := range []string{"work", "outside", "home"} {
			t.Run(file+" to "+where, func(t *testing.T) {
				t.Parallel()
				home, work, outside := t.TempDir(), t.TempDir(), t.TempDir()
				target := map[string]string{"work": work, "outside": outside, "home": filepath.Join(home, "dots")}[where]
				target = filepath.Join(target, "leak.txt")
				writeFile(t, target, "untouched")
				symlink(t, target, filepath.Join(home, file))
				w := mustApply(t, home, allEnv(work))
				if got := readFile(t, target); got != "untouched" {
					t.Errorf("the login was written through the link into %s", where)
				}
				path := filepath.Join(home, file)
				if c := readFile(t, path); !isRegular(t, path) || !strings.Contains(c, "FAKE") && !strings.Contains(c, "dev@example.com") {
					t.Errorf("%s is not a regular file holding the login", file)
				}
				if !strings.Contains(w, "warning: "+path+" is a symbolic link") || !strings.Contains(w, "replaced it with a regular file") {
					t.Errorf("no warning naming %s: %q", path, w)
				}
			})
		}
	}
}

// Settings files may be links (dotfiles), but never into the work folder,
// outside the home, or round in a loop; a FIFO is never read. Each such is
// replaced by a regular file with a warning, and the session goes on.
func TestApplySettingsLinksStayInHome(t *testing.T) {
	t.Parallel()
	home, work, outside := t.TempDir(), t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(work, "claude.json"), `{"theme":"work"}`)
	writeFile(t, filepath.Join(outside, "settings.json"), `{"theme":"outside"}`)
	symlink(t, filepath.Join(work, "claude.json"), filepath.Join(home, ".claude.json"))
	symlink(t, filepath.Join(outside, "settings.json"), filepath.Join(home, ".gemini/settings.json"))
	symlink(t, "loop-b", filepath.Join(home, ".gemini/trustedFolders.json"))
	symlink(t, "trustedFolders.json", filepath.Join(home, ".gemini/loop-b"))
	if err := syscall.Mkfifo(filepath.Join(home, ".codex-fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(home, ".codex"), 0o700)
	if err := syscall.Mkfifo(filepath.Join(home, ".codex/config.toml"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	go func() { done <- mustApply(t, home, allEnv(work)) }()
	var w string
	select {
	case w = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Apply hangs on a FIFO")
	}
	if readFile(t, filepath.Join(work, "claude.json")) != `{"theme":"work"}` || readFile(t, filepath.Join(outside, "settings.json")) != `{"theme":"outside"}` {
		t.Error("a settings file was written through a link leaving the home")
	}
	for file, why := range map[string]string{
		".claude.json":                "a symbolic link into the work folder",
		".gemini/settings.json":       "a symbolic link that leads outside the home",
		".gemini/trustedFolders.json": "a loop of symbolic links",
		".codex/config.toml":          "not a regular file",
	} {
		path := filepath.Join(home, file)
		if !isRegular(t, path) {
			t.Errorf("%s is not a regular file", file)
		}
		if !strings.Contains(w, "warning: "+path+" is "+why+"; replaced it with a regular file") {
			t.Errorf("no warning that %s is %s:\n%s", file, why, w)
		}
	}
	if !gjson.Get(readFile(t, filepath.Join(home, ".claude.json")), "hasCompletedOnboarding").Bool() {
		t.Error("the fresh .claude.json lacks what hjk-init writes")
	}
}

// A folder on the way that is a link: followed within the home (a dotfiles
// folder), refused into the work folder, where nothing is written.
func TestApplyFolderLinks(t *testing.T) {
	t.Parallel()
	home, work := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(home, "dots/codex"), 0o700)
	symlink(t, "dots/codex", filepath.Join(home, ".codex"))
	env := setEnv(setEnv(allEnv(work), "GEMINI_OAUTH_CREDS", ""), "GEMINI_API_KEY", "")
	mustApply(t, home, env)
	if !isRegular(t, filepath.Join(home, "dots/codex/auth.json")) {
		t.Error("a codex folder linked within the home was not written")
	}

	home2 := t.TempDir()
	os.MkdirAll(filepath.Join(work, "dotgemini"), 0o700)
	symlink(t, filepath.Join(work, "dotgemini"), filepath.Join(home2, ".gemini"))
	before := tree(t, work)
	_, err := apply(t, home2, allEnv(work))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(home2, ".gemini")+" is a symbolic link into the work folder") {
		t.Errorf("error %v, want one naming the link into the work folder", err)
	}
	if after := tree(t, work); !reflect.DeepEqual(before, after) {
		t.Errorf("written into the work folder: %q", names(after))
	}
}

// A planted file far larger than any settings file (a sparse one costs
// the agent nothing) is not read: Apply names the file and the cap. A
// login file that large is simply replaced.
func TestApplyBoundsWhatItReads(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	sparse := func(path string, size int64) {
		os.MkdirAll(filepath.Dir(path), 0o700)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	sparse(filepath.Join(home, ".codex/auth.json"), 1<<30)
	env := setEnv(setEnv(setEnv(allEnv("/w"), "GEMINI_OAUTH_CREDS", ""), "GEMINI_API_KEY", ""), "CLAUDE_CODE_OAUTH_TOKEN", "")
	env = setEnv(env, "ANTHROPIC_API_KEY", "")
	w := mustApply(t, home, env)
	if fi, _ := os.Stat(filepath.Join(home, ".codex/auth.json")); fi == nil || fi.Size() > 4096 {
		t.Errorf("a huge auth.json was not replaced: %v", fi)
	}
	if !strings.Contains(w, "auth.json is larger than 64 KiB") || strings.Contains(w, "points to") {
		t.Errorf("no warning about the huge auth.json: %q", w)
	}
	sparse(filepath.Join(home, ".claude.json"), MaxSettingsFile+1)
	_, err := apply(t, home, allEnv("/w"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(home, ".claude.json")+": larger than 64 MiB") {
		t.Errorf("error %v, want one naming .claude.json and the cap", err)
	}
}

// The agent swaps its files and folders for links to the work folder and
// back while hjk-init writes, as fast as it can: whatever Apply does (it
// may fail), nothing ever lands in the work folder.
func TestApplyRacesNeverLeaveTheHome(t *testing.T) {
	t.Parallel()
	home, work := t.TempDir(), t.TempDir()
	leak := filepath.Join(work, "leak.json")
	os.MkdirAll(filepath.Join(work, "codex"), 0o700)
	auth := filepath.Join(home, ".codex/auth.json")
	os.MkdirAll(filepath.Join(home, ".codex"), 0o700)
	var stop atomic.Bool
	var wg sync.WaitGroup
	swap := func(path, target string, dir bool) {
		defer wg.Done()
		tmp := path + ".swap"
		for !stop.Load() {
			os.Remove(tmp)
			os.Symlink(target, tmp)
			os.Rename(tmp, path) // the link takes the file's place
			if dir {
				os.Remove(path)
				os.Mkdir(path, 0o700)
			} else {
				os.WriteFile(tmp, []byte("{}"), 0o600)
				os.Rename(tmp, path)
			}
		}
	}
	wg.Add(3)
	go swap(auth, leak, false)
	go swap(filepath.Join(home, ".claude.json"), leak, false)
	go swap(filepath.Join(home, ".gemini"), filepath.Join(work, "codex"), true)
	var failed int
	for range 200 {
		var warn strings.Builder
		if err := Apply(Options{Env: allEnv(work), Home: home, UID: -1, GID: -1, Warn: &warn}); err != nil {
			failed++
			assertNoSecret(t, "error", err.Error())
		}
		assertNoSecret(t, "warnings", warn.String())
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d of 200 runs failed on a race", failed)
	if _, err := os.Stat(leak); !errors.Is(err, os.ErrNotExist) {
		t.Error("a file was written through a link into the work folder")
	}
	if entries, _ := os.ReadDir(filepath.Join(work, "codex")); len(entries) > 0 {
		t.Errorf("files were written into the work folder: %v", entries)
	}
}
