package gateway

import (
	"bytes"
	"context"
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

// KeeperClient talks to a keeper's socket.
type KeeperClient struct{ c *http.Client }

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
	return &KeeperClient{c: &http.Client{Transport: t, Timeout: 45 * time.Second}}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://keeper"+path, bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
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
