package instance

import (
	"context"
	"reflect"
	"sync"
	"testing"
)

// TestSteps: the slow steps are announced, each ended, in order: a new
// instance makes its worktree and its container; a stopped one is started.
func TestSteps(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	f := newFake(testImage)
	m := newManager(t, f)
	var mu sync.Mutex
	var log []string
	m.Step = func(what string) func() {
		mu.Lock()
		log = append(log, "begin "+what)
		mu.Unlock()
		return func() {
			mu.Lock()
			log = append(log, "end "+what)
			mu.Unlock()
		}
	}
	in, _, err := m.Ensure(ctx, want(r, "steps"))
	if err != nil {
		t.Fatal(err)
	}
	wantLog := []string{
		`begin making the worktree of "steps"`, `end making the worktree of "steps"`,
		`begin creating and starting the container of "steps" (` + testImage + `)`,
		`end creating and starting the container of "steps" (` + testImage + `)`,
	}
	if !reflect.DeepEqual(log, wantLog) {
		t.Errorf("steps of a new instance:\n%q\nwant\n%q", log, wantLog)
	}
	log = nil
	if err := m.Stop(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, act, err := m.Ensure(ctx, want(r, "steps")); err != nil || act != Started {
		t.Fatalf("Ensure = %v, %v", act, err)
	}
	wantLog = []string{`begin starting the container of "steps"`, `end starting the container of "steps"`}
	if !reflect.DeepEqual(log, wantLog) {
		t.Errorf("steps of a stopped instance:\n%q\nwant\n%q", log, wantLog)
	}
	// A running instance has no slow step.
	log = nil
	if _, _, err := m.Ensure(ctx, want(r, "steps")); err != nil || len(log) != 0 {
		t.Errorf("Ensure of a running instance: %v, steps %q", err, log)
	}
}
