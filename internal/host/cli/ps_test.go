package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	app.OpenRuntime = func(name string) (runtime.Runtime, error) { return eng, nil }
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
