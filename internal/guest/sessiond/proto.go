package sessiond

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The protocol on a session's socket is a stream of frames, each one type
// byte, a 4-byte big-endian payload length and the payload. It is
// hjk-init's own (both ends are the same binary), so there is no version.
//
// Client to server:
//
//	'H' hello: attach; payload rows, cols (2 bytes each; 0 keeps the size)
//	'I' input for the PTY
//	'W' window size: rows, cols
//	'K' kill: payload one byte, the signal; no hello needed
//
// Server to client:
//
//	'O' output of the PTY (to attached clients only)
//	'X' the session ended: payload its exit status (4 bytes)
const (
	frameHello  = 'H'
	frameInput  = 'I'
	frameSize   = 'W'
	frameKill   = 'K'
	frameOutput = 'O'
	frameExit   = 'X'
)

// maxFrame bounds a payload, so a broken peer cannot make the other end
// allocate without limit.
const maxFrame = 1 << 20

var errFrameTooBig = errors.New("session protocol: frame too big")

type frame struct {
	kind byte
	data []byte
}

// readFrame reads one frame. io.EOF only at a frame boundary.
func readFrame(r io.Reader) (frame, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return frame{}, err
	}
	n := uint32(h[1])<<24 | uint32(h[2])<<16 | uint32(h[3])<<8 | uint32(h[4])
	if n > maxFrame {
		return frame{}, fmt.Errorf("%w (%d bytes)", errFrameTooBig, n)
	}
	f := frame{kind: h[0], data: make([]byte, n)}
	if _, err := io.ReadFull(r, f.data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return frame{}, err
	}
	return f, nil
}

// appendFrame appends the encoding of a frame to b: one write per frame
// keeps frames whole when several goroutines write.
func appendFrame(b []byte, kind byte, data []byte) []byte {
	n := len(data)
	b = append(b, kind, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	return append(b, data...)
}

func writeFrame(w io.Writer, kind byte, data []byte) error {
	_, err := w.Write(appendFrame(nil, kind, data))
	return err
}

func u16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

func sizePayload(rows, cols uint16) []byte {
	return []byte{byte(rows >> 8), byte(rows), byte(cols >> 8), byte(cols)}
}

func codePayload(code int) []byte {
	c := uint32(int32(code))
	return []byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}
}

func payloadCode(b []byte) int {
	if len(b) != 4 {
		return 1
	}
	return int(int32(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])))
}

// detacher finds the detach sequence in a client's input. Bytes that start
// the sequence are held back until it is complete (the client detaches) or
// broken (they are passed on), also across reads.
type detacher struct {
	keys    []byte
	matched int
}

// feed returns the input to pass on, and whether the sequence completed
// (what followed it in p is dropped). After each byte, the held bytes are
// the longest end of the input that begins the sequence, so overlapping
// sequences ("a,a,b" in "aaab") are found too.
func (d *detacher) feed(p []byte) (out []byte, detach bool) {
	for _, b := range p {
		held := append(d.keys[:d.matched:d.matched], b)
		k := min(len(held), len(d.keys))
		for ; k > 0; k-- {
			if bytes.Equal(held[len(held)-k:], d.keys[:k]) {
				break
			}
		}
		out = append(out, held[:len(held)-k]...)
		d.matched = k
		if k == len(d.keys) {
			d.matched = 0
			return out, true
		}
	}
	return out, false
}
