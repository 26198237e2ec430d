package store

import (
	"sort"
	"sync"
)

// Memory is a Store in memory, for tests. Its zero value is ready to use.
type Memory struct {
	mu    sync.Mutex
	items map[string][]byte
	// Err, when set, is returned by every call: a store that is locked or
	// gone.
	Err error
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory { return &Memory{} }

func (m *Memory) Name() string { return "memory" }

func (m *Memory) Get(item string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	v, ok := m.items[item]
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (m *Memory) Set(item string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if m.items == nil {
		m.items = map[string][]byte{}
	}
	m.items[item] = append([]byte(nil), value...)
	return nil
}

func (m *Memory) Delete(item string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if _, ok := m.items[item]; !ok {
		return ErrNotFound
	}
	delete(m.items, item)
	return nil
}

func (m *Memory) List() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	var names []string
	for k := range m.items {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}
