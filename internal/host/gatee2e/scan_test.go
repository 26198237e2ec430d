package gatee2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/host/instance"
)

// secrets are the real values that must never reach the agent's
// container, by a label the test may print (never the value).
type secrets map[string]string

// add records value under label, and a distinctive part of it (its
// middle third, at least 12 bytes) under label+" (part)": a value cut,
// re-encoded around or split across fields is still found by its part.
func (s secrets) add(label, value string) {
	if len(value) < 12 {
		panic("a secret too short to scan for: " + label)
	}
	s[label] = value
	n := max(len(value)/3, 12)
	start := (len(value) - n) / 2
	s[label+" (part)"] = value[start : start+n]
}

func (s secrets) longest() int {
	n := 0
	for _, v := range s {
		n = max(n, len(v))
	}
	return n
}

// in returns the labels of the secrets found in b.
func (s secrets) in(b []byte) []string {
	var found []string
	for l, v := range s {
		if bytes.Contains(b, []byte(v)) {
			found = append(found, l)
		}
	}
	slices.Sort(found)
	return found
}

// scan reads r to its end and returns the labels of the secrets in it,
// and how many bytes it read.
func (s secrets) scan(r io.Reader) (found []string, n int64, err error) {
	return newScanner(s).scan(r)
}

// scanner scans streams for secrets with buffers of its own, reused from
// one file to the next. Chunks overlap by the longest secret, so one
// across a boundary is found.
type scanner struct {
	s          secrets
	keep       int
	buf, chunk []byte
}

func newScanner(s secrets) *scanner {
	keep := s.longest()
	return &scanner{s: s, keep: keep, buf: make([]byte, 0, 1<<20+keep), chunk: make([]byte, 1<<20)}
}

func (sc *scanner) scan(r io.Reader) (found []string, n int64, err error) {
	buf := sc.buf[:0]
	seen := map[string]bool{}
	for {
		m, err := r.Read(sc.chunk)
		n += int64(m)
		buf = append(buf, sc.chunk[:m]...)
		if m > 0 {
			for _, l := range sc.s.in(buf) {
				seen[l] = true
			}
		}
		if len(buf) > sc.keep {
			buf = append(buf[:0], buf[len(buf)-sc.keep:]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, n, err
		}
	}
	for l := range seen {
		found = append(found, l)
	}
	slices.Sort(found)
	return found, n, nil
}

// scanTar reads a tar stream and returns, per file, the labels of the
// secrets in it, with the count of files and bytes read.
func (s secrets) scanTar(r io.Reader) (hits map[string][]string, files int, bytes int64, err error) {
	hits = map[string][]string{}
	sc := newScanner(s)
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hits, files, bytes, nil
		}
		if err != nil {
			return hits, files, bytes, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		files++
		found, n, err := sc.scan(tr)
		bytes += n
		if err != nil {
			return hits, files, bytes, err
		}
		if len(found) > 0 {
			hits[h.Name] = found
		}
	}
}

// argvWatch samples the command lines of every process on the host until
// stopped: a secret in any is a failure. It counts the engine execs it
// saw, to show it was looking when hjk ran.
type argvWatch struct {
	s     secrets
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	argvs [][]byte // every distinct command line seen
	execs int
}

func watchArgv(t *testing.T, s secrets) *argvWatch {
	a := &argvWatch{s: s, stop: make(chan struct{}), done: make(chan struct{})}
	go a.loop()
	t.Cleanup(func() { a.check(t) })
	return a
}

func (a *argvWatch) loop() {
	defer close(a.done)
	seen := map[string]bool{}
	for {
		select {
		case <-a.stop:
			return
		case <-time.After(5 * time.Millisecond):
		}
		dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, d := range dirs {
			b, err := os.ReadFile(d)
			if err != nil || len(b) == 0 {
				continue
			}
			key := d + "\x00" + string(b)
			if seen[key] {
				continue
			}
			seen[key] = true
			args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
			a.mu.Lock()
			if len(args) > 1 && slices.Contains(args, "exec") && (strings.HasSuffix(args[0], "docker") || strings.HasSuffix(args[0], "podman")) {
				a.execs++
			}
			a.argvs = append(a.argvs, b)
			a.mu.Unlock()
		}
	}
}

// check stops the watch and fails t for every secret seen in an argv.
func (a *argvWatch) check(t *testing.T) {
	select {
	case <-a.stop:
		return
	default:
	}
	close(a.stop)
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	// The secrets are scanned for only now: the test adds the logins a
	// refresh made while the watch ran, and they count too.
	hits := map[string][]string{} // label -> the programs that had it
	for _, b := range a.argvs {
		prog, _, _ := strings.Cut(string(b), "\x00")
		for _, l := range a.s.in(b) {
			hits[l] = append(hits[l], filepath.Base(prog))
		}
	}
	for l, progs := range hits {
		t.Errorf("%s is in the command line of %v on the host", l, slices.Compact(progs))
	}
	if a.execs == 0 {
		t.Errorf("the argv watch saw no engine exec: it was not looking")
	}
}

// scanAgent looks for the secrets everywhere in the agent's container of
// branch: every process's environment (read as root and as the agent's
// user), every file of its filesystem (`export`), every file it can see
// (its volumes and tmpfs too, through tar run inside), and `inspect` of
// every container and volume of the instance and of the keeper. want is a
// text some process's environment must hold (the session's placeholder
// variables), to show the scan saw a session.
func (w *world) scanAgent(s secrets, branch, want string) {
	t := w.t
	t.Helper()
	in := w.instance(branch)
	e := w.engine

	// Inside, root has no CAP_SYS_PTRACE and reads only its own
	// processes' environments; the agent's uid reads the agent's. The
	// host reads them all (by the container's host pids).
	environs := func(user string) ([]byte, error) {
		return exec.Command(e, "exec", "-u", user, in.Name, "sh", "-c",
			`for f in /proc/[0-9]*/environ; do cat "$f" 2>/dev/null && echo; done; true`).Output()
	}
	fromHost := func() ([]byte, int, error) {
		var out []byte
		pids, err := hostPIDs(e, in.Name)
		for _, p := range pids {
			b, err := os.ReadFile("/proc/" + p + "/environ")
			if err == nil {
				out = append(append(out, b...), '\n')
			}
		}
		return out, len(pids), err
	}
	// The session may still be starting.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, _, err := fromHost()
		if err == nil && bytes.Contains(out, []byte(want)) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("no process environment in the agent's container holds %q: the scan saw no session (%v)", want, err)
			break
		}
	}
	out, procs, err := fromHost()
	if err != nil || procs < 3 {
		t.Errorf("read the environments of %s's %d processes from the host: %v", in.Name, procs, err)
	}
	if found := s.in(out); len(found) > 0 {
		t.Errorf("a process environment in the agent's container holds %v", found)
	}
	for who, user := range map[string]string{"root": "0:0", "the agent": in.User} {
		out, err := environs(user)
		if err != nil {
			t.Errorf("read the environments as %s: %v", who, err)
			continue
		}
		if found := s.in(out); len(found) > 0 {
			t.Errorf("read as %s, a process environment in the agent's container holds %v", who, found)
		}
		if who == "the agent" && !bytes.Contains(out, []byte(want)) {
			t.Errorf("the agent's uid could not read its session's environment")
		}
	}

	export := exec.Command(e, "export", in.Name)
	pipe, _ := export.StdoutPipe()
	if err := export.Start(); err != nil {
		t.Fatal(err)
	}
	hits, files, n, err := s.scanTar(pipe)
	if werr := export.Wait(); err == nil && werr != nil {
		err = werr
	}
	if err != nil || files < 1000 {
		t.Errorf("%s export %s: %v (%d files, %d bytes)", e, in.Name, err, files, n)
	}
	for f, found := range hits {
		t.Errorf("%s in the agent's filesystem holds %v", f, found)
	}
	t.Logf("%s export: %d files, %d bytes scanned", e, files, n)

	// What export leaves out: the volumes, the tmpfs, the bind mounts,
	// seen from inside as root.
	mounts, err := exec.Command(e, "exec", "-u", "0:0", in.Name, "cat", "/proc/self/mountinfo").Output()
	if err != nil {
		t.Fatalf("read the mounts of %s: %v", in.Name, err)
	}
	var dirs []string
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		d := f[4]
		if d == "/" || d == "/proc" || strings.HasPrefix(d, "/proc/") || d == "/sys" || strings.HasPrefix(d, "/sys/") || d == "/dev" || d == "/dev/pts" {
			continue
		}
		dirs = append(dirs, d)
	}
	for _, want := range []string{"/workspace", "/.hjk/data", "/.hjk/gate", "/run/hjk"} {
		if !slices.Contains(dirs, want) {
			t.Errorf("%s is not a mount in %s (mounts: %v)", want, in.Name, dirs)
		}
	}
	inside := exec.Command(e, append([]string{"exec", "-u", "0:0", in.Name, "tar", "-cf", "-", "--ignore-failed-read"}, dirs...)...)
	pipe, _ = inside.StdoutPipe()
	var stderr bytes.Buffer
	inside.Stderr = &stderr
	if err := inside.Start(); err != nil {
		t.Fatal(err)
	}
	hits, files, n, err = s.scanTar(pipe)
	inside.Wait()
	if err != nil || files < 3 {
		t.Errorf("tar of %v in %s: %v (%d files, %d bytes): %s", dirs, in.Name, err, files, n, lastLine(stderr.Bytes()))
	}
	for f, found := range hits {
		t.Errorf("/%s, seen from inside the agent's container, holds %v", f, found)
	}
	t.Logf("the mounts %v: %d files, %d bytes scanned", dirs, files, n)

	w.scanInspect(s, in)
}

// hostPIDs are the host's pids of container c's processes.
func hostPIDs(e, c string) ([]string, error) {
	args := []string{"top", c, "-eo", "pid"}
	if e == "podman" {
		args = []string{"top", c, "hpid"}
	}
	out, err := exec.Command(e, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("%s top %s: %w", e, c, err)
	}
	var pids []string
	for _, f := range strings.Fields(string(out)) {
		if strings.Trim(f, "0123456789") == "" {
			pids = append(pids, f)
		}
	}
	return pids, nil
}

// scanInspect looks for the secrets in `inspect` of the instance's
// containers and volumes and the keeper's.
func (w *world) scanInspect(s secrets, in instance.Instance) {
	t := w.t
	t.Helper()
	keeper := instance.KeeperName(w.data)
	ctrs := []string{in.Name}
	if in.Credentials == instance.CredentialsGate {
		ctrs = append(ctrs, in.GateName(), keeper)
	}
	for _, c := range ctrs {
		out, err := exec.Command(w.engine, "container", "inspect", c).Output()
		if err != nil || len(out) < 100 {
			t.Errorf("%s inspect %s: %v", w.engine, c, err)
		}
		if found := s.in(out); len(found) > 0 {
			t.Errorf("%s inspect %s holds %v", w.engine, c, found)
		}
	}
	vols := strings.Fields(string(run(w.engine, "volume", "ls", "-q")))
	var mine []string
	for _, v := range vols {
		if strings.HasPrefix(v, in.Name+"-") || v == keeper || strings.HasPrefix(v, "hjk-shim-") {
			mine = append(mine, v)
		}
	}
	if len(mine) < len(ctrs)+2 {
		t.Errorf("found only the volumes %v of %s", mine, in.Name)
	}
	out, err := exec.Command(w.engine, append([]string{"volume", "inspect"}, mine...)...).Output()
	if err != nil {
		t.Errorf("%s volume inspect: %v", w.engine, err)
	}
	if found := s.in(out); len(found) > 0 {
		t.Errorf("%s volume inspect of %v holds %v", w.engine, mine, found)
	}
}

// podmanDB scans podman's state database (it records exec sessions) for
// the secrets.
func podmanDB(t *testing.T, s secrets) {
	t.Helper()
	out, err := exec.Command("podman", "info", "--format", "{{.Store.GraphRoot}}").Output()
	if err != nil {
		t.Errorf("podman info: %v", err)
		return
	}
	dbs, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "libpod", "*.db"))
	if len(dbs) == 0 {
		t.Errorf("found no podman state database under %s", strings.TrimSpace(string(out)))
	}
	for _, db := range dbs {
		f, err := os.Open(db)
		if err != nil {
			t.Error(err)
			continue
		}
		found, n, err := s.scan(bufio.NewReader(f))
		f.Close()
		if err != nil {
			t.Error(err)
		}
		if len(found) > 0 {
			t.Errorf("podman's state database %s holds %v", filepath.Base(db), found)
		}
		t.Logf("podman state database %s: %d bytes scanned", filepath.Base(db), n)
	}
}

// noSecretsSaid fails t when hjk printed a secret.
func (w *world) noSecretsSaid(s secrets) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if found := s.in(w.said.Bytes()); len(found) > 0 {
		w.t.Errorf("hjk printed %v", found)
	}
}

// memory is the resident memory (VmRSS) and its peak (VmHWM) of container
// c's processes, in kB, read from the host.
func memory(t *testing.T, e, c string) (rss, peak int) {
	t.Helper()
	pids, err := hostPIDs(e, c)
	if err != nil || len(pids) == 0 {
		t.Errorf("the processes of %s: %v", c, err)
		return 0, 0
	}
	for _, p := range pids {
		b, err := os.ReadFile("/proc/" + p + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			n, _ := strconv.Atoi(f[1])
			switch f[0] {
			case "VmRSS:":
				rss += n
			case "VmHWM:":
				peak += n
			}
		}
	}
	return rss, peak
}
