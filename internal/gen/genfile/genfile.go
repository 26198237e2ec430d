// Package genfile is what the repository's generators share: writing a
// generated file only when it changed, and filling the generated blocks
// of a hand-written document.
package genfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File is one generated file, by its path from the repository's root.
type File struct {
	Path string
	Data []byte
}

// Update writes each file under root whose content differs and returns
// their paths; with check it writes none of them.
func Update(root string, files []File, check bool) ([]string, error) {
	var stale []string
	for _, f := range files {
		path := filepath.Join(root, f.Path)
		old, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if bytes.Equal(old, f.Data) {
			continue
		}
		stale = append(stale, f.Path)
		if !check {
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				return nil, err
			}
		}
	}
	return stale, nil
}

// Fill replaces the body of each block of doc, between its lines
// <!-- gen:NAME --> and <!-- /gen:NAME -->, with its text. Every block
// named must be there once, and doc may hold no other.
func Fill(doc []byte, blocks map[string]string) ([]byte, error) {
	s := string(doc)
	for name, body := range blocks {
		begin, end := "<!-- gen:"+name+" -->\n", "\n<!-- /gen:"+name+" -->"
		i := strings.Index(s, begin)
		if i < 0 || strings.Count(s, begin) != 1 {
			return nil, fmt.Errorf("no single line %q", strings.TrimSpace(begin))
		}
		j := strings.Index(s[i:], end)
		if j < 0 {
			return nil, fmt.Errorf("block %s has no line %q", name, strings.TrimSpace(end))
		}
		s = s[:i+len(begin)] + strings.TrimSuffix(body, "\n") + s[i+j:]
	}
	if n := strings.Count(s, "<!-- gen:"); n != len(blocks) {
		return nil, fmt.Errorf("%d generated blocks, %d known", n, len(blocks))
	}
	return []byte(s), nil
}

// ToRoot makes the repository's root (the folder of go.mod) the current
// folder, so a generator runs the same from anywhere in it.
func ToRoot() error {
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return os.Chdir(dir)
		}
		up := filepath.Dir(dir)
		if up == dir {
			return errors.New("not in the repository: no go.mod above the current folder")
		}
		dir = up
	}
}

// Main runs a generator's files through Update, for a command with a
// -check flag: it says what was stale and what to run, and returns the
// exit code.
func Main(root string, files []File, err error, check bool, name string) int {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	stale, err := Update(root, files, check)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	if check && len(stale) > 0 {
		fmt.Fprintf(os.Stderr, "%s: stale: %s\nRun: go run ./internal/gen\n", name, strings.Join(stale, ", "))
		return 1
	}
	return 0
}
