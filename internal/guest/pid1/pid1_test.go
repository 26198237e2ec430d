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

// A burst of WINCH (a terminal being resized) fills the forwarded signals'
// channel, where signal.Notify drops what does not fit; CHLD has its own
// channel, so the CHLD of an exiting child still arrives.
func TestChildSignalSurvivesBurst(t *testing.T) {
	noTerminal(t)
	i := Listen()
	defer i.stop()
	// The runtime merges a signal still pending into one: send them apart.
	deadline := time.Now().Add(5 * time.Second)
	for len(i.sigs) < cap(i.sigs) && time.Now().Before(deadline) {
		syscall.Kill(os.Getpid(), syscall.SIGWINCH)
		time.Sleep(100 * time.Microsecond)
	}
	if len(i.sigs) != cap(i.sigs) {
		t.Fatalf("the burst did not fill the channel (%d of %d)", len(i.sigs), cap(i.sigs))
	}
	pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-i.chld:
	case <-time.After(5 * time.Second):
		t.Fatal("CHLD was lost behind the WINCH burst")
	}
	var ws syscall.WaitStatus
	syscall.Wait4(pid, &ws, 0, nil)
}

// Run ends with its command's status while WINCH keeps arriving.
func TestRunUnderWinchFlood(t *testing.T) {
	noTerminal(t)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				syscall.Kill(os.Getpid(), syscall.SIGWINCH)
			}
		}
	}()
	done := make(chan int, 1)
	go func() {
		st, _ := Listen().Run("/bin/sh", []string{"sh", "-c", "sleep 0.2; exit 5"}, nil)
		done <- st
	}()
	select {
	case st := <-done:
		if st != 5 {
			t.Errorf("Run = %d, want 5", st)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run never returned under a WINCH flood")
	}
}
