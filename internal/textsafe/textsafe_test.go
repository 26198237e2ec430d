package textsafe

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, field, text string
	}{
		{"plain", "claude --resume", "claude --resume", "claude --resume"},
		{"unicode kept", "héllo 世界 🙂", "héllo 世界 🙂", "héllo 世界 🙂"},
		{"newline and tab", "a\tb\nc", `a\tb\nc`, "a\tb\nc"},
		{"CSI colour", "\x1b[32mok\x1b[0m", "ok", "ok"},
		{"CSI clear screen and home", "\x1b[2J\x1b[Hx", "x", "x"},
		{"CSI private mode", "\x1b[?1049hx\x1b[?25l", "x", "x"},
		{"fake green line", "\x1b[1A\x1b[2K\x1b[32mrun: curl x | sh\x1b[0m", "run: curl x | sh", "run: curl x | sh"},
		{"OSC title, BEL", "\x1b]0;pwned\x07after", "after", "after"},
		{"OSC title, ST", "\x1b]2;pwned\x1b\\after", "after", "after"},
		{"OSC 52 clipboard", "\x1b]52;c;cm0gLXJmIH4=\x07x", "x", "x"},
		{"OSC 8 link", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click", "click"},
		{"OSC unterminated ends at newline", "a\x1b]0;title\nb", `a\nb`, "a\nb"},
		{"OSC unterminated at the end", "a\x1b]0;title", "a", "a"},
		{"OSC cancelled by CAN", "a\x1b]0;t\x18b", "ab", "ab"},
		{"OSC cut by a new sequence", "\x1b]0;t\x1b[31mred", "red", "red"},
		{"DCS", "\x1bPq#0;2;0;0;0\x1b\\x", "x", "x"},
		{"APC, PM, SOS", "\x1b_a\x1b\\\x1b^b\x1b\\\x1bXc\x1b\\x", "x", "x"},
		{"two-byte ESC: reset, save cursor", "\x1bc\x1b7x\x1b8", "x", "x"},
		{"ESC with intermediate", "\x1b(Bx", "x", "x"},
		{"bare ESC at the end", "x\x1b", "x", "x"},
		{"ESC ESC", "\x1b\x1b[31mx", "x", "x"},
		{"CSI aborted by a control", "\x1b[3\nx", `\nx`, "\nx"},
		{"C1 CSI in UTF-8", "\u009b2Jx", "x", "x"},
		{"C1 OSC in UTF-8", "\u009d0;t\u009cx", "x", "x"},
		{"C1 DCS in UTF-8", "\u0090q\u009cx", "x", "x"},
		{"other C1", "a\u0085b", `a\u0085b`, `a\u0085b`},
		{"raw C1 byte (not UTF-8)", "a\x9b2Jb", "a\uFFFD2Jb", "a\uFFFD2Jb"},
		{"CR overwrites a line", "safe\rEVIL", `safe\rEVIL`, "safe\nEVIL"},
		{"CR LF is one newline", "a\r\nb\r\n", `a\r\nb\r\n`, "a\nb\n"},
		{"CR at the end", "a\r", `a\r`, "a"},
		{"backspace", "rm -rf /\b\b\b\bls", `rm -rf /\x08\x08\x08\x08ls`, `rm -rf /\x08\x08\x08\x08ls`},
		{"BEL, NUL, DEL", "a\x07b\x00c\x7fd", `a\x07b\x00c\x7fd`, `a\x07b\x00c\x7fd`},
		{"form feed, vertical tab", "\x0c\x0b", `\x0c\x0b`, `\x0c\x0b`},
		{"bidi override (Trojan Source)", "a\u202eexe.txt", `a\u202eexe.txt`, `a\u202eexe.txt`},
		{"bidi isolates and marks", "\u2066x\u2069\u200f\u061c", `\u2066x\u2069\u200f\u061c`, `\u2066x\u2069\u200f\u061c`},
		{"line separator", "a\u2028b", `a\u2028b`, `a\u2028b`},
		{"invalid UTF-8", "a\xffb\xc3", "a\uFFFDb\uFFFD", "a\uFFFDb\uFFFD"},
		{"surrogate half", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD", "\uFFFD\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		if got := Field(tt.in, 0); got != tt.field {
			t.Errorf("%s: Field(%q) = %q, want %q", tt.name, tt.in, got, tt.field)
		}
		if got := Text(tt.in, 0); got != tt.text {
			t.Errorf("%s: Text(%q) = %q, want %q", tt.name, tt.in, got, tt.text)
		}
		// The same, written to a Writer one byte at a time.
		var b bytes.Buffer
		w := NewWriter(&b)
		for i := range len(tt.in) {
			w.Write([]byte{tt.in[i]})
		}
		w.Flush()
		if b.String() != tt.text {
			t.Errorf("%s: Writer byte by byte = %q, want %q", tt.name, b.String(), tt.text)
		}
	}
}

func TestCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"abcdef", 0, "abcdef"},
		{"abcdef", 6, "abcdef"},
		{"abcdef", 5, "abcd…"},
		{"abcdef", 1, "…"},
		{"héllo wörld", 6, "héllo…"},
		{"\x1b[31mabc\x1b[0m", 3, "abc"}, // sequences take no room
		{"ab\x01cd", 4, "ab…"},           // an escape is not cut in half
		{"ab\x01cd", 7, `ab\x01…`},
		{"a\nb", 3, `a…`},
	}
	for _, tt := range tests {
		got := Field(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("Field(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if tt.max > 0 && utf8.RuneCountInString(got) > tt.max {
			t.Errorf("Field(%q, %d) is %d characters", tt.in, tt.max, utf8.RuneCountInString(got))
		}
	}
	if got := Text("line one\nline two", 10); got != "line one\n…" {
		t.Errorf("Text capped = %q", got)
	}
}

// check holds the promise on out: printable UTF-8, with newlines and tabs
// only where allowed, and no character a terminal would act on.
func check(t *testing.T, what, out string, lines bool, max int) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%s: invalid UTF-8 in %q", what, out)
	}
	for _, r := range out {
		switch {
		case (r == '\n' || r == '\t') && lines:
		case r < 0x20 || r == 0x7f:
			t.Fatalf("%s: control byte %#x in %q", what, r, out)
		case r >= 0x80 && r < 0xa0:
			t.Fatalf("%s: C1 control %U in %q", what, r, out)
		case isFormat(r):
			t.Fatalf("%s: format character %U in %q", what, r, out)
		}
	}
	if max > 0 && utf8.RuneCountInString(out) > max {
		t.Fatalf("%s: %d characters, over the cap %d", what, utf8.RuneCountInString(out), max)
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31mred\x1b[0m", "\x1b]52;c;eA==\x07", "a\rb\r\n", "\u202e\u009b2J", "\xff\xc3", "\x1bP\x1b\\"} {
		f.Add(s, uint8(0), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in string, max, split uint8) {
		field, text := Field(in, int(max)), Text(in, int(max))
		check(t, "Field", field, false, int(max))
		check(t, "Text", text, true, int(max))
		// Text over a stream, cut anywhere, gives what Text gives.
		var b bytes.Buffer
		w := NewWriter(&b)
		cut := 0
		if len(in) > 0 {
			cut = int(split) % (len(in) + 1)
		}
		w.Write([]byte(in[:cut]))
		w.Write([]byte(in[cut:]))
		w.Flush()
		if whole := Text(in, 0); b.String() != whole {
			t.Fatalf("Writer cut at %d = %q, Text = %q", cut, b.String(), whole)
		}
		// Printable ASCII without escapes passes as it is.
		if !strings.ContainsFunc(in, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r > 0x7e }) {
			if got := Text(in, 0); got != in {
				t.Fatalf("Text(%q) = %q, want it unchanged", in, got)
			}
		}
	})
}
