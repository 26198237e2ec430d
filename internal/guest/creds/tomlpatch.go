package creds

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// codexConfig makes codex's config.toml keep its login in auth.json and
// trust workdir, and returns the new content.
//
// The user's file is patched line by line, not re-encoded, so its comments,
// order and layout stay. Each candidate patch is decoded and compared with
// the original document plus exactly our two settings: the first that
// matches is used. Should none match (an inline projects table, say), the
// document is re-encoded with every key but without comments, and note says
// so. A file codex could not read either is reported in broken, by line
// number only, and the result starts from an empty file.
func codexConfig(orig []byte, workdir string) (out []byte, broken, note string) {
	want := map[string]any{}
	if len(bytes.TrimSpace(orig)) == 0 {
		orig = nil // white space only: as good as no file
	} else if _, err := toml.Decode(string(orig), &want); err != nil {
		broken = tomlProblem(err)
		orig, want = nil, map[string]any{}
	}
	storePath := []string{"cli_auth_credentials_store"}
	trustPath := []string{"projects", workdir, "trust_level"}
	if orig != nil && getTOML(want, storePath) == "file" && getTOML(want, trustPath) == "trusted" {
		return orig, broken, "" // already as wanted
	}
	setTOML(want, storePath, "file")
	setTOML(want, trustPath, "trusted")

	text := string(orig)
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	for _, store := range storePatches(text) {
		for _, cand := range trustPatches(store, workdir) {
			var got map[string]any
			if _, err := toml.Decode(cand, &got); err == nil && reflect.DeepEqual(got, want) {
				return []byte(cand), broken, ""
			}
		}
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(want); err != nil {
		// want holds only what toml decoded, plus strings.
		panic(fmt.Sprintf("creds: encoding decoded TOML: %v", err))
	}
	return buf.Bytes(), broken, "its comments and layout could not be kept; every key was"
}

func tomlProblem(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("is not valid TOML (line %d)", pe.Position.Line)
	}
	return "is not valid TOML"
}

func getTOML(m map[string]any, path []string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func setTOML(m map[string]any, path []string, v string) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// storePatches returns the texts that may set cli_auth_credentials_store:
// each existing assignment replaced, then the line added below the file's
// opening comments, or on top (top-level keys come before the first table).
func storePatches(text string) []string {
	const line = `cli_auth_credentials_store = "file"`
	out := append(replaceAssignments(text, "cli_auth_credentials_store", line), text)
	at := 0
	for _, l := range strings.SplitAfter(text, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			break
		}
		at += len(l)
	}
	if at > 0 && strings.HasSuffix(text[:at], "\n") {
		out = append(out, text[:at]+line+"\n"+text[at:])
	}
	return append(out, line+"\n"+text)
}

// trustPatches returns the texts that may trust workdir: each trust_level
// line replaced, the line added under each [projects.…] header, then a new
// table at the end.
func trustPatches(text, workdir string) []string {
	const line = `trust_level = "trusted"`
	out := replaceAssignments(text, "trust_level", line)
	at := 0
	for _, l := range strings.SplitAfter(text, "\n") {
		at += len(l)
		if isProjectsHeader(l) {
			end := at
			if strings.HasSuffix(l, "\n") {
				end--
			}
			out = append(out, text[:end]+"\n"+line+text[end:])
		}
	}
	sep := ""
	if text != "" {
		sep = "\n"
	}
	return append(out, text, text+sep+"[projects."+tomlQuote(workdir)+"]\n"+line+"\n")
}

// replaceAssignments returns one text per line that assigns a one-line
// string to key, with that line replaced by repl (keeping its comment).
func replaceAssignments(text, key, repl string) []string {
	var out []string
	at := 0
	for _, l := range strings.SplitAfter(text, "\n") {
		start := at
		at += len(l)
		body := strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
		comment, ok := stringAssignment(body, key)
		if !ok {
			continue
		}
		r := repl
		if comment != "" {
			r += " " + comment
		}
		out = append(out, text[:start]+r+text[start+len(body):])
	}
	return out
}

// stringAssignment reports whether line is `key = "value"` (or the key or
// value quoted otherwise), returning its trailing comment.
func stringAssignment(line, key string) (comment string, ok bool) {
	rest := strings.TrimLeft(line, " \t")
	var found bool
	for _, k := range []string{key, `"` + key + `"`, "'" + key + "'"} {
		if r, cut := strings.CutPrefix(rest, k); cut {
			rest, found = r, true
			break
		}
	}
	if !found {
		return "", false
	}
	rest, ok = strings.CutPrefix(strings.TrimLeft(rest, " \t"), "=")
	if !ok {
		return "", false
	}
	rest = strings.TrimLeft(rest, " \t")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return "", false
	}
	end := strings.IndexByte(rest[1:], rest[0])
	if end < 0 {
		return "", false
	}
	rest = strings.TrimLeft(rest[end+2:], " \t")
	if rest != "" && rest[0] != '#' {
		return "", false
	}
	return rest, true
}

// isProjectsHeader reports whether line opens a [projects.…] table.
func isProjectsHeader(line string) bool {
	rest, ok := strings.CutPrefix(strings.TrimLeft(line, " \t"), "[")
	if !ok || strings.HasPrefix(rest, "[") {
		return false
	}
	rest = strings.TrimLeft(rest, " \t")
	for _, k := range []string{"projects", `"projects"`, "'projects'"} {
		if r, cut := strings.CutPrefix(rest, k); cut {
			return strings.HasPrefix(strings.TrimLeft(r, " \t"), ".")
		}
	}
	return false
}

// tomlQuote writes s as a TOML basic string.
func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u`)
			h := strconv.FormatInt(int64(r), 16)
			b.WriteString(strings.Repeat("0", 4-len(h)) + h)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
