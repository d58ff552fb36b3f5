package memstore

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/walletauth/walletauth/store"
)

var (
	errTOTPCapacity     = fmt.Errorf("memstore: TOTP factor limit reached: %w", store.ErrCapacity)
	errRecoveryCapacity = fmt.Errorf("memstore: recovery code limit reached: %w", store.ErrCapacity)
)

func cloneTOTP(f store.TOTP) store.TOTP {
	f.Secret = bytes.Clone(f.Secret)
	return f
}

// PutTOTP implements [store.MFAStore.PutTOTP]. It also returns an error wrapping
// [store.ErrInvalid] when LastStep is negative or a time is out of range. When the store holds its
// maximum of factors, a user without one gets an error wrapping [store.ErrCapacity]; factors do
// not expire, so it keeps doing so until factors are deleted. Replacing a user's unconfirmed factor
// needs no room.
func (s *Store) PutTOTP(ctx context.Context, f store.TOTP) error {
	if err := store.CheckTOTP(f); err != nil {
		return err
	}
	f = cloneTOTP(f)
	f.CreatedAt, f.ConfirmedAt = f.CreatedAt.Round(0), f.ConfirmedAt.Round(0)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if old, ok := s.totp[f.UserID]; ok {
		if !old.ConfirmedAt.IsZero() {
			return store.ErrConflict
		}
		*old = f
		return nil
	}
	if len(s.totp) >= s.maxTOTP {
		return errTOTPCapacity
	}
	s.totp[f.UserID] = &f
	return nil
}

// GetTOTP implements [store.MFAStore.GetTOTP].
func (s *Store) GetTOTP(ctx context.Context, userID string) (store.TOTP, error) {
	if err := s.lock(ctx); err != nil {
		return store.TOTP{}, err
	}
	defer s.mu.Unlock()
	f, ok := s.totp[userID]
	if !ok {
		return store.TOTP{}, store.ErrNotFound
	}
	return cloneTOTP(*f), nil
}

// UseTOTPStep implements [store.MFAStore.UseTOTPStep], comparing secret with the factor's in
// constant time. A zero or out-of-range now gives an error wrapping [store.ErrInvalid] and
// changes nothing, whether or not the factor is confirmed: a factor confirmed at the zero time
// would look unconfirmed.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, secret []byte, step int64, now time.Time) (store.TOTP, error) {
	if err := store.CheckTime("TOTP factor time of use", now); err != nil {
		return store.TOTP{}, err
	}
	now = now.Round(0)
	if err := s.lock(ctx); err != nil {
		return store.TOTP{}, err
	}
	defer s.mu.Unlock()
	f, ok := s.totp[userID]
	if !ok {
		return store.TOTP{}, store.ErrNotFound
	}
	if subtle.ConstantTimeCompare(f.Secret, secret) != 1 || step <= f.LastStep {
		return store.TOTP{}, store.ErrConflict
	}
	f.LastStep = step
	if f.ConfirmedAt.IsZero() {
		f.ConfirmedAt = now
	}
	return cloneTOTP(*f), nil
}

// ResealTOTP implements [store.MFAStore.ResealTOTP], comparing oldSecret with the factor's in
// constant time. An empty new secret or key ID, which PutTOTP would refuse, gives an error
// wrapping [store.ErrInvalid] and changes nothing.
func (s *Store) ResealTOTP(ctx context.Context, userID string, oldSecret, newSecret []byte, keyID string) error {
	if err := store.CheckTOTPReseal(userID, newSecret, keyID); err != nil {
		return err
	}
	newSecret = bytes.Clone(newSecret)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	f, ok := s.totp[userID]
	if !ok {
		return store.ErrNotFound
	}
	if subtle.ConstantTimeCompare(f.Secret, oldSecret) != 1 {
		return store.ErrConflict
	}
	f.Secret, f.KeyID = newSecret, keyID
	return nil
}

// DeleteTOTP implements [store.MFAStore.DeleteTOTP]. It leaves the user's recovery codes.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.totp, userID)
	return nil
}

// ReplaceRecoveryCodes implements [store.MFAStore.ReplaceRecoveryCodes]. It returns an error
// wrapping [store.ErrInvalid], and keeps the old set, when userID is empty, a hash is empty, a hash
// is given twice, there are more than [MaxRecoveryCodesPerUser] hashes, or now is out of range
// (the store does not otherwise use now). When the new set would take the store past its maximum
// of recovery codes (the old set counting as freed), it returns an error wrapping
// [store.ErrCapacity].
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	if err := store.CheckRecoveryCodes(userID, hashes, MaxRecoveryCodesPerUser, now); err != nil {
		return err
	}
	set := cloneHashes(hashes) // before the lock: the copy costs the other callers nothing
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	total := s.nCodes - len(s.codes[userID]) + len(set)
	if total > s.maxCodes {
		return errRecoveryCapacity
	}
	if len(set) == 0 {
		delete(s.codes, userID)
	} else {
		s.codes[userID] = set
	}
	s.nCodes = total
	return nil
}

// UseRecoveryCode implements [store.MFAStore.UseRecoveryCode]. It compares hash with every code
// of the user, each in constant time.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	set := s.codes[userID]
	found := -1
	for i, h := range set {
		if subtle.ConstantTimeCompare(h, hash) == 1 {
			found = i
		}
	}
	if found < 0 {
		return store.ErrNotFound
	}
	// The order of a set does not matter: the last code takes the place of the used one.
	last := len(set) - 1
	set[found], set[last] = set[last], nil
	if last == 0 {
		delete(s.codes, userID)
	} else {
		s.codes[userID] = set[:last]
	}
	s.nCodes--
	return nil
}

// CountRecoveryCodes implements [store.MFAStore.CountRecoveryCodes].
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	return len(s.codes[userID]), nil
}
