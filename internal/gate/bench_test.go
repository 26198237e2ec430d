package gate

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// BenchmarkSSE streams one response of server-sent events through the
// built gate (serve and keep as processes, the placeholder swapped on the
// way) and the same response straight from the fake upstream, interleaved
// in one run, and reports time to first byte and total for both, and the
// gate's resident memory.
//
//	paced: 50 events, one every 2 ms, as a model streams tokens. It fails when
//	       the gate adds more than HJK_BENCH_MAX_TTFB_MS (2) to the time to
//	       first byte, or its total is more than HJK_BENCH_MAX_TOTAL_RATIO
//	       (1.05) times the direct one, over at least 10 runs.
//	paced-tls: the same through a route the gate serves over TLS (codex's
//	       ChatGPT login), judged the same way.
//	burst: 500 events at once: the gate's throughput (reported only).
//
//	go test ./internal/gate -run '^$' -bench SSE -benchtime 50x
func BenchmarkSSE(b *testing.B) {
	b.Run("paced", func(b *testing.B) { benchSSE(b, 50, 2*time.Millisecond, true, false) })
	b.Run("paced-tls", func(b *testing.B) { benchSSE(b, 50, 2*time.Millisecond, true, true) })
	b.Run("burst", func(b *testing.B) { benchSSE(b, 500, 0, false, false) })
}

// event is one SSE event the size of a typical content_block_delta.
const event = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"%04d: some streamed words of an answer, about as long as a chunk a model sends\"}}\n\n"

func benchSSE(b *testing.B, events int, gap time.Duration, judge, secure bool) {
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		// Each event at its time from the start, so a late wake-up does
		// not push back every event after it.
		t0 := time.Now()
		for i := range events {
			if gap > 0 {
				time.Sleep(time.Until(t0.Add(time.Duration(i) * gap)))
			}
			fmt.Fprintf(w, event, i)
			f.Flush()
		}
	}))
	up.Config.ErrorLog = log.New(io.Discard, "", 0)
	up.StartTLS()
	defer up.Close()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw}))

	p := startPair(b)
	prep := wire.Prepare{
		Config: wire.Config{Instance: "bench", Routes: []wire.Route{{Name: "claude", Upstream: up.URL, CAPEM: ca,
			Item: "claude-oidc-token", Header: "Authorization", Scheme: "Bearer", Placeholder: placeClaude, TLS: secure}}},
		Logins: []wire.Login{{Item: "claude-oidc-token", Agent: "claude", Kind: "subscription", Secret: realClaude}},
	}
	in, _ := json.Marshal(prep)
	if _, errs, code := gateCmd(b, string(in), "prepare", "--control", p.gctl); code != 0 {
		b.Fatalf("prepare: %s", errs)
	}
	idle := rss(b, p.serve.cmd.Process.Pid, "VmRSS")

	direct := up.Client()
	direct.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: direct.Transport.(*http.Transport).TLSClientConfig.RootCAs}
	viaGate := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", p.gateSockets+"/claude.sock")
	}}}
	gateURL := "http://127.0.0.1:7801/v1/messages"
	if secure {
		ca, err := os.ReadFile(filepath.Join(p.gateSockets, wire.CAFile))
		if err != nil {
			b.Fatal(err)
		}
		pool, err := wire.CertPool(string(ca))
		if err != nil {
			b.Fatal(err)
		}
		viaGate.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
		gateURL = "https://127.0.0.1:7803/v1/messages"
	}
	stream := func(c *http.Client, url, auth string) (ttfb, total time.Duration) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(`{"stream":true}`))
		req.Header.Set("Authorization", auth)
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		if _, err := br.ReadByte(); err != nil {
			b.Fatal(err)
		}
		ttfb = time.Since(t0)
		n, _ := io.Copy(io.Discard, br)
		total = time.Since(t0)
		if want := int64(events*len(fmt.Sprintf(event, 0))) - 1; n != want {
			b.Fatalf("read %d bytes, want %d", n, want)
		}
		return ttfb, total
	}
	gate := func() (time.Duration, time.Duration) {
		return stream(viaGate, gateURL, "Bearer "+placeClaude)
	}
	straight := func() (time.Duration, time.Duration) {
		return stream(direct, up.URL+"/v1/messages", "Bearer "+realClaude)
	}
	for range 3 { // warm the connections on both paths
		gate()
		straight()
	}
	var gTTFB, gTotal, dTTFB, dTotal time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		first, second := gate, straight
		if i%2 == 1 {
			first, second = straight, gate
		}
		t1, a1 := first()
		t2, a2 := second()
		if i%2 == 1 {
			t1, a1, t2, a2 = t2, a2, t1, a1
		}
		gTTFB, gTotal, dTTFB, dTotal = gTTFB+t1, gTotal+a1, dTTFB+t2, dTotal+a2
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / 1e6 }
	b.ReportMetric(ms(dTTFB), "direct-ttfb-ms")
	b.ReportMetric(ms(gTTFB), "gate-ttfb-ms")
	b.ReportMetric(ms(dTotal), "direct-total-ms")
	b.ReportMetric(ms(gTotal), "gate-total-ms")
	ratio := float64(gTotal) / float64(dTotal)
	b.ReportMetric(ratio, "total-ratio")
	b.ReportMetric(float64(idle)/1024, "gate-idle-rss-MB")
	b.ReportMetric(float64(rss(b, p.serve.cmd.Process.Pid, "VmHWM"))/1024, "gate-peak-rss-MB")
	b.ReportMetric(float64(rss(b, p.keep.cmd.Process.Pid, "VmHWM"))/1024, "keeper-peak-rss-MB")
	b.ReportMetric(0, "ns/op") // the pair of runs per op says nothing alone
	if !judge || b.N < 10 {
		return
	}
	if over, max := ms(gTTFB)-ms(dTTFB), envFloat("HJK_BENCH_MAX_TTFB_MS", 2); over > max {
		b.Errorf("the gate adds %.3f ms to the time to first byte (want <= %.3f)", over, max)
	}
	if max := envFloat("HJK_BENCH_MAX_TOTAL_RATIO", 1.05); ratio > max {
		b.Errorf("through the gate the stream takes %.3fx as long (want <= %.2fx)", ratio, max)
	}
}

// rss reads a memory figure (kB) of process pid from /proc.
func rss(b *testing.B, pid int, field string) int {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	b.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}
