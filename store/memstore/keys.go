package memstore

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/walletauth/walletauth/store"
)

func cloneKey(k store.SigningKey) store.SigningKey {
	k.Private = bytes.Clone(k.Private)
	return k
}

// CreateKey implements [store.KeyStore.CreateKey]. It also returns an error wrapping
// [store.ErrInvalid] when the ID is not 1 to 64 ASCII letters, digits, '-' and '_', the
// algorithm is not one of those [store.SigningKey] lists, or a time is out of range.
//
// CreateKey takes no now: the new key's CreatedAt stands for the caller's clock. A held key with
// the same ID that has expired by then is replaced (nothing of it carries over); any other held
// key with the same ID, and any at all when CreatedAt is zero, is a conflict. Up to 32 keys
// expired at CreatedAt are purged first; when the store holds its maximum of keys and none of them
// has, it returns an error wrapping [store.ErrCapacity].
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	if err := store.CheckSigningKey(k); err != nil {
		return err
	}
	k = cloneKey(k)
	k.CreatedAt, k.NotBefore, k.ExpiresAt = k.CreatedAt.Round(0), k.NotBefore.Round(0), k.ExpiresAt.Round(0)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t := &s.keys
	if !k.CreatedAt.IsZero() {
		t.purge(k.CreatedAt, purgeBatch)
	}
	if e, ok := t.m[k.ID]; ok {
		if k.CreatedAt.IsZero() || e.expires.After(k.CreatedAt) {
			return store.ErrConflict
		}
		t.update(e, k, k.ExpiresAt)
		s.feed.publish(store.ChangeKeys)
		return nil
	}
	if t.insert(k.ID, k, k.ExpiresAt) == nil {
		return errKeyCapacity
	}
	s.feed.publish(store.ChangeKeys)
	return nil
}

// ListKeys implements [store.KeyStore.ListKeys]. It purges every key expired at now.
func (s *Store) ListKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	t := &s.keys
	t.purge(now, len(t.heap))
	keys := make([]store.SigningKey, 0, len(t.m))
	for _, e := range t.m {
		keys = append(keys, cloneKey(e.val))
	}
	s.mu.Unlock()
	slices.SortFunc(keys, func(a, b store.SigningKey) int {
		if c := b.NotBefore.Compare(a.NotBefore); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return keys, nil
}

// DeleteKey implements [store.KeyStore.DeleteKey].
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e, ok := s.keys.m[id]; ok {
		s.keys.remove(e)
		s.feed.publish(store.ChangeKeys)
	}
	return nil
}
