package creds

import (
	"testing"
)

func TestJSONMerge(t *testing.T) {
	t.Parallel()
	edits := []jsonEdit{
		{path: []string{"security", "auth", "selectedType"}, value: "gemini-api-key"},
		{path: []string{"list"}, value: "k", addToList: true},
	}
	for _, tc := range []struct {
		name, orig string
		jsonc      bool
		want       string // the exact output, when the layout is kept
		broken     bool
		note       bool
	}{
		{name: "fresh", orig: "", want: "{\n  \"security\": {\n    \"auth\": {\n      \"selectedType\": \"gemini-api-key\"\n    }\n  },\n  \"list\": [\n    \"k\"\n  ]\n}\n"},
		{name: "white space only", orig: " \n", want: "{\n  \"security\": {\n    \"auth\": {\n      \"selectedType\": \"gemini-api-key\"\n    }\n  },\n  \"list\": [\n    \"k\"\n  ]\n}\n"},
		{name: "layout kept", orig: "{\n  \"b\": 1,\n  \"security\": {\"auth\": {\"selectedType\": \"oauth-personal\"}},\n  \"list\": [\"a\"]\n}\n",
			want: "{\n  \"b\": 1,\n  \"security\": {\"auth\": {\"selectedType\": \"gemini-api-key\"}},\n  \"list\": [\"a\",\"k\"]\n}\n"},
		{name: "already in list", orig: `{"list":["k"],"security":{"auth":{"selectedType":"gemini-api-key"}}}`, want: `{"list":["k"],"security":{"auth":{"selectedType":"gemini-api-key"}}}`},
		{name: "list not a list", orig: `{"list":"k"}`, want: `{"list":["k"],"security":{"auth":{"selectedType":"gemini-api-key"}}}`},
		{name: "comments kept", jsonc: true, orig: "// top\n{\"a\": \"//x\", /* in */ \"b\": 2}\n",
			want: "// top\n{\"a\": \"//x\", /* in */ \"b\": 2,\"security\":{\"auth\":{\"selectedType\":\"gemini-api-key\"}},\"list\":[\"k\"]}\n"},
		{name: "comments in strict JSON", orig: "// top\n{}", broken: true},
		{name: "trailing comma", jsonc: true, orig: `{"a":1,}`, broken: true},
		{name: "array", orig: `[]`, broken: true},
		{name: "two values", orig: `{} {}`, broken: true},
		{name: "truncated", orig: `{"a":`, broken: true},
		// sjson edits the first of two equal keys, the agent reads the
		// last: the raw edit is refused and the document rewritten.
		{name: "duplicate key", orig: `{"security": 1, "security": {"x": true}}`, note: true},
		{name: "comment before the end", jsonc: true, orig: "{\"a\": 1 // last\n}",
			want: "{\"a\": 1 // last\n,\"security\":{\"auth\":{\"selectedType\":\"gemini-api-key\"}},\"list\":[\"k\"]}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, broken, note := jsonMerge([]byte(tc.orig), tc.jsonc, edits)
			if (broken != "") != tc.broken || (note != "") != tc.note {
				t.Fatalf("broken %q, note %q; want broken %v, note %v; out %s", broken, note, tc.broken, tc.note, out)
			}
			got, err := decodeJSONObject(out, tc.jsonc)
			if err != nil {
				t.Fatalf("result %v: %s", err, out)
			}
			if auth, _ := got["security"].(map[string]any)["auth"].(map[string]any); auth["selectedType"] != "gemini-api-key" {
				t.Errorf("selectedType not set: %s", out)
			}
			if tc.want != "" && string(out) != tc.want {
				t.Errorf("out =\n%s\nwant\n%s", out, tc.want)
			}
			if tc.note {
				if x := got["security"].(map[string]any)["x"]; x != true {
					t.Errorf("the rewrite lost a key: %s", out)
				}
			}
		})
	}
}

func TestStripComments(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"a":"//"}`:            `{"a":"//"}`,
		`{"a":"\"//"}//x`:       `{"a":"\"//"}   `,
		"{/*a\nb*/}":            "{   \n   }",
		"{} // c\r\n":           "{}     \r\n",
		`{"a\\":1}/* open`:      `{"a\\":1}       `,
		`{"a":"/* not */"}/**/`: `{"a":"/* not */"}    `,
		"/// triple\n{}":        "          \n{}",
		`{"k":1}/`:              `{"k":1}/`,
	} {
		if got := string(stripComments([]byte(in))); got != want {
			t.Errorf("stripComments(%q) = %q, want %q", in, got, want)
		}
	}
}
