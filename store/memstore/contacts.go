package memstore

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"time"

	"github.com/walletauth/walletauth/store"
)

var (
	errContactCapacity = fmt.Errorf("memstore: contact limit reached: %w", store.ErrCapacity)
	errCodeCapacity    = fmt.Errorf("memstore: verification code limit reached: %w", store.ErrCapacity)
)

// contactKey is the key of a contact: (UserID, Kind, Value).
type contactKey struct{ user, kind, value string }

// claim is a (Kind, Value) pair, the key under which a verified contact belongs to one user.
type claim struct{ kind, value string }

// AddContact implements [store.ContactStore.AddContact]. The contact is stored unverified and not
// primary, whatever c's VerifiedAt and Primary say. It also returns an error wrapping
// [store.ErrInvalid] when AddedAt is out of range. When the store holds its maximum of contacts, a
// new one gets an error wrapping [store.ErrCapacity]; contacts do not expire, so it keeps doing so
// until contacts are deleted. Adding a contact the user has needs no room.
func (s *Store) AddContact(ctx context.Context, c store.Contact) (store.Contact, error) {
	if err := store.CheckContact(c); err != nil {
		return store.Contact{}, err
	}
	c.AddedAt = c.AddedAt.Round(0)
	c.VerifiedAt, c.Primary = time.Time{}, false
	if err := s.lock(ctx); err != nil {
		return store.Contact{}, err
	}
	defer s.mu.Unlock()
	key := contactKey{c.UserID, c.Kind, c.Value}
	if old, ok := s.contacts[key]; ok {
		return *old, nil
	}
	if len(s.contacts) >= s.maxContacts {
		return store.Contact{}, errContactCapacity
	}
	s.contacts[key] = &c
	s.userContacts[c.UserID] = append(s.userContacts[c.UserID], &c)
	return c, nil
}

// ListContacts implements [store.ContactStore.ListContacts]. It returns nil when the user has
// none.
func (s *Store) ListContacts(ctx context.Context, userID string) ([]store.Contact, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	list := s.userContacts[userID]
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]store.Contact, len(list))
	for i, c := range list {
		out[i] = *c
	}
	return out, nil
}

// VerifyContact implements [store.ContactStore.VerifyContact]. The contact becomes primary when
// the user has no primary contact of its kind. Verifying a contact the user has verified already
// changes nothing (VerifiedAt stays) and returns it. A zero or out-of-range now gives an error
// wrapping [store.ErrInvalid]: a contact verified at the zero time would look unverified.
func (s *Store) VerifyContact(ctx context.Context, userID, kind, value string, now time.Time) (store.Contact, error) {
	if err := store.CheckTime("contact verification time", now); err != nil {
		return store.Contact{}, err
	}
	now = now.Round(0)
	if err := s.lock(ctx); err != nil {
		return store.Contact{}, err
	}
	defer s.mu.Unlock()
	c, ok := s.contacts[contactKey{userID, kind, value}]
	if !ok {
		return store.Contact{}, store.ErrNotFound
	}
	if !c.VerifiedAt.IsZero() {
		return *c, nil
	}
	cl := claim{kind, value}
	if _, taken := s.verified[cl]; taken {
		// c is unverified, so the user who has it verified is another.
		return store.Contact{}, store.ErrConflict
	}
	c.VerifiedAt = now
	c.Primary = !slices.ContainsFunc(s.userContacts[userID], func(o *store.Contact) bool {
		return o.Kind == kind && o.Primary
	})
	s.verified[cl] = userID
	return *c, nil
}

// SetPrimaryContact implements [store.ContactStore.SetPrimaryContact].
func (s *Store) SetPrimaryContact(ctx context.Context, userID, kind, value string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	c, ok := s.contacts[contactKey{userID, kind, value}]
	if !ok {
		return store.ErrNotFound
	}
	if c.VerifiedAt.IsZero() {
		return store.ErrConflict
	}
	for _, o := range s.userContacts[userID] {
		if o.Kind == kind {
			o.Primary = o == c
		}
	}
	return nil
}

// DeleteContact implements [store.ContactStore.DeleteContact]. Deleting the primary contact
// leaves the user without a primary contact of its kind; deleting a verified one frees its value
// for other users.
func (s *Store) DeleteContact(ctx context.Context, userID, kind, value string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	key := contactKey{userID, kind, value}
	c, ok := s.contacts[key]
	if !ok {
		return nil
	}
	delete(s.contacts, key)
	if !c.VerifiedAt.IsZero() {
		delete(s.verified, claim{kind, value})
	}
	// The user's slice is the store's own, so it may shrink in place; the others keep their order.
	list := slices.DeleteFunc(s.userContacts[userID], func(o *store.Contact) bool { return o == c })
	if len(list) == 0 {
		delete(s.userContacts, userID)
	} else {
		s.userContacts[userID] = list
	}
	return nil
}

func cloneCode(c store.VerificationCode) store.VerificationCode {
	c.Hash = bytes.Clone(c.Hash)
	return c
}

// PutCode implements [store.CodeStore.PutCode]. It also returns an error wrapping
// [store.ErrInvalid] when ExpiresAt is out of range or Failures is negative. Up to 32 codes
// expired at now are purged first; when the store holds its maximum of codes and none of them has
// expired, a new key gets an error wrapping [store.ErrCapacity] (replacing the code of a held key
// needs no room).
func (s *Store) PutCode(ctx context.Context, c store.VerificationCode, now time.Time) error {
	if err := store.CheckVerificationCode(c); err != nil {
		return err
	}
	c = cloneCode(c)
	c.ExpiresAt = c.ExpiresAt.Round(0)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t := &s.verifyCodes
	t.purge(now, purgeBatch)
	if e, ok := t.m[c.Key]; ok {
		// Live or expired, the old code is void.
		t.update(e, c, c.ExpiresAt)
		return nil
	}
	if t.insert(c.Key, c, c.ExpiresAt) == nil {
		return errCodeCapacity
	}
	return nil
}

// GetCode implements [store.CodeStore.GetCode].
func (s *Store) GetCode(ctx context.Context, key string, now time.Time) (store.VerificationCode, error) {
	if err := s.lock(ctx); err != nil {
		return store.VerificationCode{}, err
	}
	defer s.mu.Unlock()
	e := s.verifyCodes.live(key, now)
	if e == nil {
		return store.VerificationCode{}, store.ErrNotFound
	}
	return cloneCode(e.val), nil
}

// ConsumeCode implements [store.CodeStore.ConsumeCode], comparing hash with the code's in constant
// time.
func (s *Store) ConsumeCode(ctx context.Context, key string, hash []byte, now time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	e := s.verifyCodes.live(key, now)
	if e == nil || subtle.ConstantTimeCompare(e.val.Hash, hash) != 1 {
		return store.ErrNotFound
	}
	s.verifyCodes.remove(e)
	return nil
}

// AddCodeFailure implements [store.CodeStore.AddCodeFailure]: the code is deleted when its count
// reaches or passes maxFailures. A maxFailures below 1 gives an error wrapping [store.ErrInvalid]
// and changes nothing.
func (s *Store) AddCodeFailure(ctx context.Context, key string, maxFailures int, now time.Time) (int, error) {
	if err := store.CheckMaxFailures(key, maxFailures); err != nil {
		return 0, err
	}
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	e := s.verifyCodes.live(key, now)
	if e == nil {
		return 0, store.ErrNotFound
	}
	e.val.Failures++
	n := e.val.Failures
	if n >= maxFailures {
		s.verifyCodes.remove(e)
	}
	return n, nil
}
