//go:build !darwin

package store

import "errors"

func openKeychain() (Store, error) {
	return nil, errors.New("the Keychain store exists only on macOS: set HJK_STORE=secret-service or HJK_STORE=file")
}
