package creds

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/pretty"
	"github.com/tidwall/sjson"
)

// jsonEdit is one change to a JSON file: set the value at path, or, with
// addToList, make sure the list at path holds the value.
type jsonEdit struct {
	path      []string
	value     any // bool or string
	addToList bool
}

// jsonMerge applies edits to a JSON file's content (nil when it does not
// exist yet) and returns the new content.
//
// The edits are made with sjson on the raw text, so every key the user had
// stays, in its order, with its formatting, and (when jsonc) its comments.
// The result is then checked against the same edits made on the decoded
// document: should the raw edit not give exactly that (a comment sjson did
// not expect, a duplicate key), the decoded document is written instead,
// with its keys but without its layout, and note says so.
//
// jsonc says the agent itself strips // and /* */ comments before parsing
// (gemini does, for settings.json and trustedFolders.json). A file the
// agent could not read is reported in broken (why, never its content), and
// the result is built from an empty object.
func jsonMerge(orig []byte, jsonc bool, edits []jsonEdit) (out []byte, broken, note string) {
	fresh := len(bytes.TrimSpace(orig)) == 0
	var want map[string]any
	var err error
	if !fresh {
		if want, err = decodeJSONObject(orig, jsonc); err != nil {
			broken, fresh = err.Error(), true
		}
	}
	if fresh {
		orig, want = []byte("{}"), map[string]any{}
	}
	for _, e := range edits {
		e.applyDecoded(want)
	}

	// sjson wants the object first: comments before or after it (gemini
	// allows them) are set aside and put back.
	prefix, body, suffix := splitRoot(orig, jsonc)
	text := body
	for _, e := range edits {
		if text, err = e.applyRaw(text); err != nil {
			break
		}
	}
	text = prefix + text + suffix
	if err == nil {
		got, derr := decodeJSONObject([]byte(text), jsonc)
		kept := !jsonc || fresh || commentsOf(orig) == commentsOf([]byte(text))
		if derr == nil && kept && reflect.DeepEqual(got, want) {
			if fresh {
				return pretty.PrettyOptions([]byte(text), &pretty.Options{Width: 1, Indent: "  "}), broken, ""
			}
			return []byte(text), broken, ""
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(want); err != nil {
		// want holds only what json decoded, plus bools and strings.
		panic(fmt.Sprintf("creds: encoding decoded JSON: %v", err))
	}
	return buf.Bytes(), broken, "its comments and key order could not be kept; every key was"
}

// splitRoot splits a readable document into what comes before its object,
// the object, and what follows: white space and, with jsonc, comments.
func splitRoot(data []byte, jsonc bool) (prefix, body, suffix string) {
	if !jsonc {
		return "", string(data), ""
	}
	stripped := stripComments(data)
	start := len(stripped) - len(bytes.TrimLeft(stripped, " \t\r\n"))
	end := len(bytes.TrimRight(stripped, " \t\r\n"))
	if start >= end {
		return "", string(data), ""
	}
	return string(data[:start]), string(data[start:end]), string(data[end:])
}

// decodeJSONObject decodes a file the way its agent does: JSON (after
// stripping comments when jsonc), and an object at the top. Errors say where,
// never what: the file may hold secrets.
func decodeJSONObject(data []byte, jsonc bool) (map[string]any, error) {
	if jsonc {
		data = stripComments(data)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("is not valid JSON (at byte %d)", se.Offset)
		}
		return nil, errors.New("is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("is not valid JSON (more after the top-level value)")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("is not a JSON object")
	}
	return m, nil
}

func (e jsonEdit) sjsonPath() string {
	parts := make([]string, len(e.path))
	for i, p := range e.path {
		parts[i] = gjson.Escape(p)
	}
	return strings.Join(parts, ".")
}

func (e jsonEdit) applyRaw(text string) (string, error) {
	p := e.sjsonPath()
	if !e.addToList {
		return sjson.Set(text, p, e.value)
	}
	cur := gjson.Get(text, p)
	if !cur.IsArray() {
		return sjson.Set(text, p, []any{e.value})
	}
	for _, v := range cur.Array() {
		if v.Value() == e.value {
			return text, nil
		}
	}
	return sjson.Set(text, p+".-1", e.value)
}

// applyDecoded makes the same change as applyRaw on a decoded document:
// missing or non-object parents become objects, as sjson makes them.
func (e jsonEdit) applyDecoded(m map[string]any) {
	for _, k := range e.path[:len(e.path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	last := e.path[len(e.path)-1]
	if !e.addToList {
		m[last] = e.value
		return
	}
	list, ok := m[last].([]any)
	if !ok {
		m[last] = []any{e.value}
		return
	}
	for _, v := range list {
		if v == e.value {
			return
		}
	}
	m[last] = append(list, e.value)
}

// commentsOf returns the text of a document's comments, in order.
func commentsOf(data []byte) string {
	stripped := stripComments(data)
	var b strings.Builder
	for i := range data {
		if stripped[i] != data[i] {
			b.WriteByte(data[i])
		}
	}
	return b.String()
}

// stripComments blanks out // and /* */ comments outside strings, keeping
// every other byte (and every newline) where it was, as the
// strip-json-comments package gemini uses does.
func stripComments(data []byte) []byte {
	if !bytes.Contains(data, []byte("/")) {
		return data
	}
	out := bytes.Clone(data)
	inString := false
	for i := 0; i < len(out); i++ {
		c := out[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch {
		case c == '"':
			inString = true
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			for ; i < len(out) && out[i] != '\n'; i++ {
				if out[i] != '\r' {
					out[i] = ' '
				}
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			out[i], out[i+1] = ' ', ' '
			for i += 2; i < len(out); i++ {
				if out[i] == '*' && i+1 < len(out) && out[i+1] == '/' {
					out[i], out[i+1] = ' ', ' '
					i++
					break
				}
				if out[i] != '\n' && out[i] != '\r' {
					out[i] = ' '
				}
			}
		}
	}
	return out
}
