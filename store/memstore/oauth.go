package memstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/walletauth/walletauth/store"
)

var errOAuthCapacity = fmt.Errorf("memstore: OAuth account limit reached: %w", store.ErrCapacity)

// oauthKey is the key of a linked OAuth account: (Provider, Subject).
type oauthKey struct{ provider, subject string }

// LinkOAuth implements [store.OAuthStore.LinkOAuth]: the account goes after the user's others. It
// also returns an error wrapping [store.ErrInvalid] when LinkedAt is out of range. When the store
// holds its maximum of OAuth accounts it returns an error wrapping [store.ErrCapacity]; accounts do
// not expire, so it keeps doing so until accounts are unlinked. Provider and Subject are compared
// exactly (with regard to case).
func (s *Store) LinkOAuth(ctx context.Context, a store.OAuthAccount) error {
	if err := store.CheckOAuthAccount(a); err != nil {
		return err
	}
	a.LinkedAt = a.LinkedAt.Round(0)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	key := oauthKey{a.Provider, a.Subject}
	if _, ok := s.oauth[key]; ok {
		return store.ErrConflict
	}
	list := s.userOAuth[a.UserID]
	if slices.ContainsFunc(list, func(o *store.OAuthAccount) bool { return o.Provider == a.Provider }) {
		return store.ErrConflict
	}
	if len(s.oauth) >= s.maxOAuth {
		return errOAuthCapacity
	}
	s.oauth[key] = &a
	s.userOAuth[a.UserID] = append(list, &a)
	return nil
}

// UnlinkOAuth implements [store.OAuthStore.UnlinkOAuth]. The user's other accounts keep their
// order.
func (s *Store) UnlinkOAuth(ctx context.Context, userID, provider string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	list := s.userOAuth[userID]
	i := slices.IndexFunc(list, func(o *store.OAuthAccount) bool { return o.Provider == provider })
	if i < 0 {
		return store.ErrNotFound
	}
	delete(s.oauth, oauthKey{provider, list[i].Subject})
	// The user's slice is the store's own, so it may shrink in place.
	list = slices.Delete(list, i, i+1)
	if len(list) == 0 {
		delete(s.userOAuth, userID)
	} else {
		s.userOAuth[userID] = list
	}
	return nil
}

// ListOAuth implements [store.OAuthStore.ListOAuth]. It returns nil when the user has none.
func (s *Store) ListOAuth(ctx context.Context, userID string) ([]store.OAuthAccount, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	list := s.userOAuth[userID]
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]store.OAuthAccount, len(list))
	for i, a := range list {
		out[i] = *a
	}
	return out, nil
}
