package cli

import (
	"bytes"
	"testing"
	"time"
)

// The engine's refusal of an exec in a stopped container is held back so
// hjk can start the container and retry without showing it.
func TestHoldWriter(t *testing.T) {
	var out bytes.Buffer
	h := newHoldWriter(&out, time.Hour)
	h.Write([]byte("Error response from daemon: container is not running\n"))
	if out.Len() != 0 {
		t.Fatal("held output was written")
	}
	if !h.settle() {
		t.Fatal("settle: not holding")
	}
	h.drop()
	h.release()
	if out.Len() != 0 {
		t.Errorf("dropped output was written: %q", out.String())
	}

	// A session's own error output comes through, in order, once the
	// hold time is over.
	out.Reset()
	h = newHoldWriter(&out, 10*time.Millisecond)
	h.Write([]byte("a"))
	time.Sleep(50 * time.Millisecond)
	h.Write([]byte("b"))
	if h.settle() {
		t.Error("settle after the hold time: still holding")
	}
	if out.String() != "ab" {
		t.Errorf("got %q, want ab", out.String())
	}

	// Much output is never held for long.
	out.Reset()
	h = newHoldWriter(&out, time.Hour)
	h.Write(bytes.Repeat([]byte("x"), 70<<10))
	if out.Len() != 70<<10 {
		t.Errorf("%d bytes through after 70 KiB written", out.Len())
	}
	h.settle()
}
