package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The recorded files come from real runs here: the docker 28 client
// against dockerd 20.10, and podman 4.3 (see testdata/README.md).
func TestDecodeInspect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, name, image, state string
		labels                   map[string]string
	}{
		{"docker20-inspect-running.json", "rtrec-b", "rtrec:1", "running", map[string]string{"hjk.test": "1"}},
		{"docker20-inspect-created.json", "rtrec-a", "rtrec:1", "created", map[string]string{"hjk.test": "1", "hjk.branch": "main"}},
		{"docker20-inspect-exited.json", "rtrec-b", "rtrec:1", "exited", map[string]string{"hjk.test": "1"}},
		{"podman4-inspect-running.json", "rtrec-b", "localhost/rtrec:1", "running", map[string]string{"hjk.test": "1", "io.buildah.version": "1.28.2"}},
		{"podman4-inspect-created.json", "rtrec-a", "localhost/rtrec:1", "created", map[string]string{"hjk.test": "1", "hjk.branch": "main", "io.buildah.version": "1.28.2"}},
		{"podman4-inspect-exited.json", "rtrec-b", "localhost/rtrec:1", "exited", map[string]string{"hjk.test": "1", "io.buildah.version": "1.28.2"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cs, err := decodeInspect(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 1 {
				t.Fatalf("got %d containers, want 1", len(cs))
			}
			c := cs[0]
			if c.Name != tc.name || c.Image != tc.image || c.State != tc.state {
				t.Errorf("got name %q image %q state %q, want %q %q %q", c.Name, c.Image, c.State, tc.name, tc.image, tc.state)
			}
			if len(c.ID) != 64 {
				t.Errorf("ID %q is not a full id", c.ID)
			}
			if !reflect.DeepEqual(c.Labels, tc.labels) {
				t.Errorf("labels %v, want %v", c.Labels, tc.labels)
			}
			if c.Created.Year() != 2026 {
				t.Errorf("created %v", c.Created)
			}
		})
	}
}

func TestDecodeInspectMissing(t *testing.T) {
	t.Parallel()
	// docker prints [] (and fails) for a missing container.
	cs, err := decodeInspect([]byte("[]\n"))
	if err != nil || len(cs) != 0 {
		t.Fatalf("got %v, %v", cs, err)
	}
}

func TestDecodeDockerPS(t *testing.T) {
	t.Parallel()
	cs, err := decodeDockerPS(readTestdata(t, "docker28-ps.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Container{
		"rtrec-b": {Name: "rtrec-b", Image: "rtrec:1", State: "running", Labels: map[string]string{"hjk.test": "1"}},
		"rtrec-a": {Name: "rtrec-a", Image: "rtrec:1", State: "created", Labels: map[string]string{"hjk.test": "1", "hjk.branch": "main"}},
	}
	checkList(t, cs, want)
	if got := cs[0].Created.UTC().Format(time.RFC3339); got != "2026-11-28T13:54:42Z" {
		t.Errorf("created %s", got)
	}
	none, err := decodeDockerPS(nil)
	if err != nil || len(none) != 0 {
		t.Errorf("empty output: %v, %v", none, err)
	}
}

func TestDecodePodmanPS(t *testing.T) {
	t.Parallel()
	cs, err := decodePodmanPS(readTestdata(t, "podman4-ps.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Container{
		"rtrec-b": {Name: "rtrec-b", Image: "localhost/rtrec:1", State: "running", Labels: map[string]string{"hjk.test": "1", "io.buildah.version": "1.28.2"}},
		"rtrec-a": {Name: "rtrec-a", Image: "localhost/rtrec:1", State: "created", Labels: map[string]string{"hjk.test": "1", "hjk.branch": "main", "io.buildah.version": "1.28.2"}},
	}
	checkList(t, cs, want)
	if cs[0].Created.IsZero() {
		t.Error("created not decoded")
	}
	none, err := decodePodmanPS([]byte("[]\n"))
	if err != nil || len(none) != 0 {
		t.Errorf("empty output: %v, %v", none, err)
	}
}

func TestDecodeApple(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"apple-0.x-list.json", "apple-1.0-list.json"} {
		t.Run(file, func(t *testing.T) {
			cs, err := decodeApple(readTestdata(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 2 {
				t.Fatalf("got %d containers", len(cs))
			}
			c := cs[0]
			if c.Name != "hjk-demo-main" || c.ID != "hjk-demo-main" || c.State != "running" || c.Image != "docker.io/library/hjk-agents:latest" {
				t.Errorf("got %+v", c)
			}
			if c.Labels["dev.hjk.instance"] != "demo/main" {
				t.Errorf("labels %v", c.Labels)
			}
			if cs[1].State != "exited" {
				t.Errorf("stopped container's state %q, want exited", cs[1].State)
			}
		})
	}
	if _, err := decodeApple([]byte(`[{"status":42,"configuration":{"id":"x"}}]`)); err == nil {
		t.Error("a status that is neither string nor object was accepted")
	}
}

func TestDecodeGarbage(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"{", "[{]", "Error: oops", `{"ID":1}`} {
		if _, err := decodeDockerPS([]byte(in)); err == nil {
			t.Errorf("docker ps %q: no error", in)
		}
		if _, err := decodePodmanPS([]byte(in)); err == nil {
			t.Errorf("podman ps %q: no error", in)
		}
	}
}

func TestSplitLabels(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]map[string]string{
		"":                       {},
		"a=1":                    {"a": "1"},
		"a=1,b=":                 {"a": "1", "b": ""},
		"dev.hjk.branch=x,y,a=2": {"dev.hjk.branch": "x,y", "a": "2"},
		"k=v=w,other=1":          {"k": "v=w", "other": "1"},
	} {
		if got := splitLabels(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitLabels(%q) = %v, want %v", in, got, want)
		}
	}
}

func checkList(t *testing.T, cs []Container, want map[string]Container) {
	t.Helper()
	if len(cs) != len(want) {
		t.Fatalf("got %d containers, want %d", len(cs), len(want))
	}
	for _, c := range cs {
		w, ok := want[c.Name]
		if !ok {
			t.Errorf("unexpected container %q", c.Name)
			continue
		}
		if c.Image != w.Image || c.State != w.State || !reflect.DeepEqual(c.Labels, w.Labels) || len(c.ID) != 64 {
			t.Errorf("%s: got %+v, want %+v", c.Name, c, w)
		}
	}
}
