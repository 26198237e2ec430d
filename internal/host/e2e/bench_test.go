package e2e

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSession compares starting a session in a running instance
// through hjk (catalog, store, then the engine's exec) with the bare
// `<engine> exec` of the same command, interleaved in one run. The agent is
// the stand-in claude, which exits at once; hjk-init writes its files in
// both. It fails when hjk-ms/op is more than 15% (HJK_BENCH_MAX_OVERHEAD)
// above exec-ms/op, over at least 10 runs.
//
//	go test ./internal/host/e2e -run '^$' -bench Session -benchtime 30x
func BenchmarkSession(b *testing.B) {
	for _, e := range engines {
		b.Run(e, func(b *testing.B) { benchSession(b, e) })
	}
}

func benchSession(b *testing.B, e string) {
	h := newHarness(b, e)
	token := h.storeClaude()
	h.ok("run", "bench", "--agent", "claude", "--", "--exit")
	in := h.ps()["bench"]
	hjk := func() *exec.Cmd { return h.command("run", "bench", "--agent", "claude", "--", "--exit") }
	bare := func() *exec.Cmd {
		cmd := exec.Command(e, "exec", "-i", "--workdir", in.Worktree, "-e", "HJK_WORKDIR", "-e", "CLAUDE_CODE_OAUTH_TOKEN",
			in.Name, "/.hjk/hjk-init", "--", "claude", "--exit")
		cmd.Env = append(os.Environ(), "HJK_WORKDIR="+in.Worktree, "CLAUDE_CODE_OAUTH_TOKEN="+token)
		return cmd
	}
	timed := func(cmd *exec.Cmd) time.Duration {
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", cmd.Args[0], err, out)
		}
		return time.Since(t0)
	}
	for range 3 { // warm caches on both paths
		timed(hjk())
		timed(bare())
	}
	var th, tb time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			th += timed(hjk())
			tb += timed(bare())
		} else {
			tb += timed(bare())
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
		b.Errorf("a session through hjk is %.1f%% slower than the bare exec (limit %.0f%%, HJK_BENCH_MAX_OVERHEAD)", over, limit)
	}
}
