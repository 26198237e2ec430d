package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzDecode feeds every decoder whatever an engine might print: none may
// panic. splitLabels must keep keys free of commas, and a label list with
// no comma is one label.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`a=1,b,c=2=3,,=x`))
	f.Add([]byte("[]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, decode := range []func([]byte) ([]Container, error){decodeDockerPS, decodePodmanPS, decodeInspect, decodeApple} {
			_, _ = decode(b)
		}
		s := string(b)
		m := splitLabels(s)
		for k := range m {
			if strings.Contains(k, ",") {
				t.Fatalf("splitLabels(%q): key %q holds a comma", s, k)
			}
		}
		if s != "" && !strings.Contains(s, ",") && len(m) != 1 {
			t.Fatalf("splitLabels(%q) = %v: want one label", s, m)
		}
	})
}

// FuzzParseSpec: whatever a user names as a runtime, an accepted one is a
// known CLI, and its engine can never reach the CLI's argv as a flag of
// its own or split into two words.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"docker", "docker:box", "podman:ssh://me@h/run/podman/podman.sock", "docker:-H", "docker:tcp://a:1", "container:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, ep, err := ParseSpec(s)
		_ = parseCurrentContext([]byte(s))
		_, _ = parseDefaultConnection([]byte(s))
		if err != nil {
			return
		}
		if !slices.Contains(Names, name) {
			t.Fatalf("ParseSpec(%q) = unknown runtime %q", s, name)
		}
		if ep == nil {
			return
		}
		flags, _, err := globalFlags(name, *ep)
		if err != nil {
			return
		}
		for _, fl := range flags {
			if !strings.HasPrefix(fl, "--") || strings.ContainsAny(fl, " \t\n\x00") {
				t.Fatalf("ParseSpec(%q): flag %q", s, fl)
			}
		}
		if ep.Kind != EndpointDefault && !strings.HasSuffix(flags[0], "="+ep.Value) {
			t.Fatalf("ParseSpec(%q): %q does not carry %q whole", s, flags, ep.Value)
		}
	})
}
