package store

import (
	"fmt"
	"math"
	"time"
)

// The checks of input that every store makes before it keeps anything (see "Implementing a store"
// in the package documentation).

// The range of times that stores keep: Unix nanoseconds in an int64, from 1677-09-21 to
// 2262-04-11 (UTC).
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// invalid returns an error wrapping [ErrInvalid] with a message made as [fmt.Sprintf] makes it.
func invalid(format string, args ...any) error {
	return fmt.Errorf("store: "+format+": %w", append(args, ErrInvalid)...)
}

// firstError returns the first of errs that is not nil, or nil.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// CheckTime returns an error wrapping [ErrInvalid] when t is zero or outside the range of times
// that stores keep (Unix nanoseconds in an int64: 1678 to 2262), and nil otherwise. what names
// the time in the message ("session expiry"). It is for the times a record must have (an expiry)
// and for a now that a store keeps (as a revocation or verification time).
func CheckTime(what string, t time.Time) error {
	if t.IsZero() || t.Before(minTime) || t.After(maxTime) {
		return invalid("%s %v is zero or out of range", what, t)
	}
	return nil
}

// CheckOptionalTime is [CheckTime] for a time that may be left zero (not set): only a time outside
// the range is invalid.
func CheckOptionalTime(what string, t time.Time) error {
	if !t.IsZero() && (t.Before(minTime) || t.After(maxTime)) {
		return invalid("%s %v is out of range", what, t)
	}
	return nil
}

// CheckNonce checks a nonce given to [NonceStore.CreateNonce]: Value must not be empty, ExpiresAt
// must be set, and both ExpiresAt and IssuedAt (which may be zero) must be in the range of
// [CheckTime].
func CheckNonce(n Nonce) error {
	switch {
	case n.Value == "":
		return invalid("nonce has no value")
	case n.ExpiresAt.IsZero():
		return invalid("nonce has no expiry")
	}
	return firstError(
		CheckTime("nonce expiry", n.ExpiresAt),
		CheckOptionalTime("nonce issue time", n.IssuedAt))
}

// ValidKeyID reports whether id is a valid [SigningKey.ID]: 1 to 64 ASCII letters, digits, '-'
// and '_'.
func ValidKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CheckSigningKey checks a key given to [KeyStore.CreateKey]: the ID must pass [ValidKeyID], the
// algorithm must be one of those [SigningKey] lists, Private must not be empty, ExpiresAt must be
// set, and every time must be in the range of [CheckTime] (CreatedAt and NotBefore may be zero).
func CheckSigningKey(k SigningKey) error {
	switch {
	case !ValidKeyID(k.ID):
		return invalid("signing key id %q is not 1 to 64 letters, digits, '-' and '_'", k.ID)
	case k.Algorithm != "EdDSA" && k.Algorithm != "ES256" && k.Algorithm != "HS256":
		return invalid("signing key algorithm %q is not EdDSA, ES256 or HS256", k.Algorithm)
	case len(k.Private) == 0:
		return invalid("signing key has no private key")
	}
	return firstError(
		CheckTime("signing key expiry", k.ExpiresAt),
		CheckOptionalTime("signing key creation time", k.CreatedAt),
		CheckOptionalTime("signing key start", k.NotBefore))
}

// CheckSession checks a session given to [SessionStore.CreateSession]: ID, UserID and
// RefreshHash must not be empty, IdleExpiresAt and ExpiresAt must be set, and every time must be
// in the range of [CheckTime] (RotatedAt, CreatedAt, LastUsedAt and RevokedAt may be zero).
func CheckSession(s Session) error {
	switch {
	case s.ID == "":
		return invalid("session has no id")
	case s.UserID == "":
		return invalid("session has no user id")
	case len(s.RefreshHash) == 0:
		return invalid("session has no refresh hash")
	}
	return firstError(
		CheckTime("session idle expiry", s.IdleExpiresAt),
		CheckTime("session expiry", s.ExpiresAt),
		CheckOptionalTime("session rotation time", s.RotatedAt),
		CheckOptionalTime("session creation time", s.CreatedAt),
		CheckOptionalTime("session last use", s.LastUsedAt),
		CheckOptionalTime("session revocation time", s.RevokedAt))
}

// CheckRefreshRotation checks the arguments of [SessionStore.RotateRefresh] that the session
// would keep: newHash must not be empty, and idleExpiresAt and now must pass [CheckTime] (a zero
// one would leave the session expired at once, or rotated at the zero time).
func CheckRefreshRotation(newHash []byte, idleExpiresAt, now time.Time) error {
	if len(newHash) == 0 {
		return invalid("session refresh hash is empty")
	}
	return firstError(
		CheckTime("session idle expiry", idleExpiresAt),
		CheckTime("session rotation time", now))
}

// FoldAddress returns the form of a wallet address under which stores compare it ("without
// regard to case"): its ASCII letters in lower case (as SQL's lower() folds them), every other
// byte as it is. A store keys wallets by it.
func FoldAddress(address string) string {
	for i := 0; i < len(address); i++ {
		if c := address[i]; 'A' <= c && c <= 'Z' {
			b := []byte(address)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return address
}

// CheckUser checks a user given to [UserStore.CreateUser]: ID must not be empty, there must be a
// wallet, no wallet may lack an address, no two wallets may have one address (compared with
// [FoldAddress]), and the times must be in the range of [CheckTime] (CreatedAt and LinkedAt may be
// zero).
func CheckUser(u User) error {
	switch {
	case u.ID == "":
		return invalid("user has no id")
	case len(u.Wallets) == 0:
		return invalid("user %q has no wallet", u.ID)
	}
	if err := CheckOptionalTime("user creation time", u.CreatedAt); err != nil {
		return err
	}
	seen := make(map[string]bool, len(u.Wallets))
	for i, w := range u.Wallets {
		if w.Address == "" {
			return invalid("user %q: wallet %d has no address", u.ID, i)
		}
		if err := CheckOptionalTime("wallet link time", w.LinkedAt); err != nil {
			return err
		}
		key := FoldAddress(w.Address)
		if seen[key] {
			return invalid("user %q: address %s given twice", u.ID, w.Address)
		}
		seen[key] = true
	}
	return nil
}

// CheckWallet checks a wallet given to [UserStore.LinkWallet] for the user userID (named in the
// message only): the address must not be empty and LinkedAt (which may be zero) must be in the
// range of [CheckTime].
func CheckWallet(userID string, w Wallet) error {
	if w.Address == "" {
		return invalid("user %q: wallet has no address", userID)
	}
	return CheckOptionalTime("wallet link time", w.LinkedAt)
}

// CheckMetadata checks the arguments of [MetadataStore.SetMetadata]: userID must not be empty,
// member must be "public", "private" or "unsafe" (compared exactly), doc must be at most maxSize
// bytes (the store's bound on one document), and now (which may be zero) must be in the range of
// [CheckTime]. It does not parse doc.
func CheckMetadata(userID, member string, doc []byte, maxSize int, now time.Time) error {
	switch {
	case userID == "":
		return invalid("metadata has no user id")
	case member != "public" && member != "private" && member != "unsafe":
		return invalid("metadata of user %q: unknown member %q", userID, member)
	case len(doc) > maxSize:
		return invalid("metadata of user %q: %s document of %d bytes, more than %d", userID, member, len(doc), maxSize)
	}
	return CheckOptionalTime("metadata update time", now)
}

// CheckTOTP checks a factor given to [MFAStore.PutTOTP]: UserID, Secret and KeyID must not be
// empty, LastStep must not be negative, and CreatedAt and ConfirmedAt (which may be zero) must be
// in the range of [CheckTime].
func CheckTOTP(f TOTP) error {
	switch {
	case f.UserID == "":
		return invalid("TOTP factor has no user id")
	case len(f.Secret) == 0:
		return invalid("TOTP factor of user %q has no secret", f.UserID)
	case f.KeyID == "":
		return invalid("TOTP factor of user %q has no key id", f.UserID)
	case f.LastStep < 0:
		return invalid("TOTP factor of user %q has a negative last step %d", f.UserID, f.LastStep)
	}
	return firstError(
		CheckOptionalTime("TOTP factor creation time", f.CreatedAt),
		CheckOptionalTime("TOTP factor confirmation time", f.ConfirmedAt))
}

// CheckTOTPReseal checks the arguments of [MFAStore.ResealTOTP] that the factor would keep:
// newSecret and keyID must not be empty, as [CheckTOTP] requires of a factor. userID is named in
// the message only.
func CheckTOTPReseal(userID string, newSecret []byte, keyID string) error {
	switch {
	case len(newSecret) == 0:
		return invalid("TOTP factor of user %q: resealed secret is empty", userID)
	case keyID == "":
		return invalid("TOTP factor of user %q: resealed key id is empty", userID)
	}
	return nil
}

// CheckRecoveryCodes checks the arguments of [MFAStore.ReplaceRecoveryCodes]: userID must not be
// empty, there must be at most maxCodes hashes (the store's bound for one user), none of them
// empty and no two equal, and now (which may be zero) must be in the range of [CheckTime].
func CheckRecoveryCodes(userID string, hashes [][]byte, maxCodes int, now time.Time) error {
	if userID == "" {
		return invalid("recovery codes have no user id")
	}
	if len(hashes) > maxCodes {
		return invalid("%d recovery codes for user %q, more than %d", len(hashes), userID, maxCodes)
	}
	seen := make(map[string]bool, len(hashes))
	for i, h := range hashes {
		if len(h) == 0 {
			return invalid("recovery code %d of user %q has an empty hash", i, userID)
		}
		if seen[string(h)] {
			return invalid("recovery code %d of user %q: hash given twice", i, userID)
		}
		seen[string(h)] = true
	}
	return CheckOptionalTime("recovery codes creation time", now)
}

// CheckContact checks a contact given to [ContactStore.AddContact]: UserID and Value must not be
// empty, Kind must be "email" or "phone", and AddedAt (which may be zero) must be in the range of
// [CheckTime]. VerifiedAt and Primary are not checked: AddContact ignores them.
func CheckContact(c Contact) error {
	switch {
	case c.UserID == "":
		return invalid("contact has no user id")
	case c.Kind != "email" && c.Kind != "phone":
		return invalid("contact of user %q: kind %q is not email or phone", c.UserID, c.Kind)
	case c.Value == "":
		return invalid("contact of user %q has no value", c.UserID)
	}
	return CheckOptionalTime("contact addition time", c.AddedAt)
}

// CheckVerificationCode checks a code given to [CodeStore.PutCode]: Key and Hash must not be
// empty, Failures must not be negative, and ExpiresAt must pass [CheckTime].
func CheckVerificationCode(c VerificationCode) error {
	switch {
	case c.Key == "":
		return invalid("verification code has no key")
	case len(c.Hash) == 0:
		return invalid("verification code %q has no hash", c.Key)
	case c.Failures < 0:
		return invalid("verification code %q has a negative failure count %d", c.Key, c.Failures)
	}
	return CheckTime("verification code expiry", c.ExpiresAt)
}

// CheckMaxFailures checks the maximum of failures given to [CodeStore.AddCodeFailure] for the
// code under key (named in the message only): it must be at least 1.
func CheckMaxFailures(key string, maxFailures int) error {
	if maxFailures < 1 {
		return invalid("verification code %q: maximum of failures %d is below 1", key, maxFailures)
	}
	return nil
}

// CheckOAuthAccount checks an account given to [OAuthStore.LinkOAuth]: UserID, Provider and
// Subject must not be empty, and LinkedAt (which may be zero) must be in the range of
// [CheckTime].
func CheckOAuthAccount(a OAuthAccount) error {
	switch {
	case a.UserID == "":
		return invalid("OAuth account has no user id")
	case a.Provider == "":
		return invalid("OAuth account of user %q has no provider", a.UserID)
	case a.Subject == "":
		return invalid("OAuth account of user %q at %q has no subject", a.UserID, a.Provider)
	}
	return CheckOptionalTime("OAuth account link time", a.LinkedAt)
}
