package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// server is one HTTP server on a unix socket.
type server struct {
	srv *http.Server
	ln  net.Listener
}

func (s *server) Close() error { return s.srv.Close() }

// listenUnix serves h on path with the given mode.
func listenUnix(path string, mode os.FileMode, h http.Handler) (*server, error) {
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	return &server{srv: srv, ln: ln}, nil
}

// listenControl serves h on a control socket, in a folder only this user
// may enter: it is not in the volumes other containers mount.
func listenControl(path string, h http.Handler) (*server, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("control folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("control folder: %w", err)
	}
	return listenUnix(path, 0o600, h)
}

// controlCall sends body to the control socket and returns a 200 answer's
// body; any other answer becomes an error of its first line.
func controlCall(sock, method, path string, body []byte) ([]byte, error) {
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			// A gate or keeper just started (a pod is ready as soon as its
			// containers run) may not listen yet: a few seconds for it.
			var d net.Dialer
			for deadline := time.Now().Add(5 * time.Second); ; {
				c, err := d.DialContext(ctx, "unix", sock)
				if err == nil || time.Now().After(deadline) || !(errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)) {
					return c, err
				}
				time.Sleep(50 * time.Millisecond)
			}
		},
	}, Timeout: 2 * time.Minute}
	req, err := http.NewRequest(method, "http://control"+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		var ne *net.OpError
		if errors.As(err, &ne) {
			return nil, fmt.Errorf("not running (control socket %s: %v)", sock, ne.Err)
		}
		return nil, fmt.Errorf("not running (control socket %s)", sock)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, wire.MaxRequest+1))
	if err != nil {
		return nil, errors.New("reading the answer failed")
	}
	if resp.StatusCode != http.StatusOK {
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return nil, errors.New(line)
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	jsonEncoder(w).Encode(v)
}

func jsonEncoder(w io.Writer) *json.Encoder {
	e := json.NewEncoder(w)
	e.SetEscapeHTML(false)
	return e
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
