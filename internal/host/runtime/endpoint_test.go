package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, name string
		ep       *Endpoint
	}{
		{"docker", "docker", nil},
		{"podman", "podman", nil},
		{"container", "container", nil},
		{"docker:big-box", "docker", &Endpoint{Kind: EndpointContext, Value: "big-box"}},
		{"docker:default", "docker", &Endpoint{Kind: EndpointDefault}},
		{"docker:ssh://me@big-box", "docker", &Endpoint{Kind: EndpointHost, Value: "ssh://me@big-box"}},
		{"docker:tcp://127.0.0.1:2375", "docker", &Endpoint{Kind: EndpointHost, Value: "tcp://127.0.0.1:2375"}},
		{"podman:box", "podman", &Endpoint{Kind: EndpointConnection, Value: "box"}},
		{"podman:unix:///run/podman/podman.sock", "podman", &Endpoint{Kind: EndpointHost, Value: "unix:///run/podman/podman.sock"}},
	} {
		name, ep, err := ParseSpec(c.in)
		if err != nil || name != c.name || !reflect.DeepEqual(ep, c.ep) {
			t.Errorf("ParseSpec(%q) = %q, %+v, %v; want %q, %+v", c.in, name, ep, err, c.name, c.ep)
		}
	}
	for _, in := range []string{"", "dokcer", "docker:", "docker:-H", "docker:--host=x", "docker:a b", "podman:npipe:////./pipe/x",
		"container:box", "docker:ftp://x", "docker:tcp://a b", "docker:tcp://a\nb", ":box"} {
		if name, ep, err := ParseSpec(in); err == nil {
			t.Errorf("ParseSpec(%q) = %q, %+v: want an error", in, name, ep)
		}
	}
}

func TestGlobalFlags(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		ep   Endpoint
		want []string
	}{
		{"docker", Endpoint{}, []string{"--context=default"}},
		{"docker", Endpoint{Kind: EndpointHost, Value: "tcp://h:2376", TLSVerify: true, CertPath: "/c"},
			[]string{"--host=tcp://h:2376", "--tlsverify", "--tlscacert=/c/ca.pem", "--tlscert=/c/cert.pem", "--tlskey=/c/key.pem"}},
		{"docker", Endpoint{Kind: EndpointContext, Value: "box"}, []string{"--context=box"}},
		{"podman", Endpoint{}, nil},
		{"podman", Endpoint{Kind: EndpointHost, Value: "ssh://me@h/run/podman/podman.sock", Identity: "/k"},
			[]string{"--url=ssh://me@h/run/podman/podman.sock", "--identity=/k"}},
		{"podman", Endpoint{Kind: EndpointConnection, Value: "box"}, []string{"--connection=box"}},
		{"container", Endpoint{Kind: EndpointDefault}, nil},
	} {
		got, drop, err := globalFlags(c.name, c.ep)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s %+v: %q, %v; want %q", c.name, c.ep, got, err, c.want)
		}
		if c.name == "docker" && !slices.Contains(drop, "DOCKER_HOST") || c.name == "podman" && !slices.Contains(drop, "CONTAINER_HOST") {
			t.Errorf("%s %+v keeps the variables that aim it elsewhere: drops only %q", c.name, c.ep, drop)
		}
	}
	for _, c := range []struct {
		name string
		ep   Endpoint
	}{
		{"docker", Endpoint{Kind: EndpointConnection, Value: "box"}},
		{"podman", Endpoint{Kind: EndpointContext, Value: "box"}},
		{"container", Endpoint{Kind: EndpointHost, Value: "tcp://x"}},
	} {
		if got, _, err := globalFlags(c.name, c.ep); err == nil {
			t.Errorf("%s %+v: %q, want an error", c.name, c.ep, got)
		}
	}
}

// TestOpenAims runs a fake CLI: every call of an aimed driver names the
// engine before the command, and none of the variables that would aim it
// elsewhere reaches the CLI.
func TestOpenAims(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	bin := filepath.Join(dir, "docker")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" \"host=$DOCKER_HOST ctx=$DOCKER_CONTEXT\" >>" + log + "\necho 20.10\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", "tcp://elsewhere:1")
	t.Setenv("DOCKER_CONTEXT", "elsewhere")
	r, err := Open("docker", Endpoint{Kind: EndpointContext, Value: "box"})
	if err != nil {
		t.Fatal(err)
	}
	r.(*engine).bin = bin
	if _, err := r.Version(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Exec(context.Background(), ExecSpec{Container: "c", Cmd: []string{"true"}, Env: []string{"TOKEN"}, Values: []string{"TOKEN=x"}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(log)
	want := "--context=box version --format {{.Server.Version}}\nhost= ctx=\n--context=box exec -e TOKEN c true\nhost= ctx=\n"
	if string(b) != want {
		t.Errorf("the CLI got:\n%s\nwant:\n%s", b, want)
	}
	if got := r.Endpoint(); got != (Endpoint{Kind: EndpointContext, Value: "box"}) {
		t.Errorf("Endpoint() = %+v", got)
	}
	if New := Docker(); New.Endpoint().Kind != EndpointDefault {
		t.Errorf("an unaimed driver tells %+v", New.Endpoint())
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".docker"), 0o700)
	os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(`{"auths":{},"currentContext":"desktop-linux"}`), 0o600)
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "config.json"), []byte(`{"currentContext":"default"}`), 0o600)
	conns := `[{"Name":"a","URI":"ssh://x","Default":false},{"Name":"machine-default","URI":"ssh://core@127.0.0.1:1/run/podman.sock","Default":true}]`
	for _, c := range []struct {
		name, goos string
		env        map[string]string
		want       Endpoint
	}{
		{"docker", "linux", map[string]string{"HOME": t.TempDir()}, Endpoint{Kind: EndpointDefault}},
		{"docker", "darwin", map[string]string{"HOME": home}, Endpoint{Kind: EndpointContext, Value: "desktop-linux"}},
		{"docker", "linux", map[string]string{"HOME": home, "DOCKER_CONFIG": other}, Endpoint{Kind: EndpointDefault}},
		{"docker", "linux", map[string]string{"HOME": home, "DOCKER_CONTEXT": "box"}, Endpoint{Kind: EndpointContext, Value: "box"}},
		{"docker", "linux", map[string]string{"HOME": home, "DOCKER_CONTEXT": "box", "DOCKER_HOST": "ssh://me@box"},
			Endpoint{Kind: EndpointHost, Value: "ssh://me@box"}},
		{"docker", "linux", map[string]string{"HOME": home, "DOCKER_HOST": "tcp://box:2376", "DOCKER_TLS_VERIFY": "1"},
			Endpoint{Kind: EndpointHost, Value: "tcp://box:2376", TLSVerify: true, CertPath: filepath.Join(home, ".docker")}},
		{"docker", "linux", map[string]string{"DOCKER_HOST": "tcp://box:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"},
			Endpoint{Kind: EndpointHost, Value: "tcp://box:2376", TLSVerify: true, CertPath: "/certs"}},
		{"podman", "linux", map[string]string{}, Endpoint{Kind: EndpointDefault}},
		{"podman", "linux", map[string]string{"CONTAINER_HOST": "ssh://me@box/run/podman/podman.sock", "CONTAINER_SSHKEY": "/k"},
			Endpoint{Kind: EndpointHost, Value: "ssh://me@box/run/podman/podman.sock", Identity: "/k"}},
		{"podman", "linux", map[string]string{"CONTAINER_CONNECTION": "box"}, Endpoint{Kind: EndpointConnection, Value: "box"}},
		{"podman", "darwin", map[string]string{}, Endpoint{Kind: EndpointConnection, Value: "machine-default"}},
		{"container", "darwin", map[string]string{"DOCKER_HOST": "tcp://x:1"}, Endpoint{Kind: EndpointDefault}},
	} {
		r := Resolver{
			Getenv: func(k string) string { return c.env[k] },
			GOOS:   c.goos,
			Run: func(_ context.Context, args ...string) ([]byte, error) {
				if strings.Join(args, " ") != "podman system connection list --format json" {
					return nil, errors.New("unexpected")
				}
				return []byte(conns), nil
			},
		}
		got, err := r.Resolve(context.Background(), c.name)
		if err != nil || got != c.want {
			t.Errorf("%s on %s with %v: %+v, %v; want %+v", c.name, c.goos, c.env, got, err, c.want)
		}
	}
	for _, env := range []map[string]string{{"DOCKER_HOST": "box:2375"}, {"DOCKER_CONTEXT": "-x"}, {"DOCKER_HOST": "ftp://x"}} {
		r := Resolver{Getenv: func(k string) string { return env[k] }, GOOS: "linux"}
		if got, err := r.Resolve(context.Background(), "docker"); err == nil {
			t.Errorf("%v: %+v, want an error", env, got)
		}
	}
}

func TestSelectNamed(t *testing.T) {
	t.Parallel()
	none := func(string) (string, error) { return "", errors.New("no") }
	sel, err := Select(Choice{Flag: "docker", Named: "box", LookPath: none})
	if err != nil || sel.Name != "docker" || *sel.Endpoint != (Endpoint{Kind: EndpointContext, Value: "box"}) {
		t.Errorf("--runtime docker --context box: %+v, %v", sel, err)
	}
	sel, err = Select(Choice{Config: "podman:ssh://me@box/run/podman/podman.sock", LookPath: none})
	if err != nil || sel.Name != "podman" || *sel.Endpoint != (Endpoint{Kind: EndpointHost, Value: "ssh://me@box/run/podman/podman.sock"}) {
		t.Errorf("runtime = podman:ssh://...: %+v, %v", sel, err)
	}
	sel, err = Select(Choice{Config: "podman:a", Named: "b", LookPath: none})
	if err != nil || *sel.Endpoint != (Endpoint{Kind: EndpointConnection, Value: "b"}) {
		t.Errorf("--connection over the config's: %+v, %v", sel, err)
	}
	if sel, err := Select(Choice{Flag: "container", Named: "box", LookPath: none}); err == nil {
		t.Errorf("container with a context: %+v", sel)
	}
}

func TestEndpointString(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ep   Endpoint
		want string
	}{
		{Endpoint{}, "default"},
		{Endpoint{Kind: EndpointHost, Value: "tcp://h:1"}, "tcp://h:1"},
		{Endpoint{Kind: EndpointContext, Value: "box"}, "context=box"},
		{Endpoint{Kind: EndpointConnection, Value: "box"}, "connection=box"},
	} {
		if got := c.ep.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.ep, got, c.want)
		}
	}
	if !(Endpoint{}).Same(Endpoint{Kind: EndpointDefault}) || (Endpoint{Kind: EndpointContext, Value: "a"}).Same(Endpoint{Kind: EndpointConnection, Value: "a"}) {
		t.Error("Same")
	}
}

func TestMissingMountSource(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		stderr string
		want   bool
	}{
		{`Error response from daemon: invalid mount config for type "bind": bind source path does not exist: /tmp/p`, true},
		{"Error: statfs /tmp/p: no such file or directory", true},
		{"Error: no such image", false},
		{"Error: statfs /tmp/p: permission denied", false},
	} {
		if got := MissingMountSource(&ExitError{Code: 125, Stderr: c.stderr}); got != c.want {
			t.Errorf("%q: %v", c.stderr, got)
		}
	}
	if MissingMountSource(errors.New("bind source path does not exist")) {
		t.Error("an error that is no engine's exit taken for a refusal")
	}
}

// TestNamedEndpoints runs stand-in CLIs: the names they list, without one
// that could pass for a flag.
func TestNamedEndpoints(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"docker", "podman"} {
		script := "#!/bin/sh\n[ \"$*\" = '" + map[string]string{"docker": "context ls --format {{.Name}}", "podman": "system connection list --format {{.Name}}"}[n] +
			"' ] || exit 3\nprintf 'box\\n-x\\n" + n + "-two\\n'\n"
		if err := os.WriteFile(filepath.Join(dir, n), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	for _, n := range []string{"docker", "podman"} {
		got, err := NamedEndpoints(context.Background(), n)
		if err != nil || !slices.Equal(got, []string{"box", n + "-two"}) {
			t.Errorf("%s: %q, %v", n, got, err)
		}
	}
	if got, err := NamedEndpoints(context.Background(), "container"); got != nil || err != nil {
		t.Errorf("container: %q, %v", got, err)
	}
}
