package pid1

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// These tests run Run in the test process, which is not PID 1: it still
// starts, forwards and reaps the same way. They are not parallel, since Run
// reaps any child of the process. The PID 1 cases proper are in
// cmd/hjk-init, under unshare and docker.

func TestExitStatus(t *testing.T) {
	tests := []struct {
		ws   syscall.WaitStatus
		want int
	}{
		{0, 0},
		{3 << 8, 3},
		{255 << 8, 255},
		{syscall.WaitStatus(syscall.SIGKILL), 137},
		{syscall.WaitStatus(syscall.SIGTERM), 143},
		{syscall.WaitStatus(syscall.SIGSEGV) | 0x80, 139}, // with a core dump
	}
	for _, tt := range tests {
		if got := ExitStatus(tt.ws); got != tt.want {
			t.Errorf("ExitStatus(%#x) = %d, want %d", uint32(tt.ws), got, tt.want)
		}
	}
}

// noTerminal skips a test that would make its command the foreground of
// the terminal go test runs in.
func noTerminal(t *testing.T) {
	if isForeground(0) {
		t.Skip("standard input is this session's terminal: Run would hand it to the command")
	}
}

func TestRunStatus(t *testing.T) {
	noTerminal(t)
	for script, want := range map[string]int{"exit 0": 0, "exit 3": 3, "kill -TERM $$": 143, "kill -KILL $$": 137} {
		got, err := Listen().Run("/bin/sh", []string{"sh", "-c", script}, nil)
		if err != nil || got != want {
			t.Errorf("Run(sh -c %q) = %d, %v; want %d", script, got, err, want)
		}
	}
	if _, err := Listen().Run("/nonexistent", []string{"x"}, nil); err != syscall.ENOENT {
		t.Errorf("Run(/nonexistent) error = %v, want ENOENT", err)
	}
}

// A signal sent to init reaches the command, which sees it as its own.
func TestRunForwards(t *testing.T) {
	noTerminal(t)
	ready := filepath.Join(t.TempDir(), "ready")
	go func() {
		for {
			if _, err := os.Stat(ready); err == nil {
				syscall.Kill(os.Getpid(), syscall.SIGUSR2)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	script := `trap 'exit 42' USR2; touch "$0"; while :; do sleep 0.01; done`
	got, err := Listen().Run("/bin/sh", []string{"sh", "-c", script, ready}, nil)
	if err != nil || got != 42 {
		t.Errorf("Run = %d, %v; want 42 from the USR2 trap", got, err)
	}
}
