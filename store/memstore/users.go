package memstore

import (
	"context"
	"slices"

	"github.com/walletauth/walletauth/store"
)

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
// maximum of users it returns an error wrapping [store.ErrCapacity]; users do not expire, so it
// keeps doing so.
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
