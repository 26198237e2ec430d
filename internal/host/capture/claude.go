package capture

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/hjk-dev/hjk/internal/agent"
)

// claudeCapture is claude's entry in captures (agents_gen.go).
var claudeCapture = Capture{Login: claude, TakesArgs: true}

// claude runs `claude setup-token` (the arguments after -- go to it) and
// takes the token it prints.
func claude(e Env) (string, error) {
	res, err := e.Run(append([]string{"setup-token"}, e.Args...)...)
	if err != nil {
		return "", err
	}
	tok, ok := ClaudeToken(res.Output, res.Width)
	if !ok {
		return "", &LoginError{Err: errors.New("found no token (sk-ant-oat01-...) in the output of 'claude setup-token': nothing was stored"),
			Hint: "Finish the login in the browser and paste the code when claude asks, then try again."}
	}
	return tok, nil
}

// minTokenBody is the least a token must hold after its prefix to be taken
// for one: shorter matches are mentions in help text or torn frames.
const minTokenBody = 8

// ClaudeToken finds the token `claude setup-token` printed in output, the
// raw bytes a terminal received. The token may be coloured, and wrapped by
// the program over several lines at the terminal's width (width 0: not
// known). The last well-formed token wins, as a program that redraws its
// screen prints the final frame last.
//
// Wrapped lines are joined only when a line ends in token characters, is
// (nearly) as wide as the terminal, and the next line holds nothing but
// token characters up to its end: so the sentence that follows the token
// ("Store this token securely...") is never glued onto it.
func ClaudeToken(output []byte, width int) (string, bool) {
	lines := strings.Split(StripANSI(string(output)), "\n")
	var found string
	for i, line := range lines {
		for _, start := range tokenStarts(line) {
			tok, _ := joinWrapped(lines, i, start, width)
			if !strings.HasPrefix(tok, agent.ClaudeTokenPrefix) || len(tok)-len(agent.ClaudeTokenPrefix) < minTokenBody {
				continue
			}
			if agent.Validate(agent.Claude, agent.Subscription, tok) == nil {
				found = tok
			}
		}
	}
	return found, found != ""
}

// tokenStarts returns where a token may start in line: at the prefix, or at
// a run of token characters at the end of the line that is the prefix's
// beginning, cut by a wrap.
func tokenStarts(line string) []int {
	var starts []int
	for off := 0; ; {
		i := strings.Index(line[off:], agent.ClaudeTokenPrefix)
		if i < 0 {
			break
		}
		starts = append(starts, off+i)
		off += i + len(agent.ClaudeTokenPrefix)
	}
	trimmed := strings.TrimRightFunc(line, isFrame)
	j := len(trimmed)
	for j > 0 && isTokenByte(trimmed[j-1]) {
		j--
	}
	if tail := trimmed[j:]; tail != "" && len(tail) < len(agent.ClaudeTokenPrefix) && strings.HasPrefix(agent.ClaudeTokenPrefix, tail) {
		starts = append(starts, j)
	}
	return starts
}

// joinWrapped reads the token starting at line i, byte start, following it
// onto the next lines while it was wrapped. It returns the token and the
// index of its last line.
func joinWrapped(lines []string, i, start, width int) (string, int) {
	run := tokenRun(lines[i][start:])
	tok := run
	for {
		line := lines[i]
		rest := strings.TrimRightFunc(line[start+len(run):], isFrame)
		if rest != "" || !full(line, width) || i+1 >= len(lines) {
			return tok, i
		}
		next := lines[i+1]
		lead := len(next) - len(strings.TrimLeftFunc(next, isFrame))
		cont := tokenRun(next[lead:])
		if cont == "" || strings.TrimRightFunc(next[lead+len(cont):], isFrame) != "" {
			return tok, i
		}
		tok += cont
		i, start, run = i+1, lead, cont
	}
}

// full reports whether line filled the terminal, so that a wrap, not the
// program, ended it. A program may keep a small margin (Ink boxes pad).
func full(line string, width int) bool {
	if width <= 0 {
		return true
	}
	const margin = 6
	return utf8.RuneCountInString(line) >= width-margin
}

// isFrame reports whether r is blank or a box-drawing character: what a
// program puts around text (indentation, padding, a border), never part of
// a token.
func isFrame(r rune) bool {
	return r == ' ' || r == '\t' || r >= 0x2500 && r <= 0x257f
}

func tokenRun(s string) string {
	n := 0
	for n < len(s) && isTokenByte(s[n]) {
		n++
	}
	return s[:n]
}

func isTokenByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

// StripANSI removes terminal control sequences from s, keeping the text a
// user would see, laid out in lines: colours and hyperlinks vanish; moves
// to the right on the same line (CHA "ESC[nG", as Ink writes instead of
// spaces, and CUF "ESC[nC") become the spaces they skip; any other cursor
// move, an erase, or a carriage return that is not part of a line end ends
// the line, so text on both sides of it is never glued together.
func StripANSI(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	col := 0 // the visible column on the current line
	// Padding for cursor moves is bounded by the input's size, so a hostile
	// stream of moves cannot blow the text up; past it a move is one space.
	budget := 2*len(s) + 4096
	pad := func(n int) {
		if n > budget {
			n = min(n, 1)
		}
		budget -= n
		b.WriteString(strings.Repeat(" ", n))
		col += n
	}
	newline := func() {
		b.WriteByte('\n')
		col = 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			// CSI: parameters and intermediates, then a final byte 0x40-0x7e.
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			if j >= len(s) {
				return b.String()
			}
			n := csiNumber(s[i+2 : j])
			switch s[j] {
			case 'm': // colour: nothing visible
			case 'C': // cursor forward n
				pad(n)
			case 'G': // cursor to column n (1-based) on this line
				if n-1 >= col {
					pad(n - 1 - col)
				} else {
					newline()
				}
			default:
				newline()
			}
			i = j
		case c == 0x1b && i+1 < len(s) && (s[i+1] == ']' || s[i+1] == 'P' || s[i+1] == '_' || s[i+1] == '^'):
			// OSC, DCS, APC, PM: up to BEL or ST (ESC \).
			j := i + 2
			for j < len(s) && s[j] != 0x07 && !(s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\') {
				j++
			}
			if j < len(s) && s[j] == 0x1b {
				j++
			}
			i = j
		case c == 0x1b:
			i++ // a two-byte escape (ESC 7, ESC =, ...)
		case c == '\r':
			// "\r\n" and "\r\r\n" (a pty's onlcr on top of a program's own
			// CR) are one line end; a lone CR returns over the line.
			j := i
			for j < len(s) && s[j] == '\r' {
				j++
			}
			if j < len(s) && s[j] == '\n' {
				i = j - 1
				continue
			}
			newline()
			i = j - 1
		case c == '\n':
			newline()
		case c == '\t' || c >= 0x20 && c != 0x7f:
			b.WriteByte(c)
			if c < 0x80 || c >= 0xc0 { // not a UTF-8 continuation byte
				col++
			}
		}
	}
	return b.String()
}

// maxColumns bounds the columns a cursor move may skip.
const maxColumns = 1000

// csiNumber reads a CSI sequence's first parameter, 1 when absent or 0.
func csiNumber(params string) int {
	n := 0
	for k := 0; k < len(params) && params[k] >= '0' && params[k] <= '9'; k++ {
		n = n*10 + int(params[k]-'0')
		if n > maxColumns {
			// No terminal is this wide; bounding it keeps a hostile
			// stream from blowing the text up.
			return maxColumns
		}
	}
	if n == 0 {
		return 1
	}
	return n
}
