package cli

import (
	"io"
)

// App is the state every command shares: the streams and the environment,
// and lazily opened dependencies. Tests build one with fakes plugged in.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// NewApp returns an App over the given streams and environment.
func NewApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *App {
	return &App{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv}
}
