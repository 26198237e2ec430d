package keeper

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/hjk-dev/hjk/internal/gate/wire"
)

// maxToken caps a token request's body.
const maxToken = 64 << 10

// Handler serves the keeper's socket, which the gates mount:
// POST /v1/load (a Login) and POST /v1/token (a TokenRequest).
func (k *Keeper) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/load", func(w http.ResponseWriter, r *http.Request) {
		b, ok := body(w, r, wire.MaxRequest)
		if !ok {
			return
		}
		l, err := wire.DecodeLogin(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply(w, k.Load(l))
	})
	mux.HandleFunc("POST /v1/token", func(w http.ResponseWriter, r *http.Request) {
		b, ok := body(w, r, maxToken)
		if !ok {
			return
		}
		var tr wire.TokenRequest
		if json.Unmarshal(b, &tr) != nil || tr.Item == "" {
			http.Error(w, "token: want {\"item\": ..., \"stale\": ...}", http.StatusBadRequest)
			return
		}
		a, err := k.Token(r.Context(), tr)
		var re *RefreshError
		switch {
		case errors.Is(err, ErrNoLogin):
			http.Error(w, "no login is loaded for "+tr.Item, http.StatusNotFound)
		case errors.As(err, &re):
			http.Error(w, re.Text, http.StatusBadGateway)
		case err != nil:
			http.Error(w, "token: "+err.Error(), http.StatusInternalServerError)
		default:
			reply(w, a)
		}
	})
	return mux
}

// ControlHandler serves the keeper's private control socket, for hjk
// through `hjk-gate load` and `hjk-gate export`: POST /v1/load (a []Login)
// and POST /v1/export (an ExportRequest).
func (k *Keeper) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/load", func(w http.ResponseWriter, r *http.Request) {
		b, ok := body(w, r, wire.MaxRequest)
		if !ok {
			return
		}
		ls, err := wire.DecodeLogins(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := []wire.LoadResult{}
		for _, l := range ls {
			out = append(out, k.Load(l))
		}
		reply(w, out)
	})
	mux.HandleFunc("POST /v1/export", func(w http.ResponseWriter, r *http.Request) {
		b, ok := body(w, r, maxToken)
		if !ok {
			return
		}
		var er wire.ExportRequest
		if json.Unmarshal(b, &er) != nil {
			http.Error(w, "export: want {\"items\": [...]}", http.StatusBadRequest)
			return
		}
		out := k.Export(er.Items)
		if out == nil {
			out = []wire.Login{}
		}
		reply(w, out)
	})
	return mux
}

// body reads a request body of at most max bytes, answering 413 past it.
func body(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		http.Error(w, "request body is too large or unreadable", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return b, true
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
