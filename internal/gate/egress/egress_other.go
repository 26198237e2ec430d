//go:build !linux

package egress

import "errors"

// Lock needs Linux's nftables.
func Lock(uid int) error { return errors.New("egress rules need Linux (nftables)") }
