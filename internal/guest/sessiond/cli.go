// Package sessiond is hjk-init's session server and client: sessions that
// outlive the terminal. `session start` puts a command on a PTY held by a
// small server process inside the container (reparented to the container's
// init), which logs its output, records its state (package session) and
// serves clients on a unix socket; `session attach`, run through
// `<runtime> exec -it`, connects the terminal to it. Killing the client, or
// the exec on the host, leaves the command running.
//
// It touches the PTY, its socket under session.RunDir, and the session's
// log and state files; it never writes credentials: hjk runs the command
// as `hjk-init -- AGENT`, which does that in the session itself.
//
// `session start` and `serve`, run as root with HJK_USER set, switch to
// that user first (privdrop.Switch), as the rest of hjk-init does, before
// they create anything: the server, the agent and every file they make
// are the user's. The session folder is writable by the agent (and, on
// the host, open to the container), so its files are opened relative to
// the folder with O_NOFOLLOW and O_NONBLOCK (NAME.log, NAME.json,
// NAME.lock: a link or a FIFO planted there is refused, never followed
// or waited on), the state is replaced through an O_EXCL temporary file
// with a random name, and a NAME.sock that is not a socket is refused.
// The socket folder (session.RunDir) must be a folder of the server's
// own user, open to nobody else. State files are read at most
// session.MaxStateSize; list reads at most maxList entries. The
// payload variables (GEMINI_OAUTH_CREDS, CODEX_AUTH_JSON) are kept out of
// the long-lived server's environment: `session start` passes them over a
// pipe, and the server adds them to the command's environment only.
//
// Signals: the server ends the session (TERM to the agent's process group,
// HUP 2 s later, KILL 3.5 s later) on TERM or INT (a container stopping) or
// `session kill`, and ignores HUP. The client passes WINCH on as the new
// size; the terminal is raw, so Ctrl-C reaches the agent as a key.
//
// Exit codes: start 0 once the server runs (with --attach: as attach),
// attach the session's exit status when it ends and 0 on detach, 1 when
// the session is not running, 125 for bad arguments or a server that could
// not start.
package sessiond

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/hjk-dev/hjk/internal/guest/creds"
	"github.com/hjk-dev/hjk/internal/guest/environ"
	"github.com/hjk-dev/hjk/internal/guest/privdrop"
	"github.com/hjk-dev/hjk/internal/session"
	"github.com/hjk-dev/hjk/internal/textsafe"
)

const usage = `usage: hjk-init session start --name NAME [--attach] [--detach-keys KEYS] -- COMMAND [ARG...]
       hjk-init session attach [--detach-keys KEYS] NAME
       hjk-init session list [--json]
       hjk-init session log [--tail N] [--follow] NAME
       hjk-init session kill [--signal N] (NAME | --all)
Detach keys: docker's syntax, default ` + session.DefaultDetachKeys + ` (or $` + session.DetachVar + `).
`

// Main runs `hjk-init session ARGS`.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		io.WriteString(stderr, usage)
		return 125
	}
	env := os.Environ()
	if args[0] == "start" || args[0] == "serve" {
		// Before anything is created: the server and its files are the
		// user's, and root never follows what the user planted.
		var err error
		if env, err = privdrop.Switch(env, os.Getuid()); err != nil {
			fmt.Fprintf(stderr, "hjk-init: session %s: %v\n", args[0], err)
			return 125
		}
	}
	o, err := parseArgs(args[1:], env)
	if err != nil {
		fmt.Fprintf(stderr, "hjk-init: session %s: %v\n%s", args[0], err, usage)
		return 125
	}
	switch args[0] {
	case "start":
		return start(env, o, stderr)
	case "serve": // started by start, never by hand
		// fd 3 is start's pipe; the agent must not inherit it, or start
		// would wait for the agent to end.
		syscall.CloseOnExec(3)
		syscall.CloseOnExec(4)
		ready := os.NewFile(3, "ready")
		payloads := os.NewFile(4, "payloads")
		if o.name == "" || len(o.cmd) == 0 || ready == nil || payloads == nil {
			return 125
		}
		extra, err := readPayloads(payloads)
		if err != nil {
			fmt.Fprintf(ready, "read the credentials from session start: %v", err)
			return 125
		}
		return serve(env, o.name, o.rows, o.cols, o.cmd, extra, ready)
	case "attach":
		if len(o.pos) != 1 {
			break
		}
		return attach(env, o.pos[0], o.keys, os.Stdin, os.Stdout, os.Stderr)
	case "kill":
		if o.all && len(o.pos) == 0 {
			return killAll(env, o.signal, stderr)
		}
		if len(o.pos) != 1 || o.all {
			break
		}
		return kill(env, o.pos[0], o.signal, stderr)
	case "list":
		if o.json {
			return listJSON(env, stdout, stderr)
		}
		return list(env, stdout)
	case "log":
		if len(o.pos) != 1 {
			break
		}
		return showLog(env, o.pos[0], o.tail, o.follow, stdout, stderr)
	case "-h", "--help":
		io.WriteString(stdout, usage)
		return 0
	}
	io.WriteString(stderr, usage)
	return 125
}

type options struct {
	name       string
	attach     bool
	json, all  bool
	follow     bool
	tail       int // -1: the whole log
	keys       []byte
	signal     byte
	rows, cols uint16
	pos, cmd   []string
}

func parseArgs(args, env []string) (options, error) {
	o := options{tail: -1}
	spec := environ.Get(env, session.DetachVar)
	if spec == "" {
		spec = session.DefaultDetachKeys
	}
	num := func(s string, max int) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > max {
			return 0, fmt.Errorf("%q is not a number from 0 to %d", s, max)
		}
		return n, nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			o.cmd = args[i+1:]
			break
		}
		switch a {
		case "--attach":
			o.attach = true
			continue
		case "--json":
			o.json = true
			continue
		case "--all":
			o.all = true
			continue
		case "--follow", "-f":
			o.follow = true
			continue
		}
		if !strings.HasPrefix(a, "--") {
			o.pos = append(o.pos, a)
			continue
		}
		if i+1 >= len(args) {
			return o, fmt.Errorf("%s needs a value", a)
		}
		v := args[i+1]
		i++
		var n int
		var err error
		switch a {
		case "--name":
			o.name, err = v, session.CheckName(v)
		case "--detach-keys":
			spec = v
		case "--signal":
			n, err = num(v, 64)
			o.signal = byte(n)
		case "--rows":
			n, err = num(v, 65535)
			o.rows = uint16(n)
		case "--cols":
			n, err = num(v, 65535)
			o.cols = uint16(n)
		case "--tail":
			o.tail, err = num(v, 1<<20)
		default:
			err = fmt.Errorf("unknown option %s", a)
		}
		if err != nil {
			return o, err
		}
	}
	for _, p := range o.pos {
		if err := session.CheckName(p); err != nil {
			return o, err
		}
	}
	var err error
	o.keys, err = session.ParseDetachKeys(spec)
	return o, err
}

// start runs the session's server as a process of its own (a new session
// of the kernel's, no terminal, so nothing of the caller's exec holds it),
// waits until it runs the command, and returns, or attaches.
func start(env []string, o options, stderr io.Writer) int {
	if o.name == "" || len(o.cmd) == 0 {
		fmt.Fprintf(stderr, "hjk-init: session start needs --name and a command after --\n%s", usage)
		return 125
	}
	// A session of that name (its state readable as one): hjk picks the
	// next name. A planted link or FIFO is no session; the server replaces it.
	if _, err := readState(env, o.name); err == nil {
		fmt.Fprintf(stderr, "hjk-init: session %s exists already\n", o.name)
		return session.ExitExists
	}
	ws, _ := getSize(os.Stdin)
	switch {
	case o.rows > 0 && o.cols > 0:
		ws.rows, ws.cols = o.rows, o.cols
	case (ws.rows == 0 || ws.cols == 0) && !o.attach:
		// Nobody will tell the size soon: a terminal's usual one.
		ws.rows, ws.cols = 24, 80
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "hjk-init: session start: %v\n", err)
		return 125
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(stderr, "hjk-init: session start: %v\n", err)
		return 125
	}
	// The server lives as long as the session, and the agent's own user
	// may read /proc/<server>/environ: it is started without the payload
	// variables, which reach the agent's command alone over a pipe.
	env, payloads := splitPayloads(env)
	pr, pw, err := os.Pipe()
	if err != nil {
		null.Close()
		w.Close()
		fmt.Fprintf(stderr, "hjk-init: session start: %v\n", err)
		return 125
	}
	argv := []string{"hjk-init", "session", "serve", "--name", o.name,
		"--rows", strconv.Itoa(int(ws.rows)), "--cols", strconv.Itoa(int(ws.cols)), "--"}
	pid, err := syscall.ForkExec("/proc/self/exe", append(argv, o.cmd...), &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{null.Fd(), null.Fd(), null.Fd(), w.Fd(), pr.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	w.Close()
	null.Close()
	pr.Close()
	if err != nil {
		pw.Close()
		fmt.Fprintf(stderr, "hjk-init: session start: %v\n", err)
		return 125
	}
	// A server that fails early stops reading; its error comes on r.
	go func() {
		pw.Write(payloads)
		pw.Close()
	}()
	// The server outlives this process (init adopts it); while both run,
	// reap it here so it never lingers as a zombie.
	go func() {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
	}()
	msg, _ := io.ReadAll(r)
	r.Close()
	if string(msg) != "ok" {
		if len(msg) == 0 {
			msg = []byte("the session server ended before it started the command")
		}
		fmt.Fprintf(stderr, "hjk-init: session %s: %s\n", o.name, msg)
		return 125
	}
	if o.attach {
		return attach(env, o.name, o.keys, os.Stdin, os.Stdout, os.Stderr)
	}
	return 0
}

// splitPayloads separates the variables that carry credential payloads
// (the ones creds.Scrub removes) from the rest of env, the former as
// NUL-terminated NAME=VALUE entries.
func splitPayloads(env []string) (rest []string, payloads []byte) {
	for _, kv := range env {
		if len(creds.Scrub([]string{kv})) == 0 {
			payloads = append(append(payloads, kv...), 0)
		} else {
			rest = append(rest, kv)
		}
	}
	return rest, payloads
}

// readPayloads reads what splitPayloads wrote, to its end.
func readPayloads(f *os.File) ([]string, error) {
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return nil, err
	}
	var env []string
	for len(b) > 0 {
		kv, rest, ok := bytes.Cut(b, []byte{0})
		if !ok {
			return nil, fmt.Errorf("truncated entry")
		}
		env, b = append(env, string(kv)), rest
	}
	return env, nil
}

// maxList bounds how many entries of the state folder list reads: the
// folder is writable by the agent, which could fill it with names.
const maxList = 4096

// list prints the sessions in the state folder, in the folder's order:
// name, state, command. Only files named as sessions are, holding a known
// state, are listed, and the command is printed as textsafe.Field makes it:
// nothing in it can act on a terminal.
func list(env []string, stdout io.Writer) int {
	d, err := os.Open(stateDir(env))
	if err != nil {
		return 0 // no folder: no session yet
	}
	names, _ := d.Readdirnames(maxList)
	d.Close()
	for _, n := range names {
		name, ok := strings.CutSuffix(n, ".json")
		if !ok || session.CheckName(name) != nil {
			continue
		}
		st, err := readState(env, name)
		if err != nil || st.Name != name {
			continue
		}
		state := st.State
		switch state {
		case session.Exited:
			state += " " + strconv.Itoa(st.ExitCode)
		case session.Running, session.Lost:
		default:
			continue
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", st.Name, state, textsafe.Field(strings.Join(st.Command, " "), 0))
	}
	return 0
}
