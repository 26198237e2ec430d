package testinfra

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseEnv(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{in: "", want: map[string]string{}},
		{in: "DOCKER_HOST=unix:///run/x/docker.sock\n", want: map[string]string{"DOCKER_HOST": "unix:///run/x/docker.sock"}},
		{in: "KUBECONFIG=/a=b\r\n\nKUBECTL=/k\n", want: map[string]string{"KUBECONFIG": "/a=b", "KUBECTL": "/k"}},
		{in: "A=\n", want: map[string]string{"A": ""}},
		{in: "k8s: up in 3 s\n", err: true},
		{in: "=x\n", err: true},
		{in: "1A=x\n", err: true},
		{in: "A B=x\n", err: true},
		{in: "A=\r0\n", err: true},
	} {
		got, err := parseEnv([]byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("parseEnv(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && !maps.Equal(got, tc.want) {
			t.Errorf("parseEnv(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func FuzzParseEnv(f *testing.F) {
	f.Add([]byte("DOCKER_HOST=unix:///run/x/docker.sock\nCONTAINER_HOST=unix:///y\n"))
	f.Add([]byte("KUBECONFIG=/var/lib/hjk-test/k8s/admin.kubeconfig\r\nKUBECTL=/k\n"))
	f.Add([]byte("k8s: already up\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := parseEnv(b)
		if err != nil {
			return
		}
		// What it accepted prints back to lines it accepts the same way.
		var out strings.Builder
		for _, k := range slices.Sorted(maps.Keys(env)) {
			if !validName(k) || strings.ContainsAny(env[k], "\r\n") {
				t.Fatalf("parseEnv(%q) gave key %q value %q", b, k, env[k])
			}
			out.WriteString(k + "=" + env[k] + "\n")
		}
		again, err := parseEnv([]byte(out.String()))
		if err != nil || !maps.Equal(env, again) {
			t.Fatalf("round trip of %v: %v, %v", env, again, err)
		}
	})
}

// TestTestOnly keeps the package out of hjk: only _test.go files import it.
func TestTestOnly(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const self = "github.com/hjk-dev/hjk/internal/testinfra"
	fset := token.NewFileSet()
	var checked int
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == self || strings.HasPrefix(p, self+"/") {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s imports %s, which is for tests only", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d files under %s", checked, root)
	}
}
