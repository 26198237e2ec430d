package privdrop

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Remap gives the password entry of u (a user Lookup found by name) the
// ids uid and gid, and the group entry of u's primary group gid, when it is
// u's own group (named like u, or used by no other user): what a
// devcontainer does so that the image's user is the host user inside the
// container, and files it writes in a host folder belong to that user. It
// rewrites the files atomically and returns u with its new ids. Files u
// owns are the caller's to hand over (Chown).
func Remap(u User, uid, gid int, passwd, group string) (User, error) {
	if u.Name == "" {
		return u, fmt.Errorf("uid %d has no entry in %s to give other ids", u.UID, passwd)
	}
	if uid < 0 || gid < 0 {
		return u, errors.New("remap: negative id")
	}
	old := u.GID
	err := rewrite(passwd, 7, func(f []string) []string {
		if f[0] == u.Name {
			f[2], f[3] = strconv.Itoa(uid), strconv.Itoa(gid)
		}
		return f
	})
	if err != nil {
		return u, err
	}
	users, err := readDB(passwd, 7)
	if err != nil {
		return u, err
	}
	shared := false // another user has the old group as primary
	for _, f := range users {
		if f[0] != u.Name && f[3] == strconv.Itoa(old) {
			shared = true
		}
	}
	err = rewrite(group, 4, func(f []string) []string {
		if f[2] == strconv.Itoa(old) && (f[0] == u.Name || !shared) {
			f[2] = strconv.Itoa(gid)
		}
		return f
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return u, err
	}
	u.UID, u.GID = uid, gid
	for i, g := range u.Groups {
		if g == old {
			u.Groups[i] = gid
		}
	}
	return u, nil
}

// rewrite replaces each well-formed line of a colon-separated database with
// edit's fields, keeping every other line as it was, through a temporary
// file and a rename.
func rewrite(path string, fields int, edit func([]string) []string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	var out strings.Builder
	for _, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		if body == "" || body[0] == '#' {
			out.WriteString(l)
			continue
		}
		f := strings.Split(body, ":")
		if len(f) < fields {
			out.WriteString(l)
			continue
		}
		out.WriteString(strings.Join(edit(f), ":"))
		if strings.HasSuffix(l, "\n") {
			out.WriteByte('\n')
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".hjk-*")
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(out.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Chown hands everything under dir that belongs to uid oldUID (or group
// oldGID) to uid, gid: a remapped user's home. It never follows a symbolic
// link and stays on dir's filesystem.
func Chown(dir string, oldUID, oldGID, uid, gid int) error {
	root, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	dev := devOf(root)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gone meanwhile, or unreadable: not ours to fix
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if d.IsDir() && devOf(fi) != dev {
			return filepath.SkipDir
		}
		u, g := ownerOf(fi)
		nu, ng := -1, -1
		if u == oldUID {
			nu = uid
		}
		if g == oldGID {
			ng = gid
		}
		if nu < 0 && ng < 0 {
			return nil
		}
		return os.Lchown(p, nu, ng)
	})
}
