//go:build darwin && cgo

package store

import (
	"errors"
	"fmt"
	"sort"

	"github.com/keybase/go-keychain"
)

// KeychainStore keeps items as generic passwords in the login Keychain:
// service com.headjack, account <item>, never synchronised to iCloud.
type KeychainStore struct{}

func openKeychain() (Store, error) { return KeychainStore{}, nil }

func (KeychainStore) Name() string { return "Keychain" }

func query(item string) keychain.Item {
	q := keychain.NewItem()
	q.SetSecClass(keychain.SecClassGenericPassword)
	q.SetService(Service)
	if item != "" {
		q.SetAccount(item)
	}
	return q
}

func (KeychainStore) Get(item string) ([]byte, error) {
	return bounded(Timeout, "read "+item, func() ([]byte, error) {
		q := query(item)
		q.SetMatchLimit(keychain.MatchLimitOne)
		q.SetReturnData(true)
		rs, err := keychain.QueryItem(q)
		if err != nil {
			return nil, keychainErr(err)
		}
		if len(rs) == 0 {
			return nil, ErrNotFound
		}
		return rs[0].Data, nil
	})
}

func (KeychainStore) Set(item string, value []byte) error {
	_, err := bounded(Timeout, "write "+item, func() (struct{}, error) {
		it := query(item)
		it.SetLabel("hjk: " + item)
		it.SetData(value)
		it.SetSynchronizable(keychain.SynchronizableNo)
		it.SetAccessible(keychain.AccessibleWhenUnlocked)
		err := keychain.AddItem(it)
		if errors.Is(err, keychain.ErrorDuplicateItem) {
			upd := keychain.NewItem()
			upd.SetData(value)
			err = keychain.UpdateItem(query(item), upd)
		}
		return struct{}{}, keychainErr(err)
	})
	return err
}

func (KeychainStore) Delete(item string) error {
	_, err := bounded(Timeout, "delete "+item, func() (struct{}, error) {
		err := keychain.DeleteItem(query(item))
		if errors.Is(err, keychain.ErrorItemNotFound) {
			return struct{}{}, ErrNotFound
		}
		return struct{}{}, keychainErr(err)
	})
	return err
}

func (KeychainStore) List() ([]string, error) {
	return bounded(Timeout, "list items", func() ([]string, error) {
		q := query("")
		q.SetMatchLimit(keychain.MatchLimitAll)
		q.SetReturnAttributes(true)
		rs, err := keychain.QueryItem(q)
		if err != nil {
			return nil, keychainErr(err)
		}
		var names []string
		for _, r := range rs {
			names = append(names, r.Account)
		}
		sort.Strings(names)
		return names, nil
	})
}

func keychainErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("Keychain: %w (is the login keychain unlocked? set HJK_STORE=file to use a plaintext file instead)", err)
}
