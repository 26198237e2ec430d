package main

// These tests run the real hjk-init binary, built once in TestMain the way
// the Makefile builds it (static, trimmed), with a probe program (testdata/
// probe) as its COMMAND: in place, as PID 1 of a PID namespace (unshare),
// and as the entrypoint of a real container.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var (
	bin   string // hjk-init, built for this machine
	probe string // testdata/probe, static
)

// Fake credentials, in the transport formats of agent-formats.md.
const (
	fakeClaudeToken = "sk-ant-oat01-FAKEinitTOKENfake_0123456789-abcdefXYZ"
	fakeGeminiKey   = "AIzaFAKEinitGEMINIkey0123456789"
	fakeRefresh     = "1//FAKEinitREFRESHtoken0123456789"
	fakeCodexRefr   = "FAKEinitCODEXrefresh0123456789"
)

func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("FAKEsig"))
}

func fakeGeminiPayload() string {
	return `{"oauth_creds":{"access_token":"ya29.FAKEinit","refresh_token":"` + fakeRefresh +
		`","scope":"https://www.googleapis.com/auth/cloud-platform","token_type":"Bearer","id_token":"` +
		fakeJWT(`{"email":"dev@example.com"}`) + `","expiry_date":1900000000000},` +
		`"google_accounts":{"active":"dev@example.com","old":[]}}`
}

func fakeCodexPayload() string {
	return `{"OPENAI_API_KEY":null,"tokens":{"id_token":"` + fakeJWT(`{"email":"dev@example.com","exp":1900000000}`) +
		`","access_token":"FAKEinitCODEXaccess","refresh_token":"` + fakeCodexRefr +
		`","account_id":"acct-fake"},"last_refresh":"2026-11-27T00:00:00Z"}`
}

// secrets are the values that must never show in hjk-init's output.
func secrets() []string {
	return []string{fakeClaudeToken, fakeGeminiKey, fakeRefresh, fakeCodexRefr, "FAKEinit"}
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, v := range secrets() {
		if strings.Contains(s, v) {
			t.Errorf("%s holds a secret value", what)
		}
	}
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hjkinit-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Other users (the privilege-drop tests) must reach the binaries.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bin, probe = filepath.Join(dir, "hjk-init"), filepath.Join(dir, "probe")
	for out, pkg := range map[string]string{bin: ".", probe: "./testdata/probe"} {
		if err := build(out, pkg, runtime.GOARCH); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	code := m.Run()
	removeImage()
	return code
}

// build compiles pkg as the Makefile builds hjk-init: static, trimmed,
// without symbols.
func build(out, pkg, arch string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// result is how a run of hjk-init ended.
type result struct {
	stdout, stderr string
	code           int // exit code; -1 when killed by a signal
	state          *os.ProcessState
}

func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("%s: %v", cmd, err)
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode(), cmd.ProcessState}
}
