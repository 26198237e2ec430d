//go:build !linux

package relay

import "errors"

// Start needs Linux: hjk-init runs in Linux containers only.
func Start(routes []Route, dir string) error { return errors.New("the gate relay needs Linux") }
