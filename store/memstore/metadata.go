package memstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/walletauth/walletauth/store"
)

var errMetadataCapacity = fmt.Errorf("memstore: metadata limit reached: %w", store.ErrCapacity)

// GetMetadata implements [store.MetadataStore.GetMetadata].
func (s *Store) GetMetadata(ctx context.Context, userID string) (store.Metadata, error) {
	if err := s.lock(ctx); err != nil {
		return store.Metadata{}, err
	}
	defer s.mu.Unlock()
	m, ok := s.metadata[userID]
	if !ok {
		return store.Metadata{}, nil
	}
	return store.Metadata{
		Public:  bytes.Clone(m.Public),
		Private: bytes.Clone(m.Private),
		Unsafe:  bytes.Clone(m.Unsafe),
	}, nil
}

// SetMetadata implements [store.MetadataStore.SetMetadata]. An empty doc deletes the member, as
// nil does (a nil member means {}). The store keeps doc as given and does not parse it. It also
// returns an error wrapping [store.ErrInvalid] when userID is empty, doc is longer than
// [MaxMetadataSize], or now is out of range (the store does not otherwise use now, but a store
// that keeps it must refuse it). When the store holds its maximum of documents, setting a member
// that is not set gets an error wrapping [store.ErrCapacity]; replacing or deleting one needs no
// room.
func (s *Store) SetMetadata(ctx context.Context, userID, member string, doc []byte, now time.Time) error {
	if err := store.CheckMetadata(userID, member, doc, MaxMetadataSize, now); err != nil {
		return err
	}
	var kept []byte
	if len(doc) > 0 {
		kept = bytes.Clone(doc)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	m := s.metadata[userID]
	if kept == nil {
		if m == nil {
			return nil
		}
		if f := m.Member(member); *f != nil {
			*f = nil
			s.nMetadata--
		}
		if m.Public == nil && m.Private == nil && m.Unsafe == nil {
			delete(s.metadata, userID)
		}
		return nil
	}
	if m == nil {
		m = &store.Metadata{}
	}
	f := m.Member(member)
	if *f == nil {
		if s.nMetadata >= s.maxMetadata {
			return errMetadataCapacity
		}
		s.nMetadata++
	}
	*f = kept
	s.metadata[userID] = m
	return nil
}
