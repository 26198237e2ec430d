package fakeapi

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
)

// openai answers the Responses API, for both the API (under /v1) and the
// ChatGPT backend (under /backend-api/codex). Codex opens a WebSocket to
// .../responses first and sends response.create messages on it; it falls
// back to POST .../responses (SSE) when the upgrade fails.
func (s *Server) openai(w http.ResponseWriter, r *http.Request, api API, path string, body []byte, rec int) {
	prefix := "/v1"
	if api == ChatGPT {
		prefix = "/backend-api/codex"
	}
	switch {
	case path == prefix+"/responses" && r.Method == http.MethodGet && isUpgrade(r):
		s.responsesWS(w, r, rec)
	case path == prefix+"/responses" && r.Method == http.MethodPost:
		s.sse(w, r, s.responseEvents(body))
	case path == prefix+"/models" && r.Method == http.MethodGet:
		// An empty catalog: codex keeps the models it ships with.
		writeJSON(w, http.StatusOK, map[string]any{"models": []any{}, "data": []any{}, "object": "list"})
	case api == ChatGPT && path == "/backend-api/wham/accounts/check" && r.Method == http.MethodGet:
		s.accountsCheck(w, r)
	default:
		// Plugins, settings, analytics: codex carries on without them.
		notFound(w, r)
	}
}

// responseEvents is the stream codex finishes a turn on: the response is
// created, a message item is added, the answer arrives as one text delta,
// the item is done, and the response completes. (The least codex 0.171
// prints an answer on is output_item.done then completed.) A warm-up
// request ("generate": false, which codex sends first on a new WebSocket)
// gets only created and completed.
func (s *Server) responseEvents(req []byte) []event {
	var in struct {
		Model    string `json:"model"`
		Generate *bool  `json:"generate"`
	}
	json.Unmarshal(req, &in)
	id, msgID := s.nextID("resp"), s.nextID("msg")
	added := map[string]any{"type": "message", "role": "assistant", "id": msgID, "status": "in_progress", "content": []any{}}
	item := map[string]any{
		"type": "message", "role": "assistant", "id": msgID, "status": "completed",
		"content": []any{map[string]any{"type": "output_text", "text": s.opts.Answer, "annotations": []any{}}},
	}
	usage := map[string]any{
		"input_tokens": 1, "input_tokens_details": map[string]any{"cached_tokens": 0},
		"output_tokens": 1, "output_tokens_details": map[string]any{"reasoning_tokens": 0},
		"total_tokens": 2,
	}
	ev := func(typ string, kv ...any) event {
		m := map[string]any{"type": typ}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return event{typ, m}
	}
	created := ev("response.created", "response", map[string]any{"id": id, "object": "response", "status": "in_progress", "model": in.Model})
	completed := ev("response.completed", "response", map[string]any{"id": id, "object": "response", "status": "completed", "model": in.Model, "usage": usage})
	if in.Generate != nil && !*in.Generate {
		return []event{created, completed}
	}
	return []event{
		created,
		ev("response.output_item.added", "output_index", 0, "item", added),
		ev("response.output_text.delta", "item_id", msgID, "output_index", 0, "content_index", 0, "delta", s.opts.Answer),
		ev("response.output_item.done", "output_index", 0, "item", item),
		completed,
	}
}

// responsesWS serves the Responses WebSocket: every response.create message
// is answered with the events of responseEvents, one text frame each. The
// messages the client sent are appended to its recorded Body, one a line.
func (s *Server) responsesWS(w http.ResponseWriter, r *http.Request, rec int) {
	ws, conn, err := upgrade(w, r)
	if err != nil {
		http.Error(w, "fakeapi: websocket: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.update(rec, func(r *Request) { r.Status = http.StatusSwitchingProtocols; r.Body = nil })
	s.mu.Lock()
	s.conns[conn] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		conn.Close()
	}()
	for {
		op, msg, err := ws.read()
		if err != nil {
			if err != io.EOF {
				s.logf("websocket: %v", err)
			}
			return
		}
		s.update(rec, func(r *Request) { r.Body = append(append(r.Body, msg...), '\n') })
		var m struct {
			Type string `json:"type"`
		}
		if op != opText || json.Unmarshal(msg, &m) != nil || m.Type != "response.create" {
			continue
		}
		for i, e := range s.responseEvents(msg) {
			if i > 0 && !s.pause(r.Context()) {
				return
			}
			b, _ := json.Marshal(e.data)
			if err := ws.write(opText, b); err != nil {
				return
			}
		}
	}
}

// accountsCheck answers codex's workspace routing discovery with a ChatGPT
// login: the account the request names (ChatGPT-Account-Id, which codex
// takes from auth.json's tokens.account_id) must be listed, and
// "NO_CONSTRAINT" as its backend origin makes codex send its responses to
// the origin of chatgpt_base_url (which must then be https), at
// /backend-api/codex/responses whatever path chatgpt_base_url had.
func (s *Server) accountsCheck(w http.ResponseWriter, r *http.Request) {
	a := s.opts.Account
	id := cmp.Or(r.Header.Get("ChatGPT-Account-Id"), a.AccountID)
	writeJSON(w, http.StatusOK, map[string]any{
		"accounts": []any{map[string]any{
			"id": id, "plan_type": a.Plan, "is_deactivated": false,
			"workspace_backend_origin": "NO_CONSTRAINT", "account_routing_override": "NO_CONSTRAINT",
		}},
		"account_ordering": []any{id},
	})
}
