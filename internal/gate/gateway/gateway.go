// Package gateway is one instance's credential gate: the only way out of
// the agent's container. It serves unix sockets in one folder, which the
// agent's container mounts read-only:
//
//   - proxy.sock, an HTTP forward proxy: CONNECT tunnels (no TLS
//     interception) and plain-HTTP requests to the hosts the instance's
//     allow-list names; every other request is refused with a text the
//     agent can read, and remembered for `hjk-gate log`.
//   - <route>.sock, a reverse proxy to one agent's API: a request whose
//     auth header (or query parameter) is exactly the route's placeholder
//     gets the real credential instead, which the gate asks the keeper for
//     and holds in memory only. A route may be served over TLS (for an
//     agent that takes only https), with a certificate of the gate's own
//     CA, whose certificate it writes to wire.CAFile in the folder.
//
// It touches its socket folder, the network, and the keeper's socket;
// never a file besides its sockets and that certificate. Its log lines never hold a secret, a
// placeholder's real counterpart, or a body.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// Options configure a Server.
type Options struct {
	Dir    string    // where the sockets go
	Keeper Keeper    // where credentials come from (nil: none until a Prepare names one)
	Log    io.Writer // one line per event; io.Discard when nil
	Now    func() time.Time
}

// Server is a running gate. Apply (or Prepare) gives it its routes and
// egress policy; until then it refuses everything.
type Server struct {
	dir    string
	keeper *swapKeeper
	log    *log.Logger
	now    func() time.Time
	creds  *creds
	ring   *ring
	egress *http.Transport // plain-HTTP proxying, with the dial guard
	tls    *tls.Config     // the TLS routes'

	state atomic.Pointer[state]

	mu      sync.Mutex // guards servers, secure and closed
	servers map[string]*http.Server
	secure  map[string]bool // the servers that speak TLS
	closed  bool
}

// state is one applied Config, swapped whole.
type state struct {
	cfg    wire.Config
	allow  wire.Allowlist
	routes map[string]*route
}

// New starts a gate serving proxy.sock in o.Dir, with no routes yet.
func New(o Options) (*Server, error) {
	s := &Server{
		dir:     o.Dir,
		keeper:  &swapKeeper{k: o.Keeper},
		log:     log.New(io.Discard, "", 0),
		now:     time.Now,
		ring:    newRing(maxRefusals),
		servers: map[string]*http.Server{},
		secure:  map[string]bool{},
	}
	if o.Log != nil {
		s.log = log.New(o.Log, "hjk-gate serve: ", log.LstdFlags|log.LUTC)
	}
	if o.Now != nil {
		s.now = o.Now
	}
	s.creds = &creds{keeper: s.keeper, now: s.now, items: map[string]*cached{}}
	s.egress = &http.Transport{
		DialContext:         s.dial,
		MaxIdleConns:        32,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 15 * time.Second,
		DisableCompression:  true,
	}
	allow, _ := wire.ParseAllow(nil)
	s.state.Store(&state{allow: allow, routes: map[string]*route{}})
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("socket folder: %w", err)
	}
	var err error
	if s.tls, err = routeTLS(s.dir); err != nil {
		return nil, err
	}
	// Sockets a gate before this one left: this folder is the gate's own.
	if old, err := filepath.Glob(filepath.Join(s.dir, "*.sock")); err == nil {
		for _, p := range old {
			os.Remove(p)
		}
	}
	if err := s.listen("proxy", http.HandlerFunc(s.serveProxy), false); err != nil {
		return nil, err
	}
	return s, nil
}

// Prepare forwards p's logins to the keeper, then applies its config. A
// keeper that cannot take them fails it before anything changes here.
func (s *Server) Prepare(ctx context.Context, p wire.Prepare) (wire.PrepareResult, error) {
	if err := p.Config.Validate(); err != nil {
		return wire.PrepareResult{}, err
	}
	res := wire.PrepareResult{Routes: []string{}, Logins: []wire.LoadResult{}}
	if p.Keeper != nil {
		if err := p.Keeper.Validate(true); err != nil {
			return wire.PrepareResult{}, err
		}
		s.keeper.setPeer(*p.Keeper)
	}
	for _, l := range p.Logins {
		r, err := s.keeper.Load(ctx, l)
		if err != nil {
			return wire.PrepareResult{}, err
		}
		res.Logins = append(res.Logins, r)
	}
	if err := s.Apply(p.Config); err != nil {
		return wire.PrepareResult{}, err
	}
	for _, r := range p.Config.Routes {
		res.Routes = append(res.Routes, r.Name)
	}
	return res, nil
}

// Apply replaces the whole config at once: requests already under way
// finish on the old one, every later one sees the new one. Sockets of new
// routes appear, those of routes gone are closed.
func (s *Server) Apply(cfg wire.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	allow, _ := wire.ParseAllow(cfg.Allow)
	next := &state{cfg: cfg, allow: allow, routes: map[string]*route{}}
	for _, rc := range cfg.Routes {
		r, err := s.newRoute(cfg, rc)
		if err != nil {
			return fmt.Errorf("route %s: %w", rc.Name, err)
		}
		next.routes[rc.Name] = r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("the gate is shutting down")
	}
	prev := s.state.Swap(next)
	var made []string
	for name, r := range next.routes {
		if s.servers[name] != nil && s.secure[name] != r.cfg.TLS {
			s.servers[name].Close()
			delete(s.servers, name)
		}
		if s.servers[name] == nil {
			if err := s.listenLocked(name, s.routeHandler(name), r.cfg.TLS); err != nil {
				s.state.Store(prev)
				for _, m := range made {
					s.servers[m].Close()
					delete(s.servers, m)
				}
				return err
			}
			made = append(made, name)
		}
	}
	for name, srv := range s.servers {
		if name != "proxy" && next.routes[name] == nil {
			srv.Close()
			delete(s.servers, name)
		}
	}
	for _, r := range prev.routes {
		r.transport.CloseIdleConnections()
	}
	s.creds.clear()
	names := slices.Sorted(maps.Keys(next.routes))
	s.log.Printf("config applied: instance=%s routes=%s allow=%d preset=%s", cfg.Instance, strings.Join(names, ","), len(cfg.Allow), cfg.Preset)
	return nil
}

// Refusals returns the refused requests remembered at or after since.
func (s *Server) Refusals(since time.Time) []wire.Refusal { return s.ring.since(since) }

// Close stops every socket and removes it.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for name, srv := range s.servers {
		srv.Close()
		delete(s.servers, name)
	}
	s.egress.CloseIdleConnections()
	for _, r := range s.state.Load().routes {
		r.transport.CloseIdleConnections()
	}
	return nil
}

func (s *Server) listen(name string, h http.Handler, secure bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listenLocked(name, h, secure)
}

// listenLocked serves h on DIR/<name>.sock, 0666 so the agent's user can
// connect (the folder is mounted read-only in the agent's container), over
// TLS when secure.
func (s *Server) listenLocked(name string, h http.Handler, secure bool) error {
	path := filepath.Join(s.dir, name+".sock")
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return fmt.Errorf("listen on %s: %w", path, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	s.servers[name], s.secure[name] = srv, secure
	if secure {
		ln = tls.NewListener(ln, s.tls)
	}
	go srv.Serve(ln)
	return nil
}

// gateError is an answer the gate words itself.
type gateError struct {
	status int
	text   string
}

func (e *gateError) Error() string { return e.text }

// plain writes a text answer the agent reads.
func plain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, text+"\n")
}

// describe keeps what an error says without the URL it may carry (a
// query parameter may hold the real key).
func describe(err error) string {
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	if err == nil {
		return "error"
	}
	return err.Error()
}
