//go:build linux

package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLinks builds a small tree of files and links from the input, as an
// agent could plant in its home, and holds Links to its promise: File and
// Walk either refuse, or name a place inside the home and outside the work
// folder, holding a regular file (File) or a folder (Walk), or nothing yet.
func FuzzLinks(f *testing.F) {
	f.Add([]byte{0, 3, 1, 0, 2, 9})
	f.Add([]byte{0, 1, 1, 0})        // a loop
	f.Add([]byte{0, 5, 4, 12, 1, 6}) // into the work folder, out of the home
	f.Add([]byte{0x80, 0, 1, 2, 2, 14})
	// One tree for the whole run, its names cleared before each input: a
	// fresh folder per input would make the run ten times slower.
	root := f.TempDir()
	home, work, out := filepath.Join(root, "home"), filepath.Join(root, "work"), filepath.Join(root, "out")
	for _, d := range []string{home + "/d", work, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	names := []string{home + "/a", home + "/b", home + "/d/c", work + "/w", out + "/o", home + "/dl"}
	f.Fuzz(func(t *testing.T, spec []byte) {
		for _, n := range names {
			os.Remove(n)
		}
		targets := []string{
			home + "/a", home + "/b", home + "/d/c", work + "/w", out + "/o", home + "/d",
			"a", "b", "../a", "d/c", "../../work/w", "../out/o", "../work", "./b", "/", "d", work, out,
		}
		for i := 0; i+1 < len(spec) && i < 24; i += 2 {
			name := names[int(spec[i]&0x7f)%len(names)]
			if _, err := os.Lstat(name); err == nil {
				continue
			}
			if spec[i]&0x80 != 0 {
				os.WriteFile(name, []byte("x"), 0o644)
				continue
			}
			os.Symlink(targets[int(spec[i+1])%len(targets)], name)
		}
		real := func(p string) string { r, _ := filepath.EvalSymlinks(p); return r }
		rhome, rwork := real(home), real(work)
		l := Links{Allow: []string{rhome}, Deny: []string{rwork}}
		d, err := Open(home)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		inside := func(p string) bool { return Within(p, rhome) && !Within(p, rwork) }
		for _, n := range []string{"a", "b", "dl"} {
			for _, follow := range []bool{true, false} {
				at, name, err := l.File(d, n, follow)
				if err != nil {
					continue
				}
				p := filepath.Join(at.Path, name)
				if !inside(p) {
					t.Fatalf("File(%s, %v) = %s: outside the home or in the work folder", n, follow, p)
				}
				if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() || err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("File(%s, %v) = %s, which is %v, %v", n, follow, p, fi, err)
				}
				if at != d {
					at.Close()
				}
			}
		}
		for _, rel := range []string{"dl", "d", "dl/x"} {
			w, _, err := l.Walk(d, rel)
			if err != nil {
				continue
			}
			if w.Path != filepath.Join(rhome, filepath.Clean(rel)) && !inside(w.Path) {
				t.Fatalf("Walk(%s) = %s: outside the home or in the work folder", rel, w.Path)
			}
			if w != d {
				w.Close()
			}
		}
	})
}
