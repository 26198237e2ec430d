package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
)

// FileStore keeps items in a plaintext JSON file, 0600 in a 0700 folder.
// It exists for machines without a keyring (a headless server, a CI
// runner) and is used only when the user asks for it: every command that
// writes to it warns, once.
type FileStore struct {
	path   string
	warn   io.Writer
	warned sync.Once
}

// fileName is the file under hjk's config folder.
const fileName = "credentials.json"

// fileFormat is the file's content. Values are kept as strings: the store
// holds opaque bytes.
type fileFormat struct {
	Service string            `json:"service"`
	Items   map[string]string `json:"items"`
}

// NewFile returns the file store in dir ($XDG_CONFIG_HOME/hjk). Each write
// prints a warning to warn that the file is plaintext.
func NewFile(dir string, warn io.Writer) *FileStore {
	if warn == nil {
		warn = io.Discard
	}
	return &FileStore{path: filepath.Join(dir, fileName), warn: warn}
}

func (f *FileStore) Name() string { return "file " + f.path }

// Path is the file's location.
func (f *FileStore) Path() string { return f.path }

func (f *FileStore) Get(item string) ([]byte, error) {
	c, err := f.read()
	if err != nil {
		return nil, err
	}
	v, ok := c.Items[item]
	if !ok {
		return nil, ErrNotFound
	}
	return []byte(v), nil
}

func (f *FileStore) List() ([]string, error) {
	c, err := f.read()
	if err != nil {
		return nil, err
	}
	var names []string
	for k := range c.Items {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}

func (f *FileStore) Set(item string, value []byte) error {
	return f.update(func(c *fileFormat) error {
		c.Items[item] = string(value)
		return nil
	})
}

func (f *FileStore) Delete(item string) error {
	return f.update(func(c *fileFormat) error {
		if _, ok := c.Items[item]; !ok {
			return ErrNotFound
		}
		delete(c.Items, item)
		return nil
	})
}

func (f *FileStore) read() (fileFormat, error) {
	c := fileFormat{Service: Service, Items: map[string]string{}}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read credential file: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		// Never quote the content: it holds secrets.
		return c, fmt.Errorf("credential file %s is not valid JSON: fix or remove it", f.path)
	}
	if c.Items == nil {
		c.Items = map[string]string{}
	}
	return c, nil
}

// update changes the file under an exclusive lock, so two hjk processes
// cannot lose each other's writes, and replaces it by rename, so a crash
// leaves the old file or the new one, never half of one.
func (f *FileStore) update(change func(*fileFormat) error) error {
	f.warned.Do(func() {
		fmt.Fprintf(f.warn, "hjk: warning: credentials are kept in plaintext in %s (file store chosen by HJK_STORE or the config)\n", f.path)
	})
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	lock, err := os.OpenFile(f.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock credential file: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock credential file: %w", err)
	}
	c, err := f.read()
	if err != nil {
		return err
	}
	if err := change(&c); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(f.path, append(b, '\n'))
}

// writeAtomic writes b to a temporary file beside path, 0600 from its
// creation, syncs it and renames it over path.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
