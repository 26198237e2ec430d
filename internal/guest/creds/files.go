package creds

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/safefs"
)

// File and directory modes. The files hold secrets, so only their owner may
// read them; the agents themselves write theirs 0600 too.
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// Caps on what Apply reads of a file already there: a planted file (a
// sparse file of terabytes, /dev/zero behind a link) must not make
// hjk-init read without end. Settings grow (claude keeps its projects in
// .claude.json); a login is a few kilobytes.
const (
	MaxSettingsFile = 64 << 20
	MaxLoginFile    = 64 << 10
)

// IsLogin reports whether a file of that name holds a login itself: such a
// file is never read or written through a symbolic link. The guests' files
// say which do.
func IsLogin(name string) bool {
	for _, g := range guests() {
		for _, f := range g.files {
			if f.name == name && f.login {
				return true
			}
		}
	}
	return false
}

// File is one file Apply may write: the agent it is for, its folder (as
// the agent finds it: a variable, else a folder of the home), its name,
// whether it holds the login itself, and what Apply writes into it.
type File struct {
	Agent, Folder, Name string
	Login               bool
	Holds               string
}

// Files lists every file Apply may write, in the order the package doc
// and hjk-init's README list them: by agent as agent.All() orders them,
// then as each guest lists its files.
func Files() []File {
	var fs []File
	gs := guests()
	for _, a := range agent.All() {
		for _, f := range gs[a.Name].files {
			if !f.agentOnly {
				fs = append(fs, File{a.Name, folderWords(a), f.name, f.login, f.holds})
			}
		}
	}
	return fs
}

// Variable is one of an agent's variables hjk-init reads: its name, the
// subcommands that read it and what it means, as hjk-init's README lists
// them.
type Variable struct {
	Agent, Name, ReadBy, Meaning string
}

// Variables lists every agent's variables hjk-init reads, by agent as
// agent.All() orders them, then as each guest lists them.
func Variables() []Variable {
	var vs []Variable
	gs := guests()
	for _, a := range agent.All() {
		for _, v := range gs[a.Name].vars {
			v.Agent = a.Name
			vs = append(vs, v)
		}
	}
	return vs
}

// ExportDoc is what `hjk-init export AGENT` gives back for an agent: the
// variable whose format it prints ("": none) and where it reads it from
// (or why there is none).
type ExportDoc struct {
	Agent, Prints, From string
}

// Exports lists every agent's ExportDoc, as agent.All() orders them.
func Exports() []ExportDoc {
	var es []ExportDoc
	gs := guests()
	for _, a := range agent.All() {
		g := gs[a.Name]
		e := ExportDoc{Agent: a.Name, Prints: a.SubscriptionVar, From: g.exportFrom}
		if g.noExport {
			e.Prints = ""
		}
		es = append(es, e)
	}
	return es
}

// folderWords is a's folder as the docs name it: "$VAR/sub (else ~/dir)".
func folderWords(a agent.Agent) string {
	return "$" + filepath.Join(a.Home.Var, a.Home.Sub) + " (else " + filepath.Join("~", a.Home.Dir) + ")"
}

// write is one file Apply means to write, fully decided before anything is
// written, so that a problem found while planning leaves the disk as it was.
type write struct {
	folder *folder // where it goes: folder.dir once the folder exists
	dir    *safefs.Dir
	name   string
	path   string // as the user knows it, for messages
	data   []byte
	// varName is the variable this file is written for, named in errors.
	varName string
	// brokenAside, when set, says the existing file could not be read by its
	// agent: it is renamed aside before the fresh one takes its place.
	brokenAside string // why, for the warning; "" when the file was fine
	// replaced, when set, says a link or a FIFO stood where the file goes:
	// it is replaced, with a warning, never followed.
	replaced *safefs.RefusedError
	// note is an extra warning to print once the file is written.
	note string
	// sync asks for the data on disk before the rename: only where the
	// old file held the user's own keys, which a crash must not lose.
	sync bool
}

// folder is one folder files go into: the deepest part of it that exists,
// open, and the names still to create below.
type folder struct {
	path    string
	dir     *safefs.Dir
	missing []string
}

// owner says who the files and the directories Apply creates belong to.
type owner struct{ uid, gid int }

// openFolder opens the folder at path (absolute, clean) for the files of
// varName, once per Apply. Below the home, the links on the way are
// followed within the home, never into the work folder; a folder a
// variable names elsewhere is taken as it is, but may not lead into the
// work folder either.
func (p *planner) openFolder(varName, path string) (*folder, error) {
	if f := p.folders[path]; f != nil {
		return f, nil
	}
	base, rel, links := p.homeDir, "", p.links
	if r, err := filepath.Rel(p.home, path); err == nil && safefs.Within(path, p.home) {
		rel = r
	} else {
		if p.rootDir == nil {
			d, err := safefs.Open("/")
			if err != nil {
				return nil, fmt.Errorf("%s%w", prefix(varName), err)
			}
			p.rootDir = d
			p.opened = append(p.opened, d)
		}
		base, rel = p.rootDir, path[1:]
		links = safefs.Links{Allow: []string{"/"}, Deny: links.Deny}
	}
	d, missing, err := links.Walk(base, rel)
	var re *safefs.RefusedError
	switch {
	case errors.As(err, &re):
		return nil, fmt.Errorf("%s%v: hjk-init follows no such link; remove it or point it inside the home", prefix(varName), re)
	case err != nil:
		return nil, fmt.Errorf("%s%s: %w", prefix(varName), path, cause(err))
	}
	if d != base {
		p.opened = append(p.opened, d)
	}
	f := &folder{path: path, dir: d, missing: missing}
	p.folders[path] = f
	return f, nil
}

// locate plans a file at path: where it is written. A login file is never
// followed through a link; a settings file is, within the home and never
// into the work folder. What may not be followed (and a FIFO or device)
// is to be replaced by a regular file (w.replaced says why). A file in a
// folder not there yet has w.dir nil.
func (p *planner) locate(varName, path string) (write, error) {
	dirPath, name := filepath.Split(path)
	f, err := p.openFolder(varName, filepath.Clean(dirPath))
	if err != nil {
		return write{}, err
	}
	w := write{folder: f, name: name, path: path, varName: varName}
	if len(f.missing) > 0 {
		return w, nil
	}
	at, n, err := p.links.File(f.dir, name, !IsLogin(name))
	var re *safefs.RefusedError
	switch {
	case errors.As(err, &re):
		w.dir, w.replaced = f.dir, re
		return w, nil
	case err != nil:
		return write{}, fmt.Errorf("%sread %s: %w", prefix(varName), path, cause(err))
	}
	if at != f.dir {
		p.opened = append(p.opened, at)
	}
	w.dir, w.name = at, n
	return w, nil
}

// read plans the file at path (see locate) and reads what is there now, at
// most max bytes: nil, false when there is nothing, or it is to be
// replaced.
func (p *planner) read(varName, path string, max int64) (w write, old []byte, exists bool, err error) {
	if w, err = p.locate(varName, path); err != nil || w.dir == nil || w.replaced != nil {
		return w, nil, false, err
	}
	old, err = w.dir.ReadFile(w.name, max)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return w, nil, false, nil
	case err != nil && IsLogin(w.name) && !errors.Is(err, safefs.ErrLink):
		// A login we replace anyway: what was there does not matter.
		w.replaced = &safefs.RefusedError{Name: path, Why: cause(err).Error()}
		return w, nil, false, nil
	case err != nil:
		return write{}, nil, false, fmt.Errorf("%s: read %s: %w", varName, path, cause(err))
	}
	return w, old, true, nil
}

// ReadLogin reads the login file at path (in an agent's folder, as
// CodexDir and GeminiDir name it) the way Apply would find it, for
// hjk-init export: the folders on the way by the same rules, the file
// never through a link, never a FIFO or device, at most MaxLoginFile
// bytes. A file that is not there gives an error satisfying
// errors.Is(err, fs.ErrNotExist); errors name the file, never its content.
func ReadLogin(env []string, home, path string) ([]byte, error) {
	p := newPlanner(Options{Env: env})
	defer p.close()
	if _, err := os.Stat(home); errors.Is(err, fs.ErrNotExist) {
		// No home, no login in it (a uid without one, say).
		return nil, &fs.PathError{Op: "read", Path: path, Err: fs.ErrNotExist}
	}
	if err := p.resolve(Options{Home: home}); err != nil {
		return nil, err
	}
	w, err := p.locate("", path)
	switch {
	case err != nil:
		return nil, err
	case w.replaced != nil:
		return nil, w.replaced
	case w.dir == nil:
		return nil, &fs.PathError{Op: "read", Path: path, Err: fs.ErrNotExist}
	}
	b, err := w.dir.ReadFile(w.name, MaxLoginFile)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: cause(err)}
	}
	return b, nil
}

// settled reports whether the file w names already has our mode and owner.
func (p *planner) settled(w write) bool {
	if w.dir == nil {
		return false
	}
	st, err := w.dir.Stat(w.name)
	if err != nil || !st.Mode.IsRegular() || st.Mode.Perm() != fileMode {
		return false
	}
	return (p.owner.uid < 0 || st.UID == p.owner.uid) && (p.owner.gid < 0 || st.GID == p.owner.gid)
}

// create makes the folder's missing part, 0700 and owned by o, never
// through a link the agent may have put there since it was planned.
func (f *folder) create(o owner) error {
	for len(f.missing) > 0 {
		d, err := f.dir.Mkdir(f.missing[0], dirMode, o.uid, o.gid)
		if err != nil {
			return err
		}
		f.dir, f.missing = d, f.missing[1:]
	}
	return nil
}

// keepAside renames a file its agent could not read to a name beside it
// that says so, never overwriting an earlier one, and returns that name.
func keepAside(d *safefs.Dir, name string, now time.Time) (string, error) {
	base := name + ".broken-" + now.UTC().Format("20060102T150405Z")
	aside := base
	for i := 2; ; i++ {
		if _, err := d.Stat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		aside = base + "-" + strconv.Itoa(i)
	}
	return aside, d.Rename(name, aside)
}

// prefix starts an error with the variable it concerns, if any.
func prefix(varName string) string {
	if varName == "" {
		return ""
	}
	return varName + ": "
}

// cause strips an *fs.PathError down to its reason: the errors Apply returns
// name the file themselves, and a temporary file's name would only confuse.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if pe.Err == syscall.ENOTDIR {
			return fmt.Errorf("%s is not a directory", pe.Path)
		}
		return pe.Err
	}
	return err
}
