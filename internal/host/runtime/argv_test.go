package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCreateArgs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := Spec{
		Name:       "hjk-demo-main",
		Image:      "hjk-agents:1",
		Labels:     map[string]string{"dev.hjk.repo": "/src/demo", "dev.hjk.branch": "main"},
		Mounts:     []Mount{{Source: dir, Target: "/work"}, {Source: dir, Target: "/.hjk", ReadOnly: true}},
		Workdir:    "/work",
		Env:        []string{"HJK_WORKDIR=/work"},
		Entrypoint: []string{"/.hjk/hjk-init", "--"},
		User:       "1000:1000",
	}
	common := []string{"--label", "dev.hjk.branch=main", "--label", "dev.hjk.repo=/src/demo",
		"--mount", "type=bind,source=" + dir + ",target=/work",
		"--mount", "type=bind,source=" + dir + ",target=/.hjk,readonly",
		"--workdir", "/work", "--env", "HJK_WORKDIR=/work", "--user", "1000:1000",
		"--entrypoint", "/.hjk/hjk-init", "hjk-agents:1", "--"}
	for _, r := range []struct {
		name string
		args func(Spec) ([]string, error)
	}{
		{"docker", (&engine{name: "docker", bin: "docker"}).createArgs},
		{"podman", (&engine{name: "podman", bin: "podman"}).createArgs},
		{"container", (&apple{bin: "container"}).createArgs},
	} {
		got, err := r.args(spec)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		want := append([]string{r.name, "run", "-d", "--name", "hjk-demo-main"}, common...)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", r.name, got, want)
		}
	}
}

func TestCreateArgsRefuses(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d := &engine{name: "docker", bin: "docker"}
	for _, spec := range []Spec{
		{Image: "i"},
		{Name: "n"},
		{Name: "n", Image: "i", Labels: map[string]string{"a=b": "c"}},
		{Name: "n", Image: "i", Mounts: []Mount{{Source: "/a,b", Target: "/x"}}},
		{Name: "n", Image: "i", Env: []string{"NOVALUE"}},
	} {
		if args, err := d.createArgs(spec); err == nil {
			t.Errorf("%+v: accepted as %q", spec, args)
		}
	}
	// Apple's container mounts folders only: a file is refused, by name.
	_, err := (&apple{bin: "container"}).createArgs(Spec{Name: "n", Image: "i", Mounts: []Mount{{Source: file, Target: "/f"}}})
	if err == nil || !strings.Contains(err.Error(), "folders only") || !strings.Contains(err.Error(), file) {
		t.Errorf("file mount on Apple's container: %v", err)
	}
	_, err = (&apple{bin: "container"}).createArgs(Spec{Name: "n", Image: "i", Labels: map[string]string{"dev.hjk.branch": "a=b"}})
	if err == nil || !strings.Contains(err.Error(), "dev.hjk.branch") {
		t.Errorf("label value with '=' on Apple's container: %v", err)
	}
	// docker takes it.
	if _, err := d.createArgs(Spec{Name: "n", Image: "i", Mounts: []Mount{{Source: file, Target: "/f"}}}); err != nil {
		t.Errorf("file mount on docker: %v", err)
	}
}

const fakeSecret = "sk-ant-oat01-FAKE-not-a-real-token"

func TestExecArgs(t *testing.T) {
	t.Parallel()
	spec := ExecSpec{
		Container: "c1", Cmd: []string{"/.hjk/hjk-init", "--", "claude"},
		Workdir: "/work", User: "agent", TTY: true, Interactive: true,
		Env:    []string{"CLAUDE_CODE_OAUTH_TOKEN"},
		Values: []string{"CLAUDE_CODE_OAUTH_TOKEN=" + fakeSecret},
	}
	tail := []string{"exec", "-i", "-t", "--workdir", "/work", "--user", "agent", "-e", "CLAUDE_CODE_OAUTH_TOKEN", "c1", "/.hjk/hjk-init", "--", "claude"}
	for _, r := range []struct {
		name string
		args func(ExecSpec) ([]string, error)
	}{
		{"docker", (&engine{name: "docker", bin: "docker"}).execArgs},
		{"podman", (&engine{name: "podman", bin: "podman"}).execArgs},
		{"container", (&apple{bin: "container"}).execArgs},
	} {
		got, err := r.args(spec)
		if err != nil {
			t.Fatal(err)
		}
		if want := append([]string{r.name}, tail...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", r.name, got, want)
		}
		if strings.Contains(strings.Join(got, " "), "FAKE") {
			t.Errorf("%s: the secret is in argv", r.name)
		}
	}
}

func TestExecArgsRefusesValuesInArgv(t *testing.T) {
	t.Parallel()
	d := &engine{name: "docker", bin: "docker"}
	for _, spec := range []ExecSpec{
		{Container: "c", Cmd: []string{"sh"}, Env: []string{"TOKEN=" + fakeSecret}},
		{Container: "c", Cmd: []string{"sh"}, Values: []string{"TOKEN=" + fakeSecret}},
		{Container: "c", Cmd: []string{"sh"}, Env: []string{"A"}, Values: []string{"B=" + fakeSecret}},
		{Container: "c"},
		{Container: "c", Cmd: []string{"sh"}, Env: []string{"OPENAI*"}},
		{Container: "c", Cmd: []string{"sh"}, Env: []string{"1A"}},
		{Container: "c", Cmd: []string{"sh"}, Env: []string{"A-B"}},
		{Container: "c", Cmd: []string{"sh"}, Env: []string{"A\tB"}},
	} {
		args, err := d.execArgs(spec)
		if err == nil {
			t.Errorf("accepted as %q", args)
			continue
		}
		if strings.Contains(err.Error(), "FAKE") {
			t.Errorf("the error holds the secret")
		}
	}
}

func TestListArgs(t *testing.T) {
	t.Parallel()
	labels := map[string]string{"dev.hjk": "1", "dev.hjk.repo": "/src/demo"}
	got := (&engine{name: "docker", bin: "docker"}).listArgs(labels)
	want := []string{"docker", "ps", "-a", "--no-trunc", "--format", "{{json .}}", "--filter", "label=dev.hjk=1", "--filter", "label=dev.hjk.repo=/src/demo"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("docker: %q", got)
	}
	got = (&engine{name: "podman", bin: "podman"}).listArgs(labels)
	want = []string{"podman", "ps", "-a", "--no-trunc", "--format", "json", "--filter", "label=dev.hjk=1", "--filter", "label=dev.hjk.repo=/src/demo"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("podman: %q", got)
	}
}

func TestBuildArgs(t *testing.T) {
	t.Parallel()
	got, err := buildArgs([]string{"container", "build"}, BuildSpec{Tag: "t:1", Context: "ctx", Dockerfile: "ctx/D", Args: map[string]string{"B": "2", "A": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"container", "build", "-t", "t:1", "-f", "ctx/D", "--build-arg", "A=1", "--build-arg", "B=2", "ctx"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
	if _, err := buildArgs(nil, BuildSpec{Context: "x"}); err == nil {
		t.Error("build without a tag accepted")
	}
}

func TestSeconds(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{0: "0", time.Millisecond: "1", 10 * time.Second: "10", 1500 * time.Millisecond: "2"} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%v) = %s, want %s", d, got, want)
		}
	}
}

// fakeCLI writes an executable script named name into a fresh folder and
// returns its path.
func fakeCLI(t *testing.T, name, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// The apple driver runs each subcommand with the argv the tests above
// check; here a stand-in `container` records it and answers like the real
// one, so the glue (status, missing containers, label filtering) is tested.
func TestAppleAgainstStandIn(t *testing.T) {
	t.Parallel()
	log := filepath.Join(t.TempDir(), "argv")
	list, err := filepath.Abs("testdata/apple-1.0-list.json")
	if err != nil {
		t.Fatal(err)
	}
	bin := fakeCLI(t, "container", `echo "$*" >> `+log+`
case "$1 $2" in
"system status") echo "apiserver is running";;
"--version ") echo "container CLI version 0.6.0";;
"list --all") cat `+list+`;;
"inspect nope") echo "[]";;
"inspect hjk-demo-main") cat `+list+`;;
"delete --force") echo "Error: notFound: container $3" >&2; exit 1;;
"image inspect") echo "Error: notFound: Images: $3" >&2; exit 1;;
"exec -e") [ "$HJK_T" = "x" ] || exit 9; exit 3;;
esac`)
	a := &apple{bin: bin}
	ctx := context.Background()
	v, err := a.Version(ctx)
	if err != nil || v != "container CLI version 0.6.0" {
		t.Errorf("Version: %q, %v", v, err)
	}
	cs, err := a.List(ctx, map[string]string{"dev.hjk.instance": "demo/main"})
	if err != nil || len(cs) != 1 || cs[0].Name != "hjk-demo-main" {
		t.Errorf("List: %+v, %v", cs, err)
	}
	if _, err := a.Inspect(ctx, "nope"); !errors.Is(err, ErrNoSuchContainer) {
		t.Errorf("Inspect missing: %v", err)
	}
	if c, err := a.Inspect(ctx, "hjk-demo-main"); err != nil || !c.Running() {
		t.Errorf("Inspect: %+v, %v", c, err)
	}
	if err := a.Remove(ctx, "gone"); err != nil {
		t.Errorf("Remove of a missing container: %v", err)
	}
	if ok, err := a.ImageExists(ctx, "nope:1"); ok || err != nil {
		t.Errorf("ImageExists missing: %v, %v", ok, err)
	}
	err = a.Exec(ctx, ExecSpec{Container: "c", Cmd: []string{"true"}, Env: []string{"HJK_T"}, Values: []string{"HJK_T=x"}})
	if code, ok := ExitCode(err); !ok || code != 3 {
		t.Errorf("Exec exit code: %v", err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"system status", "list --all --format json", "delete --force gone", "exec -e HJK_T c true"} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("no call %q in:\n%s", want, b)
		}
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Not installed.
	for _, r := range []Runtime{&engine{name: "docker", bin: "hjk-no-such-docker"}, &engine{name: "podman", bin: "hjk-no-such-podman"}, &apple{bin: "hjk-no-such-container"}} {
		_, err := r.Version(ctx)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "is not installed") || !strings.Contains(err.Error(), "install") {
			t.Errorf("%s missing: %v", r.Name(), err)
		}
	}
	// Installed, engine silent: the message says what to start.
	docker := &engine{name: "docker", bin: fakeCLI(t, "docker", `echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1`)}
	_, err := docker.Version(ctx)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "daemon does not answer: start Docker Desktop or `sudo systemctl start docker`") {
		t.Errorf("docker silent: %v", err)
	}
	if _, err := docker.List(ctx, nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("docker silent, List: %v", err)
	}
	ctr := &apple{bin: fakeCLI(t, "container", `echo "apiserver is not running and not registered with launchd"; exit 1`)}
	if _, err := ctr.Version(ctx); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "container system start") {
		t.Errorf("container silent: %v", err)
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	on := func(names ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			for _, m := range names {
				if m == n {
					return "/usr/bin/" + n, nil
				}
			}
			return "", errors.New("not found")
		}
	}
	for _, tc := range []struct {
		c    Choice
		want string
	}{
		{Choice{Flag: "podman", Env: "docker", Config: "docker", LookPath: on()}, "podman"},
		{Choice{Env: "podman", Config: "docker", LookPath: on()}, "podman"},
		{Choice{Config: "container", LookPath: on("docker")}, "container"},
		{Choice{GOOS: "darwin", LookPath: on("docker", "container")}, "container"},
		{Choice{GOOS: "linux", LookPath: on("docker", "container", "podman")}, "docker"},
		{Choice{GOOS: "darwin", LookPath: on("podman")}, "podman"},
		{Choice{GOOS: "linux", LookPath: on("podman", "docker")}, "docker"},
	} {
		r, err := Select(tc.c)
		if err != nil || r.Name != tc.want || r.Endpoint != nil {
			t.Errorf("%+v: got %+v, %v; want %s", tc.c, r, err, tc.want)
		}
	}
	if _, err := Select(Choice{Env: "dokcer"}); err == nil || !strings.Contains(err.Error(), "HJK_RUNTIME") || !strings.Contains(err.Error(), "docker, podman, container") {
		t.Errorf("bad name: %v", err)
	}
	_, err := Select(Choice{GOOS: "linux", LookPath: on()})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "install Docker") {
		t.Errorf("none installed: %v", err)
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		engine, head string
		code         int
		want         bool
	}{
		{"docker", "Error response from daemon: Container 0123abcd is not running\n", 1, true},
		{"docker", "Error response from daemon: No such container: hjk-r-b-1234\n", 1, true},
		{"podman", "Error: can only create exec sessions on running containers: container state improper\n", 255, true},
		{"podman", `Error: no container with name or ID "hjk-r-b-1234" found: no such container` + "\n", 125, true},
		{"docker", "make: *** [test] Error 1\n", 1, false},
		{"docker", "db is not running\n", 1, false},
		{"docker", "Error response from daemon: No such container: c\n", 2, false},
		{"podman", "no such container here\n", 125, false},
	} {
		if got := Refused(c.engine, &ExitError{Code: c.code}, c.head); got != c.want {
			t.Errorf("Refused(%s, %d, %q) = %v", c.engine, c.code, c.head, got)
		}
	}
	if Refused("docker", errors.New("x"), "Error response from daemon: No such container: c") {
		t.Error("an error without an exit code taken for a refusal")
	}
}
