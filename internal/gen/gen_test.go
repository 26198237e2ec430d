package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/agent"
)

// TestTablesCurrent holds agents_gen.go on both sides to agent.All().
func TestTablesCurrent(t *testing.T) {
	files, err := tables(agent.All())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		old, err := os.ReadFile(filepath.Join("..", "..", f.Path))
		if err != nil || !bytes.Equal(old, f.Data) {
			t.Errorf("%s is stale (%v): run go run ./internal/gen", f.Path, err)
		}
	}
}

func TestTablesNameEachAgent(t *testing.T) {
	files, err := tables([]agent.Agent{{Name: "claude"}, {Name: "open-code2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"open-code2": openCode2Capture,`, `"claude":     claudeCapture,`} {
		if !strings.Contains(string(files[0].Data), want) {
			t.Errorf("capture table lacks %q:\n%s", want, files[0].Data)
		}
	}
	if !strings.Contains(string(files[1].Data), `"open-code2": openCode2Guest(),`) {
		t.Errorf("guest table lacks open-code2:\n%s", files[1].Data)
	}
	if _, err := tables([]agent.Agent{{Name: "Bad Name"}}); err == nil {
		t.Error("a name that makes no Go name was taken")
	}
	if _, err := tables([]agent.Agent{{Name: "a-b"}, {Name: "aB"}}); err == nil {
		t.Error("two agents with one Go name were taken")
	}
}

func TestIdent(t *testing.T) {
	for in, want := range map[string]string{"claude": "claude", "open-code": "openCode", "a1-b2": "a1B2"} {
		if got, err := ident(in); err != nil || got != want {
			t.Errorf("ident(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-a", "a-", "a--b", "A", "1a", "a_b", "a.b"} {
		if got, err := ident(in); err == nil {
			t.Errorf("ident(%q) = %q, no error", in, got)
		}
	}
}
