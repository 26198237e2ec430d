package session

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	for spec, want := range map[string]string{
		"ctrl-b,d":      "\x02d",
		"ctrl-p,ctrl-q": "\x10\x11",
		"CTRL-A":        "\x01",
		"ctrl-@,ctrl-_": "\x00\x1f",
		"ctrl-[":        "\x1b",
		"x,y,z":         "xyz",
	} {
		got, err := ParseDetachKeys(spec)
		if err != nil || string(got) != want {
			t.Errorf("%q: %q, %v; want %q", spec, got, err, want)
		}
	}
	for _, bad := range []string{"", ",", "ctrl-", "ctrl-1", "ctrl-bb", "ab", "a,,b", "\x01", "a,b,c,d,e,f,g,h,i"} {
		if _, err := ParseDetachKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "claude-2", "A_b.c", strings.Repeat("x", 40)} {
		if err := CheckName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".a", "-a", "a/b", "a b", "..", strings.Repeat("x", 41), "é"} {
		if CheckName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseDetachKeys: an accepted spec gives 1 to 8 keys, each printable
// or a control character, and writing them back in the syntax gives the
// same keys.
func FuzzParseDetachKeys(f *testing.F) {
	for _, s := range []string{"ctrl-b,d", "ctrl-p,ctrl-q", "ctrl-@", "a,b", "ctrl-", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		keys, err := ParseDetachKeys(spec)
		if err != nil {
			return
		}
		if len(keys) == 0 || len(keys) > 8 {
			t.Fatalf("%q: %d keys", spec, len(keys))
		}
		var parts []string
		for _, k := range keys {
			if k < 0x20 {
				parts = append(parts, "ctrl-"+string(rune(k+'@')))
			} else {
				parts = append(parts, string(rune(k)))
			}
		}
		again, err := ParseDetachKeys(strings.Join(parts, ","))
		if err != nil || !bytes.Equal(again, keys) {
			t.Fatalf("%q: %q re-parsed as %q, %v", spec, keys, again, err)
		}
	})
}
