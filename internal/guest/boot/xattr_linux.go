package boot

import "syscall"

func setxattr(path, attr string, value []byte) error { return syscall.Setxattr(path, attr, value, 0) }
