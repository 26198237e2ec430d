package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// maxRefusals is how many refused requests `hjk-gate log` can show.
const maxRefusals = 1000

// errGuarded: the address a name resolved to is one the gate reaches only
// for hosts the allow-list names exactly (loopback, link-local, ...).
var errGuarded = errors.New("address not allowed")

// serveProxy is proxy.sock: CONNECT, or a plain-HTTP request in absolute
// form, to an allowed host.
func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodConnect:
		s.connect(w, r)
	case r.URL.IsAbs() && r.URL.Scheme == "http":
		s.forward(w, r)
	case r.URL.IsAbs():
		plain(w, http.StatusBadRequest, "hjk gate: send "+r.URL.Scheme+" through CONNECT")
	default:
		plain(w, http.StatusBadRequest, "hjk gate: this is the instance's HTTP proxy: send CONNECT host:port or an absolute http:// URL")
	}
}

func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	host, port, err := wire.ParseTarget(r.Host, 0)
	if err != nil {
		plain(w, http.StatusBadRequest, "hjk gate: CONNECT wants host:port")
		return
	}
	if !s.state.Load().allow.Allows(host) {
		s.refuse(w, r.Method, host, port, "not allowed")
		return
	}
	up, err := s.dial(r.Context(), "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if errors.Is(err, errGuarded) {
		s.refuse(w, r.Method, host, port, errGuarded.Error())
		return
	}
	if err != nil {
		s.log.Printf("proxy: CONNECT %s:%d: %s", host, port, describe(err))
		plain(w, http.StatusBadGateway, "hjk gate: "+host+":"+strconv.Itoa(port)+" could not be reached")
		return
	}
	rc := http.NewResponseController(w)
	conn, buf, err := rc.Hijack()
	if err != nil {
		up.Close()
		plain(w, http.StatusInternalServerError, "hjk gate: the tunnel could not be opened")
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		up.Close()
		return
	}
	tunnel(conn, buf.Reader, up)
}

// tunnel copies both ways until both ends are done, passing each end's
// close on as a half close.
func tunnel(client net.Conn, fromClient *bufio.Reader, up net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(up, fromClient)
		closeWrite(up)
	}()
	go func() {
		defer wg.Done()
		io.Copy(client, up)
		closeWrite(client)
	}()
	wg.Wait()
	client.Close()
	up.Close()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	host, port, err := wire.ParseTarget(r.URL.Host, 80)
	if err != nil {
		plain(w, http.StatusBadRequest, "hjk gate: the URL's host is malformed")
		return
	}
	if !s.state.Load().allow.Allows(host) {
		s.refuse(w, r.Method, host, port, "not allowed")
		return
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Host = net.JoinHostPort(host, strconv.Itoa(port))
			pr.Out.Host = pr.In.Host
		},
		Transport:     s.egress,
		FlushInterval: -1,
		ErrorLog:      s.log,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			switch {
			case errors.Is(err, errGuarded):
				s.refuse(w, r.Method, host, port, errGuarded.Error())
			case errors.Is(err, context.Canceled):
			default:
				s.log.Printf("proxy: %s %s:%d: %s", r.Method, host, port, describe(err))
				plain(w, http.StatusBadGateway, "hjk gate: "+host+" could not be reached")
			}
		},
	}
	p.ServeHTTP(w, r)
}

// dial connects for the proxy. A name may resolve to any address, but
// loopback, link-local, multicast and unspecified ones are reached only
// when the allow-list names the host itself (not by a wildcard or "*"):
// the gate's network is not the agent's to explore.
func (s *Server) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	named := s.state.Load().allow.Names(host)
	d := net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return errGuarded
			}
			if ip := ap.Addr().Unmap(); !named && guarded(ip) {
				return errGuarded
			}
			return nil
		},
	}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil && errors.Is(err, errGuarded) {
		return nil, errGuarded
	}
	return c, err
}

func guarded(ip netip.Addr) bool {
	return ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified()
}

// refuse answers 403 with the text that tells the agent how the user
// allows host, and remembers it.
func (s *Server) refuse(w http.ResponseWriter, method, host string, port int, reason string) {
	s.ring.add(wire.Refusal{Time: s.now().UTC(), Method: method, Host: host, Port: port, Reason: reason})
	s.log.Printf("refused %s %s:%d: %s", method, host, port, reason)
	plain(w, http.StatusForbidden, refusal(s.state.Load().cfg, host))
}

// refusal words a refused host: "hjk gate: <host> is not allowed for this
// instance (network: <preset>); allow it with: <refuse_hint>".
func refusal(cfg wire.Config, host string) string {
	hint := cfg.RefuseHint
	if hint == "" {
		hint = "hjk config network.allow %s"
	}
	t := "hjk gate: " + host + " is not allowed for this instance"
	if cfg.Preset != "" {
		t += " (network: " + cfg.Preset + ")"
	}
	return t + "; allow it with: " + strings.ReplaceAll(hint, "%s", host)
}

// ring keeps the last refusals.
type ring struct {
	mu   sync.Mutex
	buf  []wire.Refusal
	next int
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]wire.Refusal, n)} }

func (r *ring) add(x wire.Refusal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = x
	r.next = (r.next + 1) % len(r.buf)
	r.full = r.full || r.next == 0
}

// since returns the refusals at or after t, oldest first.
func (r *ring) since(t time.Time) []wire.Refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []wire.Refusal
	if r.full {
		all = append(all, r.buf[r.next:]...)
	}
	all = append(all, r.buf[:r.next]...)
	out := []wire.Refusal{}
	for _, x := range all {
		if !x.Time.Before(t) {
			out = append(out, x)
		}
	}
	return out
}
