// Command probe is the program hjk-init runs in its tests: each
// subcommand reports one thing about how it was started, or behaves in one
// way an init must cope with.
//
//	probe exit N               exit with code N
//	probe kill N               kill itself with signal N
//	probe signals FILE CODE    append "ready" to FILE, then the name of each
//	                           forwarded signal received; exit CODE after TERM
//	probe orphans N            leave N orphaned grandchildren behind, wait
//	                           for them to exit, then print how many were
//	                           reparented ("orphaned=N") and how many zombies
//	                           /proc still lists ("zombies=N")
//	probe id [FILE...]         print pid, ppid, uid, gid, groups, HOME, and
//	                           for each FILE its owner and mode
//	probe env                  print the names (never the values) of the
//	                           environment's variables, one a line
//	probe fg                   print whether it leads its process group and
//	                           is the terminal's foreground ("pgrp=1 fg=1")
//	probe sleep MS             sleep MS milliseconds
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: probe SUBCOMMAND")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "exit":
		os.Exit(num(args, 0))
	case "kill":
		syscall.Kill(os.Getpid(), syscall.Signal(num(args, 0)))
		time.Sleep(5 * time.Second)
		fail("still alive after the signal")
	case "signals":
		signals(args)
	case "orphans":
		orphans(num(args, 0))
	case "spawn":
		// The middle process of "orphans": start N sleepers, exit at once.
		for i := 0; i < num(args, 0); i++ {
			c := exec.Command(os.Args[0], "sleep", "300")
			if err := c.Start(); err != nil {
				fail(err.Error())
			}
		}
	case "sleep":
		time.Sleep(time.Duration(num(args, 0)) * time.Millisecond)
	case "id":
		id(args)
	case "env":
		var names []string
		for _, kv := range os.Environ() {
			name, _, _ := strings.Cut(kv, "=")
			names = append(names, name)
		}
		sort.Strings(names)
		fmt.Println(strings.Join(names, "\n"))
	case "fg":
		var fg int32
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, 0, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&fg)))
		pg := syscall.Getpgrp()
		fmt.Printf("pgrp=%d fg=%d\n", b2i(pg == os.Getpid()), b2i(errno == 0 && int(fg) == pg))
	default:
		fail("unknown subcommand " + os.Args[1])
	}
}

func signals(args []string) {
	if len(args) != 2 {
		fail("usage: probe signals FILE CODE")
	}
	c := make(chan os.Signal, 16)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fail(err.Error())
	}
	fmt.Fprintln(f, "ready")
	for s := range c {
		fmt.Fprintln(f, s.(syscall.Signal).String())
		if s == syscall.SIGTERM {
			f.Close()
			os.Exit(num(args, 1))
		}
	}
}

func orphans(n int) {
	self, _ := os.Executable()
	if err := exec.Command(self, "spawn", strconv.Itoa(n)).Run(); err != nil {
		fail(err.Error())
	}
	// The sleepers' parent is gone: they now belong to PID 1. Count them,
	// end them, and give init time to reap them.
	var sleepers []int
	for _, p := range procs() {
		if p.ppid == 1 && p.pid != os.Getpid() && strings.Contains(p.cmd, "sleep") {
			sleepers = append(sleepers, p.pid)
		}
	}
	for _, pid := range sleepers {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	// Wait until every sleeper is dead (gone, or a zombie nobody reaped),
	// then give init a moment to reap the zombies.
	state := func(pid int) string {
		for _, p := range procs() {
			if p.pid == pid {
				return p.state
			}
		}
		return "gone"
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range sleepers {
		for s := state(pid); s != "Z" && s != "gone" && time.Now().Before(deadline); s = state(pid) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	zombies := -1
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		zombies = 0
		for _, p := range procs() {
			if p.state == "Z" {
				zombies++
			}
		}
		if zombies == 0 {
			break
		}
	}
	fmt.Printf("orphaned=%d zombies=%d\n", len(sleepers), zombies)
}

type proc struct {
	pid, ppid int
	state     string
	cmd       string
}

// procs lists /proc: pid, parent, state (from stat) and command line.
func procs() []proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		fail(err.Error())
	}
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ")".
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out = append(out, proc{pid, ppid, f[0], strings.ReplaceAll(string(cmd), "\x00", " ")})
	}
	return out
}

func id(files []string) {
	groups, _ := syscall.Getgroups()
	fmt.Printf("pid=%d ppid=%d uid=%d gid=%d groups=%v home=%s\n",
		os.Getpid(), os.Getppid(), os.Getuid(), os.Getgid(), groups, os.Getenv("HOME"))
	for _, f := range files {
		var st syscall.Stat_t
		if err := syscall.Stat(f, &st); err != nil {
			fmt.Printf("%s: %v\n", f, err)
			continue
		}
		fmt.Printf("%s: owner=%d:%d mode=%04o\n", f, st.Uid, st.Gid, st.Mode&0o7777)
	}
}

func num(args []string, i int) int {
	if len(args) <= i {
		fail("missing number")
	}
	n, err := strconv.Atoi(args[i])
	if err != nil {
		fail(err.Error())
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "probe:", msg)
	os.Exit(99)
}
