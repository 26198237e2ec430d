//go:build linux && arm64

package safefs

import "syscall"

const sysFstatat = syscall.SYS_FSTATAT
