// Command hjk-init is the shim inside an hjk container: it writes the
// agents' credential files from the environment, then execs the command or
// stays as PID 1. See internal/guest/shim for the signals and exit codes.
package main

import (
	"os"

	"github.com/hjk-dev/hjk/internal/guest/shim"
)

func main() { os.Exit(shim.Main(os.Args[1:])) }
