// Package textsafe makes text that hjk does not control (session names,
// states and commands a container wrote, an engine's stderr, a log) safe
// to print on a terminal: nothing in it can move the cursor, clear the
// screen, set the title, write the clipboard (OSC 52), reorder what is
// shown (bidirectional overrides) or overwrite a line hjk printed.
//
// Escape sequences are removed whole: CSI (ESC [ and U+009B), OSC (ESC ]
// and U+009D, ended by BEL or ST), DCS, SOS, PM and APC (ESC P, X, ^, _
// and U+0090, U+0098, U+009E, U+009F, ended by ST), and two-byte ESC
// sequences (ESC c, ESC 7...); a string sequence with no end also ends at a
// newline, so one stray introducer cannot swallow the rest of a log. Every
// other control character is shown escaped instead: C0 controls and DEL as
// \xNN (\n, \r and \t as such), C1 controls, bidirectional formatting
// characters and the Unicode line and paragraph separators as \uNNNN.
// Invalid UTF-8 becomes U+FFFD. What remains is printable UTF-8. The
// escapes are for reading, not for decoding back.
//
// Two forms: Field for one field of a line (names, states, commands in a
// table), where newlines and tabs are escaped too, and Text for lines
// (a log, an engine's stderr), where newlines and tabs stay and a carriage
// return becomes a newline (CR LF is one newline), so that nothing printed
// can go back over a line. Writer is Text over a stream.
//
// It holds no OS code: hjk and hjk-init can both import it.
package textsafe

import (
	"io"
	"strconv"
	"unicode/utf8"
)

// Ellipsis ends a result cut to its cap.
const Ellipsis = "…"

// Field returns s safe to print as one field of a line: no control
// character at all, newlines and tabs included. With max > 0 the result is
// at most max characters (runes), the last of them Ellipsis when s was cut.
func Field(s string, max int) string {
	c := cleaner{field: true, max: max}
	c.write([]byte(s), true)
	return string(c.out)
}

// Text returns s safe to print as lines: newlines and tabs stay, a carriage
// return becomes a newline. max caps it as for Field.
func Text(s string, max int) string {
	c := cleaner{max: max}
	c.write([]byte(s), true)
	return string(c.out)
}

// Writer writes Text's form of a stream to an underlying writer. A
// sequence or a UTF-8 character split across writes is handled as if it
// came in one; Flush ends what is still open.
type Writer struct {
	w io.Writer
	c cleaner
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write cleans p and writes the result; it returns len(p) when the
// underlying write succeeds.
func (w *Writer) Write(p []byte) (int, error) {
	w.c.out = w.c.out[:0]
	w.c.write(p, false)
	if len(w.c.out) > 0 {
		if _, err := w.w.Write(w.c.out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush ends the stream so far: an incomplete character is written as
// U+FFFD, an unterminated sequence and a final carriage return dropped.
func (w *Writer) Flush() error {
	w.c.out = w.c.out[:0]
	w.c.write(nil, true)
	if len(w.c.out) == 0 {
		return nil
	}
	_, err := w.w.Write(w.c.out)
	return err
}

// The states of the escape-sequence parser.
const (
	ground   = iota
	esc      // after ESC
	escInter // ESC, then intermediate bytes
	csi      // in a control sequence
	str      // in a string (OSC, DCS, SOS, PM, APC), until ST or BEL
	strEsc   // ESC in a string: ST if '\' follows
)

// cleaner is the state of one cleaning, kept across writes.
type cleaner struct {
	field bool // Field's form: newlines and tabs escaped too
	max   int  // characters at most; 0 is no cap

	state int
	cr    bool   // a carriage return waits to see whether LF follows (Text)
	held  []byte // the start of a UTF-8 character the last write cut

	out  []byte
	used int  // characters in out
	cut  int  // len(out) when used was at most max-1, for the ellipsis
	done bool // the cap was reached: nothing more is written
}

// write cleans p; end says no more input follows.
func (c *cleaner) write(p []byte, end bool) {
	if len(c.held) > 0 {
		p = append(c.held, p...)
		c.held = nil
	}
	for len(p) > 0 && !c.done {
		if !end && !utf8.FullRune(p) {
			c.held = append([]byte(nil), p...)
			return
		}
		r, n := utf8.DecodeRune(p)
		if r == utf8.RuneError && n == 1 {
			r = invalid
		}
		p = p[n:]
		for c.step(r) {
		}
	}
	if end {
		c.state, c.cr = ground, false
	}
}

// invalid stands for a byte that is not UTF-8: outside the runes Go decodes.
const invalid = -1

// step handles one rune; it returns true when the rune ended a sequence
// without being part of it and must be handled again, from ground.
func (c *cleaner) step(r rune) bool {
	switch c.state {
	case esc:
		switch {
		case r == '[':
			c.state = csi
		case r == ']' || r == 'P' || r == 'X' || r == '^' || r == '_':
			c.state = str
		case r == 0x1b: // the first ESC was bare: dropped
		case r >= 0x20 && r <= 0x2f:
			c.state = escInter
		case r >= 0x30 && r <= 0x7e:
			c.state = ground
		default:
			c.state = ground
			return true
		}
		return false
	case escInter:
		switch {
		case r >= 0x20 && r <= 0x2f:
		case r >= 0x30 && r <= 0x7e:
			c.state = ground
		default:
			c.state = ground
			return true
		}
		return false
	case csi:
		switch {
		case r >= 0x20 && r <= 0x3f: // parameters, intermediates
		case r >= 0x40 && r <= 0x7e:
			c.state = ground
		default:
			c.state = ground
			return true
		}
		return false
	case str:
		switch r {
		case 0x07, 0x9c, 0x18, 0x1a: // BEL, ST; CAN and SUB abort it
			c.state = ground
		case 0x1b:
			c.state = strEsc
		case '\n':
			c.state = ground
			return true
		}
		return false
	case strEsc:
		if r == '\\' {
			c.state = ground
			return false
		}
		c.state = esc
		return true
	}

	if c.cr { // Text only
		c.cr = false
		c.emit("\n", 1)
		if r == '\n' {
			return false
		}
	}
	switch {
	case r == 0x1b:
		c.state = esc
	case r == 0x9b:
		c.state = csi
	case r == 0x9d || r == 0x90 || r == 0x98 || r == 0x9e || r == 0x9f:
		c.state = str
	case r == '\r' && !c.field:
		c.cr = true
	case (r == '\n' || r == '\t') && !c.field:
		c.emit(string(r), 1)
	case r == '\n':
		c.emit(`\n`, 2)
	case r == '\r':
		c.emit(`\r`, 2)
	case r == '\t':
		c.emit(`\t`, 2)
	case r == invalid:
		c.emit("\uFFFD", 1)
	case r < 0x20 || r == 0x7f:
		c.emit(`\x`+hex2(r), 4)
	case r >= 0x80 && r < 0xa0 || isFormat(r):
		e := `\u` + hex4(r)
		c.emit(e, len(e))
	default:
		c.out = utf8.AppendRune(c.out, r)
		c.count(1)
	}
	return false
}

// isFormat reports the characters that change how text around them is
// laid out without showing themselves: bidirectional marks, embeddings,
// overrides and isolates (the "Trojan Source" ones), and the line and
// paragraph separators.
func isFormat(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// emit appends a unit of n characters, unless that would pass the cap:
// then the result is cut back to what leaves room for Ellipsis, which
// ends it.
func (c *cleaner) emit(s string, n int) {
	if c.max > 0 && c.used+n > c.max {
		c.out = append(c.out[:c.cut], Ellipsis...)
		c.done = true
		return
	}
	c.out = append(c.out, s...)
	c.count(n)
}

func (c *cleaner) count(n int) {
	if c.max > 0 && c.used+n > c.max {
		// A printable rune past the cap (appended by the caller).
		c.out = append(c.out[:c.cut], Ellipsis...)
		c.done = true
		return
	}
	c.used += n
	if c.used <= c.max-1 {
		c.cut = len(c.out)
	}
}

func hex2(r rune) string {
	s := strconv.FormatInt(int64(r), 16)
	if len(s) < 2 {
		s = "0" + s
	}
	return s
}

func hex4(r rune) string {
	s := strconv.FormatInt(int64(r), 16)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}
