package gate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/gateway"
	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// The keeper over TCP (Kubernetes, where pods share no socket): TLS 1.3
// with a key and a self-signed certificate made at start, and a random
// token, both in memory only and gone with the process. hjk learns the
// token and the certificate's pin from `hjk-gate peer` (over exec) and
// hands them to each gate in its Prepare; any other client on the pod
// network gets 401.

// listenPeer serves h on addr (TCP) behind TLS and the token, and returns
// the server and the Peer that reaches it (without its URL: only hjk knows
// the pod's address).
func listenPeer(addr string, h http.Handler) (*server, wire.Peer, error) {
	cert, err := selfSigned()
	if err != nil {
		return nil, wire.Peer{}, err
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, wire.Peer{}, err
	}
	p := wire.Peer{Token: hex.EncodeToString(tok), Pin: gateway.Pin(cert.Certificate[0])}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, wire.Peer{}, fmt.Errorf("listen on %s: %w", addr, err)
	}
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	srv := &http.Server{Handler: bearer(p.Token, h), ReadHeaderTimeout: 30 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(tl)
	return &server{srv: srv, ln: tl}, p, nil
}

// bearer lets through only requests that present token.
func bearer(token string, h http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			http.Error(w, "hjk-gate keep: not a gate of this keeper", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// selfSigned makes an ECDSA P-256 key and a certificate for it, valid for
// ten years: clients pin it, so names and dates do not matter.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "hjk-keeper"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
