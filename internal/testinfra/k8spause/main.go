// Command k8spause is the sandbox ("pause") process of the test cluster that
// scripts/k8s brings up: nothing can be pulled here, so the cluster's
// sandbox image is this static program in a FROM scratch image. It holds the
// pod's namespaces open, reaps children it inherits as PID 1, and exits 0 on
// SIGINT or SIGTERM. It touches nothing but its own signals.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
