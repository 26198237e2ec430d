package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	dbus "github.com/keybase/dbus"
	"github.com/keybase/go-keychain/secretservice"
)

// SecretServiceStore keeps items in the Secret Service's default collection
// (the "login" keyring of gnome-keyring or KWallet), over an encrypted
// session, as items labelled "hjk: <item>" with the attributes
// service=com.headjack and account=<item>, so that
// `secret-tool lookup service com.headjack account claude-oidc-token` finds
// them too.
type SecretServiceStore struct {
	getenv  func(string) string
	timeout time.Duration

	// mu serialises calls: the library's prompt handling is not safe for
	// concurrent use.
	mu      sync.Mutex
	srv     *secretservice.SecretService
	session *secretservice.Session
}

// NewSecretService returns a store over the session bus named in getenv's
// environment. It connects on first use.
func NewSecretService(getenv func(string) string) *SecretServiceStore {
	return &SecretServiceStore{getenv: getenv, timeout: Timeout}
}

// SetTimeout changes the bound on each call (tests use a short one).
func (s *SecretServiceStore) SetTimeout(d time.Duration) { s.timeout = d }

func (s *SecretServiceStore) Name() string { return "Secret Service" }

// Attribute names on each item.
const (
	attrService = "service"
	attrAccount = "account"
)

// Fixes the user is told, by problem.
const (
	fixStart  = "start a Secret Service (gnome-keyring-daemon --start --components=secrets, or KWallet) in your session"
	fixUnlock = "unlock your login keyring (log in to the desktop, or: gnome-keyring-daemon --replace --unlock --components=secrets and type the password)"
	fixCreate = "create a default keyring (log in to the desktop once, or: gnome-keyring-daemon --replace --unlock --components=secrets and choose a password)"
	fixFile   = "or set HJK_STORE=file to keep credentials in a plaintext file"
)

// SecretServiceError is a Secret Service that cannot be used: absent,
// locked, or not answering. Its message says what to do.
type SecretServiceError struct {
	Problem string
	Fix     string
	Err     error // the underlying D-Bus error, if any
}

func (e *SecretServiceError) Error() string {
	msg := "Secret Service: " + e.Problem
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	fix := e.Fix
	if fix == "" {
		fix = fixStart
	}
	return msg + ": " + fix + ", " + fixFile
}

func (e *SecretServiceError) Unwrap() error { return e.Err }

// ErrLocked is wrapped by errors about a locked keyring.
var ErrLocked = errors.New("keyring is locked")

func (s *SecretServiceStore) Get(item string) ([]byte, error) {
	return call(s, "read "+item, func() ([]byte, error) {
		paths, err := s.srv.SearchCollection(secretservice.DefaultCollection, s.attrs(item))
		if err != nil {
			return nil, s.explain(err)
		}
		if len(paths) == 0 {
			return nil, ErrNotFound
		}
		v, err := s.srv.GetSecret(paths[0], *s.session)
		if err != nil {
			return nil, s.explain(err)
		}
		return v, nil
	})
}

func (s *SecretServiceStore) Set(item string, value []byte) error {
	_, err := call(s, "write "+item, func() (struct{}, error) {
		secret, err := s.session.NewSecret(value)
		if err != nil {
			return struct{}{}, err
		}
		props := secretservice.NewSecretProperties("hjk: "+item, s.attrs(item))
		_, err = s.srv.CreateItem(secretservice.DefaultCollection, props, secret, secretservice.ReplaceBehaviorReplace)
		return struct{}{}, s.explain(err)
	})
	return err
}

func (s *SecretServiceStore) Delete(item string) error {
	_, err := call(s, "delete "+item, func() (struct{}, error) {
		paths, err := s.srv.SearchCollection(secretservice.DefaultCollection, s.attrs(item))
		if err != nil {
			return struct{}{}, s.explain(err)
		}
		if len(paths) == 0 {
			return struct{}{}, ErrNotFound
		}
		for _, p := range paths {
			if err := s.srv.DeleteItem(p); err != nil {
				return struct{}{}, s.explain(err)
			}
		}
		return struct{}{}, nil
	})
	return err
}

func (s *SecretServiceStore) List() ([]string, error) {
	return call(s, "list items", func() ([]string, error) {
		paths, err := s.srv.SearchCollection(secretservice.DefaultCollection, secretservice.Attributes{attrService: Service})
		if err != nil {
			return nil, s.explain(err)
		}
		seen := map[string]bool{}
		var names []string
		for _, p := range paths {
			attrs, err := s.srv.GetAttributes(p)
			if err != nil {
				return nil, s.explain(err)
			}
			if n := attrs[attrAccount]; n != "" && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
		return names, nil
	})
}

func (s *SecretServiceStore) attrs(item string) secretservice.Attributes {
	return secretservice.Attributes{attrService: Service, attrAccount: item}
}

// call connects if needed and runs f, all under the store's timeout.
func call[T any](s *SecretServiceStore, what string, f func() (T, error)) (T, error) {
	v, err := bounded(s.timeout, what, func() (T, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.connect(); err != nil {
			var zero T
			return zero, err
		}
		if err := s.unlock(); err != nil {
			var zero T
			return zero, err
		}
		return f()
	})
	if errors.Is(err, errTimeout) {
		return v, &SecretServiceError{Problem: "no answer on the session bus", Err: err}
	}
	return v, err
}

// connect opens the bus connection and an encrypted (DH) session once.
func (s *SecretServiceStore) connect() error {
	if s.session != nil {
		return nil
	}
	if !s.haveBus() {
		return &SecretServiceError{Problem: "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"}
	}
	srv, err := secretservice.NewService()
	if err != nil {
		return &SecretServiceError{Problem: "cannot connect to the D-Bus session bus", Err: err}
	}
	srv.SetSessionOpenTimeout(s.timeout)
	session, err := srv.OpenSession(secretservice.AuthenticationDHAES)
	if err != nil {
		return s.explain(err)
	}
	s.srv, s.session = srv, session
	return nil
}

// unlock makes sure the default collection is unlocked, asking the
// Secret Service to prompt the user when it is not (a password dialog on a
// desktop). gnome-keyring hides a locked collection's items from searches,
// so without this a locked keyring would look empty.
func (s *SecretServiceStore) unlock() error {
	v, err := s.srv.Obj(secretservice.DefaultCollection).GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		return s.explain(err)
	}
	if locked, _ := v.Value().(bool); !locked {
		return nil
	}
	if err := s.srv.Unlock([]dbus.ObjectPath{secretservice.DefaultCollection}); err != nil {
		return &SecretServiceError{Problem: "the default keyring is locked", Fix: fixUnlock, Err: fmt.Errorf("%w: %v", ErrLocked, err)}
	}
	v, err = s.srv.Obj(secretservice.DefaultCollection).GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		return s.explain(err)
	}
	if locked, _ := v.Value().(bool); locked {
		return &SecretServiceError{Problem: "the default keyring is locked", Fix: fixUnlock, Err: ErrLocked}
	}
	return nil
}

// haveBus tells whether a session bus can be found without starting one:
// the library would otherwise run dbus-launch, leaving a daemon behind.
func (s *SecretServiceStore) haveBus() bool {
	if a := s.getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return true
	}
	if rt := s.getenv("XDG_RUNTIME_DIR"); rt != "" {
		if _, err := os.Stat(filepath.Join(rt, "bus")); err == nil {
			return true
		}
	}
	return false
}

// explain turns a D-Bus error into one that says what to do.
func (s *SecretServiceStore) explain(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "org.freedesktop.DBus.Error.ServiceUnknown"),
		strings.Contains(msg, "was not provided by any .service files"):
		return &SecretServiceError{Problem: "no Secret Service on the session bus", Err: err}
	case strings.Contains(msg, "IsLocked"), strings.Contains(strings.ToLower(msg), "locked"),
		strings.Contains(msg, "prompt dismissed"):
		return &SecretServiceError{Problem: "the default keyring is locked", Fix: fixUnlock, Err: fmt.Errorf("%w: %v", ErrLocked, err)}
	case strings.Contains(msg, "NoSuchObject"), strings.Contains(msg, "Object does not exist"),
		strings.Contains(msg, "UnknownObject"):
		return &SecretServiceError{Problem: "there is no default keyring", Fix: fixCreate, Err: err}
	}
	return fmt.Errorf("Secret Service: %w", err)
}
