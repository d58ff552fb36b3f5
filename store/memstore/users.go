package memstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/walletauth/walletauth/store"
)

var errWalletCapacity = fmt.Errorf("memstore: wallet limit reached: %w", store.ErrCapacity)

func cloneUser(u *store.User) store.User {
	c := *u
	c.Wallets = slices.Clone(u.Wallets)
	return c
}

// CreateUser implements [store.UserStore.CreateUser]. It also returns an error wrapping
// [store.ErrInvalid] when a wallet has no address, when two of the user's wallets have the same
// address (without regard to case), or when a time is out of range. When the store holds its
// maximum of users, or the user's wallets would take it past its maximum of wallets, it returns an
// error wrapping [store.ErrCapacity]; users do not expire, so it keeps doing so until wallets are
// unlinked.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := store.CheckUser(u); err != nil {
		return err
	}
	v := cloneUser(&u)
	v.CreatedAt = v.CreatedAt.Round(0)
	folded := make([]string, len(v.Wallets))
	for i := range v.Wallets {
		w := &v.Wallets[i]
		w.LinkedAt = w.LinkedAt.Round(0)
		folded[i] = store.FoldAddress(w.Address)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.users[v.ID]; ok {
		return store.ErrConflict
	}
	for _, a := range folded {
		if _, ok := s.wallets[a]; ok {
			return store.ErrConflict
		}
	}
	if len(s.users) >= s.maxUsers {
		return errUserCapacity
	}
	if len(s.wallets)+len(folded) > s.maxWallets {
		return errWalletCapacity
	}
	s.users[v.ID] = &v
	for _, a := range folded {
		s.wallets[a] = &v
	}
	return nil
}

// GetUser implements [store.UserStore.GetUser].
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	if err := s.lock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return cloneUser(u), nil
}

// UserByWallet implements [store.UserStore.UserByWallet].
func (s *Store) UserByWallet(ctx context.Context, address string) (store.User, error) {
	if err := s.lock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	u, ok := s.wallets[store.FoldAddress(address)]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return cloneUser(u), nil
}

// LinkWallet implements [store.UserStore.LinkWallet]: the wallet goes after the user's others. It
// returns [store.ErrNotFound] when there is no such user, whether or not the address is taken, and
// also an error wrapping [store.ErrInvalid] when LinkedAt is out of range. When the store holds its
// maximum of wallets it returns an error wrapping [store.ErrCapacity].
func (s *Store) LinkWallet(ctx context.Context, userID string, w store.Wallet) error {
	if err := store.CheckWallet(userID, w); err != nil {
		return err
	}
	w.LinkedAt = w.LinkedAt.Round(0)
	key := store.FoldAddress(w.Address)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return store.ErrNotFound
	}
	if _, ok := s.wallets[key]; ok {
		return store.ErrConflict
	}
	if len(s.wallets) >= s.maxWallets {
		return errWalletCapacity
	}
	// The user's slice is the store's own (cloneUser copies it for callers), so it may grow in
	// place.
	u.Wallets = append(u.Wallets, w)
	s.wallets[key] = u
	return nil
}

// UnlinkWallet implements [store.UserStore.UnlinkWallet]. The user's other wallets keep their
// order.
func (s *Store) UnlinkWallet(ctx context.Context, userID, address string) error {
	key := store.FoldAddress(address)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok || s.wallets[key] != u {
		return store.ErrNotFound
	}
	if len(u.Wallets) <= 1 {
		return store.ErrConflict
	}
	i := slices.IndexFunc(u.Wallets, func(w store.Wallet) bool { return store.FoldAddress(w.Address) == key })
	if i < 0 {
		// Not reached: wallets indexes exactly the addresses of users' wallets.
		return store.ErrNotFound
	}
	u.Wallets = slices.Delete(u.Wallets, i, i+1)
	delete(s.wallets, key)
	return nil
}
