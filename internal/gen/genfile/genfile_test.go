package genfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFill(t *testing.T) {
	doc := "# T\n\n<!-- gen:a -->\nold\nrows\n<!-- /gen:a -->\n\nafter\n"
	got, err := Fill([]byte(doc), map[string]string{"a": "| x |\n"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "# T\n\n<!-- gen:a -->\n| x |\n<!-- /gen:a -->\n\nafter\n"; string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	again, err := Fill(got, map[string]string{"a": "| x |\n"})
	if err != nil || string(again) != string(got) {
		t.Errorf("a second fill changed the document (%v):\n%s", err, again)
	}
	for name, c := range map[string]struct {
		doc    string
		blocks map[string]string
	}{
		"missing":   {"text\n", map[string]string{"a": "x"}},
		"twice":     {"<!-- gen:a -->\n<!-- /gen:a -->\n<!-- gen:a -->\n<!-- /gen:a -->\n", map[string]string{"a": "x"}},
		"unclosed":  {"<!-- gen:a -->\nx\n", map[string]string{"a": "x"}},
		"unknown":   {"<!-- gen:a -->\n<!-- /gen:a -->\n<!-- gen:b -->\n<!-- /gen:b -->\n", map[string]string{"a": "x"}},
		"no blocks": {"<!-- gen:a -->\n<!-- /gen:a -->\n", nil},
	} {
		if _, err := Fill([]byte(c.doc), c.blocks); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestUpdate(t *testing.T) {
	root := t.TempDir()
	same := filepath.Join(root, "same")
	if err := os.WriteFile(same, []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []File{{"same", []byte("s")}, {"new", []byte("n")}}
	stale, err := Update(root, files, true)
	if err != nil || strings.Join(stale, ",") != "new" {
		t.Fatalf("check: %v %v", stale, err)
	}
	if _, err := os.Stat(filepath.Join(root, "new")); err == nil {
		t.Fatal("check wrote a file")
	}
	if _, err := Update(root, files, false); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "new")); err != nil || string(b) != "n" {
		t.Fatalf("new: %q %v", b, err)
	}
	if stale, err := Update(root, files, true); err != nil || len(stale) != 0 {
		t.Errorf("after writing, stale: %v %v", stale, err)
	}
}

// FuzzFill: a fill either fails or leaves every block holding its text,
// everything outside the blocks as it was, and is the same when repeated.
func FuzzFill(f *testing.F) {
	f.Add("a <!-- gen:x -->\nold\n<!-- /gen:x --> b", "new")
	f.Add("<!-- gen:x -->\n<!-- /gen:x -->", "")
	f.Add("<!-- gen:x -->\n<!-- gen:x -->\n<!-- /gen:x -->", "y\n")
	f.Fuzz(func(t *testing.T, doc, body string) {
		got, err := Fill([]byte(doc), map[string]string{"x": body})
		if err != nil {
			return
		}
		want := strings.TrimSuffix(body, "\n")
		if !strings.Contains(string(got), "<!-- gen:x -->\n"+want+"\n<!-- /gen:x -->") {
			t.Fatalf("block does not hold its text:\n%q", got)
		}
		begin := strings.Index(doc, "<!-- gen:x -->\n")
		if !strings.HasPrefix(string(got), doc[:begin]) {
			t.Fatalf("text before the block changed:\n%q", got)
		}
		again, err := Fill(got, map[string]string{"x": body})
		if err != nil {
			// The body itself may hold a marker line: then a second
			// fill can refuse, never silently differ.
			if strings.Contains(body, "<!-- ") {
				return
			}
			t.Fatalf("a filled document is refused: %v\n%q", err, got)
		}
		if string(again) != string(got) && !strings.Contains(body, "<!-- ") {
			t.Fatalf("a second fill changed it:\n%q\n%q", got, again)
		}
	})
}
