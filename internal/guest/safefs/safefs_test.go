//go:build linux

package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func mustOpen(t *testing.T, path string) *Dir {
	t.Helper()
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOpenRealPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	os.Mkdir(real, 0o755)
	link(t, real, filepath.Join(dir, "link"))
	d := mustOpen(t, filepath.Join(dir, "link"))
	want, _ := filepath.EvalSymlinks(real)
	if d.Path != want || d.Name != filepath.Join(dir, "link") {
		t.Errorf("Open through a link: Name %q Path %q, want Path %q", d.Name, d.Path, want)
	}
}

// The agent plants a link, a FIFO, a huge file where hjk-init reads: each
// fails at once, naming the file.
func TestReadFileRefuses(t *testing.T) {
	t.Parallel()
	dir, outside := t.TempDir(), t.TempDir()
	write(t, filepath.Join(outside, "secret"), "root only")
	link(t, filepath.Join(outside, "secret"), filepath.Join(dir, "link"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "big"), strings.Repeat("x", 1025))
	write(t, filepath.Join(dir, "ok"), strings.Repeat("x", 1024))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	d := mustOpen(t, dir)
	for name, want := range map[string]error{"link": ErrLink, "fifo": ErrNotRegular, "big": ErrTooLarge, "sub": ErrNotRegular, "none": fs.ErrNotExist} {
		start := time.Now()
		_, err := d.ReadFile(name, 1024)
		if !errors.Is(err, want) || !strings.Contains(err.Error(), filepath.Join(dir, name)) {
			t.Errorf("ReadFile(%s) = %v, want %v naming the file", name, err, want)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("ReadFile(%s) took %v", name, time.Since(start))
		}
	}
	if _, err := d.ReadFile("big", 1024); err == nil || !strings.Contains(err.Error(), "larger than 1 KiB") {
		t.Errorf("the cap is not named: %v", err)
	}
	if b, err := d.ReadFile("ok", 1024); err != nil || len(b) != 1024 {
		t.Errorf("ReadFile(ok) = %d bytes, %v", len(b), err)
	}
	// Opening a FIFO for writing, as a log, neither blocks nor succeeds.
	if _, err := d.OpenFile("fifo", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); !errors.Is(err, ErrNotRegular) {
		t.Errorf("OpenFile(fifo, write) = %v, want ErrNotRegular", err)
	}
	if _, err := d.OpenFile("link", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); !errors.Is(err, ErrLink) {
		t.Errorf("OpenFile(link, write) = %v, want ErrLink", err)
	}
	if read(t, filepath.Join(outside, "secret")) != "root only" {
		t.Error("the link's target changed")
	}
}

// WriteFile replaces a planted link instead of writing through it, and
// leaves no temporary file when it fails.
func TestWriteFileReplacesLink(t *testing.T) {
	t.Parallel()
	dir, outside := t.TempDir(), t.TempDir()
	write(t, filepath.Join(outside, "target"), "theirs")
	link(t, filepath.Join(outside, "target"), filepath.Join(dir, "auth.json"))
	d := mustOpen(t, dir)
	if err := d.WriteFile("auth.json", []byte("ours"), 0o600, -1, -1, true); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "auth.json")); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("auth.json is %v, %v; want a regular 0600 file", fi, err)
	}
	if read(t, filepath.Join(dir, "auth.json")) != "ours" || read(t, filepath.Join(outside, "target")) != "theirs" {
		t.Error("written through the link")
	}
	write(t, filepath.Join(dir, "full/inside"), "x")
	if err := d.WriteFile("full", []byte("x"), 0o600, -1, -1, false); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "full")) {
		t.Errorf("WriteFile over a folder: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.hjk-*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// A folder moved away and replaced by a link after it was opened: what is
// written still goes into the folder that was opened.
func TestDirHoldsAcrossSwap(t *testing.T) {
	t.Parallel()
	dir, outside := t.TempDir(), t.TempDir()
	home := filepath.Join(dir, "home")
	os.Mkdir(home, 0o755)
	d := mustOpen(t, home)
	os.Rename(home, filepath.Join(dir, "moved"))
	link(t, outside, home)
	if err := d.WriteFile("f", []byte("x"), 0o600, -1, -1, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "f")); err == nil {
		t.Error("the write followed the link swapped in")
	}
	if read(t, filepath.Join(dir, "moved", "f")) != "x" {
		t.Error("the write did not land in the folder opened")
	}
}

func TestMkdirNeverThroughLink(t *testing.T) {
	t.Parallel()
	dir, outside := t.TempDir(), t.TempDir()
	d := mustOpen(t, dir)
	sub, err := d.Mkdir("new", 0o700, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	sub.Close()
	if fi, _ := os.Stat(filepath.Join(dir, "new")); fi == nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("new folder: %v", fi)
	}
	link(t, outside, filepath.Join(dir, "planted"))
	if _, err := d.Mkdir("planted", 0o700, -1, -1); !errors.Is(err, ErrLink) {
		t.Errorf("Mkdir over a link: %v, want ErrLink", err)
	}
}

func TestWalk(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	home, work, other := filepath.Join(root, "home"), filepath.Join(root, "work"), filepath.Join(root, "other")
	for _, p := range []string{home + "/dots/codex", home + "/.gemini", work + "/codex", other} {
		os.MkdirAll(p, 0o755)
	}
	link(t, "dots/codex", home+"/.codex")           // inside the home: followed
	link(t, work+"/codex", home+"/.codex-work")     // into the work folder
	link(t, other, home+"/.codex-other")            // outside the home
	link(t, home+"/nowhere", home+"/.codex-dangle") // to a missing folder
	link(t, home+"/.loop-b", home+"/.loop-a")
	link(t, home+"/.loop-a", home+"/.loop-b")
	real := func(p string) string { r, _ := filepath.EvalSymlinks(p); return r }
	l := Links{Allow: []string{real(home)}, Deny: []string{real(work)}}
	base := mustOpen(t, home)
	tests := []struct {
		rel, path string // want the folder at path
		missing   string
		why       string // else refused for this
	}{
		{rel: ".gemini", path: real(home + "/.gemini")},
		{rel: ".codex", path: real(home + "/dots/codex")},
		{rel: ".codex/new/deeper", path: real(home + "/dots/codex"), missing: "new/deeper"},
		{rel: ".fresh", path: real(home), missing: ".fresh"},
		{rel: ".codex-work", why: "into the work folder"},
		{rel: ".codex-other", why: "outside the home"},
		{rel: ".codex-dangle", why: "does not exist"},
		{rel: ".loop-a", why: "loop"},
	}
	for _, tt := range tests {
		d, missing, err := l.Walk(base, tt.rel)
		if tt.why != "" {
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("Walk(%s) = %v, want refused: %s", tt.rel, err, tt.why)
			}
			continue
		}
		if err != nil {
			t.Errorf("Walk(%s): %v", tt.rel, err)
			continue
		}
		if d.Path != tt.path || strings.Join(missing, "/") != tt.missing {
			t.Errorf("Walk(%s) = %s, missing %q; want %s, %q", tt.rel, d.Path, missing, tt.path, tt.missing)
		}
		if d != base {
			d.Close()
		}
	}
}

func TestFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	home, work, other := filepath.Join(root, "home"), filepath.Join(root, "work"), filepath.Join(root, "other")
	for _, p := range []string{home + "/dots", home + "/.gemini", work, other} {
		os.MkdirAll(p, 0o755)
	}
	write(t, home+"/dots/claude.json", "{}")
	write(t, home+"/.gemini/plain.json", "{}")
	write(t, work+"/settings.json", "{}")
	write(t, other+"/x.json", "{}")
	syscall.Mkfifo(home+"/.gemini/fifo", 0o600)
	os.Mkdir(home+"/.gemini/dir", 0o755)
	g := home + "/.gemini/"
	link(t, "../dots/claude.json", g+"dots")      // relative, inside the home
	link(t, home+"/dots/missing.json", g+"fresh") // to a file not there yet
	link(t, g+"dots", g+"chain")                  // a chain inside the home
	link(t, work+"/settings.json", g+"work")      // into the work folder
	link(t, other+"/x.json", g+"other")           // outside the home
	link(t, g+"loop2", g+"loop1")
	link(t, g+"loop1", g+"loop2")
	link(t, g+"fifo", g+"tofifo")
	link(t, g+"dir", g+"todir")
	link(t, home+"/nowhere/x", g+"nofolder")
	real := func(p string) string { r, _ := filepath.EvalSymlinks(p); return r }
	l := Links{Allow: []string{real(home)}, Deny: []string{real(work)}}
	d := mustOpen(t, g)
	tests := []struct {
		name, want string // the file's real path
		nofollow   bool
		why        string
	}{
		{name: "plain.json", want: real(g) + "/plain.json"},
		{name: "plain.json", want: real(g) + "/plain.json", nofollow: true},
		{name: "new.json", want: real(g) + "/new.json", nofollow: true},
		{name: "dots", want: real(home) + "/dots/claude.json"},
		{name: "fresh", want: real(home) + "/dots/missing.json"},
		{name: "chain", want: real(home) + "/dots/claude.json"},
		{name: "dots", nofollow: true, why: "a symbolic link"},
		{name: "fifo", nofollow: true, why: "not a regular file"},
		{name: "fifo", why: "not a regular file"},
		{name: "work", why: "into the work folder"},
		{name: "other", why: "outside the home"},
		{name: "loop1", why: "loop"},
		{name: "tofifo", why: "other than a regular file"},
		{name: "todir", why: "other than a regular file"},
		{name: "nofolder", why: "cannot be opened"},
	}
	for _, tt := range tests {
		at, n, err := l.File(d, tt.name, !tt.nofollow)
		if tt.why != "" {
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.why) || re.Name != g+tt.name {
				t.Errorf("File(%s, follow %v) = %v, want refused: %s", tt.name, !tt.nofollow, err, tt.why)
			}
			continue
		}
		if err != nil {
			t.Errorf("File(%s): %v", tt.name, err)
			continue
		}
		if got := filepath.Join(at.Path, n); got != tt.want {
			t.Errorf("File(%s) = %s, want %s", tt.name, got, tt.want)
		}
		if at != d {
			at.Close()
		}
	}
	if _, _, err := l.File(d, "dir", true); !errors.Is(err, syscall.EISDIR) {
		t.Errorf("File(dir) = %v, want EISDIR", err)
	}
}
