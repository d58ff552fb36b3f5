package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"

	"github.com/walletauth/walletauth/store"
)

// Recovery codes: 80 bits from crypto/rand each, written as 16 characters of recoveryAlphabet
// (Crockford's base32 in lower case: digits and letters without i, l, o and u, so nothing
// reads as something else) in four groups of four, "7k3m-q9xa-0rtd-5vhe".
const (
	recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	recoveryBytes    = 10 // 80 bits
	recoveryChars    = recoveryBytes * 8 / 5
	recoveryGroup    = 4
)

var recoveryEncoding = base32.NewEncoding(recoveryAlphabet).WithPadding(base32.NoPadding)

// recoveryValue maps an input byte to the character of recoveryAlphabet it stands for, or 0:
// upper case reads as lower case, and (as Crockford's base32 has it) o as 0, i and l as 1.
var recoveryValue = func() (m [256]byte) {
	for i := 0; i < len(recoveryAlphabet); i++ {
		c := recoveryAlphabet[i]
		m[c] = c
		if c >= 'a' && c <= 'z' {
			m[c-'a'+'A'] = c
		}
	}
	m['o'], m['O'] = '0', '0'
	m['i'], m['I'], m['l'], m['L'] = '1', '1', '1', '1'
	return m
}()

// newRecoveryCodes makes a set of recovery codes: as shown to the user, and the hashes to store.
func (s *Service) newRecoveryCodes() (codes []string, hashes [][]byte) {
	codes = make([]string, s.codes)
	hashes = make([][]byte, s.codes)
	var raw [recoveryBytes]byte
	for i := range codes {
		_, _ = rand.Read(raw[:]) // never fails
		plain := recoveryEncoding.EncodeToString(raw[:])
		codes[i] = group(plain)
		hashes[i] = hashRecoveryCode(plain)
	}
	clear(raw[:])
	return codes, hashes
}

// group writes a code in groups of recoveryGroup characters joined by hyphens.
func group(plain string) string {
	b := make([]byte, 0, len(plain)+len(plain)/recoveryGroup)
	for i := 0; i < len(plain); i += recoveryGroup {
		if i > 0 {
			b = append(b, '-')
		}
		b = append(b, plain[i:i+recoveryGroup]...)
	}
	return string(b)
}

// normalizeRecoveryCode returns the canonical form of a typed recovery code: case, spaces and
// hyphens ignored, o read as 0 and i, l as 1. ok is false unless that leaves exactly
// recoveryChars characters of the alphabet.
func normalizeRecoveryCode(code string) (string, bool) {
	if len(code) > 4*recoveryChars {
		return "", false
	}
	b := make([]byte, 0, recoveryChars)
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c == ' ' || c == '-' {
			continue
		}
		v := recoveryValue[c]
		if v == 0 || len(b) == recoveryChars {
			return "", false
		}
		b = append(b, v)
	}
	return string(b), len(b) == recoveryChars
}

// hashRecoveryCode is what the store keeps of a code: its SHA-256. A code has 80 bits of
// entropy, so a fast hash is enough — guessing a code from its hash takes about 2^79 hashes —
// and no salt or slow hash (bcrypt, Argon2) is needed, unlike for passwords.
func hashRecoveryCode(canonical string) []byte {
	sum := sha256.Sum256([]byte(canonical))
	return sum[:]
}

// UseRecoveryCode checks a recovery code as the user's second factor and uses it up: each code
// works once (of concurrent uses of one code exactly one succeeds). Case, spaces and hyphens
// do not matter. A code the user has not got, or has used, is [ErrInvalidCode]. It counts as
// an attempt like [Service.Verify]; without a confirmed factor it returns [ErrNotEnrolled].
// Each use is logged at level Warn with the number of codes left.
func (s *Service) UseRecoveryCode(ctx context.Context, userID, code string) error {
	now := s.now()
	n, err := s.attempt(ctx, userID, "recovery_code", now)
	if err != nil {
		return err
	}
	if _, err := s.factor(ctx, userID, true); err != nil {
		return err
	}
	canonical, ok := normalizeRecoveryCode(code)
	if !ok {
		s.failed(ctx, userID, "recovery_code", "malformed", n)
		return ErrInvalidCode
	}
	err = s.store.UseRecoveryCode(ctx, userID, hashRecoveryCode(canonical))
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.failed(ctx, userID, "recovery_code", "wrong", n)
		return ErrInvalidCode
	case err != nil:
		return fmt.Errorf("mfa: using the recovery code: %w", err)
	}
	s.succeeded(ctx, userID)
	attrs := []slog.Attr{slog.String("event", "mfa_recovery_code_used"), slog.String("user", userID)}
	if left, err := s.store.CountRecoveryCodes(ctx, userID); err == nil {
		attrs = append(attrs, slog.Int("codes_left", left))
	} else {
		attrs = append(attrs, slog.Any("count_error", err))
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "mfa: recovery code used", attrs...)
	return nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes with a new set and returns it, to
// be shown once; the old set is void at once. It needs a confirmed factor ([ErrNotEnrolled]).
// Callers should demand a recent second factor first.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	if _, err := s.factor(ctx, userID, true); err != nil {
		return nil, err
	}
	codes, hashes := s.newRecoveryCodes()
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes, s.now()); err != nil {
		return nil, fmt.Errorf("mfa: storing recovery codes: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "mfa: recovery codes regenerated", slog.String("event", "mfa_recovery_codes_regenerated"),
		slog.String("user", userID), slog.Int("recovery_codes", len(codes)))
	return codes, nil
}

// RecoveryCodesLeft returns how many unused recovery codes the user has.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	n, err := s.store.CountRecoveryCodes(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("mfa: counting recovery codes: %w", err)
	}
	return n, nil
}
