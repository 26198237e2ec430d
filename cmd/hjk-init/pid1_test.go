package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// asPID1 runs hjk-init as PID 1 of a new PID namespace with its own /proc.
func asPID1(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	needRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatal("unshare (util-linux) is missing")
	}
	cmd := exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc", bin}, args...)...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	return cmd
}

// initPID is the host pid of the PID 1 that unshare (pid) forked.
func initPID(t *testing.T, unshare int) int {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/task/%d/children", unshare, unshare)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, _ := os.ReadFile(path)
		if f := strings.Fields(string(b)); len(f) > 0 {
			pid, _ := strconv.Atoi(f[0])
			return pid
		}
	}
	t.Fatal("unshare started no PID 1")
	return 0
}

// waitStarted waits until pid runs hjk-init and has settled: an idle init
// prints nothing that says it is ready, so wait until every thread has been
// asleep for 50 ms running (the Go runtime started, main blocked on its
// signal channel).
func waitStarted(t *testing.T, pid int) {
	t.Helper()
	asleep := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != bin {
			continue
		}
		if allSleeping(pid) {
			asleep++
		} else {
			asleep = 0
		}
		if asleep >= 5 {
			return
		}
	}
	t.Fatalf("pid %d never settled running %s", pid, bin)
}

func allSleeping(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		s := string(b)
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) == 0 || f[0] != "S" {
			return false
		}
	}
	return true
}

// waitFile waits until the file holds want.
func waitFile(t *testing.T, file, want string) string {
	t.Helper()
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, _ = os.ReadFile(file)
		if strings.Contains(string(b), want) {
			return string(b)
		}
	}
	t.Fatalf("%s holds %q, never %q", file, b, want)
	return ""
}

// The runtime signals PID 1 (docker stop, docker kill -s): each forwarded
// signal reaches COMMAND, and COMMAND's exit status comes back.
func TestPID1ForwardsSignals(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "signals")
	cmd := asPID1(t, "--", probe, "signals", file, "3")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	init := initPID(t, cmd.Process.Pid)
	waitFile(t, file, "ready")
	sent := []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
	for _, s := range sent {
		if err := syscall.Kill(init, s); err != nil {
			t.Fatal(err)
		}
		waitFile(t, file, s.String())
	}
	if err := syscall.Kill(init, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Errorf("exit %d (%v), want the probe's 3; stderr %q", code, err, stderr.String())
	}
	got, _ := os.ReadFile(file)
	want := "ready\n"
	for _, s := range append(sent, syscall.SIGTERM) {
		want += s.String() + "\n"
	}
	if string(got) != want {
		t.Errorf("the probe saw\n%s\nwant\n%s", got, want)
	}
}

// Orphans are reparented to PID 1, which must reap them. The control run,
// with the probe itself as PID 1, shows the check finds the zombies an init
// that does not reap leaves.
func TestPID1ReapsOrphans(t *testing.T) {
	t.Parallel()
	r := runCmd(t, asPID1(t, "--", probe, "orphans", "3"))
	if r.code != 0 || strings.TrimSpace(r.stdout) != "orphaned=3 zombies=0" {
		t.Errorf("under hjk-init: exit %d, %q, want orphaned=3 zombies=0; stderr %q", r.code, r.stdout, r.stderr)
	}
	control := exec.Command("unshare", "--pid", "--fork", "--mount-proc", probe, "orphans", "3")
	if r := runCmd(t, control); strings.TrimSpace(r.stdout) != "orphaned=3 zombies=3" {
		t.Errorf("control without an init: %q, want orphaned=3 zombies=3", r.stdout)
	}
}

// Every exit code from 0 to 255 passes through PID 1 unchanged.
func TestPID1ExitCodes(t *testing.T) {
	needRoot(t)
	t.Parallel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for code := 0; code < 256; code++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", bin, "--", probe, "exit", strconv.Itoa(code))
			out, _ := cmd.CombinedOutput()
			if got := cmd.ProcessState.ExitCode(); got != code {
				t.Errorf("probe exit %d: hjk-init exited %d (%q)", code, got, out)
			}
		}()
	}
	wg.Wait()
}

func TestPID1Failures(t *testing.T) {
	t.Parallel()
	plain := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"SIGKILL", []string{"--", probe, "kill", "9"}, 128 + 9, ""},
		{"SIGTERM", []string{"--", probe, "kill", "15"}, 128 + 15, ""},
		{"SIGINT", []string{"--", probe, "kill", "2"}, 128 + 2, ""},
		{"SIGHUP", []string{"--", probe, "kill", "1"}, 128 + 1, ""},
		{"not found", []string{"--", "/nonexistent"}, 127, "hjk-init: /nonexistent: no such file or directory"},
		{"not in PATH", []string{"--", "hjk-no-such-program"}, 127, "command not found in PATH"},
		{"not executable", []string{"--", plain}, 126, "permission denied"},
		{"bad payload", []string{"--", probe, "exit", "0"}, 125, "GEMINI_OAUTH_CREDS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := asPID1(t, tt.args...)
			if tt.name == "bad payload" {
				cmd.Env = append(cmd.Env, "GEMINI_OAUTH_CREDS=[1,2]")
			}
			r := runCmd(t, cmd)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d, %q", r.code, r.stderr, tt.code, tt.stderr)
			}
		})
	}
}

// Without COMMAND, PID 1 stays up (this replaces `sleep infinity`) until
// TERM, then exits 0.
func TestPID1Idle(t *testing.T) {
	t.Parallel()
	cmd := asPID1(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	init := initPID(t, cmd.Process.Pid)
	waitStarted(t, init)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Signals that must not end it: HUP is fatal to a Go program that
	// does not handle it.
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGWINCH} {
		syscall.Kill(init, s)
	}
	select {
	case err := <-done:
		t.Fatalf("idle init exited early: %v, stderr %q", err, stderr.String())
	case <-time.After(300 * time.Millisecond):
	}
	start := time.Now()
	syscall.Kill(init, syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("idle init after TERM: %v, stderr %q", err, stderr.String())
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("idle init took %v to stop with nothing to wait for", d)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("idle init did not exit on TERM")
	}
}

// With a terminal, COMMAND leads its own process group and is the
// terminal's foreground group, so Ctrl-C and job control reach it.
func TestPID1Foreground(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	cmd := asPID1(t, "--", probe, "fg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var out bytes.Buffer
	readDone := make(chan struct{})
	go func() { out.ReadFrom(ptmx); close(readDone) }()
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
		ptmx.Close()
		<-readDone
	}
	if got := strings.TrimSpace(out.String()); got != "pgrp=1 fg=1" {
		t.Errorf("probe reported %q, want pgrp=1 fg=1", got)
	}
}
