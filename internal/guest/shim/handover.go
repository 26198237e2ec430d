package shim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hjk-dev/hjk/internal/agent"
	"github.com/hjk-dev/hjk/internal/layout"
)

// Credentials handed over on stdin, never in an exec's environment (podman
// keeps those in its state database) nor argv: hjk runs `hjk-init creds
// receive` with NAME=VALUE entries, NUL-terminated, on stdin; it keeps them
// in a file of its own on the container's tmpfs (layout.RunDir, the user's,
// 0700) and prints the file's id; the session then runs `hjk-init --creds
// ID -- COMMAND`, which reads the file, removes it, and goes on as if the
// variables had been in its environment. A file nobody took is removed
// after handoverTTL.
//
// With `creds receive --env` the hand-over may also carry the session's
// other variables (any name but PATH, LD_* and HJK_*): kubectl exec passes
// no environment, so on Kubernetes the whole of a session's environment
// comes this way. The file then starts with envMark, so that only a
// hand-over hjk asked for that way is read that way.

const (
	handoverMax = 1 << 20
	handoverTTL = time.Minute
)

// handoverDir is where hand-overs wait.
const handoverDir = layout.RunDir + "/creds"

// envMark starts a hand-over that may carry session variables.
const envMark = "env\x00"

// credVar reports whether name is a variable that carries a credential.
func credVar(name string) bool {
	for _, a := range agent.All() {
		for _, v := range a.Vars() {
			if v == name {
				return true
			}
		}
	}
	return false
}

// credsCommand is `hjk-init creds receive`.
func credsCommand(args []string, stdout, stderr io.Writer) int {
	return receive(handoverDir, args, os.Stdin, stdout, stderr)
}

func receive(dir string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := len(args) == 2 && args[1] == "--env"
	if len(args) != 1 && !env || args[0] != "receive" {
		fmt.Fprintf(stderr, "hjk-init: usage: hjk-init creds receive [--env] (entries on stdin)\n")
		return agent.ExitFailure
	}
	b, err := io.ReadAll(io.LimitReader(stdin, handoverMax+1))
	if err == nil && len(b) > handoverMax {
		err = fmt.Errorf("more than %d bytes", handoverMax)
	}
	if err == nil {
		_, err = parseEntries(b, env)
	}
	if err == nil {
		var id string
		if env {
			b = append([]byte(envMark), b...)
		}
		if id, err = store(dir, b); err == nil {
			fmt.Fprintln(stdout, id)
			return 0
		}
	}
	fmt.Fprintf(stderr, "hjk-init: creds receive: %v\n", err)
	return agent.ExitFailure
}

// parseEntries checks the hand-over: NAME=VALUE entries of credential
// variables (with env, of session variables too), each ended by NUL.
// Errors name variables, never values.
func parseEntries(b []byte, env bool) ([]string, error) {
	var out []string
	for len(b) > 0 {
		kv, rest, ok := bytes.Cut(b, []byte{0})
		if !ok {
			return nil, errors.New("an entry without its NUL")
		}
		name, _, ok := strings.Cut(string(kv), "=")
		switch {
		case ok && credVar(name):
		case ok && env && sessionVar(name):
		case env:
			return nil, fmt.Errorf("%q is not a variable a session may be handed", name)
		default:
			return nil, fmt.Errorf("%q is not a credential variable", name)
		}
		out, b = append(out, string(kv)), rest
	}
	return out, nil
}

func store(dir string, b []byte) (string, error) {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	purge(dir)
	raw := make([]byte, 16)
	rand.Read(raw)
	id := hex.EncodeToString(raw)
	f, err := os.OpenFile(filepath.Join(dir, id), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return id, err
}

// purge removes hand-overs nobody took.
func purge(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > handoverTTL {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// takeHandover reads and removes hand-over id of dir, returning its
// entries.
func takeHandover(dir, id string) ([]string, error) {
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("--creds %q is not a hand-over id", id)
	}
	p := filepath.Join(dir, id)
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("the credentials handed over (%s): %w", id, err)
	}
	defer os.Remove(p)
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the credentials handed over (%s) are not a regular file", id)
	}
	b, err := io.ReadAll(io.LimitReader(f, handoverMax+int64(len(envMark))+1))
	if err != nil {
		return nil, err
	}
	if len(b) > handoverMax+len(envMark) {
		return nil, fmt.Errorf("the credentials handed over are more than %d bytes", handoverMax)
	}
	if rest, ok := bytes.CutPrefix(b, []byte(envMark)); ok {
		return parseEntries(rest, true)
	}
	return parseEntries(b, false)
}

// sessionVar reports whether a session may be handed name in a hand-over
// with --env: a variable name, but not PATH (where hjk-init finds the
// command), the loader's, nor hjk-init's own.
func sessionVar(name string) bool {
	if name == "" || name == "PATH" || strings.HasPrefix(name, "LD_") || strings.HasPrefix(name, "HJK_") {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
