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

// FuzzEntries: a hand-over holds credential variables only (with --env,
// session variables too, never PATH, LD_* or HJK_*), each whole.
func FuzzEntries(f *testing.F) {
	f.Add([]byte("CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-x\x00"))
	f.Add([]byte("PATH=/x\x00"))
	f.Add([]byte("OPENAI_API_KEY=a\x00GEMINI_API_KEY"))
	f.Add([]byte("HTTPS_PROXY=http://127.0.0.1:7800\x00HJK_USER=root\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, env := range []bool{false, true} {
			entries, err := parseEntries(b, env)
			if err != nil {
				continue
			}
			for _, e := range entries {
				name, _, ok := strings.Cut(e, "=")
				if !ok || strings.ContainsRune(e, 0) || !credVar(name) && !(env && sessionVar(name)) ||
					name == "PATH" || strings.HasPrefix(name, "LD_") || strings.HasPrefix(name, "HJK_") {
					t.Fatalf("parseEntries(%q, %v) took %q", b, env, e)
				}
			}
		}
	})
}

// With --env a hand-over carries the session's variables too (kubectl exec
// passes no environment), but never PATH, the loader's or hjk-init's own;
// a hand-over made without it is still read as credentials only.
func TestHandoverEnv(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	var out, errb bytes.Buffer
	in := "HTTPS_PROXY=http://127.0.0.1:7800\x00OPENAI_API_KEY=sk-FAKE\x00"
	if code := receive(dir, []string{"receive"}, strings.NewReader(in), &out, &errb); code != agent.ExitFailure {
		t.Fatalf("receive without --env took a session variable: %d", code)
	}
	out.Reset()
	if code := receive(dir, []string{"receive", "--env"}, strings.NewReader(in), &out, &errb); code != 0 {
		t.Fatalf("receive --env: %d %s", code, errb.String())
	}
	entries, err := takeHandover(dir, strings.TrimSpace(out.String()))
	if err != nil || len(entries) != 2 || entries[0] != "HTTPS_PROXY=http://127.0.0.1:7800" {
		t.Fatalf("takeHandover = %q, %v", entries, err)
	}
	for _, bad := range []string{"PATH=/evil\x00", "LD_PRELOAD=/x.so\x00", "HJK_USER=root\x00", "1X=y\x00", "A-B=y\x00"} {
		errb.Reset()
		if code := receive(dir, []string{"receive", "--env"}, strings.NewReader(bad), &out, &errb); code != agent.ExitFailure || strings.Contains(errb.String(), "/evil") {
			t.Errorf("receive --env %q: %d %q", bad, code, errb.String())
		}
	}
	if code := receive(dir, []string{"receive", "--all"}, strings.NewReader(in), &out, &errb); code != agent.ExitFailure {
		t.Errorf("receive --all: %d", code)
	}
}
