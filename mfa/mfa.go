package mfa

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/walletauth/walletauth/store"
)

// Errors of the package. Test them with [errors.Is]. Store failures are returned wrapped and
// are none of these: a caller that cannot tell what went wrong refuses (fails closed).
var (
	// ErrInvalidCode reports a code that is not accepted: wrong, malformed, replayed (a time step
	// already used), from an earlier time step than the last accepted one, or a recovery code
	// the user does not have (or used already). The error never says which.
	ErrInvalidCode = errors.New("mfa: invalid code")
	// ErrLocked reports that the user has used up the attempts of the current window. The
	// error returned is a [*LockedError], which wraps ErrLocked and says when to retry.
	ErrLocked = errors.New("mfa: too many attempts")
	// ErrNotEnrolled reports that the user has no confirmed factor; from [Service.Confirm], that
	// there is no pending (unconfirmed) enrolment.
	ErrNotEnrolled = errors.New("mfa: no second factor enrolled")
	// ErrAlreadyEnabled reports that the user has a confirmed factor already: [Service.Enroll]
	// needs [Service.Disable] first, and [Service.Confirm] has nothing to confirm.
	ErrAlreadyEnabled = errors.New("mfa: second factor already enabled")
	// ErrSecretUnreadable reports a stored secret that cannot be opened: it is sealed with a key
	// id that is not in [Config.EncryptionKeys], or it does not authenticate (wrong key,
	// altered, or copied from another user's record). It is a server fault, never a wrong code;
	// the attempt is refused.
	ErrSecretUnreadable = errors.New("mfa: stored secret cannot be opened")
)

// LockedError is the error of an attempt refused because the user has made too many attempts
// in the current window ([Config.MaxAttempts] per [Config.AttemptWindow]). The code was not
// checked. It wraps [ErrLocked].
type LockedError struct {
	// Until is the end of the window: from then on attempts are counted afresh.
	Until time.Time
}

func (e *LockedError) Error() string {
	return "mfa: too many attempts; locked until " + e.Until.UTC().Format(time.RFC3339)
}

// Unwrap returns [ErrLocked].
func (e *LockedError) Unwrap() error { return ErrLocked }

// TOTP parameters (what authenticator apps support) and the defaults of [Config].
const (
	// Period is the TOTP time step in seconds.
	Period = 30
	// Digits is the length of a TOTP code.
	Digits = 6
	// Skew is how many time steps before and after the current one are accepted.
	Skew = 1
	// SecretSize is the size of a TOTP secret in bytes (160 bits, RFC 4226 §4).
	SecretSize = 20
	// QRSize is the width and height of [Enrollment.QRPNG] in pixels.
	QRSize = 256

	// DefaultMaxAttempts is [Config.MaxAttempts] when it is zero.
	DefaultMaxAttempts = 5
	// DefaultAttemptWindow is [Config.AttemptWindow] when it is zero.
	DefaultAttemptWindow = 5 * time.Minute
	// DefaultRecoveryCodes is [Config.RecoveryCodes] when it is zero.
	DefaultRecoveryCodes = 10

	// KeySize is the size of an encryption key: AES-256.
	KeySize = 32
	// maxKeyID, maxIssuer and maxAccountName bound the lengths (in bytes) of what ends up in
	// records and in the otpauth URL (which must fit in a QR code).
	maxKeyID       = 64
	maxIssuer      = 128
	maxAccountName = 256
	// maxRecoveryCodes bounds Config.RecoveryCodes.
	maxRecoveryCodes = 64
)

// Store is what the service keeps its state in: factors and recovery codes ([store.MFAStore])
// and attempt counters ([store.CounterStore]). Every implementation of [store.Store] is one.
type Store interface {
	store.MFAStore
	store.CounterStore
}

// Config configures a [Service]. Fields marked required have no default; [New] refuses a
// Config without them.
type Config struct {
	// Store keeps factors, recovery codes and attempt counters. Required.
	Store Store
	// Issuer is the application's name, which authenticator apps show next to the account
	// (the issuer of the otpauth URL). Required; it must not contain a colon (the key URI
	// format forbids it) and is at most 128 bytes.
	Issuer string
	// EncryptionKeys are the keys that seal TOTP secrets (AES-256-GCM), by key id. Each key is
	// 32 bytes ([KeySize]); each id is 1 to 64 printable ASCII characters, no spaces. Keep every
	// key that sealed a secret still stored (see "Key rotation" in the package documentation).
	// Required. New copies the map.
	EncryptionKeys map[string][]byte
	// CurrentKeyID names the key in EncryptionKeys that seals new secrets (and that
	// [Service.Reseal] moves secrets to). Required.
	CurrentKeyID string
	// MaxAttempts is how many attempts (TOTP codes, recovery codes, confirmations) a user may
	// make per AttemptWindow; the next ones are refused with a [*LockedError] until the window
	// ends. Default [DefaultMaxAttempts] (5).
	MaxAttempts int
	// AttemptWindow is the length of the fixed window over which attempts are counted; it
	// starts with the first attempt. Default [DefaultAttemptWindow] (5 minutes).
	AttemptWindow time.Duration
	// RecoveryCodes is how many codes a set of recovery codes has. Default
	// [DefaultRecoveryCodes] (10); at most 64.
	RecoveryCodes int
	// Clock returns the current time. Default [time.Now].
	Clock func() time.Time
	// Logger receives security events (enrolment, confirmation, failed attempts, lockouts,
	// use of a recovery code, key rotation). It never receives a code or a secret. Default
	// [slog.Default].
	Logger *slog.Logger
}

// Service enrols, confirms and checks second factors: TOTP (RFC 6238) and recovery codes. It is
// safe for concurrent use; all its state is in the store, so several instances sharing a store
// behave as one.
type Service struct {
	store       Store
	issuer      string
	keys        map[string]cipher.AEAD
	currentKey  string
	maxAttempts int64
	window      time.Duration
	codes       int
	now         func() time.Time
	log         *slog.Logger
}

// New checks cfg, fills in the defaults and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("mfa: Config.Store is required")
	}
	if err := checkLabel("Config.Issuer", cfg.Issuer, maxIssuer); err != nil {
		return nil, err
	}
	if len(cfg.EncryptionKeys) == 0 {
		return nil, errors.New("mfa: Config.EncryptionKeys is required")
	}
	keys := make(map[string]cipher.AEAD, len(cfg.EncryptionKeys))
	for id, k := range cfg.EncryptionKeys {
		if !validKeyID(id) {
			return nil, fmt.Errorf("mfa: encryption key id %q: want 1 to %d printable ASCII characters without spaces", id, maxKeyID)
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("mfa: encryption key %q has %d bytes; want %d (AES-256)", id, len(k), KeySize)
		}
		aead, err := newAEAD(k)
		if err != nil {
			return nil, fmt.Errorf("mfa: encryption key %q: %w", id, err)
		}
		keys[id] = aead
	}
	if cfg.CurrentKeyID == "" {
		return nil, errors.New("mfa: Config.CurrentKeyID is required")
	}
	if _, ok := keys[cfg.CurrentKeyID]; !ok {
		return nil, fmt.Errorf("mfa: Config.CurrentKeyID %q is not in Config.EncryptionKeys", cfg.CurrentKeyID)
	}
	switch {
	case cfg.MaxAttempts < 0:
		return nil, errors.New("mfa: Config.MaxAttempts must not be negative")
	case cfg.MaxAttempts == 0:
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	switch {
	case cfg.AttemptWindow < 0:
		return nil, errors.New("mfa: Config.AttemptWindow must not be negative")
	case cfg.AttemptWindow == 0:
		cfg.AttemptWindow = DefaultAttemptWindow
	}
	switch {
	case cfg.RecoveryCodes < 0 || cfg.RecoveryCodes > maxRecoveryCodes:
		return nil, fmt.Errorf("mfa: Config.RecoveryCodes must be between 0 (default) and %d", maxRecoveryCodes)
	case cfg.RecoveryCodes == 0:
		cfg.RecoveryCodes = DefaultRecoveryCodes
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{
		store:       cfg.Store,
		issuer:      cfg.Issuer,
		keys:        keys,
		currentKey:  cfg.CurrentKeyID,
		maxAttempts: int64(cfg.MaxAttempts),
		window:      cfg.AttemptWindow,
		codes:       cfg.RecoveryCodes,
		now:         cfg.Clock,
		log:         cfg.Logger,
	}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key) // copies the key
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// checkLabel checks an issuer or account name of the otpauth URL: not empty, no colon (the key
// URI format separates issuer and account with one), no control characters, at most max bytes.
func checkLabel(what, s string, max int) error {
	switch {
	case s == "":
		return fmt.Errorf("mfa: %s is required", what)
	case len(s) > max:
		return fmt.Errorf("mfa: %s is longer than %d bytes", what, max)
	case strings.ContainsRune(s, ':'):
		return fmt.Errorf("mfa: %s must not contain a colon", what)
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("mfa: %s must not contain control characters", what)
	}
	return nil
}

// attemptKey is the counter of a user's attempts.
func attemptKey(userID string) string { return "mfa:attempts:" + userID }

// attempt counts an attempt of the user and refuses it when it is over the limit of the
// window. It returns the attempt's number in the window.
func (s *Service) attempt(ctx context.Context, userID, kind string, now time.Time) (int64, error) {
	n, until, err := s.store.IncrementCounter(ctx, attemptKey(userID), s.window, now)
	if err != nil {
		return 0, fmt.Errorf("mfa: counting attempts: %w", err)
	}
	if n > s.maxAttempts {
		level := slog.LevelDebug
		if n == s.maxAttempts+1 {
			level = slog.LevelWarn // once per window
		}
		s.log.LogAttrs(ctx, level, "mfa: attempt refused: too many attempts", slog.String("event", "mfa_locked"),
			slog.String("user", userID), slog.String("method", kind), slog.Int64("attempt", n), slog.Time("until", until))
		return n, &LockedError{Until: until}
	}
	return n, nil
}

// succeeded resets the user's attempt counter after a successful attempt. A failure to reset
// is logged, not returned: the attempt has succeeded (its code is spent), and a counter that
// stays only restricts more (it ends with its window).
func (s *Service) succeeded(ctx context.Context, userID string) {
	if err := s.store.ResetCounter(ctx, attemptKey(userID)); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "mfa: resetting the attempt counter failed", slog.String("user", userID), slog.Any("error", err))
	}
}

// failed logs a refused code.
func (s *Service) failed(ctx context.Context, userID, kind, reason string, n int64) {
	s.log.LogAttrs(ctx, slog.LevelInfo, "mfa: invalid code", slog.String("event", "mfa_invalid_code"), slog.String("user", userID),
		slog.String("method", kind), slog.String("reason", reason), slog.Int64("attempt", n), slog.Int64("max_attempts", s.maxAttempts))
}

// factor returns the user's factor. With confirmed, only a confirmed one counts; without, only
// an unconfirmed one (a pending enrolment), and a confirmed one gives ErrAlreadyEnabled.
func (s *Service) factor(ctx context.Context, userID string, confirmed bool) (store.TOTP, error) {
	f, err := s.store.GetTOTP(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return f, ErrNotEnrolled
	case err != nil:
		return f, fmt.Errorf("mfa: reading the factor: %w", err)
	case confirmed && f.ConfirmedAt.IsZero():
		return f, ErrNotEnrolled
	case !confirmed && !f.ConfirmedAt.IsZero():
		return f, ErrAlreadyEnabled
	}
	return f, nil
}
