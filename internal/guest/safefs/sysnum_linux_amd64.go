//go:build linux && amd64

package safefs

import "syscall"

const sysFstatat = syscall.SYS_NEWFSTATAT
