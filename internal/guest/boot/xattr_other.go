//go:build !linux

package boot

import "errors"

func setxattr(path, attr string, value []byte) error { return errors.New("ACLs need Linux") }
