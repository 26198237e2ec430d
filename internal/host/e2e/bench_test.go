package e2e

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/layout"
)

// BenchmarkSession compares a session in a running instance through hjk
// (catalog, then the engine's execs: the instance's status, the session,
// the bundle of its new commits) with the same three bare `<engine> exec`
// calls, interleaved in one run. The session is a shell running true. It
// fails when hjk-ms/op is more than 15% (HJK_BENCH_MAX_OVERHEAD) above
// exec-ms/op, over at least 10 runs: what hjk adds of its own, not what
// the design asks of the engine.
//
//	go test ./internal/host/e2e -run '^$' -bench Session -benchtime 30x
func BenchmarkSession(b *testing.B) {
	for _, e := range engines {
		b.Run(e, func(b *testing.B) { benchSession(b, e) })
	}
}

func benchSession(b *testing.B, e string) {
	h := newHarness(b, e)
	h.ok("run", "bench", "--agent", "shell", "true")
	in := h.ps()["bench"]
	tip := h.git("rev-parse", "refs/heads/bench")
	hjk := func() *exec.Cmd { return h.command("run", "bench", "--agent", "shell", "true") }
	bare := func(args ...string) *exec.Cmd {
		return exec.Command(e, append([]string{"exec", "-i", "--workdir", layout.Workdir, "--user", in.User, in.Name, layout.InitPath}, args...)...)
	}
	timed := func(cmds ...*exec.Cmd) time.Duration {
		t0 := time.Now()
		for _, cmd := range cmds {
			if out, err := cmd.CombinedOutput(); err != nil {
				if code, ok := err.(*exec.ExitError); !ok || code.ExitCode() != layout.ExitNothing {
					b.Fatalf("%s: %v\n%s", cmd.Args, err, out)
				}
			}
		}
		return time.Since(t0)
	}
	execs := func() time.Duration {
		return timed(bare("repo", "status", "--branch", "bench"),
			bare("--", "/bin/sh", "-c", "true"),
			bare("repo", "bundle", "--branch", "bench", "--not", tip))
	}
	for range 3 { // warm caches on both paths
		timed(hjk())
		execs()
	}
	var th, tb time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			th += timed(hjk())
			tb += execs()
		} else {
			tb += execs()
			th += timed(hjk())
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / 1e6 }
	b.ReportMetric(ms(th), "hjk-ms/op")
	b.ReportMetric(ms(tb), "exec-ms/op")
	over := 100 * (float64(th)/float64(tb) - 1)
	b.ReportMetric(over, "overhead-%")
	limit := 15.0
	if v, err := strconv.ParseFloat(os.Getenv("HJK_BENCH_MAX_OVERHEAD"), 64); err == nil {
		limit = v
	}
	if b.N >= 10 && over > limit {
		b.Errorf("a session through hjk is %.1f%% slower than its bare execs (limit %.0f%%, HJK_BENCH_MAX_OVERHEAD)", over, limit)
	}
}
