package gatee2e

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/fakeapi"
)

// probe is run by node in the agent's container: it tries each of its
// targets and prints one JSON line per target. "direct" opens a TCP
// connection; "connect" asks the gate's proxy for a tunnel and, when it is
// given, speaks TLS and GET / through it; "get" is a plain-HTTP request
// through the proxy.
const probe = `
const net = require('net'), tls = require('tls'), http = require('http');
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const proxy = {host: '127.0.0.1', port: 7800};
async function direct(t) {
  return new Promise((res) => {
    const s = net.connect({host: t.host, port: t.port, timeout: 3000});
    s.on('connect', () => { s.destroy(); res({ok: true}); });
    s.on('timeout', () => { s.destroy(); res({ok: false, err: 'timeout'}); });
    s.on('error', (e) => res({ok: false, err: e.code || String(e)}));
  });
}
async function connect(t) {
  return new Promise((res) => {
    const r = http.request({...proxy, method: 'CONNECT', path: t.host + ':' + t.port});
    r.on('connect', (resp, sock, head) => {
      if (resp.statusCode !== 200) {
        // The refusal's body comes with the head of the answer, or after.
        let body = head.toString();
        const done = () => { sock.destroy(); res({status: resp.statusCode, body}); };
        sock.on('data', (d) => { body += d; });
        sock.on('end', done);
        sock.on('close', done);
        setTimeout(done, 2000);
        return;
      }
      const c = tls.connect({socket: sock, servername: 'localhost', rejectUnauthorized: false}, () => {
        c.write('GET / HTTP/1.1\r\nHost: ' + t.host + '\r\nConnection: close\r\n\r\n');
      });
      let body = '';
      c.on('data', (d) => body += d);
      c.on('end', () => res({status: 200, body}));
      c.on('error', (e) => res({status: 200, err: String(e), body}));
    });
    r.on('error', (e) => res({err: String(e)}));
    r.end();
  });
}
async function get(t) {
  return new Promise((res) => {
    const r = http.request({...proxy, method: 'GET', path: 'http://' + t.host + ':' + t.port + '/', headers: {Host: t.host}});
    r.on('response', (resp) => {
      let body = '';
      resp.on('data', (d) => body += d);
      resp.on('end', () => res({status: resp.statusCode, body}));
    });
    r.on('error', (e) => res({err: String(e)}));
    r.end();
  });
}
(async () => {
  for (const t of JSON.parse(process.argv[1])) {
    const f = {direct, connect, get}[t.kind];
    let timer;
    const late = new Promise((res) => { timer = setTimeout(() => res({err: 'no answer in 10 s'}), 10000); });
    say({name: t.name, ...(await Promise.race([f(t), late]))});
    clearTimeout(timer);
  }
  process.exit(0);
})();
`

type target struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Host string `json:"host"`
	Port int    `json:"port"`
}

type outcome struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Err    string `json:"err"`
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// hostIP is an address of this machine's other than loopback: where a
// server the gate can reach (it has the host's network) listens.
func hostIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Fatal("this machine has no address besides loopback")
	return ""
}

// TestGateEgress: the agent's container has no way out but the gate. A
// direct connection to servers the gate reaches fails; a host that is not
// allowed gets the refusal text naming it and the command that allows it
// (CONNECT and plain HTTP), and `hjk network` shows it; a host the user
// allowed is tunnelled.
func TestGateEgress(t *testing.T) {
	forEngine(t, func(t *testing.T, e string) {
		w := newWorld(t, e, fakeapi.Options{})
		ip := hostIP(t)
		allowed := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "allowed-server-answer-5e1f")
		}))
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		allowed.Listener.Close()
		allowed.Listener = ln
		allowed.Config.ErrorLog = log.New(io.Discard, "", 0)
		allowed.StartTLS()
		defer allowed.Close()
		aport := ln.Addr().(*net.TCPAddr).Port
		u, _ := url.Parse(w.fake.URL())
		fport, _ := strconv.Atoi(u.Port())

		l := claudeLogin(w.fake)
		w.save(l.agent, l.kind, l.secret)
		w.upstream(l.agent, fakeapi.Anthropic)
		w.ok("config", "network.allow", "+"+ip)
		w.ok("config", "network", "agents")
		if r := w.hjk("run", "b", "--agent", "claude", "--", "-p", "hi"); r.code != 0 {
			t.Fatalf("claude -p: exit %d\n%s", r.code, r.stderr)
		}

		targets := []target{
			{"direct to the fake upstream", "direct", "127.0.0.1", fport},
			{"direct to the allowed server", "direct", ip, aport},
			{"a host not allowed", "connect", "notallowed.example", 443},
			{"plain HTTP to a host not allowed", "get", "plain.notallowed.example", 80},
			{"the fake upstream through the proxy", "connect", "127.0.0.1", fport},
			{"the allowed server", "connect", ip, aport},
		}
		arg, _ := json.Marshal(targets)
		out := w.ok("exec", "b", "--", "node", "-e", probe, string(arg))
		got := map[string]outcome{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var o outcome
			if err := json.Unmarshal([]byte(line), &o); err != nil {
				t.Fatalf("the probe printed %q: %v", line, err)
			}
			got[o.Name] = o
			t.Logf("%s: ok=%v err=%q status=%d body=%.120q", o.Name, o.OK, o.Err, o.Status, o.Body)
		}
		for _, n := range targets[:2] {
			if o := got[n.Name]; o.OK || o.Err == "" {
				t.Errorf("%s: %+v, want a failure", n.Name, o)
			}
		}
		for _, host := range []string{"notallowed.example", "plain.notallowed.example"} {
			name := "a host not allowed"
			if strings.HasPrefix(host, "plain.") {
				name = "plain HTTP to a host not allowed"
			}
			o := got[name]
			want := "hjk config network.allow +" + host
			if o.Status != http.StatusForbidden || !strings.Contains(o.Body, host+" is not allowed") || !strings.Contains(o.Body, want) {
				t.Errorf("%s: status %d, body %q; want 403 naming %s and %q", name, o.Status, o.Body, host, want)
			}
		}
		// Loopback is reached only for a host the list names exactly.
		if o := got["the fake upstream through the proxy"]; o.Status != http.StatusForbidden {
			t.Errorf("the fake upstream (loopback) through the proxy: %+v, want 403", o)
		}
		if o := got["the allowed server"]; o.Status != 200 || !strings.Contains(o.Body, "allowed-server-answer-5e1f") {
			t.Errorf("the allowed server: %+v, want its answer through the tunnel", o)
		}

		netOut := w.ok("network", "b")
		for _, want := range []string{"network: agents", ip, "CONNECT  notallowed.example", "plain.notallowed.example"} {
			if !strings.Contains(netOut, want) {
				t.Errorf("hjk network b does not show %q:\n%s", want, netOut)
			}
		}
		var refused []map[string]any
		if err := json.Unmarshal([]byte(w.ok("network", "b", "--json")), &refused); err != nil {
			t.Fatal(err)
		}
		hosts := fmt.Sprint(refused)
		if !strings.Contains(hosts, "notallowed.example") || !strings.Contains(hosts, "127.0.0.1") {
			t.Errorf("hjk network b --json: %s", hosts)
		}
	})
}
