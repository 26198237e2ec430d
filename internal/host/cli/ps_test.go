package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
)

// listOnly is an engine that answers List and nothing else: any other call
// panics through the nil interface it embeds.
type listOnly struct {
	runtime.Runtime
	lists      atomic.Int32
	containers []runtime.Container
}

func (l *listOnly) Name() string { return "docker" }

func (l *listOnly) Endpoint() runtime.Endpoint {
	return runtime.Endpoint{Kind: runtime.EndpointDefault}
}

func (l *listOnly) List(_ context.Context, labels map[string]string) ([]runtime.Container, error) {
	l.lists.Add(1)
	if labels[instance.LabelInstance] != "1" {
		return nil, fmt.Errorf("List without hjk's label filter: %v", labels)
	}
	return l.containers, nil
}

// TestPsOneListCall: `hjk ps` over 50 catalogued instances asks the engine
// once, whatever their number, and shows each one's state.
func TestPsOneListCall(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"HOME": t.TempDir(), "XDG_DATA_HOME": data, "XDG_CONFIG_HOME": t.TempDir(), "HJK_RUNTIME": "docker"}
	eng := &listOnly{}
	var list []instance.Instance
	for i := range 50 {
		in := instance.Instance{Name: fmt.Sprintf("hjk-r-b%02d", i), Repo: "/src/r", GitDir: "/src/r/.git", Branch: fmt.Sprintf("b%02d", i), Image: "img", Runtime: "docker"}
		list = append(list, in)
		if i != 7 { // b07's container was removed behind hjk's back
			eng.containers = append(eng.containers, runtime.Container{Name: in.Name, State: "running", Labels: map[string]string{instance.LabelInstance: "1"}})
		}
	}
	b, _ := json.Marshal(map[string]any{"version": 1, "instances": list})
	os.MkdirAll(filepath.Join(data, "hjk"), 0o700)
	if err := os.WriteFile(filepath.Join(data, "hjk", "instances.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	app := NewApp(nil, &stdout, &stderr, func(k string) string { return env[k] })
	app.OpenRuntime = func(name string, _ runtime.Endpoint) (runtime.Runtime, error) { return eng, nil }
	if code := app.Run([]string{"ps", "-a", "--json"}); code != 0 {
		t.Fatalf("hjk ps: exit %d: %s", code, stderr.String())
	}
	if n := eng.lists.Load(); n != 1 {
		t.Errorf("%d List calls for 50 instances, want 1", n)
	}
	var got []instance.Instance
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got) != 50 {
		t.Fatalf("ps --json: %d instances, %v", len(got), err)
	}
	for _, in := range got {
		want := "running"
		if in.Branch == "b07" {
			want = instance.StateMissing
		}
		if in.State != want {
			t.Errorf("%s: state %q, want %q", in.Branch, in.State, want)
		}
	}
}

// TestPsEngines: instances on three engines, and DOCKER_HOST naming a
// fourth: each engine is asked once, each instance's state comes from its
// own engine, and ENGINE (and engine in --json) says where it lives.
func TestPsEngines(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"HOME": t.TempDir(), "XDG_DATA_HOME": data, "XDG_CONFIG_HOME": t.TempDir(), "HJK_RUNTIME": "docker", "DOCKER_HOST": "tcp://new:2375"}
	box := runtime.Endpoint{Kind: runtime.EndpointContext, Value: "box"}
	far := runtime.Endpoint{Kind: runtime.EndpointHost, Value: "ssh://me@far"}
	engines := map[string]*listOnly{}
	var list []instance.Instance
	for i, ep := range []runtime.Endpoint{{Kind: runtime.EndpointDefault}, box, far} {
		in := instance.Instance{Name: fmt.Sprintf("hjk-r-b%d", i), Repo: "/src/r", GitDir: "/src/r/.git", Branch: fmt.Sprintf("b%d", i),
			Image: "img", Runtime: "docker", Engine: ep, Remote: i == 2, Workspace: "volume"}
		list = append(list, in)
		// Each engine has every container of that name, in a state of its own:
		// a state read from the wrong engine shows.
		e := &listOnly{}
		for j := range 3 {
			e.containers = append(e.containers, runtime.Container{Name: fmt.Sprintf("hjk-r-b%d", j), State: fmt.Sprintf("state-of-%d", i),
				Labels: map[string]string{instance.LabelInstance: "1"}})
		}
		engines[ep.String()] = e
	}
	engines["tcp://new:2375"] = &listOnly{}
	b, _ := json.Marshal(map[string]any{"version": 2, "instances": list})
	os.MkdirAll(filepath.Join(data, "hjk"), 0o700)
	if err := os.WriteFile(filepath.Join(data, "hjk", "instances.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	app := NewApp(nil, &stdout, &stderr, func(k string) string { return env[k] })
	app.OpenRuntime = func(name string, ep runtime.Endpoint) (runtime.Runtime, error) {
		e, ok := engines[ep.String()]
		if !ok || name != "docker" {
			return nil, fmt.Errorf("no engine %s %s", name, ep)
		}
		return e, nil
	}
	if code := app.Run([]string{"ps", "-a"}); code != 0 {
		t.Fatalf("hjk ps: exit %d: %s", code, stderr.String())
	}
	for n, e := range engines {
		if got := e.lists.Load(); got != 1 {
			t.Errorf("engine %s asked %d times, want once", n, got)
		}
	}
	for _, want := range []string{`b0 +state-of-0 .* docker +default `, `b1 +state-of-1 .* docker +context=box `, `b2 +state-of-2 .* docker +ssh://me@far \(remote\) `} {
		if !regexp.MustCompile(want).MatchString(stdout.String()) {
			t.Errorf("no line %q in:\n%s", want, stdout.String())
		}
	}
	stdout.Reset()
	if code := app.Run([]string{"ps", "-a", "--json"}); code != 0 {
		t.Fatalf("hjk ps --json: exit %d: %s", code, stderr.String())
	}
	var got []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got) != 3 {
		t.Fatalf("ps --json: %v, %v", got, err)
	}
	if e := got[0]["engine"].(map[string]any); e["kind"] != "default" {
		t.Errorf("b0's engine: %v", e)
	}
	if e := got[2]["engine"].(map[string]any); e["kind"] != "host" || e["value"] != "ssh://me@far" || got[2]["remote"] != true {
		t.Errorf("b2's engine: %v, remote %v", e, got[2]["remote"])
	}
}
