package fakeapi

import (
	"encoding/json"
	"net/http"
	"strings"
)

// fakeProject is the Code Assist project the fake hands out.
const fakeProject = "fakeapi-project"

// codeAssist answers Google Code Assist (cloudcode-pa), which gemini uses
// with a Google login: POST /v1internal:METHOD, streamed with ?alt=sse.
func (s *Server) codeAssist(w http.ResponseWriter, r *http.Request, path string, body []byte) {
	method, ok := strings.CutPrefix(path, "/v1internal:")
	if !ok || r.Method != http.MethodPost {
		notFound(w, r)
		return
	}
	switch method {
	case "loadCodeAssist":
		// A user already on a tier with a project: gemini skips onboarding.
		writeJSON(w, http.StatusOK, map[string]any{
			"currentTier":             map[string]any{"id": "free-tier", "name": "Gemini Code Assist for individuals"},
			"allowedTiers":            []any{map[string]any{"id": "free-tier", "name": "Gemini Code Assist for individuals", "isDefault": true}},
			"cloudaicompanionProject": fakeProject,
		})
	case "onboardUser":
		writeJSON(w, http.StatusOK, map[string]any{"done": true, "response": map[string]any{
			"cloudaicompanionProject": map[string]any{"id": fakeProject, "name": fakeProject}}})
	case "streamGenerateContent":
		var req struct {
			Request generateRequest `json:"request"`
		}
		json.Unmarshal(body, &req)
		s.sse(w, r, []event{{"", map[string]any{"response": s.candidates(req.Request)}}})
	case "generateContent":
		var req struct {
			Request generateRequest `json:"request"`
		}
		json.Unmarshal(body, &req)
		writeJSON(w, http.StatusOK, map[string]any{"response": s.candidates(req.Request)})
	case "countTokens":
		writeJSON(w, http.StatusOK, map[string]any{"totalTokens": 1})
	case "retrieveUserQuota":
		writeJSON(w, http.StatusOK, map[string]any{"buckets": []any{}})
	case "listExperiments":
		writeJSON(w, http.StatusOK, map[string]any{"experimentIds": []any{}, "flags": []any{}})
	default:
		// recordCodeAssistMetrics and the like: accepted, nothing to say.
		writeJSON(w, http.StatusOK, map[string]any{})
	}
}

// gemini answers the Gemini API (generativelanguage), which gemini uses with
// an API key: POST /v1beta/models/MODEL:METHOD.
func (s *Server) gemini(w http.ResponseWriter, r *http.Request, path string, body []byte) {
	rest, ok := strings.CutPrefix(path, "/v1beta/models")
	if !ok {
		notFound(w, r)
		return
	}
	if rest == "" && r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, map[string]any{"models": []any{}})
		return
	}
	_, method, ok := strings.Cut(rest, ":")
	if !ok || r.Method != http.MethodPost {
		notFound(w, r)
		return
	}
	var req generateRequest
	json.Unmarshal(body, &req)
	switch method {
	case "streamGenerateContent":
		s.sse(w, r, []event{{"", s.candidates(req)}})
	case "generateContent":
		writeJSON(w, http.StatusOK, s.candidates(req))
	case "countTokens":
		writeJSON(w, http.StatusOK, map[string]any{"totalTokens": 1})
	default:
		notFound(w, r)
	}
}

// generateRequest is the part of a generateContent request the fake reads:
// whether the caller wants JSON of a schema (gemini's model router asks so).
type generateRequest struct {
	GenerationConfig struct {
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
	} `json:"generationConfig"`
}

// candidates is one finished answer, as both Google APIs spell it: the
// canned answer, or, when the request asks for JSON, a value of its schema
// (gemini retries a classifier whose answer does not parse, for a minute).
func (s *Server) candidates(req generateRequest) map[string]any {
	text := s.opts.Answer
	if gc := req.GenerationConfig; gc.ResponseMimeType == "application/json" {
		raw := gc.ResponseJSONSchema
		if len(raw) == 0 {
			raw = gc.ResponseSchema
		}
		var schema map[string]any
		json.Unmarshal(raw, &schema)
		b, _ := json.Marshal(fillSchema(schema, 0))
		text = string(b)
	}
	return map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}},
			"finishReason": "STOP",
			"index":        0,
		}},
		"usageMetadata": map[string]any{"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2},
	}
}

// fillSchema returns a value of a JSON schema (OpenAPI-style type names in
// either case): enums take their first value, objects every property.
func fillSchema(schema map[string]any, depth int) any {
	if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	typ, _ := schema["type"].(string)
	switch strings.ToLower(typ) {
	case "string":
		return "fakeapi"
	case "number", "integer":
		return 1
	case "boolean":
		return true
	case "array":
		items, _ := schema["items"].(map[string]any)
		if depth > 8 || items == nil {
			return []any{}
		}
		return []any{fillSchema(items, depth+1)}
	}
	out := map[string]any{}
	props, _ := schema["properties"].(map[string]any)
	for k, v := range props {
		if p, ok := v.(map[string]any); ok && depth <= 8 {
			out[k] = fillSchema(p, depth+1)
		}
	}
	return out
}
