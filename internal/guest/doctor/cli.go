package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/hjk-dev/hjk/internal/agent"
)

// cli is what doctor learnt about one agent's CLI.
type cli struct {
	check  Check
	found  bool
	script bool // a node script: it needs node on PATH
}

func cliCheck(ctx context.Context, a agent.Agent, path string, o Options) cli {
	p, err := lookPath(a.Command, path)
	if err != nil {
		c := Check{Name: a.Name, Status: Warn, Detail: "not on PATH",
			Fix: fmt.Sprintf("install it (npm install -g %s) or use hjk's default image", packages[a.Name])}
		for _, r := range o.Require {
			if r == a.Name {
				c.Status = Fail
			}
		}
		return cli{check: c}
	}
	r := cli{found: true, script: isNodeScript(p)}
	v, err := version(ctx, o, p, "--version")
	if err != nil {
		fix := fmt.Sprintf("reinstall it: npm install -g %s", packages[a.Name])
		if r.script {
			fix = "it runs on node: see the node line; else " + fix
		}
		r.check = Check{Name: a.Name, Status: Fail, Detail: p + ": " + err.Error(), Fix: fix}
		return r
	}
	r.check = Check{Name: a.Name, Status: OK, Detail: v + " (" + p + ")"}
	return r
}

func gitCheck(ctx context.Context, path string, o Options) Check {
	p, err := lookPath("git", path)
	if err != nil {
		return Check{Name: "git", Status: Warn, Detail: "not on PATH",
			Fix: "install git in the image (apt-get install git): agents commit with it"}
	}
	v, err := version(ctx, o, p, "--version")
	if err != nil {
		return Check{Name: "git", Status: Fail, Detail: p + ": " + err.Error(), Fix: "reinstall git in the image"}
	}
	return Check{Name: "git", Status: OK, Detail: v}
}

// nodeFound is node's answer to --version, asked before it is known
// whether any CLI needs it.
type nodeFound struct {
	path, version string
	err           error
}

func findNode(ctx context.Context, path string, o Options) nodeFound {
	p, err := lookPath("node", path)
	if err != nil {
		return nodeFound{err: err}
	}
	v, err := version(ctx, o, p, "--version")
	return nodeFound{path: p, version: v, err: err}
}

// nodeCheck judges node against the CLIs found that are node scripts; ok is
// false when none is, and node does not matter.
func nodeCheck(clis []cli, all []agent.Agent, n nodeFound) (Check, bool) {
	var users []string
	need := 0
	for i, c := range clis {
		if c.found && c.script {
			users = append(users, all[i].Name)
			need = max(need, minNode[all[i].Name])
		}
	}
	if len(users) == 0 {
		return Check{}, false
	}
	who := strings.Join(users, " and ")
	fix := fmt.Sprintf("install node %d or later in the image (a node:22 base, or copy a node binary to /usr/local/bin)", need)
	switch {
	case n.path == "":
		return Check{Name: "node", Status: Fail, Detail: "not on PATH, needed by " + who, Fix: fix}, true
	case n.err != nil:
		return Check{Name: "node", Status: Fail, Detail: n.path + ": " + n.err.Error(), Fix: fix}, true
	}
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(n.version, "v"), ".", 2)[0])
	if err != nil {
		return Check{Name: "node", Status: Warn, Detail: fmt.Sprintf("%s: cannot read the version %q", n.path, n.version)}, true
	}
	if major < need {
		return Check{Name: "node", Status: Fail,
			Detail: fmt.Sprintf("%s (%s); node >= %d needed by %s", n.version, n.path, need, who), Fix: fix}, true
	}
	return Check{Name: "node", Status: OK, Detail: n.version + " (" + n.path + ")"}, true
}

// version runs path with args and returns the first line it printed. The
// command gets its own process group, killed whole at the timeout: codex's
// script starts a native binary that would otherwise keep the pipes open.
func version(ctx context.Context, o Options, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = o.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "", fmt.Errorf("no answer to %s within %s", strings.Join(args, " "), o.Timeout)
	}
	if err != nil {
		if msg := firstLine(stderr.String()); msg != "" {
			return "", fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, msg)
		}
		return "", fmt.Errorf("%s: %v", strings.Join(args, " "), err)
	}
	line := firstLine(stdout.String())
	if line == "" {
		line = firstLine(stderr.String())
	}
	if line == "" {
		return "", fmt.Errorf("%s printed nothing", strings.Join(args, " "))
	}
	return line, nil
}

// firstLine returns the first non-blank line of s, without control
// characters, cut to a length that fits a report line.
func firstLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, line))
		if line != "" {
			if r := []rune(line); len(r) > 100 {
				line = string(r[:100]) + "..."
			}
			return line
		}
	}
	return ""
}

// lookPath finds an executable file as the shell would, in path (the
// PATH doctor was given, not its own).
func lookPath(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		return file, executable(file)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH", file)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	return syscall.Access(p, 1) // X_OK, for this user
}

// isNodeScript reports whether p starts with a shebang that names node.
func isNodeScript(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 128)
	n, _ := f.Read(buf)
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	return bytes.HasPrefix(line, []byte("#!")) && bytes.Contains(line, []byte("node"))
}
