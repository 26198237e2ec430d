package creds

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkApplyFresh writes all three agents' files into a clean home:
// what hjk-init does on a container's first session.
func BenchmarkApplyFresh(b *testing.B) {
	env := allEnv("/work/repo")
	root := b.TempDir()
	for i := range b.N {
		b.StopTimer()
		home := filepath.Join(root, strconv.Itoa(i))
		if err := os.Mkdir(home, 0o700); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := Apply(Options{Env: env, Home: home, UID: -1, GID: -1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyUnchanged runs Apply again on a home it already wrote: what
// every later session in the same container does.
func BenchmarkApplyUnchanged(b *testing.B) {
	env := allEnv("/work/repo")
	home := b.TempDir()
	if err := Apply(Options{Env: env, Home: home, UID: -1, GID: -1}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := Apply(Options{Env: env, Home: home, UID: -1, GID: -1}); err != nil {
			b.Fatal(err)
		}
	}
}
