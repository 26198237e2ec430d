package runtime

import (
	"os"
	"path/filepath"
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
