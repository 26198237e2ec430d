//go:build darwin && !cgo

package store

import "errors"

func openKeychain() (Store, error) {
	return nil, errors.New("this build of hjk has no Keychain support (built without cgo): rebuild with CGO_ENABLED=1, or set HJK_STORE=file")
}
