// Package keeper holds the real, long-lived logins (refresh tokens, API
// keys, claude's setup-token) of one engine and hjk data folder in memory,
// and is the one refresher of each: every instance's gate asks it for the
// current access credential, so instances sharing a login never spend one
// single-use refresh token twice.
//
// It touches nothing but memory and the network: the token endpoints it
// refreshes at, and the HTTP servers its caller puts its handlers on. Its
// answers and log lines never hold a secret; the refusal texts it words
// are passed on to the agent.
package keeper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/gate/wire"
	"github.com/tidwall/gjson"
)

// Timing of refreshes.
const (
	// refreshAhead: an access token that expires sooner than this is
	// refreshed before it is handed out (the gate keeps a value until a
	// minute before it expires).
	refreshAhead = 5 * time.Minute
	// staleAgain: a value refreshed this recently is not refreshed again
	// because an upstream refused it; a new token would fare no better,
	// and a looping 401 must not burn a refresh per request.
	staleAgain = 10 * time.Second
	// retryFailed: after a failed refresh, the next attempt waits this long.
	retryFailed = 30 * time.Second
	// refreshTimeout bounds one call to a token endpoint.
	refreshTimeout = 30 * time.Second
)

// ErrNoLogin says no login is loaded for an item.
var ErrNoLogin = errors.New("no login is loaded for the item")

// RefreshError is a failed refresh. Text is for the agent to read (the
// gate passes it on); it never holds a token.
type RefreshError struct{ Text string }

func (e *RefreshError) Error() string { return e.Text }

// Options configure a Keeper.
type Options struct {
	Log io.Writer        // one line per event; io.Discard when nil
	Now func() time.Time // time.Now when nil
	// Client returns the HTTP client for a login's token endpoint, with
	// caPEM added to the system roots; the default times out after 30 s.
	Client func(caPEM string) (*http.Client, error)
}

// Keeper holds the logins. Its methods are safe for concurrent use.
type Keeper struct {
	log    *log.Logger
	now    func() time.Time
	client func(caPEM string) (*http.Client, error)

	mu   sync.Mutex
	held map[string]*held
}

// held is one item's login. Its mutex is held across a refresh, so
// concurrent token requests for one item wait for one refresh, and a load
// that races a refresh sees its outcome.
type held struct {
	mu      sync.Mutex
	login   wire.Login
	rotated bool      // the keeper refreshed it since the host last had it
	at      time.Time // when the keeper last refreshed it
	// spent holds the single-use (codex) refresh tokens already sent to
	// the token endpoint: none is ever sent again.
	spent map[string]bool
	// failed is the last refresh's failure, answered again until
	// retryFailed has passed since failedAt (a spent codex refresh token
	// is never tried again, whatever the time).
	failed   *RefreshError
	failedAt time.Time
}

// New returns an empty Keeper.
func New(o Options) *Keeper {
	k := &Keeper{log: log.New(io.Discard, "", 0), now: time.Now, client: defaultClient, held: map[string]*held{}}
	if o.Log != nil {
		k.log = log.New(o.Log, "hjk-gate keep: ", log.LstdFlags|log.LUTC)
	}
	if o.Now != nil {
		k.now = o.Now
	}
	if o.Client != nil {
		k.client = o.Client
	}
	return k
}

func defaultClient(caPEM string) (*http.Client, error) {
	pool, err := wire.CertPool(caPEM)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.TLSClientConfig.RootCAs = pool
	return &http.Client{Transport: t, Timeout: refreshTimeout}, nil
}

// Load takes a login from the host. Nothing held: loaded. The same secret:
// same (and the host now has the keeper's copy). A login the keeper
// refreshed itself since, when the one loaded is of the same account and
// not newer (agent.Newer): kept-newer, so a load that raced a refresh never
// puts back a spent refresh token. Otherwise: replaced.
func (k *Keeper) Load(l wire.Login) wire.LoadResult {
	if err := l.Validate(); err != nil {
		return wire.LoadResult{Item: l.Item, Result: wire.Invalid, Error: err.Error()}
	}
	k.mu.Lock()
	h, ok := k.held[l.Item]
	if !ok {
		h = &held{login: l, spent: map[string]bool{}}
		k.held[l.Item] = h
	}
	k.mu.Unlock()
	if !ok {
		k.log.Printf("loaded %s", l.Item)
		return wire.LoadResult{Item: l.Item, Result: wire.Loaded}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	a, _ := agent.Lookup(l.Agent)
	var result string
	switch {
	case l.Secret == h.login.Secret:
		result = wire.Same
		h.rotated = false
		h.login.TokenURL, h.login.CAPEM = l.TokenURL, l.CAPEM
	case h.rotated && sameAccount(a, h.login, l) && !agent.Newer(a, h.login.Credential(), l.Credential()):
		result = wire.KeptNewer
	default:
		result = wire.Replaced
		h.login, h.rotated, h.failed, h.at = l, false, nil, time.Time{}
	}
	k.log.Printf("loaded %s (%s)", l.Item, result)
	return wire.LoadResult{Item: l.Item, Result: result}
}

// Export returns the logins the keeper refreshed since the host last had
// them, for the items named (all when none is).
func (k *Keeper) Export(items []string) []wire.Login {
	k.mu.Lock()
	var hs []*held
	for item, h := range k.held {
		if len(items) == 0 || slices.Contains(items, item) {
			hs = append(hs, h)
		}
	}
	k.mu.Unlock()
	var out []wire.Login
	for _, h := range hs {
		h.mu.Lock()
		if h.rotated {
			out = append(out, h.login)
		}
		h.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b wire.Login) int { return cmp.Compare(a.Item, b.Item) })
	return out
}

// Token returns the value that goes in the route's header for an item,
// refreshing the login first when its access token is about to expire or
// is the stale value an upstream just refused.
func (k *Keeper) Token(ctx context.Context, r wire.TokenRequest) (wire.TokenAnswer, error) {
	k.mu.Lock()
	h, ok := k.held[r.Item]
	k.mu.Unlock()
	if !ok {
		return wire.TokenAnswer{}, ErrNoLogin
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := k.now()
	c, err := current(h.login, now)
	if err != nil {
		return wire.TokenAnswer{}, k.failure(h, err.Error())
	}
	stale := r.Stale != "" && r.Stale == c.value && now.Sub(h.at) >= staleAgain
	if c.renews && (c.due || stale) {
		reason := reasonExpiry
		if stale {
			reason = reasonUnauthorized
		}
		if err := k.refresh(ctx, h, reason); err != nil {
			if c.value != "" && r.Stale != c.value && (c.expires.IsZero() || c.expires.After(now)) {
				// Still good for a while: hand it out, try again later.
				return answer(c), nil
			}
			return wire.TokenAnswer{}, err
		}
		if c, err = current(h.login, k.now()); err != nil {
			return wire.TokenAnswer{}, k.failure(h, err.Error())
		}
	}
	if c.value == "" {
		return wire.TokenAnswer{}, k.failure(h, "the login holds no access token")
	}
	return answer(c), nil
}

func answer(c cred) wire.TokenAnswer {
	a := wire.TokenAnswer{Value: c.value}
	if !c.expires.IsZero() {
		a.Expires = c.expires.UTC().Format(time.RFC3339)
	}
	return a
}

// failure words a refresh failure for the agent: the status, never a token.
func (k *Keeper) failure(h *held, status string) *RefreshError {
	a, _, account, _ := agent.ParseItem(h.login.Item)
	fix := "hjk auth " + a.Name
	if account != "" {
		fix += " --account " + account
	}
	return &RefreshError{Text: fmt.Sprintf("hjk gate: refreshing the %s login failed: %s; run '%s' on the host", a.Name, status, fix)}
}

// cred is what a login hands out now.
type cred struct {
	value   string    // the header value, without scheme
	expires time.Time // zero: not known
	renews  bool      // it has a refresh token
	due     bool      // it should be refreshed before use
}

// current reads what a login hands out at now, by the paths of its
// agent's Login.
func current(l wire.Login, now time.Time) (cred, error) {
	if l.Kind == agent.APIKey {
		return cred{value: l.Secret}, nil
	}
	a, err := agent.Lookup(l.Agent)
	if err != nil {
		return cred{}, err
	}
	p := a.Login
	if p.Access == "" {
		return cred{value: l.Secret}, nil
	}
	if err := agent.Validate(a, l.Kind, l.Secret); err != nil {
		return cred{}, err
	}
	root := gjson.Parse(l.Secret)
	if key := root.Get(p.Key).String(); p.Key != "" && key != "" && !root.Get(p.Access).Exists() {
		return cred{value: key}, nil // codex's API-key form
	}
	c := cred{value: root.Get(p.Access).String(), renews: root.Get(p.Refresh).String() != ""}
	if p.Expiry != "" {
		if ms := root.Get(p.Expiry); ms.Type == gjson.Number {
			c.expires = time.UnixMilli(ms.Int())
		}
	} else if claims, err := agent.JWTClaims(c.value); err == nil {
		if exp := claims.Get("exp"); exp.Type == gjson.Number {
			c.expires = time.Unix(exp.Int(), 0)
		}
	}
	switch {
	case c.expires.IsZero() && p.Refreshed != "":
		last, err := time.Parse(time.RFC3339Nano, root.Get(p.Refreshed).String())
		c.due = err != nil || now.Sub(last) > p.RefreshAge
	default:
		c.due = c.value == "" || !c.expires.IsZero() && c.expires.Sub(now) < refreshAhead
	}
	return c, nil
}

// sameAccount reports whether two logins are of one account, as far as
// they tell: two that name different accounts are not.
func sameAccount(a agent.Agent, x, y wire.Login) bool {
	ax, ay := account(a, x.Secret), account(a, y.Secret)
	return ax == "" || ay == "" || ax == ay
}

func account(a agent.Agent, secret string) string {
	var id, idToken string
	if p := a.Login; p.Account != "" {
		id = gjson.Get(secret, p.Account).String()
	}
	if p := a.Login; p.IDToken != "" {
		idToken = gjson.Get(secret, p.IDToken).String()
	}
	if id != "" {
		return id
	}
	if claims, err := agent.JWTClaims(idToken); err == nil {
		return claims.Get("email").String()
	}
	return ""
}
