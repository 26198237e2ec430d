package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/guest/creds"
)

// TestReadmesCurrent holds the generated blocks of the READMEs to the
// agents' rows and creds' tables.
func TestReadmesCurrent(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	files, err := readmes(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		old, err := os.ReadFile(filepath.Join(root, f.Path))
		if err != nil || !bytes.Equal(old, f.Data) {
			t.Errorf("%s is stale (%v): run go run ./internal/gen", f.Path, err)
		}
	}
}

// Every agent and every variable and file of creds' tables is in them.
func TestReadmesList(t *testing.T) {
	all := agent.All()
	at := agentsTable(all)
	for _, a := range all {
		for _, s := range []string{"| " + a.Name + " |", a.Package, a.SubscriptionItem, a.APIKeyItem} {
			if !strings.Contains(at, s) {
				t.Errorf("agents table lacks %s", s)
			}
		}
	}
	vt := variablesTable(true)
	for _, v := range creds.Variables() {
		if !strings.Contains(vt, "| `"+v.Name+"` | "+v.ReadBy+" |") {
			t.Errorf("variables table lacks %s", v.Name)
		}
	}
	// A cell holding '|' would end it early.
	for _, v := range creds.Variables() {
		if strings.Contains(v.Meaning+v.ReadBy, "|") {
			t.Errorf("%s's docs hold a '|'", v.Name)
		}
	}
	for _, e := range creds.Exports() {
		if strings.Contains(e.From, "|") {
			t.Errorf("%s's export docs hold a '|'", e.Agent)
		}
	}
	ft, it := filesTable(), initFilesTable(all)
	for _, f := range creds.Files() {
		if strings.Contains(f.Holds, "|") {
			t.Errorf("%s's docs hold a '|'", f.Name)
		}
		if !strings.Contains(ft, "| `"+f.Name+"` |") || !strings.Contains(it, "`"+f.Name+"`") {
			t.Errorf("files tables lack %s", f.Name)
		}
	}
}
