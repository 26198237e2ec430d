package gate

import (
	"context"
	"crypto/tls"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/gate/gateway"
	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// The keeper over TCP answers a gate that pins its certificate and
// presents its token, and no one else.
func TestPeer(t *testing.T) {
	h := http.NewServeMux()
	h.HandleFunc("POST /v1/load", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, wire.LoadResult{Item: "x", Result: wire.Loaded})
	})
	srv, p, err := listenPeer("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := p.Validate(false); err != nil {
		t.Fatalf("listenPeer's peer: %v", err)
	}
	p.URL = "https://" + srv.ln.Addr().String()
	if err := p.Validate(true); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if r, err := gateway.NewPeerClient(p).Load(ctx, wire.Login{Item: "x"}); err != nil || r.Result != wire.Loaded {
		t.Fatalf("the pinned gate with the token: %v %v", r, err)
	}
	bad := p
	bad.Token = strings.Repeat("0", 64)
	if _, err := gateway.NewPeerClient(bad).Load(ctx, wire.Login{Item: "x"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong token: %v", err)
	}
	bad = p
	bad.Pin = wire.PinPrefix + strings.Repeat("0", 64)
	if _, err := gateway.NewPeerClient(bad).Load(ctx, wire.Login{Item: "x"}); err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Errorf("another certificate: %v", err)
	}
	// A plain client without the token, as another pod would be.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: gatewayInsecure()}}
	resp, err := c.Post(p.URL+"/v1/load", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %v %v", resp, err)
	}
}

func TestParseUser(t *testing.T) {
	for in, want := range map[string]string{"1000:1000\n": "1000:1000", "0:0": "0:0", "1000": "", "a:b": "", "-1:0": "", "1:2:3": "", "99999999999:1": "", "1000:1000\n\n": ""} {
		u, g, ok := parseUser(in)
		got := ""
		if ok {
			got = strconv.Itoa(u) + ":" + strconv.Itoa(g)
		}
		if got != want {
			t.Errorf("parseUser(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseUser(f *testing.F) {
	f.Add("1000:1000\n")
	f.Add("+1:0")
	f.Fuzz(func(t *testing.T, s string) {
		u, g, ok := parseUser(s)
		if ok && (u < 0 || g < 0 || strconv.Itoa(u)+":"+strconv.Itoa(g) != strings.TrimSuffix(s, "\n")) {
			t.Fatalf("parseUser(%q) = %d:%d", s, u, g)
		}
	})
}

func gatewayInsecure() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
