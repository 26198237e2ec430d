package instance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// catalogVersion is written in the file so a later hjk can migrate it.
// Version 1 listed worktree instances (Instance.Legacy); 2 adds instances
// with repositories of their own.
const catalogVersion = 2

// catalog is the file listing every instance, instances.json in hjk's data
// folder, and the lock file that serialises hjk processes touching it.
type catalog struct {
	path, lock string
}

type catalogFile struct {
	Version   int        `json:"version"`
	Instances []Instance `json:"instances"`
}

func newCatalog(data string) catalog {
	return catalog{path: filepath.Join(data, "instances.json"), lock: filepath.Join(data, "instances.lock")}
}

// Lock takes an exclusive lock (flock) on the catalog, waiting for other
// hjk processes. The lock goes with the process, so a crashed hjk never
// leaves it held.
func (c catalog) Lock() (unlock func(), err error) {
	data := filepath.Dir(c.lock)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	// Only the owner may enter: the sessions folders under it are open to
	// all (the container's user writes there), their logs readable.
	if fi, err := os.Stat(data); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(data, fi.Mode().Perm()&0o700); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
	}
	f, err := os.OpenFile(c.lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open catalog lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", c.lock, err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}

// Load reads the catalog; a missing file is an empty one. A broken file is
// an error naming it, and is never overwritten.
func (c catalog) Load() ([]Instance, error) {
	b, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	var f catalogFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("catalog %s is not valid JSON (%v): move it aside, and hjk rebuilds it from the containers' labels", c.path, err)
	}
	if f.Version > catalogVersion {
		return nil, fmt.Errorf("catalog %s was written by a newer hjk (version %d)", c.path, f.Version)
	}
	for i := range f.Instances {
		// Entries made before engines were recorded are on the default.
		f.Instances[i].Engine = f.Instances[i].Engine.Normal()
	}
	return f.Instances, nil
}

// Save writes the catalog atomically: a temporary file in the same folder,
// then rename, so a reader never sees half of it.
func (c catalog) Save(list []Instance) error {
	list = append([]Instance(nil), list...)
	sort.Slice(list, func(i, j int) bool {
		if list[i].Repo != list[j].Repo {
			return list[i].Repo < list[j].Repo
		}
		return list[i].Branch < list[j].Branch
	})
	for i := range list {
		list[i].State = "" // the engine's, never the file's
	}
	b, err := json.MarshalIndent(catalogFile{Version: catalogVersion, Instances: list}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".instances-*.json")
	if err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write catalog: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	return nil
}
