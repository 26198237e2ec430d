package sessiond

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hjk-dev/hjk/internal/session"
)

// FuzzFrames: whatever a peer sends, readFrame returns whole frames that
// encode back to the same bytes, or an error; never a panic or a huge
// allocation.
func FuzzFrames(f *testing.F) {
	f.Add(appendFrame(appendFrame(nil, frameHello, sizePayload(24, 80)), frameInput, []byte("hi")))
	f.Add([]byte{frameOutput, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{frameExit, 0, 0, 0, 4, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		var again []byte
		for {
			fr, err := readFrame(r)
			if err != nil {
				if err == io.EOF && !bytes.Equal(again, b) {
					t.Fatalf("frames %q re-encode as %q", b, again)
				}
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errFrameTooBig) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			again = appendFrame(again, fr.kind, fr.data)
		}
	})
}

// FuzzDetach: the detacher passes on exactly the input minus the detach
// sequence, however the input is split into reads.
func FuzzDetach(f *testing.F) {
	f.Add("ctrl-b,d", []byte("ab\x02x\x02\x02d rest"), uint8(3))
	f.Add("ctrl-p,ctrl-q", []byte("\x10\x10\x11"), uint8(1))
	f.Add("a,a,b", []byte("aaab"), uint8(2))
	f.Fuzz(func(t *testing.T, spec string, in []byte, split uint8) {
		keys, err := session.ParseDetachKeys(spec)
		if err != nil {
			return
		}
		// The reference: the first occurrence of keys ends the input.
		want, detach := in, false
		if i := bytes.Index(in, keys); i >= 0 {
			want, detach = in[:i], true
		}
		d := detacher{keys: keys}
		var got []byte
		gotDetach := false
		n := int(split)%8 + 1
		for len(in) > 0 && !gotDetach {
			k := min(n, len(in))
			out, det := d.feed(in[:k])
			got, gotDetach = append(got, out...), det
			in = in[k:]
		}
		if !gotDetach {
			got = append(got, keys[:d.matched]...) // held at the end
		}
		if gotDetach != detach || !bytes.Equal(got, want) {
			t.Fatalf("keys %q: got %q detach %v, want %q detach %v", keys, got, gotDetach, want, detach)
		}
	})
}
