// Package creds turns the credential variables hjk hands to a container
// into the files each agent CLI reads: hjk-init's first job, done before it
// execs the agent.
//
// For each agent whose variable is set (agent.Claude, agent.Gemini,
// agent.Codex; an empty variable counts as unset):
//
//	claude  CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_API_KEY
//	        .claude.json ($CLAUDE_CONFIG_DIR, else HOME): hasCompletedOnboarding,
//	        projects[workdir].hasTrustDialogAccepted, and with an API key
//	        customApiKeyResponses.approved holding its last 20 characters
//	gemini  GEMINI_OAUTH_CREDS, GEMINI_API_KEY
//	        .gemini/ ($GEMINI_CLI_HOME, else HOME): oauth_creds.json and
//	        google_accounts.json from the payload, settings.json
//	        security.auth.selectedType, trustedFolders.json (or
//	        $GEMINI_CLI_TRUSTED_FOLDERS_PATH) trusting workdir; with
//	        neither, GOOGLE_CLOUD_ACCESS_TOKEN and GOOGLE_GENAI_USE_GCA=true
//	        (the credential gate's Google login, a token gemini reads
//	        itself): settings.json selecting oauth-personal and the trust
//	codex   CODEX_AUTH_JSON, OPENAI_API_KEY
//	        $CODEX_HOME (else HOME/.codex, created): auth.json (the payload as
//	        it came, or the API-key form `codex login --with-api-key` writes),
//	        config.toml with cli_auth_credentials_store = "file" and
//	        [projects."<workdir>"] trust_level = "trusted"
//
// The folder to trust is Options.Workdir, else HJK_WORKDIR, else the current
// directory, made absolute; it must be UTF-8, as JSON and TOML keys are.
// When symbolic links lead to it, its resolved path is trusted too: claude
// keys trust by the path it finds itself in.
//
// The variables the agents read themselves (the claude token, the API keys)
// stay in their environment; Scrub drops the payloads the files now carry.
//
// When both variables of one agent are set, the subscription wins wherever
// only one can be written: gemini's selectedType is oauth-personal and
// codex's auth.json is CODEX_AUTH_JSON. Claude reads its two variables
// itself; its API key is still approved, so claude never stops to ask.
//
// Guarantees: every payload is validated, and every file read and merged in
// memory, before the first write, so a malformed payload or an unreadable
// file writes nothing. Files are written 0600 through a temporary file in the
// same directory and a rename: an agent never sees half a file; a file that
// held the user's own settings is synced to disk before the rename. Directories
// created are 0700. Files and created directories belong to Options.UID/GID.
// Merged files keep every key the user had, with comments where the agent
// accepts them (gemini's JSON files, codex's TOML). An existing file the
// agent could not read either is renamed to <name>.broken-<time>, with a
// warning, and a fresh one written. Files that carry the credential itself
// (auth.json, oauth_creds.json, google_accounts.json) are replaced, except
// a codex auth.json for the same account that codex refreshed later than the
// payload: codex's refresh tokens are single-use, so the older copy would be
// dead. A file that already holds what Apply would write is left alone, so
// later sessions in the same container write nothing. Errors and warnings
// name variables and files, never a value.
//
// Symbolic links. The agent's user owns the home and may have put links
// there (a dotfiles manager does; so may an agent, pointing at the work
// folder, which is the host's worktree and gets committed and pushed):
//
//   - A file that holds a login (auth.json, oauth_creds.json,
//     google_accounts.json, .credentials.json: IsLogin) is never read or
//     written through a link. A link there is replaced by a regular file,
//     with a warning naming the file; what it pointed to is not touched.
//   - A settings file (.claude.json, settings.json, trustedFolders.json,
//     config.toml) that is a link is followed, through a chain of at most
//     40 links each resolved in its own folder, to a regular file or a
//     name not there yet, provided every link lands inside the home (or
//     the agent's own folder, when a variable puts it elsewhere) and none
//     inside the work folder (HJK_WORKDIR, or the current directory unless
//     that is /; its resolved path too). Any other link (outside the home,
//     into the work folder, a loop, into a missing folder, to a FIFO or a
//     folder) is replaced by a regular file, with a warning.
//   - A folder on the way (~/.codex, ~/.gemini, a folder a variable names)
//     may be reached through links by the same rule, checked on where the
//     kernel says the folder is once opened; a folder link that breaks it
//     stops Apply with an error naming it, before anything is written.
//   - A FIFO, socket or device where a file goes is never opened for
//     reading; it is replaced like a link.
//
// Every folder is opened once and every file in it is read and replaced
// through that descriptor (package safefs): opened with O_NOFOLLOW and
// O_NONBLOCK, read only when regular and only up to MaxSettingsFile (a
// settings file over it is an error) or MaxLoginFile (a login file over it
// is replaced), written through an O_EXCL temporary file with a random name
// in the same folder, renamed over the name. The agent changing the tree
// while Apply runs can make it fail, never write elsewhere.
package creds

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/guest/safefs"
)

// Options says what Apply reads and where it writes.
type Options struct {
	Env      []string  // the environment to read, as os.Environ()
	Home     string    // the home to write into (the target user's)
	Workdir  string    // folder to trust; "" means HJK_WORKDIR from Env, else the current directory
	UID, GID int       // owner for files and dirs created; -1 leaves ownership alone
	Warn     io.Writer // warnings (a broken existing file kept aside...), never secrets
}

// Apply validates every payload present in Env first, and writes nothing if
// any is malformed; then writes each agent's files. Errors name the variable
// and the file, never a value.
func Apply(o Options) error {
	p := newPlanner(o)
	defer p.close()
	if err := p.validate(); err != nil {
		return err
	}
	if len(p.creds) == 0 {
		return nil
	}
	if err := p.resolve(o); err != nil {
		return err
	}
	for _, d := range p.workdirs {
		if !utf8.ValidString(d) {
			// JSON and TOML keys are UTF-8: no agent's config can name it.
			return fmt.Errorf("folder to trust %q is not valid UTF-8: set %s to another path", d, agent.WorkdirVar)
		}
	}
	for _, a := range agent.All() {
		if err := p.plan(a); err != nil {
			return err
		}
	}
	return p.commit(o.Warn)
}

// Scrub returns env without the variables whose content now lives in files
// (agent.Agent.Scrub).
func Scrub(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !scrubbed(name) {
			out = append(out, kv)
		}
	}
	return out
}

func scrubbed(name string) bool {
	for _, a := range agent.All() {
		for _, v := range a.Scrub {
			if v == name {
				return true
			}
		}
	}
	return false
}

// planner gathers every write before the first one is made.
type planner struct {
	env   []string
	owner owner
	now   time.Time
	home  string
	// workdirs is the folder to trust, and where it really is when a
	// symbolic link leads there: claude keys trust by the resolved path.
	workdirs []string
	creds    map[string]string // variable name -> validated value
	writes   []write
	notes    []string // warnings that concern no one file, printed after the writes

	// The home, open; links says where a link may lead (see openFolder).
	homeDir, rootDir *safefs.Dir
	links            safefs.Links
	folders          map[string]*folder // by path
	opened           []*safefs.Dir      // closed when Apply ends
}

func newPlanner(o Options) *planner {
	return &planner{env: o.Env, owner: owner{o.UID, o.GID}, now: time.Now(), folders: map[string]*folder{}}
}

func (p *planner) close() {
	for _, d := range p.opened {
		d.Close()
	}
}

func (p *planner) validate() error {
	p.creds = map[string]string{}
	var errs []string
	for _, a := range agent.All() {
		for _, k := range []agent.Kind{agent.Subscription, agent.APIKey} {
			name := a.Var(k)
			v := environ.Get(p.env, name)
			if v == "" {
				continue
			}
			if err := agent.Validate(a, k, v); err != nil {
				msg := err.Error()
				if !strings.HasPrefix(msg, name) {
					msg = name + ": " + msg
				}
				errs = append(errs, msg)
				continue
			}
			p.creds[name] = v
		}
	}
	for _, a := range agent.All() {
		if g := guests()[a.Name]; g.validate != nil {
			errs = append(errs, g.validate(p)...)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("no credential files written: %s", strings.Join(errs, "; "))
	}
	return nil
}

// resolve settles the home and the folder to trust, both absolute.
func (p *planner) resolve(o Options) error {
	if o.Home == "" {
		return errors.New("no home folder to write credential files into (HOME is empty)")
	}
	home, err := filepath.Abs(o.Home)
	if err != nil {
		return fmt.Errorf("home %s: %w", o.Home, err)
	}
	fi, err := os.Stat(home)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("home %s does not exist: create it or set HOME to the user's home", home)
	case err != nil:
		return fmt.Errorf("home %s: %w", home, cause(err))
	case !fi.IsDir():
		return fmt.Errorf("home %s is not a directory", home)
	}
	p.home = home
	if p.homeDir, err = safefs.Open(home); err != nil {
		return fmt.Errorf("home %s: %w", home, cause(err))
	}
	p.opened = append(p.opened, p.homeDir)

	wd := o.Workdir
	if wd == "" {
		wd = environ.Get(p.env, agent.WorkdirVar)
	}
	if wd == "" {
		if wd, err = os.Getwd(); err != nil {
			return fmt.Errorf("find the folder to trust (set %s): %w", agent.WorkdirVar, err)
		}
	}
	abs, err := filepath.Abs(wd)
	if err != nil {
		return fmt.Errorf("folder to trust %s: %w", wd, err)
	}
	p.workdirs = []string{abs}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		p.workdirs = append(p.workdirs, real)
	}
	// Links may lead within the home, never into the work folder (the
	// host's worktree: a login there could be committed and pushed). A
	// work folder of / is no work folder: it would forbid every link.
	p.links = safefs.Links{Allow: []string{p.homeDir.Path}}
	for _, d := range p.workdirs {
		if d != "/" {
			p.links.Deny = append(p.links.Deny, d)
		}
	}
	return nil
}

func (p *planner) plan(a agent.Agent) error {
	g, ok := guests()[a.Name]
	if !ok {
		return nil
	}
	return g.write(p, p.creds[a.SubscriptionVar], p.creds[a.APIKeyVar])
}

// guest is an agent's behaviour in the container, in a file of its own
// (claude.go, gemini.go, codex.go).
type guest struct {
	// write plans the agent's files from its login (sub) and its API key
	// (key), both validated, either or both "" (then usually nothing).
	write func(p *planner, sub, key string) error
	// validate checks variables of the agent's other than its two, into
	// p.creds, and returns what is wrong with them (nil: none to check).
	validate func(p *planner) []string
	// export reads the agent's login back from its folder dir, in the
	// transport format (ErrNothing: none there).
	export func(env []string, home, dir string) (string, error)
	// files are the files of the agent's folder that hjk-init knows, in
	// the order the docs list them (Files, IsLogin).
	files []file
	// vars are the agent's variables hjk-init reads, for its README
	// (Variables): a test holds them to the code's lookups.
	vars []Variable
	// exportFrom says where export finds the login, or, with noExport,
	// why it gives none back, for hjk-init's README (Exports).
	exportFrom string
	noExport   bool
}

// file is one file in an agent's folder, by name.
type file struct {
	name string
	// login says the file holds the login itself: never read or written
	// through a symbolic link (IsLogin).
	login bool
	// agentOnly says only the agent writes it, never hjk-init (it is not
	// in Files), but hjk-init still minds it, as a login.
	agentOnly bool
	// holds says what hjk-init writes into it, for its README (Files).
	holds string
}

// mergeJSON plans a merge of edits into the JSON file at path.
func (p *planner) mergeJSON(varName, path string, jsonc bool, edits []jsonEdit) error {
	w, old, exists, err := p.read(varName, path, MaxSettingsFile)
	if err != nil {
		return err
	}
	w.data, w.brokenAside, w.note = jsonMerge(old, jsonc, edits)
	w.sync = len(old) > 0
	p.add(w, exists, old)
	return nil
}

// replace plans a file whose whole content is ours to write.
func (p *planner) replace(varName, path string, data []byte) error {
	w, old, exists, err := p.read(varName, path, MaxLoginFile)
	if err != nil {
		return err
	}
	w.data = data
	p.add(w, exists, old)
	return nil
}

// add plans w, unless the file already holds exactly that, with our mode
// and owner: then leaving it alone is both faster and kinder.
func (p *planner) add(w write, exists bool, old []byte) {
	if exists && w.brokenAside == "" && w.replaced == nil && string(old) == string(w.data) && p.settled(w) {
		return
	}
	p.writes = append(p.writes, w)
}

// commit makes the planned writes: folders first, then each file.
func (p *planner) commit(warn io.Writer) error {
	if warn == nil {
		warn = io.Discard
	}
	for _, w := range p.writes {
		f := w.folder
		if len(f.missing) == 0 {
			continue
		}
		if err := f.create(p.owner); err != nil {
			return fmt.Errorf("%s: create %s: %w", w.varName, f.path, cause(err))
		}
		p.opened = append(p.opened, f.dir)
	}
	for _, w := range p.writes {
		d := w.dir
		if d == nil {
			d = w.folder.dir
		}
		if w.brokenAside != "" {
			aside, err := keepAside(d, w.name, p.now)
			if err != nil {
				return fmt.Errorf("%s: keep unreadable %s aside: %w", w.varName, w.path, cause(err))
			}
			fmt.Fprintf(warn, "hjk-init: warning: %s %s; kept it as %s and wrote a fresh one\n", w.path, w.brokenAside, filepath.Join(d.Name, aside))
		}
		if err := d.WriteFile(w.name, w.data, fileMode, p.owner.uid, p.owner.gid, w.sync); err != nil {
			return fmt.Errorf("%s: write %s: %w", w.varName, w.path, cause(err))
		}
		if w.replaced != nil {
			var unchanged string
			if w.replaced.Link {
				unchanged = " (what it points to is unchanged)"
			}
			fmt.Fprintf(warn, "hjk-init: warning: %v; replaced it with a regular file%s\n", w.replaced, unchanged)
		}
		if w.note != "" {
			fmt.Fprintf(warn, "hjk-init: warning: %s: %s\n", w.path, w.note)
		}
	}
	for _, n := range p.notes {
		fmt.Fprintf(warn, "hjk-init: warning: %s\n", n)
	}
	return nil
}
