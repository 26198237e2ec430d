// Command execfloor does nothing but exec its arguments: the floor any Go
// shim pays (runtime start-up plus one exec), which scripts/bench compares
// hjk-init against.
package main

import (
	"os"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
	err := syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	os.Stderr.WriteString("execfloor: " + err.Error() + "\n")
	os.Exit(126)
}
