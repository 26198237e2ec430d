package capture

import (
	"strings"
	"testing"
)

// fakeToken is shaped like a real setup-token token and obviously fake.
const fakeToken = "sk-ant-oat01-FAKEfakeFAKEfake0123456789_-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-fakeAA"

// wrap cuts s into lines of width, each coloured, as wrap-ansi does.
func wrap(s string, width int, colour bool) string {
	var lines []string
	for len(s) > width {
		lines = append(lines, s[:width])
		s = s[width:]
	}
	lines = append(lines, s)
	if colour {
		for i := range lines {
			lines[i] = "\x1b[33m" + lines[i] + "\x1b[39m"
		}
	}
	return strings.Join(lines, "\r\n")
}

func TestClaudeToken(t *testing.T) {
	advice := "\r\n\x1b[2mStore this token securely. You won't be able to see it again.\x1b[22m\r\n"
	tests := []struct {
		name   string
		output string
		width  int
		want   string
	}{
		{"plain line", "Your OAuth token (valid for 1 year):\r\n\r\n" + fakeToken + "\r\n", 200, fakeToken},
		{"coloured", "\x1b[33m" + fakeToken + "\x1b[39m\r\n", 200, fakeToken},
		{"wrapped at 40, coloured", wrap(fakeToken, 40, true) + "\r\n" + advice, 40, fakeToken},
		{"wrapped at 37 with no blank line before advice", wrap(fakeToken, 37, true) + "\r\nStore this token securely.\r\n", 37, fakeToken},
		{"last chunk fills the line, advice follows", wrap(fakeToken[:len(fakeToken)-(len(fakeToken)%30)], 30, false) + "\r\nStore this token securely.\r\n", 30, fakeToken[:len(fakeToken)-(len(fakeToken)%30)]},
		{"wrapped with the prefix cut", "token: " + wrap(fakeToken, 13, false)[0:0] + "Your token: sk-ant\r\n" + strings.TrimPrefix(fakeToken, "sk-ant") + "\r\n", 18, fakeToken},
		{"indented box", "  │ " + fakeToken[:30] + " │\r\n  │ " + fakeToken[30:60] + " │\r\n  │ " + fakeToken[60:] + " │\r\n", 34, fakeToken},
		{"indented", "  " + fakeToken[:30] + "\r\n  " + fakeToken[30:60] + "\r\n  " + fakeToken[60:] + "\r\n\r\n  Store this.", 32, fakeToken},
		{"width unknown", wrap(fakeToken, 50, true) + "\r\n" + advice, 0, fakeToken},
		{"a lone word on the next line is not glued on", fakeToken + "\r\nDone\r\n", 200, fakeToken},
		// Without a width, a lone word that fills the next line looks like
		// the end of a wrapped token: Run always knows the width.
		{"width unknown: a lone word is taken as a wrap", fakeToken + "\r\nDone\r\n", 0, fakeToken + "Done"},
		{"redrawn frame", "\x1b[33m" + fakeToken[:40] + "\x1b[2K\x1b[1A\x1b[2K\x1b[G" + "\x1b[33m" + fakeToken + "\x1b[39m\r\n", 200, fakeToken},
		{"hyperlink around it", "\x1b]8;;https://x\x07" + fakeToken + "\x1b]8;;\x07\r\n", 200, fakeToken},
		{"in an export line", "export CLAUDE_CODE_OAUTH_TOKEN=" + fakeToken + "\n", 200, fakeToken},
		{"no token", "OAuth error: Invalid code\r\n", 80, ""},
		{"only the placeholder", "export CLAUDE_CODE_OAUTH_TOKEN=<token>\r\n", 80, ""},
		{"prefix alone", "tokens look like sk-ant-oat01-...\r\n", 80, ""},
		{"an API key is not a login", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz\r\n", 80, ""},
		// As the real claude draws: words placed with ESC[nG, lines ending
		// "\r\r\n", the token indented by a column.
		{"Ink layout", "\x1b[2GYour\x1b[7GOAuth\x1b[13Gtoken:\r\r\n\r\r\n" +
			"\x1b[2G\x1b[33m" + fakeToken[:47] + "\x1b[39m\r\r\n\x1b[2G\x1b[33m" + fakeToken[47:94] + "\x1b[39m\r\r\n\x1b[2G\x1b[33m" + fakeToken[94:] + "\x1b[39m\r\r\n\r\r\n" +
			"\x1b[2G\x1b[2mStore\x1b[8Gthis\x1b[13Gtoken\x1b[22m\r\r\n", 50, fakeToken},
		{"cut by a carriage return", "sk-ant-oat01-abcdefghij\rXYZ\r\n", 80, "sk-ant-oat01-abcdefghij"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ClaudeToken([]byte(tt.output), tt.width)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("ClaudeToken = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

// TestClaudeTokenEveryWidth wraps the token at every width from 10 to 130,
// with and without colour, followed by the advice claude prints: the token
// comes back whole every time, never with the advice glued on.
func TestClaudeTokenEveryWidth(t *testing.T) {
	for width := 10; width <= 130; width++ {
		for _, colour := range []bool{false, true} {
			out := "Your OAuth token (valid for 1 year):\r\n\r\n" + wrap(fakeToken, width, colour) +
				"\r\n\r\n\x1b[2mStore this token securely. You won't be able to see it again.\x1b[22m\r\n"
			got, ok := ClaudeToken([]byte(out), width)
			if !ok || got != fakeToken {
				t.Fatalf("width %d colour %v: got %q", width, colour, got)
			}
			// Drawn as Ink draws: indented one column with ESC[2G, a
			// column of margin on the right, lines ending "\r\r\n".
			var ink strings.Builder
			rest := fakeToken
			for rest != "" {
				n := min(width-3, len(rest))
				ink.WriteString("\x1b[2G\x1b[33m" + rest[:n] + "\x1b[39m\r\r\n")
				rest = rest[n:]
			}
			ink.WriteString("\r\r\n\x1b[2G\x1b[2mStore\x1b[8Gthis\x1b[13Gtoken\x1b[19Gsecurely.\x1b[22m\r\r\n")
			if width > 3 {
				if got, ok := ClaudeToken([]byte(ink.String()), width); !ok || got != fakeToken {
					t.Fatalf("width %d, Ink layout: got %q", width, got)
				}
			}
			// Right after the token, without the blank line.
			out = wrap(fakeToken, width, colour) + "\r\nStore this token securely.\r\n"
			if got, _ := ClaudeToken([]byte(out), width); got != fakeToken && len(fakeToken)%width != 0 {
				t.Fatalf("width %d colour %v, advice right after: got %q", width, colour, got)
			}
		}
	}
}

func TestStripANSI(t *testing.T) {
	tests := map[string]string{
		"\x1b[1;33mbold\x1b[0m":                "bold",
		"a\x1b[5Cb":                            "a     b",
		"\x1b[2GPaste\x1b[8Gcode":              " Paste code",
		"abc\x1b[2Gx":                          "abc\nx",
		"a\r\r\nb":                             "a\nb",
		"a\x1b[2Kb":                            "a\nb",
		"a\r\nb":                               "a\nb",
		"a\rb":                                 "a\nb",
		"\x1b]8;;http://x\x07link\x1b]8;;\x07": "link",
		"\x1b]0;title\x1b\\text":               "text",
		"\x1b7saved\x1b8":                      "saved",
		"tab\there\x00\x07":                    "tab\there",
		"cut \x1b[3":                           "cut ",
	}
	for in, want := range tests {
		if got := StripANSI(in); got != want {
			t.Errorf("StripANSI(%q) = %q, want %q", in, got, want)
		}
	}
}

// A stream of cursor moves cannot blow the text up.
func TestStripANSIBounded(t *testing.T) {
	in := strings.Repeat("\x1b[999999C", 10000) + strings.Repeat("x\x1b[9999G\n", 10000)
	if out := StripANSI(in); len(out) > 3*len(in) {
		t.Fatalf("%d bytes in, %d out", len(in), len(out))
	}
}

func FuzzClaudeToken(f *testing.F) {
	f.Add([]byte(wrap(fakeToken, 40, true)+"\r\nStore this token securely.\r\n"), 40)
	f.Add([]byte("\x1b[33msk-ant-oat01-abc\x1b[39m"), 0)
	f.Add([]byte("\x1b]8;;\x07\x1b["), 3)
	f.Fuzz(func(t *testing.T, out []byte, width int) {
		tok, ok := ClaudeToken(out, width%300)
		if ok != (tok != "") {
			t.Fatalf("ok = %v with token %q", ok, tok)
		}
		if ok {
			if !strings.HasPrefix(tok, "sk-ant-oat01-") || strings.ContainsAny(tok, " \r\n\x1b") {
				t.Fatalf("bad token %q", tok)
			}
		}
		if strings.Contains(StripANSI(string(out)), "\x1b") {
			t.Fatalf("StripANSI left an escape")
		}
	})
}
