// Package gate is hjk-gate, the credential gate: a static binary that runs
// outside the agent's container, holds the real credentials in memory, adds
// them to the agent's requests, and is the container's only way out.
//
//	hjk-gate serve --dir DIR --keeper SOCK [--control SOCK]   the per-instance gate
//	hjk-gate prepare [--control SOCK]          stdin: wire.Prepare; stdout: wire.PrepareResult
//	hjk-gate log [--control SOCK] [--since T]  stdout: JSON lines of wire.Refusal
//	hjk-gate keep --dir DIR [--control SOCK] [--listen ADDR]   the keeper of the logins (ADDR: also over TCP)
//	hjk-gate peer [--control SOCK]             stdout: wire.Peer of the keeper over TCP (no url)
//	hjk-gate setup --gate-uid N --user-file F [--own DIR]...    a Kubernetes pod's setup (setup.go)
//	hjk-gate load [--control SOCK]             stdin: []wire.Login; stdout: []wire.LoadResult
//	hjk-gate export [--control SOCK] [ITEM...] stdout: []wire.Login refreshed since loaded (exit 3: none)
//	hjk-gate version
//
// hjk reaches it only through `<engine> exec -i CONTAINER hjk-gate ...`:
// secrets travel on stdin, never in argv or the exec's environment (podman
// records exec environments). The JSON is package wire's; the socket
// layout is package gateway's (serve) and keeper's (keep).
//
// Control sockets live in a private folder (0700) outside the shared
// volumes: serve's /tmp/hjk-gate-ctl/ctl.sock, keep's
// /tmp/hjk-keeper-ctl/ctl.sock. So the container's /tmp must be writable
// (docker: --tmpfs /tmp with --read-only; podman mounts one by itself).
//
// Exit codes: 0 ok, 3 nothing (export: no login rotated), 125 the gate's
// own failure (bad arguments, bad JSON, not running), with one line on
// stderr that never holds a secret. serve and keep log one line per event
// on stderr and run until SIGTERM or SIGINT.
//
// The package touches the sockets it serves and connects to, the folders
// they are in, and its standard streams; nothing else on disk.
package gate

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/gateway"
	"github.com/hjk-dev/hjk/internal/gate/keeper"
	"github.com/hjk-dev/hjk/internal/gate/wire"
	"github.com/hjk-dev/hjk/internal/version"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitNothing = 3
	ExitFailure = 125
)

// Defaults of the flags.
const (
	DefaultGateDir       = "/run/hjk-gate"
	DefaultKeeperDir     = "/run/hjk-keeper"
	DefaultKeeperSocket  = DefaultKeeperDir + "/keeper.sock"
	DefaultGateControl   = "/tmp/hjk-gate-ctl/ctl.sock"
	DefaultKeeperControl = "/tmp/hjk-keeper-ctl/ctl.sock"
)

// io is what a command gets; tests run commands in-process with their own.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

type command struct {
	name, usage string
	run         func(args []string, s stdio) int
}

func commands() []command {
	return []command{
		{"serve", "serve [--dir DIR] [--keeper SOCK] [--control SOCK]", serve},
		{"prepare", "prepare [--control SOCK] < Prepare", prepare},
		{"log", "log [--control SOCK] [--since RFC3339]", logCommand},
		{"keep", "keep [--dir DIR] [--control SOCK] [--listen ADDR]", keep},
		{"peer", "peer [--control SOCK]", peerCommand},
		{"setup", "setup --gate-uid N --user-file FILE [--own DIR]... [--no-lock]", setupCommand},
		{"load", "load [--control SOCK] < [Login...]", load},
		{"export", "export [--control SOCK] [ITEM...]", export},
		{"version", "version", versionCommand},
	}
}

// Main runs hjk-gate with args (without the program name) and returns its
// exit code.
func Main(args []string) int {
	return run(args, stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
}

func run(args []string, s stdio) int {
	if len(args) > 0 {
		for _, c := range commands() {
			if c.name == args[0] {
				return c.run(args[1:], s)
			}
		}
	}
	fmt.Fprintln(s.err, "hjk-gate: usage:")
	for _, c := range commands() {
		fmt.Fprintln(s.err, "  hjk-gate "+c.usage)
	}
	return ExitFailure
}

// fail prints one line and returns ExitFailure.
func fail(s stdio, cmd string, err error) int {
	fmt.Fprintf(s.err, "hjk-gate %s: %v\n", cmd, err)
	return ExitFailure
}

// flags parses args for cmd; values are never echoed (none is a secret,
// but an error line need not show what was typed).
func flags(cmd string, args []string, s stdio, define func(*flag.FlagSet), positional bool) ([]string, bool) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	define(fs)
	if err := fs.Parse(args); err != nil || (!positional && fs.NArg() > 0) {
		for _, c := range commands() {
			if c.name == cmd {
				fmt.Fprintf(s.err, "hjk-gate %s: bad arguments (usage: hjk-gate %s)\n", cmd, c.usage)
			}
		}
		return nil, false
	}
	return fs.Args(), true
}

func serve(args []string, s stdio) int {
	var dir, keeperSock, control string
	if _, ok := flags("serve", args, s, func(fs *flag.FlagSet) {
		fs.StringVar(&dir, "dir", DefaultGateDir, "")
		fs.StringVar(&keeperSock, "keeper", DefaultKeeperSocket, "")
		fs.StringVar(&control, "control", DefaultGateControl, "")
	}, false); !ok {
		return ExitFailure
	}
	// No keeper socket (Kubernetes): the first Prepare names the keeper.
	var k gateway.Keeper
	if keeperSock != "" {
		k = gateway.NewKeeperClient(keeperSock)
	}
	g, err := gateway.New(gateway.Options{Dir: dir, Keeper: k, Log: s.err})
	if err != nil {
		return fail(s, "serve", err)
	}
	defer g.Close()
	ctl, err := listenControl(control, gateControl(g))
	if err != nil {
		return fail(s, "serve", err)
	}
	defer ctl.Close()
	fmt.Fprintf(s.err, "hjk-gate serve: started %s: sockets in %s, keeper at %s\n", version.Version, dir, keeperSock)
	waitSignal()
	fmt.Fprintln(s.err, "hjk-gate serve: stopping")
	return ExitOK
}

func gateControl(g *gateway.Server) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/prepare", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wire.MaxRequest))
		if err != nil {
			http.Error(w, "prepare: larger than the limit", http.StatusRequestEntityTooLarge)
			return
		}
		p, err := wire.DecodePrepare(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := g.Prepare(r.Context(), p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		writeJSON(w, res)
	})
	mux.HandleFunc("GET /v1/log", func(w http.ResponseWriter, r *http.Request) {
		var since time.Time
		if v := r.URL.Query().Get("since"); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				http.Error(w, "log: since is not an RFC 3339 time", http.StatusBadRequest)
				return
			}
			since = t
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := jsonEncoder(w)
		for _, x := range g.Refusals(since) {
			enc.Encode(x)
		}
	})
	return mux
}

func prepare(args []string, s stdio) int {
	var control string
	if _, ok := flags("prepare", args, s, func(fs *flag.FlagSet) {
		fs.StringVar(&control, "control", DefaultGateControl, "")
	}, false); !ok {
		return ExitFailure
	}
	b, err := readInput(s.in)
	if err != nil {
		return fail(s, "prepare", err)
	}
	// Checked here too, so a bad Prepare fails the same whether or not
	// the gate runs.
	if _, err := wire.DecodePrepare(b); err != nil {
		return fail(s, "prepare", err)
	}
	out, err := controlCall(control, http.MethodPost, "/v1/prepare", b)
	if err != nil {
		return fail(s, "prepare", err)
	}
	s.out.Write(out)
	return ExitOK
}

func logCommand(args []string, s stdio) int {
	var control, since string
	if _, ok := flags("log", args, s, func(fs *flag.FlagSet) {
		fs.StringVar(&control, "control", DefaultGateControl, "")
		fs.StringVar(&since, "since", "", "")
	}, false); !ok {
		return ExitFailure
	}
	path := "/v1/log"
	if since != "" {
		if _, err := time.Parse(time.RFC3339Nano, since); err != nil {
			return fail(s, "log", errors.New("--since is not an RFC 3339 time"))
		}
		path += "?since=" + url.QueryEscape(since)
	}
	out, err := controlCall(control, http.MethodGet, path, nil)
	if err != nil {
		return fail(s, "log", err)
	}
	s.out.Write(out)
	return ExitOK
}

func keep(args []string, s stdio) int {
	var dir, control, listen string
	if _, ok := flags("keep", args, s, func(fs *flag.FlagSet) {
		fs.StringVar(&dir, "dir", DefaultKeeperDir, "")
		fs.StringVar(&control, "control", DefaultKeeperControl, "")
		fs.StringVar(&listen, "listen", "", "")
	}, false); !ok {
		return ExitFailure
	}
	k := keeper.New(keeper.Options{Log: s.err})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(s, "keep", fmt.Errorf("socket folder: %w", err))
	}
	pub, err := listenUnix(filepath.Join(dir, "keeper.sock"), 0o666, k.Handler())
	if err != nil {
		return fail(s, "keep", err)
	}
	defer pub.Close()
	ctlh := k.ControlHandler()
	where := ""
	if listen != "" {
		tcp, peer, err := listenPeer(listen, k.Handler())
		if err != nil {
			return fail(s, "keep", err)
		}
		defer tcp.Close()
		mux := http.NewServeMux()
		mux.Handle("/", ctlh)
		mux.HandleFunc("GET /v1/peer", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, peer) })
		ctlh, where = mux, ", TLS on "+tcp.ln.Addr().String()
	}
	ctl, err := listenControl(control, ctlh)
	if err != nil {
		return fail(s, "keep", err)
	}
	defer ctl.Close()
	fmt.Fprintf(s.err, "hjk-gate keep: started %s: socket %s%s\n", version.Version, filepath.Join(dir, "keeper.sock"), where)
	waitSignal()
	fmt.Fprintln(s.err, "hjk-gate keep: stopping")
	return ExitOK
}

func peerCommand(args []string, s stdio) int {
	var control string
	if _, ok := flags("peer", args, s, func(fs *flag.FlagSet) {
		fs.StringVar(&control, "control", DefaultKeeperControl, "")
	}, false); !ok {
		return ExitFailure
	}
	out, err := controlCall(control, http.MethodGet, "/v1/peer", nil)
	if err != nil {
		return fail(s, "peer", err)
	}
	var p wire.Peer
	if err := json.Unmarshal(out, &p); err != nil || p.Validate(false) != nil {
		return fail(s, "peer", errors.New("the keeper's answer is not a peer (is it listening on TCP?)"))
	}
	s.out.Write(out)
	return ExitOK
}

func load(args []string, s stdio) int {
	var control string
	if _, ok := flags("load", args, s, func(fs *flag.FlagSet) {
		fs.StringVar(&control, "control", DefaultKeeperControl, "")
	}, false); !ok {
		return ExitFailure
	}
	b, err := readInput(s.in)
	if err != nil {
		return fail(s, "load", err)
	}
	if _, err := wire.DecodeLogins(b); err != nil {
		return fail(s, "load", err)
	}
	out, err := controlCall(control, http.MethodPost, "/v1/load", b)
	if err != nil {
		return fail(s, "load", err)
	}
	s.out.Write(out)
	return ExitOK
}

func export(args []string, s stdio) int {
	var control string
	items, ok := flags("export", args, s, func(fs *flag.FlagSet) {
		fs.StringVar(&control, "control", DefaultKeeperControl, "")
	}, true)
	if !ok {
		return ExitFailure
	}
	if items == nil {
		items = []string{}
	}
	req, _ := jsonMarshal(wire.ExportRequest{Items: items})
	out, err := controlCall(control, http.MethodPost, "/v1/export", req)
	if err != nil {
		return fail(s, "export", err)
	}
	ls, err := wire.DecodeLogins(out)
	if err != nil {
		return fail(s, "export", errors.New("the keeper's answer is not a list of logins"))
	}
	s.out.Write(out)
	if len(ls) == 0 {
		return ExitNothing
	}
	return ExitOK
}

func versionCommand(args []string, s stdio) int {
	if len(args) > 0 {
		return fail(s, "version", errors.New("takes no arguments"))
	}
	fmt.Fprintf(s.out, "hjk-gate %s %s/%s\n", version.Version, runtime.GOOS, runtime.GOARCH)
	return ExitOK
}

// readInput reads stdin up to the limit.
func readInput(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, wire.MaxRequest+1))
	if err != nil {
		return nil, errors.New("reading stdin failed")
	}
	if len(b) > wire.MaxRequest {
		return nil, fmt.Errorf("stdin is larger than %d bytes", wire.MaxRequest)
	}
	return b, nil
}

// waitSignal blocks until SIGTERM or SIGINT (as PID 1 of its container,
// the gate gets no default action for them).
func waitSignal() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
}
