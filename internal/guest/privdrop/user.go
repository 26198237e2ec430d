// Package privdrop resolves the user hjk-init hands the agent to (HJK_USER)
// and switches the process to it, as gosu does: supplementary groups, then
// the group, then the user, and HOME from the password file.
//
// It reads /etc/passwd and /etc/group itself instead of using os/user, so
// hjk-init needs no cgo and no NSS: inside a container the files are the
// whole user database anyway.
package privdrop

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// The files Lookup reads in a container.
const (
	PasswdFile = "/etc/passwd"
	GroupFile  = "/etc/group"
)

// User is a resolved HJK_USER.
type User struct {
	Name   string // "" when the uid has no password entry
	UID    int
	GID    int
	Groups []int  // supplementary groups, the primary one first
	Home   string // from the password entry; "/" without one, as docker and gosu do
}

// Lookup resolves spec, one of NAME, UID, NAME:GROUP, UID:GID (a group may
// be a name or a number), against the password and group files at passwd
// and group. A number that names no user is still a valid uid: it gets gid 0
// unless one is given, no supplementary groups and HOME "/", like
// `docker run --user` and gosu. A name that is not in the file is an error.
func Lookup(spec, passwd, group string) (User, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" || hasGroup && groupPart == "" {
		return User{}, fmt.Errorf("%q is not a user: want NAME, UID, NAME:GROUP or UID:GID", spec)
	}
	users, err := readDB(passwd, 7)
	if err != nil {
		return User{}, err
	}

	u := User{UID: -1, Home: "/"}
	if n, ok := id(userPart); ok {
		u.UID = n
		for _, f := range users {
			if uid, ok := id(f[2]); ok && uid == n {
				u.fill(f)
				break
			}
		}
		if u.Name == "" {
			u.GID = 0
		}
	} else {
		for _, f := range users {
			if f[0] == userPart {
				u.fill(f)
				break
			}
		}
		if u.Name == "" {
			return User{}, fmt.Errorf("no user %q in %s", userPart, passwd)
		}
	}
	if u.UID == -1 || u.GID == -1 {
		return User{}, fmt.Errorf("user %q in %s has a malformed uid or gid", userPart, passwd)
	}

	// Groups are only read when needed: a bare uid in an image without
	// /etc/group is fine.
	if !hasGroup && u.Name == "" {
		u.Groups = []int{u.GID}
		return u, nil
	}
	groups, err := readDB(group, 4)
	if err != nil {
		return User{}, err
	}
	if hasGroup {
		if n, ok := id(groupPart); ok {
			u.GID = n
		} else {
			found := false
			for _, f := range groups {
				if f[0] == groupPart {
					if u.GID, found = id(f[2]); !found {
						return User{}, fmt.Errorf("group %q in %s has a malformed gid", groupPart, group)
					}
					break
				}
			}
			if !found {
				return User{}, fmt.Errorf("no group %q in %s", groupPart, group)
			}
		}
	}
	u.Groups = []int{u.GID}
	if u.Name != "" {
		for _, f := range groups {
			gid, ok := id(f[2])
			if !ok || gid == u.GID {
				continue
			}
			for _, m := range strings.Split(f[3], ",") {
				if m == u.Name {
					u.Groups = append(u.Groups, gid)
					break
				}
			}
		}
	}
	return u, nil
}

// fill takes name, uid, gid and home from a password entry.
func (u *User) fill(f []string) {
	u.Name = f[0]
	u.UID, u.GID = -1, -1
	if n, ok := id(f[2]); ok {
		u.UID = n
	}
	if n, ok := id(f[3]); ok {
		u.GID = n
	}
	if f[5] != "" {
		u.Home = f[5]
	}
}

// id parses a uid or gid: a decimal number that fits in 32 bits.
func id(s string) (int, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return int(n), err == nil
}

// readDB reads a colon-separated database (passwd, group), skipping blank
// lines, comments and lines with fewer than fields fields. A missing file is
// an empty database: images FROM scratch often have none.
func readDB(path string, fields int) ([][]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var out [][]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if p := strings.Split(line, ":"); len(p) >= fields {
			out = append(out, p)
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}
