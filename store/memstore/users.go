package memstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/walletauth/walletauth/store"
)

var errWalletCapacity = fmt.Errorf("memstore: wallet limit reached: %w", store.ErrCapacity)

// foldAddress returns the form of a wallet address under which it is unique: ASCII letters in
// lower case (as SQL's lower() folds them), anything else as it is.
func foldAddress(a string) string {
	for i := 0; i < len(a); i++ {
		if c := a[i]; 'A' <= c && c <= 'Z' {
			b := []byte(a)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return a
}

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
	if u.ID == "" {
		return invalid("user has no id")
	}
	if len(u.Wallets) == 0 {
		return invalid("user %q has no wallet", u.ID)
	}
	if err := checkTimes("user", true, namedTime{"creation time", u.CreatedAt}); err != nil {
		return err
	}
	v := cloneUser(&u)
	v.CreatedAt = v.CreatedAt.Round(0)
	folded := make([]string, len(v.Wallets))
	for i := range v.Wallets {
		w := &v.Wallets[i]
		if w.Address == "" {
			return invalid("user %q: wallet %d has no address", u.ID, i)
		}
		if err := checkTimes("wallet", true, namedTime{"link time", w.LinkedAt}); err != nil {
			return err
		}
		w.LinkedAt = w.LinkedAt.Round(0)
		folded[i] = foldAddress(w.Address)
		if slices.Contains(folded[:i], folded[i]) {
			return invalid("user %q: address %s given twice", u.ID, w.Address)
		}
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
	u, ok := s.wallets[foldAddress(address)]
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
	if w.Address == "" {
		return invalid("user %q: wallet has no address", userID)
	}
	if err := checkTimes("wallet", true, namedTime{"link time", w.LinkedAt}); err != nil {
		return err
	}
	w.LinkedAt = w.LinkedAt.Round(0)
	key := foldAddress(w.Address)
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
	key := foldAddress(address)
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
	i := slices.IndexFunc(u.Wallets, func(w store.Wallet) bool { return foldAddress(w.Address) == key })
	if i < 0 {
		// Not reached: wallets indexes exactly the addresses of users' wallets.
		return store.ErrNotFound
	}
	u.Wallets = slices.Delete(u.Wallets, i, i+1)
	delete(s.wallets, key)
	return nil
}
