// Package doctor is `hjk-init doctor`: run inside any image, it tells
// whether an agent session can work there. It checks the user it runs as,
// that HOME (and each agent's own home, when set) is writable, which agent
// CLIs are on PATH and what `--version` says, node for the CLIs that are
// node scripts, and git. Each problem comes with its fix.
//
// It only reads: the one thing it writes is a temporary file in each folder
// it checks, removed at once. It never prints a variable's value, only the
// names of the credential variables that are set.
//
// Exit codes: 0 when nothing failed (warnings allowed), 1 when a check
// failed, 125 for bad arguments.
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/creds"
	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/guest/privdrop"
)

// Status is a check's outcome. Only Fail makes doctor exit non-zero.
type Status string

const (
	OK   Status = "ok"
	Info Status = "info" // a fact, not a judgement (credential variables)
	Warn Status = "warn" // works, but not as hjk expects
	Fail Status = "fail" // a session would not work
)

// Check is one line of the report. Fix says what to do when Status is Warn
// or Fail.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// DefaultTimeout bounds each `--version`: gemini takes seconds to start.
const DefaultTimeout = 15 * time.Second

// Options is what a run looks at. Main fills it from the process.
type Options struct {
	Env      []string      // PATH, HOME, the agents' variables
	UID, GID int           // whom the checks are for
	Passwd   string        // the passwd file naming UID (privdrop.PasswdFile)
	Group    string        // and its group file (privdrop.GroupFile)
	Timeout  time.Duration // for each `<cli> --version`
	Require  []string      // agents whose absence is a failure, not a warning
}

const usage = `usage: hjk-init doctor [--json] [--timeout DURATION] [AGENT...]

Checks that an agent session can work in this container: the user, a
writable HOME, the agent CLIs on PATH and their versions, node, git. Each
problem is printed with its fix. AGENTs named are required: their absence
fails the check. Exit status 1 when a check fails.
`

// Main runs `hjk-init doctor` with the arguments after "doctor".
func Main(args []string, stdout, stderr io.Writer) int {
	return run(args, Options{
		Env:     os.Environ(),
		UID:     os.Getuid(),
		GID:     os.Getgid(),
		Passwd:  privdrop.PasswdFile,
		Group:   privdrop.GroupFile,
		Timeout: DefaultTimeout,
	}, stdout, stderr)
}

func run(args []string, o Options, stdout, stderr io.Writer) int {
	asJSON := false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-h" || a == "--help":
			fmt.Fprint(stdout, usage)
			return 0
		case a == "--json":
			asJSON = true
		case a == "--timeout" || strings.HasPrefix(a, "--timeout="):
			v, ok := strings.CutPrefix(a, "--timeout=")
			if !ok {
				if i+1 == len(args) {
					fmt.Fprintf(stderr, "hjk-init doctor: --timeout needs a duration (e.g. 15s)\n")
					return 125
				}
				i++
				v = args[i]
			}
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				fmt.Fprintf(stderr, "hjk-init doctor: --timeout %q: want a positive duration such as 15s\n", v)
				return 125
			}
			o.Timeout = d
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "hjk-init doctor: unknown option %q\n%s", a, usage)
			return 125
		default:
			if _, err := agent.Lookup(a); err != nil {
				fmt.Fprintf(stderr, "hjk-init doctor: %v\n", err)
				return 125
			}
			o.Require = append(o.Require, a)
		}
	}

	checks := Run(context.Background(), o)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(struct {
			OK     bool    `json:"ok"`
			Checks []Check `json:"checks"`
		}{!Failed(checks), checks})
	} else {
		Print(stdout, checks)
	}
	if Failed(checks) {
		return 1
	}
	return 0
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Print writes the report for people: one line per check, the fix under
// each problem.
func Print(w io.Writer, checks []Check) {
	width := 0
	for _, c := range checks {
		width = max(width, len(c.Name))
	}
	problems := 0
	for _, c := range checks {
		fmt.Fprintf(w, "%-*s  %-4s  %s\n", width, c.Name, c.Status, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "%-*s        fix: %s\n", width, "", c.Fix)
		}
		if c.Status == Fail {
			problems++
		}
	}
	switch problems {
	case 0:
		fmt.Fprintln(w, "no problems found")
	case 1:
		fmt.Fprintln(w, "1 problem found")
	default:
		fmt.Fprintf(w, "%d problems found\n", problems)
	}
}

// Run performs every check, in the order they are reported. The agent
// CLIs, node and git are asked for their versions at once, so the whole run
// takes about as long as the slowest.
func Run(ctx context.Context, o Options) []Check {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	home := environ.Get(o.Env, "HOME")
	checks := []Check{userCheck(o), homeCheck(home, o)}
	// Each agent's folder, where hjk-init writes its files, when a variable
	// moves it out of the checked home.
	for _, f := range creds.Folders(o.Env, home) {
		if environ.Get(o.Env, f.Var) != "" {
			checks = append(checks, dirCheck(f.Var, f.Path, o))
		}
	}

	path := environ.Get(o.Env, "PATH")
	all := agent.All()
	clis := make([]cli, len(all))
	var git Check
	var node nodeFound
	var wg sync.WaitGroup
	for i, a := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clis[i] = cliCheck(ctx, a, path, o)
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); git = gitCheck(ctx, path, o) }()
	go func() { defer wg.Done(); node = findNode(ctx, path, o) }()
	wg.Wait()

	found := false
	for _, c := range clis {
		checks = append(checks, c.check)
		found = found || c.found
	}
	if c, ok := nodeCheck(clis, all, node); ok {
		checks = append(checks, c)
	}
	checks = append(checks, git)
	if !found {
		if path == "" {
			path = "empty"
		}
		checks = append(checks, Check{Name: "agents", Status: Fail,
			Detail: "no agent CLI on PATH (PATH is " + path + ")",
			Fix:    "use an image with the agents (hjk's default image) or install one: npm install -g " + agent.All()[0].Package})
	}
	return append(checks, credentialsCheck(o.Env))
}

// userCheck names the user. Root works but surprises: claude refuses
// permission-less runs as root and files in the worktree end up root's.
func userCheck(o Options) Check {
	u, err := privdrop.Lookup(strconv.Itoa(o.UID), o.Passwd, o.Group)
	name, ok := u.Name, err == nil && u.Name != ""
	id := fmt.Sprintf("uid %d, gid %d", o.UID, o.GID)
	switch {
	case !ok:
		return Check{Name: "user", Status: Warn,
			Detail: fmt.Sprintf("%s, not in %s", id, o.Passwd),
			Fix:    fmt.Sprintf("add the user to the image (useradd -u %d agent) or run as one it has (docker run --user, HJK_USER)", o.UID)}
	case o.UID == 0:
		return Check{Name: "user", Status: Warn,
			Detail: fmt.Sprintf("%s (%s)", name, id),
			Fix:    "run as a user: USER in the Dockerfile, or HJK_USER=NAME for hjk-init to switch to (claude refuses --dangerously-skip-permissions as root)"}
	}
	return Check{Name: "user", Status: OK, Detail: fmt.Sprintf("%s (%s)", name, id)}
}

func homeCheck(home string, o Options) Check {
	if home == "" {
		return Check{Name: "home", Status: Fail, Detail: "HOME is not set",
			Fix: fmt.Sprintf("set HOME (docker run -e HOME=/home/agent) or give uid %d a home in %s", o.UID, o.Passwd)}
	}
	c := dirCheck("HOME", home, o)
	c.Name = "home"
	if c.Status == Fail && home == "/" {
		// What docker and hjk-init give a uid with no passwd entry.
		c.Fix = fmt.Sprintf("give uid %d a home: useradd -m -u %d NAME in the image, or set HOME to a writable folder (docker run -e HOME=/tmp)", o.UID, o.UID)
	}
	return c
}

// dirCheck tells whether the user can write in dir, by writing there. A
// folder that does not exist yet passes when its parent is writable:
// hjk-init creates it.
func dirCheck(name, dir string, o Options) Check {
	owner := fmt.Sprintf("%d:%d", o.UID, o.GID)
	fi, err := os.Stat(dir)
	switch {
	case os.IsNotExist(err):
		parent := dir[:max(strings.LastIndex(strings.TrimRight(dir, "/"), "/"), 1)]
		if writable(parent) == nil {
			return Check{Name: name, Status: OK, Detail: dir + " does not exist yet; hjk-init will create it"}
		}
		return Check{Name: name, Status: Fail, Detail: dir + " does not exist and " + parent + " is not writable",
			Fix: fmt.Sprintf("create it in the image: mkdir -p %s && chown %s %s", dir, owner, dir)}
	case err != nil:
		return Check{Name: name, Status: Fail, Detail: err.Error(), Fix: "make " + dir + " a readable folder"}
	case !fi.IsDir():
		return Check{Name: name, Status: Fail, Detail: dir + " is not a folder", Fix: "point " + name + " at a folder"}
	}
	if err := writable(dir); err != nil {
		return Check{Name: name, Status: Fail, Detail: dir + " is not writable by uid " + strconv.Itoa(o.UID),
			Fix: fmt.Sprintf("chown %s %s in the image, or mount a writable volume there", owner, dir)}
	}
	return Check{Name: name, Status: OK, Detail: dir + " is writable"}
}

func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".hjk-doctor-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// credentialsCheck lists which credential variables are set: names only.
func credentialsCheck(env []string) Check {
	var set []string
	for _, a := range agent.All() {
		for _, v := range a.Vars() {
			if environ.Get(env, v) != "" {
				set = append(set, v)
			}
		}
	}
	detail := "none of the agents' variables is set (hjk passes them per session)"
	if len(set) > 0 {
		detail = "set: " + strings.Join(set, ", ")
	}
	return Check{Name: "credentials", Status: Info, Detail: detail}
}
