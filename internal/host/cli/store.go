package cli

import (
	"fmt"
	"strings"

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
	if _, err := store.Choose(app.Getenv, configured); err != nil {
		return nil, &UsageError{Err: err, Hint: fmt.Sprintf("Set %s, or store in %s, to one of: %s.", store.EnvVar, dirs.File(), strings.Join(store.Names(), ", "))}
	}
	return store.Open(store.Options{
		Getenv:     app.Getenv,
		Configured: configured,
		ConfigDir:  dirs.Config,
		Warn:       app.Stderr,
	})
}
