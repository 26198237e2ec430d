package shim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
)

func TestHandover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	const secret = "sk-ant-oat01-FAKEhandover"
	var out, errb bytes.Buffer
	in := "CLAUDE_CODE_OAUTH_TOKEN=" + secret + "\x00OPENAI_API_KEY=sk-FAKE\x00"
	if code := receive(dir, []string{"receive"}, strings.NewReader(in), &out, &errb); code != 0 {
		t.Fatalf("receive: %d %s", code, errb.String())
	}
	id := strings.TrimSpace(out.String())
	fi, err := os.Stat(filepath.Join(dir, id))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("hand-over file: %v %v", fi, err)
	}
	entries, err := takeHandover(dir, id)
	if err != nil || len(entries) != 2 || entries[0] != "CLAUDE_CODE_OAUTH_TOKEN="+secret {
		t.Fatalf("takeHandover = %q, %v", entries, err)
	}
	if _, err := os.Stat(filepath.Join(dir, id)); !os.IsNotExist(err) {
		t.Error("the hand-over stays after it was taken")
	}
	if _, err := takeHandover(dir, id); err == nil {
		t.Error("a hand-over was taken twice")
	}
	// Anything but a credential variable is refused, without its value.
	for _, bad := range []string{"PATH=/evil\x00", "LD_PRELOAD=/x.so\x00", "CLAUDE_CODE_OAUTH_TOKEN=" + secret} {
		errb.Reset()
		if code := receive(dir, []string{"receive"}, strings.NewReader(bad), &out, &errb); code != agent.ExitFailure || strings.Contains(errb.String(), secret) || strings.Contains(errb.String(), "/evil") {
			t.Errorf("receive %q: %d %q", bad, code, errb.String())
		}
	}
	// A link planted in place of a hand-over is not read.
	target := filepath.Join(t.TempDir(), "t")
	os.WriteFile(target, []byte("OPENAI_API_KEY=planted\x00"), 0o600)
	planted := strings.Repeat("a", 32)
	os.Symlink(target, filepath.Join(dir, planted))
	if _, err := takeHandover(dir, planted); err == nil {
		t.Error("a planted link was taken as a hand-over")
	}
	if _, err := takeHandover(dir, "../../etc/passwd"); err == nil {
		t.Error("took a path as an id")
	}
	// One nobody took goes after a while.
	old := filepath.Join(dir, strings.Repeat("b", 32))
	os.WriteFile(old, nil, 0o600)
	os.Chtimes(old, time.Now().Add(-2*handoverTTL), time.Now().Add(-2*handoverTTL))
	receive(dir, []string{"receive"}, strings.NewReader(in), &out, &errb)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Error("an old hand-over was not purged")
	}
}

// FuzzEntries: a hand-over holds credential variables only, each whole.
func FuzzEntries(f *testing.F) {
	f.Add([]byte("CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-x\x00"))
	f.Add([]byte("PATH=/x\x00"))
	f.Add([]byte("OPENAI_API_KEY=a\x00GEMINI_API_KEY"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := parseEntries(b)
		if err != nil {
			return
		}
		for _, e := range entries {
			name, _, ok := strings.Cut(e, "=")
			if !ok || !credVar(name) || strings.ContainsRune(e, 0) {
				t.Fatalf("parseEntries(%q) took %q", b, e)
			}
		}
	})
}
