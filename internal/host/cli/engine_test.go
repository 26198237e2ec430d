package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/instance"
	"github.com/hjk-dev/hjk/internal/host/runtime"
)

// errOpened stops a command at the first runtime it opens.
var errOpened = errors.New("opened")

// TestEngineChoice: a new instance goes to the engine the command line, the
// settings or the engine's environment name, in that order; an existing one
// to the engine it was made on, whatever DOCKER_HOST says now.
func TestEngineChoice(t *testing.T) {
	repoDir := gitRepo(t, "old")
	t.Chdir(repoDir)
	gd, err := filepath.EvalSymlinks(filepath.Join(repoDir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	box := runtime.Endpoint{Kind: runtime.EndpointContext, Value: "box"}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		config  string
		args    []string
		runtime string
		want    runtime.Endpoint
	}{
		{"default", nil, "", []string{"run", "new", "--agent", "shell"}, "docker", runtime.Endpoint{Kind: runtime.EndpointDefault}},
		{"DOCKER_HOST", map[string]string{"DOCKER_HOST": "tcp://x:1"}, "", []string{"run", "new", "--agent", "shell"}, "docker",
			runtime.Endpoint{Kind: runtime.EndpointHost, Value: "tcp://x:1"}},
		{"DOCKER_CONTEXT", map[string]string{"DOCKER_CONTEXT": "box"}, "", []string{"run", "new", "--agent", "shell"}, "docker", box},
		{"the setting over DOCKER_HOST", map[string]string{"DOCKER_HOST": "tcp://x:1"}, "docker:box", []string{"run", "new", "--agent", "shell"}, "docker", box},
		{"--context over the setting", nil, "docker:other", []string{"run", "new", "--agent", "shell", "--context", "box"}, "docker", box},
		{"--runtime with an address", nil, "", []string{"run", "new", "--agent", "shell", "--runtime", "podman:ssh://me@h/run/podman/podman.sock"}, "podman",
			runtime.Endpoint{Kind: runtime.EndpointHost, Value: "ssh://me@h/run/podman/podman.sock"}},
		{"CONTAINER_CONNECTION", map[string]string{"CONTAINER_CONNECTION": "pbox"}, "podman", []string{"run", "new", "--agent", "shell"}, "podman",
			runtime.Endpoint{Kind: runtime.EndpointConnection, Value: "pbox"}},
		{"an existing instance", map[string]string{"DOCKER_HOST": "tcp://x:1", "DOCKER_CONTEXT": "y"}, "docker:other", []string{"stop", "old"}, "docker", box},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			env := map[string]string{"HOME": home, "HJK_STORE": "file"}
			for k, v := range tc.env {
				env[k] = v
			}
			dirs, err := config.DirsFrom(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			old := instance.Instance{Name: "hjk-old", Repo: filepath.Dir(gd), GitDir: gd, Branch: "old", Workspace: "volume",
				Runtime: "docker", Engine: box, Remote: true}
			b, _ := json.Marshal(map[string]any{"version": 2, "instances": []instance.Instance{old}})
			os.MkdirAll(dirs.Data, 0o700)
			os.WriteFile(filepath.Join(dirs.Data, "instances.json"), b, 0o600)
			os.MkdirAll(dirs.Config, 0o700)
			if tc.config != "" {
				os.WriteFile(dirs.File(), []byte("runtime = \""+tc.config+"\"\n"), 0o600)
			}
			var stderr bytes.Buffer
			app := NewApp(strings.NewReader(""), &bytes.Buffer{}, &stderr, func(k string) string { return env[k] })
			var gotName string
			var got runtime.Endpoint
			app.OpenRuntime = func(name string, ep runtime.Endpoint) (runtime.Runtime, error) {
				if gotName == "" {
					gotName, got = name, ep
				}
				return nil, errOpened
			}
			app.Run(tc.args)
			if gotName != tc.runtime || got != tc.want {
				t.Errorf("hjk %s opened %s %+v, want %s %+v\n%s", strings.Join(tc.args, " "), gotName, got, tc.runtime, tc.want, stderr.String())
			}
		})
	}
}
