package remotee2e

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/testinfra"
)

// BenchmarkRemoteTransfer counts what hjk sends to a remote engine, through
// a proxy on the engine's socket (DOCKER_HOST=tcp://127.0.0.1:PORT): every
// byte of every API call, the bundles and the rest. On the 50,000-commit
// repository of scripts/bench-repo, the first instance (the engine already
// has this hjk's shim volume, made once per version) must send at most
// 1.1x the size of `git bundle create --all` (HJK_BENCH_MAX_FIRST), and a
// sync after 10 new host commits at most 2x the size of those commits'
// objects, packed on their own (HJK_BENCH_MAX_SYNC). It also tells the
// size of the thin bundle of those commits (deltas against objects the
// instance has: what hjk sends), against which the rest of a sync's bytes
// (an inspect, two execs) show.
//
//	go test ./internal/host/remotee2e -run '^$' -bench RemoteTransfer -benchtime 1x
func BenchmarkRemoteTransfer(b *testing.B) {
	e := testinfra.RemoteEngine(b, "docker")
	img := agentImage(b, e)
	p := newProxy(b, strings.TrimPrefix(e.Host, "unix://"))
	aimed := []string{"DOCKER_HOST=tcp://" + p.addr}

	// The shim goes once per engine and version: a first, small instance
	// brings it.
	warm := newHarness(b, e, img)
	warm.okWith(aimed, "run", "warm", "--agent", "shell", "true")
	p.settle()
	shim := p.up.Load()
	warm.okWith(aimed, "rm", "-f", "warm")

	h := newHarness(b, e, img)
	repo := benchRepo(b)
	os.RemoveAll(h.repo)
	h.git("clone", "-q", repo, h.repo)
	h.git("-C", h.repo, "config", "user.name", "Test")
	h.git("-C", h.repo, "config", "user.email", "test@example.com")
	all := bundleSize(b, h, "--all")

	b.ResetTimer()
	p.reset()
	t0 := time.Now()
	h.okWith(aimed, "run", "bench", "--agent", "shell", "true")
	p.settle()
	first, firstDown, firstTime := p.up.Load(), p.down.Load(), time.Since(t0)

	old := h.git("-C", h.repo, "rev-parse", "refs/heads/bench")
	h.git("-C", h.repo, "checkout", "-q", "bench")
	for i := range 10 {
		f := filepath.Join(h.repo, fmt.Sprintf("d%d", i*7%100), fmt.Sprintf("f%d.txt", i*7))
		os.WriteFile(f, []byte(fmt.Sprintf("changed on the host, %d\n", i)), 0o644)
		h.git("-C", h.repo, "commit", "-q", "-a", "-m", "host "+strconv.Itoa(i))
	}
	h.git("-C", h.repo, "checkout", "-q", "main")
	objects := packSize(b, h, old, "refs/heads/bench")
	thin := bundleSize(b, h, "refs/heads/bench", "^"+old)
	p.reset()
	t0 = time.Now()
	h.okWith(nil, "sync", "bench")
	p.settle()
	sync, syncDown, syncTime := p.up.Load(), p.down.Load(), time.Since(t0)
	b.StopTimer()
	want := h.git("-C", h.repo, "rev-parse", "refs/heads/bench")
	if got := strings.TrimSpace(h.ok("exec", "bench", "--", "git", "rev-parse", "HEAD")); got != want {
		b.Fatalf("after sync the instance is at %s, want %s", got, want)
	}
	h.ok("rm", "-f", "bench")

	ratio1, ratio2 := float64(first)/float64(all), float64(sync)/float64(objects)
	b.ReportMetric(float64(first), "first-B-sent")
	b.ReportMetric(float64(all), "bundle-all-B")
	b.ReportMetric(ratio1, "first/bundle-all")
	b.ReportMetric(float64(sync), "sync-B-sent")
	b.ReportMetric(float64(objects), "new-objects-B")
	b.ReportMetric(ratio2, "sync/new-objects")
	b.ReportMetric(float64(thin), "thin-bundle-B")
	b.Logf("shim, once per engine and version: %d B sent (with a first small instance)", shim)
	b.Logf("first instance: %d B sent, %d B received, %s; git bundle create --all: %d B (%.3fx)", first, firstDown, firstTime.Round(time.Millisecond), all, ratio1)
	b.Logf("sync of 10 commits: %d B sent, %d B received, %s; their objects packed: %d B (%.2fx); as a thin bundle (deltas against what the instance has, what hjk sends): %d B (%.2fx)",
		sync, syncDown, syncTime.Round(time.Millisecond), objects, ratio2, thin, float64(sync)/float64(thin))
	if max := limit("HJK_BENCH_MAX_FIRST", 1.1); ratio1 > max {
		b.Errorf("the first instance sent %.3fx the size of git bundle create --all (limit %.2fx, HJK_BENCH_MAX_FIRST)", ratio1, max)
	}
	if max := limit("HJK_BENCH_MAX_SYNC", 2); ratio2 > max {
		b.Errorf("the sync sent %.2fx the size of the new objects (limit %.2fx, HJK_BENCH_MAX_SYNC)", ratio2, max)
	}
}

func limit(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

// benchRepo is scripts/bench-repo's repository (50,000 commits, 20,000
// files), made once under the test cache.
func benchRepo(b testing.TB) string {
	b.Helper()
	dir := filepath.Join(cmp.Or(os.Getenv("HJK_TEST_CACHE"), "/var/cache/hjk-test"), "bench-repo-50000")
	cmd := exec.Command("scripts/bench-repo", dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("scripts/bench-repo: %v\n%s", err, out)
	}
	return dir
}

// bundleSize is the size of `git bundle create` of args.
func bundleSize(b testing.TB, h *harness, args ...string) int64 {
	b.Helper()
	p := filepath.Join(b.TempDir(), "all.bundle")
	h.git(append([]string{"-C", h.repo, "bundle", "create", "-q", p}, args...)...)
	fi, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// packSize is the size of the objects in tip and not in old, as one pack.
func packSize(b testing.TB, h *harness, old, tip string) int64 {
	b.Helper()
	list := h.git("-C", h.repo, "rev-list", "--objects", tip, "^"+old)
	cmd := exec.Command("git", "-C", h.repo, "pack-objects", "--stdout", "-q")
	cmd.Stdin = strings.NewReader(list + "\n")
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("git pack-objects: %v", err)
	}
	return int64(len(out))
}

// proxy forwards TCP connections on loopback to a unix socket and counts
// the bytes each way.
type proxy struct {
	addr     string
	up, down atomic.Int64
	open     atomic.Int64 // connections not yet ended
}

func newProxy(b testing.TB, socket string) *proxy {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String()}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.open.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer p.open.Add(-1)
				p.serve(ctx, c, socket)
			}()
		}
	}()
	return p
}

// settle waits for the connections of the commands that ended to end too,
// so that everything they carried is counted.
func (p *proxy) settle() {
	for deadline := time.Now().Add(10 * time.Second); p.open.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proxy) reset() { p.settle(); p.up.Store(0); p.down.Store(0) }

func (p *proxy) serve(ctx context.Context, c net.Conn, socket string) {
	defer c.Close()
	s, err := (&net.Dialer{}).DialContext(ctx, "unix", socket)
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn, n *atomic.Int64) {
		io.Copy(counting{dst, n}, src)
		// A half-close passes the end of a stream on (exec's stdin).
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(s, c, &p.up)
	go pipe(c, s, &p.down)
	select {
	case <-done:
		<-done
	case <-ctx.Done():
	}
}

// counting counts what is written through it.
type counting struct {
	w io.Writer
	n *atomic.Int64
}

func (c counting) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}
