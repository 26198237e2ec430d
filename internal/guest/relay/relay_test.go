//go:build linux

package relay

import (
	"bufio"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	rs, err := Parse("7800=proxy,7801=claude")
	if err != nil || len(rs) != 2 || rs[1] != (Route{7801, "claude"}) {
		t.Fatalf("Parse = %v, %v", rs, err)
	}
	for _, bad := range []string{"x=proxy", "0=a", "70000=a", "7800=", "7800=../x", "7800=.hidden", "7800"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// Bytes go both ways, the half-close reaches the other side, and many
// connections at once each get their own.
func TestRelay(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, "echo.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c) // to the client's half-close
				c.Write([]byte("got " + strings.ToUpper(string(b))))
			}()
		}
	}()
	probe, _ := net.Listen("tcp", "127.0.0.1:0")
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	if err := Start([]Route{{port, "echo"}}, dir); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 20)
	for i := range 20 {
		go func() {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", itoa(port)), 5*time.Second)
			if err != nil {
				done <- err.Error()
				return
			}
			defer c.Close()
			c.Write([]byte("hello " + itoa(i)))
			c.(*net.TCPConn).CloseWrite()
			b, _ := io.ReadAll(bufio.NewReader(c))
			done <- string(b)
		}()
	}
	seen := map[string]bool{}
	for range 20 {
		seen[<-done] = true
	}
	for i := range 20 {
		if !seen["got HELLO "+itoa(i)] {
			t.Errorf("connection %d did not get its answer: %v", i, seen)
		}
	}
	// A port taken already is an error.
	if err := Start([]Route{{port, "echo"}}, dir); err == nil {
		t.Error("a second listener on the same port")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// FuzzParse: HJK_GATE is the container's configuration, but a broken one
// must be an error, never a route to a path outside the gate's folder.
func FuzzParse(f *testing.F) {
	f.Add("7800=proxy,7801=claude")
	f.Add("")
	f.Add("1=a,65535=b")
	f.Add("7800=../x")
	f.Fuzz(func(t *testing.T, spec string) {
		rs, err := Parse(spec)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Port < 1 || r.Port > 65535 || r.Sock == "" || strings.ContainsAny(r.Sock, "/\x00") || r.Sock[0] == '.' {
				t.Fatalf("Parse(%q) gave %+v", spec, r)
			}
		}
	})
}
