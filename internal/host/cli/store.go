package cli

import (
	"fmt"

	"github.com/hjk-dev/hjk/internal/host/config"
	"github.com/hjk-dev/hjk/internal/host/store"
)

// openStore picks the store as store.Choose says: HJK_STORE, then the
// config file's `store`, else the OS's keyring. An unknown name is a usage
// error listing the valid ones.
func (app *App) openStore() (store.Store, error) {
	dirs, dirsErr := config.DirsFrom(app.Getenv)
	var configured string
	if dirsErr == nil {
		c, err := config.Load(dirs.File())
		if err != nil {
			return nil, err
		}
		configured = c.Store
	}
	s, err := store.Open(store.Options{
		Getenv:     app.Getenv,
		Configured: configured,
		ConfigDir:  dirs.Config,
		Warn:       app.Stderr,
	})
	if err != nil {
		return nil, &UserError{Err: err, Hint: fmt.Sprintf("Set %s to one of: keychain, secret-service, file.", store.EnvVar), Code: 2}
	}
	return s, nil
}
