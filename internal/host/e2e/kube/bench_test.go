package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkFirstPrompt: the time from `hjk run BRANCH --agent shell` on a
// terminal to the shell's first prompt on the cluster, against the floor
// of the same image there: `kubectl run` of a bare pod, `kubectl wait` for
// it, `kubectl exec -it` of the same shell to its prompt. Measured in one
// run, interleaved, b.N times each:
//
//	hjk-new      a new instance: claim, keeper, pod (three init containers),
//	             the branch's bundle, the session server
//	hjk-stopped  an instance whose pod `hjk stop` deleted: the pod again
//	hjk-running  an instance whose pod runs: the session alone
//	kubectl      kubectl run + wait + exec -it, a bare pod
//
// scripts/bench runs it (make bench); the medians are reported as metrics.
func BenchmarkFirstPrompt(b *testing.B) {
	w := newWorld(b)
	var times = map[string][]time.Duration{}
	prompt := func(name string, args ...string) {
		start := time.Now()
		tm := w.terminal(b, args...)
		tm.waitFor("$ ")
		times[name] = append(times[name], time.Since(start))
		tm.typeLine("exit")
		tm.exit()
	}
	b.ResetTimer()
	for i := range b.N {
		branch := fmt.Sprintf("bench-%d", i)
		prompt("hjk-new", "run", branch, "--agent", "shell")
		prompt("hjk-running", "run", branch, "--agent", "shell")
		w.ok("stop", branch)
		prompt("hjk-stopped", "run", branch, "--agent", "shell")

		pod := fmt.Sprintf("bench-kubectl-%d", i)
		start := time.Now()
		w.kubectl("run", pod, "--image="+agentsImage, "--image-pull-policy=IfNotPresent", "--restart=Never", "--command", "--", "sleep", "infinity")
		w.kubectl("wait", "--for=condition=Ready", "pod/"+pod, "--timeout=120s")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := w.c.Command(ctx, "--namespace", w.ns, "exec", "-it", pod, "--", "bash")
		tm := w.terminalCmd(b, cmd)
		tm.waitFor("$ ")
		times["kubectl"] = append(times["kubectl"], time.Since(start))
		tm.typeLine("exit")
		tm.exit()
		cancel()
		w.kubectl("delete", "pod", pod, "--wait=false")
		w.ok("rm", "-f", branch)
	}
	b.StopTimer()
	floor := median(times["kubectl"])
	for _, n := range []string{"hjk-new", "hjk-stopped", "hjk-running", "kubectl"} {
		m := median(times[n])
		b.ReportMetric(float64(m.Milliseconds()), n+"-ms")
		b.Logf("%-12s median %6d ms  (%s)  %.2fx kubectl run+exec", n, m.Milliseconds(), list(times[n]), float64(m)/float64(floor))
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func list(d []time.Duration) string {
	var out []string
	for _, x := range d {
		out = append(out, fmt.Sprint(x.Round(10*time.Millisecond)))
	}
	return strings.Join(out, " ")
}
