package capture

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tidwall/gjson"

	"github.com/hjk-dev/hjk/internal/agent"
)

// Dir returns the folder agent a keeps its files in, as its row's Home
// says: $Var/Sub when the variable is set, else ~/Dir.
func Dir(getenv func(string) string, a agent.Agent) (string, error) {
	if d := getenv(a.Home.Var); d != "" {
		return filepath.Join(d, a.Home.Sub), nil
	}
	h := getenv("HOME")
	if h == "" {
		return "", fmt.Errorf("HOME is not set")
	}
	return filepath.Join(h, a.Home.Dir), nil
}

// LoginError says a login is missing or unusable on the host, and what to
// run to make one.
type LoginError struct {
	Err  error
	Hint string
}

func (e *LoginError) Error() string { return e.Err.Error() }
func (e *LoginError) Unwrap() error { return e.Err }

// readJSON reads a JSON object from path, compacted. Errors never quote the
// content: it is a credential.
func readJSON(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(b) || !gjson.ParseBytes(b).IsObject() {
		return nil, fmt.Errorf("%s is not a JSON object", path)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON", path)
	}
	return c.Bytes(), nil
}
