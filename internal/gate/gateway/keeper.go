package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// Keeper is what a gate asks of the keeper.
type Keeper interface {
	Token(ctx context.Context, r wire.TokenRequest) (wire.TokenAnswer, error)
	Load(ctx context.Context, l wire.Login) (wire.LoadResult, error)
}

// ErrMissing says the keeper holds no login for an item, or cannot be
// reached: the agent is told to have hjk load one.
var ErrMissing = errors.New("no login is loaded for the item")

// RefreshFailed is the keeper's refusal text for a login it could not
// refresh, passed on to the agent.
type RefreshFailed struct{ Text string }

func (e *RefreshFailed) Error() string { return e.Text }

// KeeperClient talks to a keeper's socket, or to a keeper over TCP.
type KeeperClient struct {
	c     *http.Client
	base  string // "http://keeper" on a socket, the Peer's URL over TCP
	token string // presented over TCP
}

// NewKeeperClient returns a client of the keeper listening on sock.
func NewKeeperClient(sock string) *KeeperClient {
	t := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     time.Minute,
	}
	// A refresh takes up to 30 s at the keeper; give it that and more.
	return &KeeperClient{c: &http.Client{Transport: t, Timeout: 45 * time.Second}, base: "http://keeper"}
}

// NewPeerClient returns a client of the keeper over TCP (Kubernetes): TLS
// 1.3 to p.URL, the keeper's certificate pinned to p.Pin (no CA: the
// keeper made it at start), p.Token presented on every request.
func NewPeerClient(p wire.Peer) *KeeperClient {
	pin := p.Pin
	t := &http.Transport{
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS13,
			// The chain is not verified against roots: the pin below
			// is the whole check.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || Pin(cs.PeerCertificates[0].Raw) != pin {
					return errors.New("the keeper's certificate is not the one hjk pinned")
				}
				return nil
			},
		},
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     time.Minute,
		ForceAttemptHTTP2:   false,
	}
	return &KeeperClient{c: &http.Client{Transport: t, Timeout: 45 * time.Second}, base: strings.TrimSuffix(p.URL, "/"), token: p.Token}
}

// Pin is a certificate's pin: "sha256:" and the hex of its DER's hash.
func Pin(der []byte) string {
	sum := sha256.Sum256(der)
	return wire.PinPrefix + hex.EncodeToString(sum[:])
}

// Token asks for an item's current credential.
func (k *KeeperClient) Token(ctx context.Context, r wire.TokenRequest) (wire.TokenAnswer, error) {
	var a wire.TokenAnswer
	status, text, err := k.post(ctx, "/v1/token", r, &a)
	switch {
	case err != nil:
		return a, fmt.Errorf("%w (keeper: %v)", ErrMissing, err)
	case status == http.StatusNotFound:
		return a, ErrMissing
	case status == http.StatusBadGateway:
		return a, &RefreshFailed{Text: text}
	case status != http.StatusOK:
		return a, fmt.Errorf("keeper answered %d to a token request", status)
	}
	if a.Value == "" {
		return a, errors.New("keeper answered an empty value")
	}
	return a, nil
}

// Load forwards a login.
func (k *KeeperClient) Load(ctx context.Context, l wire.Login) (wire.LoadResult, error) {
	var r wire.LoadResult
	status, text, err := k.post(ctx, "/v1/load", l, &r)
	if err != nil {
		return r, fmt.Errorf("keeper cannot be reached: %w", err)
	}
	if status != http.StatusOK {
		return r, fmt.Errorf("keeper refused %s: %d %s", l.Item, status, text)
	}
	return r, nil
}

// post sends v as JSON; a 200 answer is decoded into out, any other is
// returned as its status and first line of text.
func (k *KeeperClient) post(ctx context.Context, path string, v, out any) (int, string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if k.token != "" {
		req.Header.Set("Authorization", "Bearer "+k.token)
	}
	resp, err := k.c.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap() // the URL is ours and says nothing
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != http.StatusOK {
		line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		return resp.StatusCode, line, nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return 0, "", fmt.Errorf("keeper's answer to %s is not the expected JSON", path)
	}
	return resp.StatusCode, "", nil
}

// creds caches each item's credential until a minute before it expires,
// or until an upstream refused it.
type creds struct {
	keeper Keeper
	now    func() time.Time

	mu    sync.Mutex
	items map[string]*cached
}

type cached struct {
	mu    sync.Mutex // one keeper call per item at a time
	value string
	until time.Time // zero: until refused
	ok    bool
}

// early is how long before its expiry a value is asked for again.
const early = time.Minute

// get returns item's value. With stale (the value an upstream refused),
// a cached value equal to it is not used: the keeper is asked, and
// refreshes when it still holds it too.
func (c *creds) get(ctx context.Context, item, stale string) (string, error) {
	c.mu.Lock()
	e := c.items[item]
	if e == nil {
		e = &cached{}
		c.items[item] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ok && (stale == "" || e.value != stale) && (e.until.IsZero() || c.now().Before(e.until)) {
		return e.value, nil
	}
	a, err := c.keeper.Token(ctx, wire.TokenRequest{Item: item, Stale: stale})
	if err != nil {
		e.ok = false
		return "", err
	}
	e.value, e.ok, e.until = a.Value, true, time.Time{}
	if a.Expires != "" {
		if t, err := time.Parse(time.RFC3339, a.Expires); err == nil {
			e.until = t.Add(-early)
		}
	}
	return e.value, nil
}

// clear forgets every value (a Prepare may have loaded new logins).
func (c *creds) clear() {
	c.mu.Lock()
	c.items = map[string]*cached{}
	c.mu.Unlock()
}

// swapKeeper is the gate's keeper, which a Prepare may change (Kubernetes:
// the keeper's address and token come with it). None set: every call
// says no login is loaded.
type swapKeeper struct {
	mu   sync.Mutex
	k    Keeper
	peer wire.Peer
}

func (s *swapKeeper) get() Keeper {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.k
}

// setPeer aims the gate at the keeper p, unless it is aimed there already.
func (s *swapKeeper) setPeer(p wire.Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peer == p && s.k != nil {
		return
	}
	s.k, s.peer = NewPeerClient(p), p
}

func (s *swapKeeper) Token(ctx context.Context, r wire.TokenRequest) (wire.TokenAnswer, error) {
	k := s.get()
	if k == nil {
		return wire.TokenAnswer{}, fmt.Errorf("%w (no keeper yet)", ErrMissing)
	}
	return k.Token(ctx, r)
}

func (s *swapKeeper) Load(ctx context.Context, l wire.Login) (wire.LoadResult, error) {
	k := s.get()
	if k == nil {
		return wire.LoadResult{}, errors.New("keeper cannot be reached: the gate was given none")
	}
	return k.Load(ctx, l)
}
