// Command hjk runs coding agents in one container per git branch, handing
// them the logins kept in the host's secret store. See README.md.
package main

import (
	"os"

	"github.com/hjk-dev/hjk/internal/host/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
