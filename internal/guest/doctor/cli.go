package doctor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/environ"
)

// cli is what doctor learnt about one agent's CLI.
type cli struct {
	check  Check
	found  bool
	script bool // a node script: it needs node on PATH
}

func cliCheck(ctx context.Context, a agent.Agent, path string, o Options) cli {
	p, err := environ.LookPath(a.Command, path)
	if err != nil {
		c := Check{Name: a.Name, Status: Warn, Detail: "not on PATH",
			Fix: fmt.Sprintf("install it (npm install -g %s) or use hjk's default image", a.Package)}
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
		fix := fmt.Sprintf("reinstall it: npm install -g %s", a.Package)
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
	p, err := environ.LookPath("git", path)
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
	p, err := environ.LookPath("node", path)
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
			need = max(need, all[i].MinNode)
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
// script starts a native binary that would otherwise keep running. It uses
// os.StartProcess, not os/exec, which would add a tenth to hjk-init's size.
func version(ctx context.Context, o Options, path string, args ...string) (string, error) {
	what := strings.Join(args, " ")
	null, err := os.Open(os.DevNull)
	if err != nil {
		return "", err
	}
	defer null.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return "", err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return "", err
	}
	p, err := os.StartProcess(path, append([]string{path}, args...), &os.ProcAttr{
		Env:   o.Env,
		Files: []*os.File{null, outW, errW},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return "", fmt.Errorf("%s: %w", what, err)
	}
	stdout, stderr := drain(outR), drain(errR)

	type result struct {
		state *os.ProcessState
		err   error
	}
	done := make(chan result, 1)
	go func() {
		st, err := p.Wait()
		done <- result{st, err}
	}()
	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
	var r result
	timedOut := false
	select {
	case r = <-done:
	case <-ctx.Done():
		timedOut = true
	case <-timer.C:
		timedOut = true
	}
	if timedOut {
		syscall.Kill(-p.Pid, syscall.SIGKILL)
		<-done
	}
	// A process the command left behind may hold the pipes: read what came
	// within a second, no longer.
	deadline := time.Now().Add(time.Second)
	outR.SetReadDeadline(deadline)
	errR.SetReadDeadline(deadline)
	out, errOut := <-stdout, <-stderr
	outR.Close()
	errR.Close()

	switch {
	case timedOut:
		return "", fmt.Errorf("no answer to %s within %s", what, o.Timeout)
	case r.err != nil:
		return "", fmt.Errorf("%s: %w", what, r.err)
	case !r.state.Success():
		if msg := firstLine(errOut); msg != "" {
			return "", fmt.Errorf("%s: %v: %s", what, r.state, msg)
		}
		return "", fmt.Errorf("%s: %v", what, r.state)
	}
	line := firstLine(out)
	if line == "" {
		line = firstLine(errOut)
	}
	if line == "" {
		return "", fmt.Errorf("%s printed nothing", what)
	}
	return line, nil
}

// drain reads f to its end (or read deadline), keeping the first 64 KiB.
func drain(f *os.File) <-chan string {
	c := make(chan string, 1)
	go func() {
		var buf bytes.Buffer
		chunk := make([]byte, 4096)
		for {
			n, err := f.Read(chunk)
			if buf.Len() < 64<<10 {
				buf.Write(chunk[:n])
			}
			if err != nil {
				break
			}
		}
		c <- buf.String()
	}()
	return c
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

// isNodeScript reports whether p starts with a shebang that names node.
func isNodeScript(p string) bool {
	// Without blocking: PATH may have changed since the lookup, and a FIFO
	// in a binary's place would hold doctor forever.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 128)
	n, _ := f.Read(buf)
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	return bytes.HasPrefix(line, []byte("#!")) && bytes.Contains(line, []byte("node"))
}
