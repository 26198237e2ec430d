package gateway

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSwapQuery: the query the agent sends is parsed by the gate; a swap
// replaces exactly the name=placeholder pairs and leaves every other byte.
func FuzzSwapQuery(f *testing.F) {
	f.Add("key=PLACEHOLDER&alt=sse", "key", "PLACEHOLDER")
	f.Add("a=1&key=PLACE%48OLDER&key=other&b", "key", "PLACEHOLDER")
	f.Add("k%65y=P&&=", "key", "P")
	f.Fuzz(func(t *testing.T, raw, name, placeholder string) {
		if name == "" || placeholder == "" || strings.ContainsAny(name+placeholder, "&=") {
			return
		}
		const value = "REAL/VALUE+&="
		out, found := swapQuery(raw, name, placeholder, value)
		if _, again := swapQuery(raw, name, placeholder, ""); again != found {
			t.Fatal("finding depends on the value")
		}
		in, outParts := strings.Split(raw, "&"), strings.Split(out, "&")
		if len(in) != len(outParts) {
			t.Fatalf("swap changed the number of parameters: %q -> %q", raw, out)
		}
		swapped := 0
		for i := range in {
			if in[i] == outParts[i] {
				continue
			}
			k, v, _ := strings.Cut(outParts[i], "=")
			uv, err := url.QueryUnescape(v)
			ik, _, _ := strings.Cut(in[i], "=")
			if err != nil || uv != value || k != ik {
				t.Fatalf("parameter %d became %q", i, outParts[i])
			}
			swapped++
		}
		if found != (swapped > 0) {
			t.Fatalf("found = %v with %d swapped in %q", found, swapped, raw)
		}
	})
}

// FuzzHeaderHolds: only the scheme (any case), one space and exactly the
// placeholder match.
func FuzzHeaderHolds(f *testing.F) {
	f.Add("Bearer PLACEHOLDER", "Bearer", "PLACEHOLDER")
	f.Add("bearer  PLACEHOLDER", "Bearer", "PLACEHOLDER")
	f.Add("PLACEHOLDER", "", "PLACEHOLDER")
	f.Fuzz(func(t *testing.T, v, scheme, placeholder string) {
		if placeholder == "" {
			return
		}
		if !headerHolds(v, scheme, placeholder) {
			return
		}
		if scheme == "" {
			if v != placeholder {
				t.Fatalf("%q matched placeholder %q", v, placeholder)
			}
			return
		}
		if !strings.EqualFold(v, scheme+" "+placeholder) || !strings.HasSuffix(v, " "+placeholder) {
			t.Fatalf("%q matched %q %q", v, scheme, placeholder)
		}
	})
}
