package mfa

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/walletauth/walletauth/store"
)

// Enrollment is what a user needs to add a new TOTP factor to an authenticator app.
type Enrollment struct {
	// Secret is the shared secret in base32 (RFC 4648, upper case, no padding), for entering
	// by hand.
	Secret string
	// URL is the otpauth:// key URI (issuer, account name, secret, SHA1, 6 digits, 30 s).
	URL string
	// QRPNG is a PNG image ([QRSize]×[QRSize]) of a QR code of URL.
	QRPNG []byte
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// totpOpts are the parameters of every code: SHA-1, 6 digits, 30 s.
var totpOpts = totp.ValidateOpts{Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enroll starts a TOTP enrolment: a new secret (160 bits from crypto/rand), stored sealed and
// unconfirmed, replacing an unconfirmed one. accountName is how authenticator apps list the
// account (no colon, at most 256 bytes). The factor protects nothing until [Service.Confirm].
// With a confirmed factor Enroll returns [ErrAlreadyEnabled].
func (s *Service) Enroll(ctx context.Context, userID, accountName string) (*Enrollment, error) {
	if userID == "" {
		return nil, errors.New("mfa: user id is required")
	}
	if err := checkLabel("account name", accountName, maxAccountName); err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      s.issuer,
		AccountName: accountName,
		Period:      Period,
		SecretSize:  SecretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("mfa: generating the secret: %w", err)
	}
	img, err := key.Image(QRSize, QRSize)
	if err != nil {
		return nil, fmt.Errorf("mfa: drawing the QR code: %w", err)
	}
	var qr bytes.Buffer
	if err := png.Encode(&qr, img); err != nil {
		return nil, fmt.Errorf("mfa: encoding the QR code: %w", err)
	}
	raw, err := b32.DecodeString(key.Secret())
	if err != nil || len(raw) < SecretSize {
		return nil, errors.New("mfa: generating the secret: unexpected secret from the OTP library")
	}
	sealed, keyID := s.seal(userID, raw)
	clear(raw)
	now := s.now()
	err = s.store.PutTOTP(ctx, store.TOTP{UserID: userID, Secret: sealed, KeyID: keyID, CreatedAt: now})
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, ErrAlreadyEnabled
	case err != nil:
		return nil, fmt.Errorf("mfa: storing the factor: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "mfa: TOTP enrolment started", slog.String("event", "mfa_enroll"),
		slog.String("user", userID), slog.String("key_id", keyID))
	return &Enrollment{Secret: key.Secret(), URL: key.URL(), QRPNG: qr.Bytes()}, nil
}

// Confirm completes a pending enrolment with a first valid code from the authenticator app,
// which proves that the app has the secret. The code spends its time step like any other
// (RFC 6238 §5.2). It returns the first set of recovery codes, to be shown to the user once;
// only their hashes are stored.
//
// Confirm counts as an attempt (see "Attempt limits" in the package documentation). It returns
// [ErrNotEnrolled] without a pending enrolment and [ErrAlreadyEnabled] when the factor is
// confirmed already. (Two confirmations racing with codes of two different steps can both
// succeed; only the set of recovery codes stored last is valid. A client submits one.)
func (s *Service) Confirm(ctx context.Context, userID, code string) ([]string, error) {
	now := s.now()
	n, err := s.attempt(ctx, userID, "totp_confirm", now)
	if err != nil {
		return nil, err
	}
	f, err := s.factor(ctx, userID, false)
	if err != nil {
		return nil, err
	}
	step, err := s.matchStep(ctx, userID, f, code, now, "totp_confirm", n)
	if err != nil {
		return nil, err
	}
	// Spend the step first: of two confirmations racing with one code (a double click) only the
	// winner stores recovery codes, so the codes a user is shown are the codes that work. If
	// they cannot be stored, the factor is turned off again, so that no confirmed factor is left
	// without recovery codes, and the user enrols anew.
	if err := s.useStep(ctx, userID, f, step, now, "totp_confirm", n); err != nil {
		return nil, err
	}
	codes, hashes := s.newRecoveryCodes()
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes, now); err != nil {
		if derr := s.store.DeleteTOTP(ctx, userID); derr != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "mfa: a factor confirmed without recovery codes could not be removed",
				slog.String("user", userID), slog.Any("error", derr))
		}
		return nil, fmt.Errorf("mfa: storing recovery codes: %w", err)
	}
	s.succeeded(ctx, userID)
	s.log.LogAttrs(ctx, slog.LevelInfo, "mfa: TOTP confirmed", slog.String("event", "mfa_confirm"),
		slog.String("user", userID), slog.Int("recovery_codes", len(codes)))
	return codes, nil
}

// Enabled reports whether the user has a confirmed factor.
func (s *Service) Enabled(ctx context.Context, userID string) (bool, error) {
	f, err := s.store.GetTOTP(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("mfa: reading the factor: %w", err)
	}
	return !f.ConfirmedAt.IsZero(), nil
}

// Verify checks a TOTP code as the user's second factor. It accepts the code of the current
// time step or of the one before or after ([Skew]), each step at most once, and never a step
// earlier than the last one accepted; anything else is [ErrInvalidCode]. Spaces in the code are
// ignored ("123 456"). Verify counts as an attempt; a user over the limit gets a
// [*LockedError] and the code is not checked. Without a confirmed factor it returns
// [ErrNotEnrolled].
func (s *Service) Verify(ctx context.Context, userID, code string) error {
	now := s.now()
	n, err := s.attempt(ctx, userID, "totp", now)
	if err != nil {
		return err
	}
	f, err := s.factor(ctx, userID, true)
	if err != nil {
		return err
	}
	step, err := s.matchStep(ctx, userID, f, code, now, "totp", n)
	if err != nil {
		return err
	}
	if err := s.useStep(ctx, userID, f, step, now, "totp", n); err != nil {
		return err
	}
	s.succeeded(ctx, userID)
	s.log.LogAttrs(ctx, slog.LevelInfo, "mfa: TOTP code accepted", slog.String("event", "mfa_verify"), slog.String("user", userID))
	return nil
}

// matchStep checks code against the factor's secret and returns the time step it belongs to:
// the codes of the current step and Skew steps either side are computed one by one and
// compared in constant time. Should the code match more than one step, the latest wins, so
// that it cannot be used again for a later step. A step not after the factor's LastStep is a
// replay.
func (s *Service) matchStep(ctx context.Context, userID string, f store.TOTP, code string, now time.Time, kind string, n int64) (int64, error) {
	given, ok := normalizeTOTP(code)
	if !ok {
		s.failed(ctx, userID, kind, "malformed", n)
		return 0, ErrInvalidCode
	}
	raw, err := s.open(userID, f)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "mfa: the stored TOTP secret cannot be opened", slog.String("event", "mfa_unseal_failed"),
			slog.String("user", userID), slog.String("key_id", f.KeyID), slog.Any("error", err))
		return 0, err
	}
	secret := b32.EncodeToString(raw)
	clear(raw)
	cur := floorDiv(now.Unix(), Period)
	var matched int64 = -1
	for step := cur - Skew; step <= cur+Skew; step++ {
		if step < 0 {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*Period, 0), totpOpts)
		if err != nil {
			return 0, fmt.Errorf("mfa: computing a code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), given) == 1 {
			matched = step
		}
	}
	switch {
	case matched < 0:
		s.failed(ctx, userID, kind, "wrong", n)
		return 0, ErrInvalidCode
	case matched <= f.LastStep:
		s.failed(ctx, userID, kind, "replayed", n)
		return 0, ErrInvalidCode
	}
	return matched, nil
}

// useStep spends a matched time step in the store: the atomic once-per-step rule. It gives the
// store the sealed secret that the code was checked against (f.Secret), and the store accepts
// the step only while the factor still has that secret. A conflict is therefore either a replay
// (another call spent this step or a later one meanwhile) or a factor that changed meanwhile
// (disabled and enrolled again, enrolled again before confirming, or resealed): the code belongs
// to the old secret and proves nothing about the new one, which stays as it is — unconfirmed,
// its steps unspent. The store cannot say which, so the log reason covers both.
func (s *Service) useStep(ctx context.Context, userID string, f store.TOTP, step int64, now time.Time, kind string, n int64) error {
	_, err := s.store.UseTOTPStep(ctx, userID, f.Secret, step, now)
	switch {
	case errors.Is(err, store.ErrConflict):
		s.failed(ctx, userID, kind, "replayed_or_changed", n)
		return ErrInvalidCode
	case errors.Is(err, store.ErrNotFound):
		return ErrNotEnrolled // deleted meanwhile
	case err != nil:
		return fmt.Errorf("mfa: using the time step: %w", err)
	}
	return nil
}

// normalizeTOTP returns the digits of a code, ignoring spaces; ok is false unless they are
// exactly Digits ASCII digits.
func normalizeTOTP(code string) (digits []byte, ok bool) {
	if len(code) > 4*Digits {
		return nil, false
	}
	digits = make([]byte, 0, Digits)
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c == ' ':
		case c >= '0' && c <= '9' && len(digits) < Digits:
			digits = append(digits, c)
		default:
			return nil, false
		}
	}
	return digits, len(digits) == Digits
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Disable turns the user's second factor off: it deletes the factor (confirmed or not) and the
// recovery codes. Disabling a user without a factor is not an error. Callers should demand a
// recent second factor first.
func (s *Service) Disable(ctx context.Context, userID string) error {
	if err := s.store.DeleteTOTP(ctx, userID); err != nil {
		return fmt.Errorf("mfa: deleting the factor: %w", err)
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, nil, s.now()); err != nil {
		return fmt.Errorf("mfa: deleting recovery codes: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "mfa: second factor disabled", slog.String("event", "mfa_disable"), slog.String("user", userID))
	return nil
}

// Reseal re-encrypts the user's TOTP secret (confirmed or pending) under
// [Config.CurrentKeyID], for key rotation (see "Key rotation" in the package documentation). A
// secret sealed with the current key already is left alone. It returns [ErrNotEnrolled] when
// the user has no factor at all, and an error wrapping [ErrSecretUnreadable] when the secret
// cannot be opened (its key was removed too early, or the record was altered).
//
// Reseal reads the factor and writes it back with a compare-and-set on the sealed secret it read
// ([github.com/walletauth/walletauth/store.MFAStore.ResealTOTP]), so a factor that changed in
// between (enrolled again, or resealed by another instance) is never overwritten with the old
// secret. Reseal then reads the factor again and reseals that, once; should it change again
// meanwhile, Reseal returns an error wrapping
// [github.com/walletauth/walletauth/store.ErrConflict], and running it again is safe.
func (s *Service) Reseal(ctx context.Context, userID string) error {
	err := s.resealOnce(ctx, userID)
	if errors.Is(err, store.ErrConflict) {
		// The factor changed between reading and writing it: reseal what it is now.
		err = s.resealOnce(ctx, userID)
	}
	return err
}

// resealOnce reads the user's factor and reseals its secret under the current key, unless the
// factor changed meanwhile: then it returns an error wrapping store.ErrConflict.
func (s *Service) resealOnce(ctx context.Context, userID string) error {
	f, err := s.store.GetTOTP(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotEnrolled
	case err != nil:
		return fmt.Errorf("mfa: reading the factor: %w", err)
	case f.KeyID == s.currentKey:
		return nil
	}
	raw, err := s.open(userID, f)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "mfa: the stored TOTP secret cannot be opened", slog.String("event", "mfa_unseal_failed"),
			slog.String("user", userID), slog.String("key_id", f.KeyID), slog.Any("error", err))
		return err
	}
	sealed, keyID := s.seal(userID, raw)
	clear(raw)
	err = s.store.ResealTOTP(ctx, userID, f.Secret, sealed, keyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotEnrolled // deleted meanwhile
	case err != nil:
		return fmt.Errorf("mfa: storing the resealed secret: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "mfa: TOTP secret resealed", slog.String("event", "mfa_reseal"),
		slog.String("user", userID), slog.String("from_key_id", f.KeyID), slog.String("key_id", keyID))
	return nil
}
