// Command hjk-gate is the credential gate: it runs outside the agent's
// container, holds the real credentials, and is the container's only way
// out. See internal/gate for its subcommands, exit codes and JSON.
package main

import (
	"os"

	"github.com/hjk-dev/hjk/internal/gate"
)

func main() { os.Exit(gate.Main(os.Args[1:])) }
