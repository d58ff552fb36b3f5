package profile

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/walletauth/walletauth/store"
)

// Defaults and limits of [Config].
const (
	// DefaultCodeTTL is [Config.CodeTTL] when it is zero; MaxCodeTTL is the longest allowed.
	DefaultCodeTTL = 10 * time.Minute
	MaxCodeTTL     = 10 * time.Minute
	// DefaultMaxFailures is [Config.MaxFailures] when it is zero.
	DefaultMaxFailures = 5
	// MaxFailuresLimit is the most [Config.MaxFailures] may be: more wrong tries than that make
	// a six-digit code too easy to guess (100 in 10⁶ a code).
	MaxFailuresLimit = 100
	// DefaultSendsPerTarget and DefaultSendsPerTargetWindow are [Config.SendsPerTarget] and
	// [Config.SendsPerTargetWindow] when they are zero.
	DefaultSendsPerTarget       = 5
	DefaultSendsPerTargetWindow = time.Hour
	// maxAppName bounds Config.AppName, which goes into subjects and texts.
	maxAppName = 64
)

// Store is what the service keeps its state in: contacts ([store.ContactStore]), codes
// ([store.CodeStore]) and send counters ([store.CounterStore]). Every implementation of
// [store.Store] is one.
type Store interface {
	store.ContactStore
	store.CodeStore
	store.CounterStore
}

// Config configures a [Service]. Fields marked required have no default; [New] refuses a
// Config without them.
type Config struct {
	// Store keeps contacts, codes (as hashes) and send counters. Required.
	Store Store
	// Email sends codes to email addresses and SMS to phone numbers. A nil sender disables its
	// kind of contact: calls for it fail with [ErrSenderMissing]. At least one is required.
	Email EmailSender
	SMS   SMSSender
	// AppName is the application's name, which messages mention ("Your Example verification
	// code is …"). Required; at most 64 bytes, no control characters.
	AppName string
	// CodeTTL is how long a code is valid. Default [DefaultCodeTTL] (10 minutes); at most
	// [MaxCodeTTL] (10 minutes).
	CodeTTL time.Duration
	// MaxFailures is how many wrong codes kill a code: after that many, even the right code is
	// refused, and only a new code (a resend) helps. Default [DefaultMaxFailures] (5), at most
	// [MaxFailuresLimit].
	MaxFailures int
	// SendsPerTarget is how many codes may go to one address or number, whatever the user and
	// purpose, per SendsPerTargetWindow; more are refused with a [*RateLimitError]. Defaults
	// [DefaultSendsPerTarget] (5) and [DefaultSendsPerTargetWindow] (1 hour). The window is
	// fixed and starts with the first send.
	SendsPerTarget       int
	SendsPerTargetWindow time.Duration
	// Clock returns the current time. Default [time.Now].
	Clock func() time.Time
	// Logger receives events (codes sent, refused codes, rate limits, conflicts), never a code.
	// Default [slog.Default].
	Logger *slog.Logger
}

// Service keeps users' email addresses and phone numbers, verifies them with codes, and sends
// and checks codes as a second factor. It is safe for concurrent use; all its state is in the
// store, so instances sharing a store act as one.
type Service struct {
	store       Store
	email       EmailSender
	sms         SMSSender
	app         string
	ttl         time.Duration
	maxFailures int
	sends       int64
	window      time.Duration
	now         func() time.Time
	log         *slog.Logger
}

// New checks cfg, fills in the defaults and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("profile: Config.Store is required")
	}
	if cfg.Email == nil && cfg.SMS == nil {
		return nil, errors.New("profile: Config.Email or Config.SMS is required")
	}
	switch {
	case cfg.AppName == "":
		return nil, errors.New("profile: Config.AppName is required")
	case len(cfg.AppName) > maxAppName || hasControl(cfg.AppName):
		return nil, fmt.Errorf("profile: Config.AppName must be at most %d bytes of UTF-8 without control characters", maxAppName)
	}
	switch {
	case cfg.CodeTTL < 0 || cfg.CodeTTL > MaxCodeTTL:
		return nil, fmt.Errorf("profile: Config.CodeTTL must be between 0 (default) and %v", MaxCodeTTL)
	case cfg.CodeTTL == 0:
		cfg.CodeTTL = DefaultCodeTTL
	}
	switch {
	case cfg.MaxFailures < 0 || cfg.MaxFailures > MaxFailuresLimit:
		return nil, fmt.Errorf("profile: Config.MaxFailures must be between 0 (default) and %d", MaxFailuresLimit)
	case cfg.MaxFailures == 0:
		cfg.MaxFailures = DefaultMaxFailures
	}
	switch {
	case cfg.SendsPerTarget < 0:
		return nil, errors.New("profile: Config.SendsPerTarget must not be negative")
	case cfg.SendsPerTarget == 0:
		cfg.SendsPerTarget = DefaultSendsPerTarget
	}
	switch {
	case cfg.SendsPerTargetWindow < 0:
		return nil, errors.New("profile: Config.SendsPerTargetWindow must not be negative")
	case cfg.SendsPerTargetWindow == 0:
		cfg.SendsPerTargetWindow = DefaultSendsPerTargetWindow
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{
		store:       cfg.Store,
		email:       cfg.Email,
		sms:         cfg.SMS,
		app:         cfg.AppName,
		ttl:         cfg.CodeTTL,
		maxFailures: cfg.MaxFailures,
		sends:       int64(cfg.SendsPerTarget),
		window:      cfg.SendsPerTargetWindow,
		now:         cfg.Clock,
		log:         cfg.Logger,
	}, nil
}

// AddContact adds an email address (kind [KindEmail]) or phone number ([KindPhone]) to the
// user, unverified, and sends a code to it (purpose [PurposeVerify]) that [Service.VerifyContact]
// takes. value is parsed with [ParseEmail] or [ParsePhone]; the stored contact has the
// normalised form. Adding a contact the user has already is a resend (a new code voids the old
// one) when it is unverified, and does nothing when it is verified; either way the stored
// contact is returned.
//
// AddContact answers the same whether or not another user has verified the value: it stores
// the contact and sends a code all the same (see "Privacy" in the package documentation).
//
// When the send is refused ([*RateLimitError]) or fails, the contact stays stored, unverified,
// and is returned with the error; [Service.Resend] tries again.
func (s *Service) AddContact(ctx context.Context, userID, kind, value string) (store.Contact, error) {
	value, err := s.prepare(userID, kind, value, true)
	if err != nil {
		return store.Contact{}, err
	}
	c, err := s.store.AddContact(ctx, store.Contact{UserID: userID, Kind: kind, Value: value, AddedAt: s.now()})
	if err != nil {
		return store.Contact{}, fmt.Errorf("profile: adding a contact: %w", err)
	}
	if !c.VerifiedAt.IsZero() {
		return c, nil
	}
	return c, s.issue(ctx, PurposeVerify, userID, kind, value)
}

// Resend sends a new code for the user's unverified contact, which voids the code sent
// before. It returns [ErrNoContact] when the user has no such contact, nil (sending nothing)
// when the contact is verified already, and a [*RateLimitError] when too many codes went to
// the target lately.
func (s *Service) Resend(ctx context.Context, userID, kind, value string) error {
	value, err := s.prepare(userID, kind, value, true)
	if err != nil {
		return err
	}
	c, err := s.find(ctx, userID, kind, func(c store.Contact) bool { return c.Value == value })
	if err != nil {
		return err
	}
	if !c.VerifiedAt.IsZero() {
		return nil
	}
	return s.issue(ctx, PurposeVerify, userID, kind, value)
}

// VerifyContact checks a code sent by [Service.AddContact] or [Service.Resend] to the user's
// contact and, when it is right, marks the contact verified and returns it (the user's first
// verified contact of a kind becomes its primary one). A wrong, expired, used, voided or
// malformed code, or one sent for another target or purpose, gives [ErrInvalidCode]; so does
// a right code for a value that another user has verified meanwhile, so that the answer does
// not tell whether an address belongs to someone else. A code is used up by its success and
// killed by [Config.MaxFailures] wrong tries. A right code for a contact removed meanwhile gives
// [ErrNoContact].
func (s *Service) VerifyContact(ctx context.Context, userID, kind, value, code string) (store.Contact, error) {
	value, err := s.prepare(userID, kind, value, false)
	if err != nil {
		return store.Contact{}, err
	}
	if err := s.check(ctx, PurposeVerify, userID, kind, value, code); err != nil {
		return store.Contact{}, err
	}
	c, err := s.store.VerifyContact(ctx, userID, kind, value, s.now())
	switch {
	case errors.Is(err, store.ErrConflict):
		s.log.LogAttrs(ctx, slog.LevelWarn, "profile: right code for a contact that another user has verified; refused as an invalid code",
			slog.String("event", "contact_conflict"), slog.String("user", userID), slog.String("kind", kind))
		return store.Contact{}, ErrInvalidCode
	case errors.Is(err, store.ErrNotFound):
		return store.Contact{}, ErrNoContact
	case err != nil:
		return store.Contact{}, fmt.Errorf("profile: verifying a contact: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "profile: contact verified", slog.String("event", "contact_verified"),
		slog.String("user", userID), slog.String("kind", kind), slog.Bool("primary", c.Primary))
	return c, nil
}

// Contacts returns the user's contacts, verified or not, in the order they were added.
func (s *Service) Contacts(ctx context.Context, userID string) ([]store.Contact, error) {
	cs, err := s.store.ListContacts(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("profile: listing contacts: %w", err)
	}
	return cs, nil
}

// SetPrimary makes the user's verified contact the primary one of its kind, where second
// factor codes go. It returns [ErrNoContact] when the user has no such contact and
// [ErrNotVerified] when it is not verified.
func (s *Service) SetPrimary(ctx context.Context, userID, kind, value string) error {
	value, err := s.prepare(userID, kind, value, false)
	if err != nil {
		return err
	}
	err = s.store.SetPrimaryContact(ctx, userID, kind, value)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNoContact
	case errors.Is(err, store.ErrConflict):
		return ErrNotVerified
	case err != nil:
		return fmt.Errorf("profile: setting the primary contact: %w", err)
	}
	return nil
}

// RemoveContact removes the user's contact and voids its pending codes (verification and
// second factor). When it was the primary one of its kind, the earliest-added verified contact
// of that kind left, if any, becomes primary. Removing a contact the user does not have is
// not an error.
func (s *Service) RemoveContact(ctx context.Context, userID, kind, value string) error {
	value, err := s.prepare(userID, kind, value, false)
	if err != nil {
		return err
	}
	cs, err := s.store.ListContacts(ctx, userID)
	if err != nil {
		return fmt.Errorf("profile: listing contacts: %w", err)
	}
	wasPrimary := false
	for _, c := range cs {
		if c.Kind == kind && c.Value == value {
			wasPrimary = c.Primary
		}
	}
	if err := s.store.DeleteContact(ctx, userID, kind, value); err != nil {
		return fmt.Errorf("profile: removing a contact: %w", err)
	}
	for _, purpose := range []string{PurposeVerify, PurposeMFA} {
		if err := s.void(ctx, codeKey(purpose, kind, userID, value)); err != nil {
			return err
		}
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "profile: contact removed", slog.String("event", "contact_removed"),
		slog.String("user", userID), slog.String("kind", kind), slog.Bool("primary", wasPrimary))
	if !wasPrimary {
		return nil
	}
	for _, c := range cs {
		if c.Kind == kind && c.Value != value && !c.VerifiedAt.IsZero() {
			err := s.store.SetPrimaryContact(ctx, userID, kind, c.Value)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("profile: promoting another contact to primary: %w", err)
			}
			if err == nil {
				break
			}
		}
	}
	return nil
}

// SendSecondFactor sends a code (purpose [PurposeMFA]) to the user's primary verified contact
// of the kind, for [Service.CheckSecondFactor]. It returns [ErrNoContact] when the user has
// none, [ErrSenderMissing] when the kind is disabled and a [*RateLimitError] when too many
// codes went to the target lately. A new code voids the one sent before.
func (s *Service) SendSecondFactor(ctx context.Context, userID, kind string) error {
	if _, err := s.prepare(userID, kind, "", true); err != nil {
		return err
	}
	c, err := s.primary(ctx, userID, kind)
	if err != nil {
		return err
	}
	return s.issue(ctx, PurposeMFA, userID, kind, c.Value)
}

// CheckSecondFactor checks a code sent by [Service.SendSecondFactor]. It returns nil when the
// code is right (and uses it up), [ErrInvalidCode] otherwise — a code sent for verification
// or to another contact included — and [ErrNoContact] when the user has no primary verified
// contact of the kind. The code is bound to the contact it went to: making another contact
// primary in between voids it.
func (s *Service) CheckSecondFactor(ctx context.Context, userID, kind, code string) error {
	if _, err := s.prepare(userID, kind, "", false); err != nil {
		return err
	}
	c, err := s.primary(ctx, userID, kind)
	if err != nil {
		return err
	}
	if err := s.check(ctx, PurposeMFA, userID, kind, c.Value, code); err != nil {
		return err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "profile: second factor code accepted", slog.String("event", "mfa_code_ok"),
		slog.String("user", userID), slog.String("kind", kind))
	return nil
}

// prepare checks the user id and kind, parses value (unless it is empty and the caller has
// none) and, when sending, that the kind has a sender.
func (s *Service) prepare(userID, kind, value string, sending bool) (string, error) {
	if userID == "" {
		return "", errors.New("profile: user id is required")
	}
	var err error
	switch kind {
	case KindEmail:
		if sending && s.email == nil {
			return "", ErrSenderMissing
		}
		if value != "" {
			value, err = ParseEmail(value)
		}
	case KindPhone:
		if sending && s.sms == nil {
			return "", ErrSenderMissing
		}
		if value != "" {
			value, err = ParsePhone(value)
		}
	default:
		return "", ErrInvalidKind
	}
	return value, err
}

// find returns the user's first contact of the kind that match accepts, or ErrNoContact.
func (s *Service) find(ctx context.Context, userID, kind string, match func(store.Contact) bool) (store.Contact, error) {
	cs, err := s.store.ListContacts(ctx, userID)
	if err != nil {
		return store.Contact{}, fmt.Errorf("profile: listing contacts: %w", err)
	}
	for _, c := range cs {
		if c.Kind == kind && match(c) {
			return c, nil
		}
	}
	return store.Contact{}, ErrNoContact
}

// primary returns the user's primary verified contact of the kind, or ErrNoContact.
func (s *Service) primary(ctx context.Context, userID, kind string) (store.Contact, error) {
	return s.find(ctx, userID, kind, func(c store.Contact) bool { return c.Primary && !c.VerifiedAt.IsZero() })
}

// sendKey is the counter of the codes sent to a target, whatever the user and purpose.
func sendKey(kind, value string) string { return "profile:sends:" + kind + ":" + value }

// issue makes a code for purpose, user and target, stores its hash (voiding any code under the
// same key) and sends it, within the limit of sends per target.
func (s *Service) issue(ctx context.Context, purpose, userID, kind, value string) error {
	now := s.now()
	n, reset, err := s.store.IncrementCounter(ctx, sendKey(kind, value), s.window, now)
	if err != nil {
		return fmt.Errorf("profile: counting sends: %w", err)
	}
	if n > s.sends {
		level := slog.LevelDebug
		if n == s.sends+1 {
			level = slog.LevelWarn // once per window
		}
		s.log.LogAttrs(ctx, level, "profile: code not sent: too many sends to the target", slog.String("event", "code_rate_limited"),
			slog.String("user", userID), slog.String("kind", kind), slog.String("purpose", purpose), slog.Time("until", reset))
		retry := reset.Sub(now).Truncate(time.Second)
		if retry < reset.Sub(now) || retry <= 0 {
			retry += time.Second
		}
		return &RateLimitError{RetryAfter: retry}
	}
	code, err := newCode(rand.Reader)
	if err != nil {
		return err
	}
	key := codeKey(purpose, kind, userID, value)
	vc := store.VerificationCode{Key: key, Hash: codeHash(key, code), ExpiresAt: now.Add(s.ttl)}
	if err := s.store.PutCode(ctx, vc, now); err != nil {
		return fmt.Errorf("profile: storing a code: %w", err)
	}
	if err := s.deliver(ctx, purpose, kind, value, code); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "profile: sending a code failed", slog.String("event", "code_send_failed"),
			slog.String("user", userID), slog.String("kind", kind), slog.String("purpose", purpose), slog.Any("error", err))
		return fmt.Errorf("profile: sending a code: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "profile: code sent", slog.String("event", "code_sent"),
		slog.String("user", userID), slog.String("kind", kind), slog.String("purpose", purpose), slog.Time("expires", vc.ExpiresAt))
	return nil
}

// deliver writes the message with the code and hands it to the kind's sender.
func (s *Service) deliver(ctx context.Context, purpose, kind, value, code string) error {
	what, why := "verification", "Enter it to confirm this "+map[string]string{KindEmail: "email address", KindPhone: "phone number"}[kind]+"."
	if purpose == PurposeMFA {
		what, why = "sign-in", "Enter it to finish signing in. Never share it with anyone."
	}
	ttl := fmtTTL(s.ttl)
	if kind == KindPhone {
		return s.sms.SendSMS(ctx, SMS{To: value,
			Text: fmt.Sprintf("%s: your %s code is %s. It expires in %s. Do not share it.", s.app, what, code, ttl)})
	}
	return s.email.SendEmail(ctx, Email{To: value,
		Subject: fmt.Sprintf("Your %s %s code", s.app, what),
		Text: fmt.Sprintf("Your %s %s code is %s\n\n%s It expires in %s.\n\nIf you did not ask for it, ignore this message.\n",
			s.app, what, code, why, ttl)})
}

// fmtTTL writes a code lifetime for people: "10 minutes", "90 seconds".
func fmtTTL(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "1 minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	default:
		return fmt.Sprintf("%d seconds", (d+time.Second-1)/time.Second)
	}
}

// check uses up the right code for purpose, user and target, or counts a wrong one.
//
// Every attempt is counted before its code is compared, in one atomic step of the store: of
// concurrent guesses at most MaxFailures are ever compared with the live code (counting wrong
// guesses after the comparison let any number of parallel ones through before the count caught
// up). The attempt after MaxFailures finds the code dead, even when it is the right one.
func (s *Service) check(ctx context.Context, purpose, userID, kind, value, code string) error {
	attrs := []slog.Attr{slog.String("event", "invalid_code"), slog.String("user", userID), slog.String("kind", kind), slog.String("purpose", purpose)}
	code, ok := cleanCode(code)
	if !ok {
		s.log.LogAttrs(ctx, slog.LevelInfo, "profile: invalid code", append(attrs, slog.String("reason", "malformed"))...)
		return ErrInvalidCode
	}
	now := s.now()
	key := codeKey(purpose, kind, userID, value)
	n, err := s.store.AddCodeFailure(ctx, key, s.maxFailures+1, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.log.LogAttrs(ctx, slog.LevelInfo, "profile: invalid code", append(attrs, slog.String("reason", "no live code"))...)
		return ErrInvalidCode
	case err != nil:
		return fmt.Errorf("profile: counting an attempt: %w", err)
	case n > s.maxFailures:
		s.log.LogAttrs(ctx, slog.LevelInfo, "profile: invalid code", append(attrs, slog.String("reason", "too many failures; the code is dead"),
			slog.Int("max_failures", s.maxFailures))...)
		return ErrInvalidCode
	}
	err = s.store.ConsumeCode(ctx, key, codeHash(key, code), now)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("profile: checking a code: %w", err)
	}
	reason := "wrong"
	if n == s.maxFailures {
		reason = "wrong; no attempt left"
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "profile: invalid code", append(attrs, slog.String("reason", reason),
		slog.Int("failures", n), slog.Int("max_failures", s.maxFailures))...)
	return ErrInvalidCode
}

// void makes the live code under key (if any) unusable: it is replaced by an already expired
// code whose hash matches no code (32 random bytes).
func (s *Service) void(ctx context.Context, key string) error {
	now := s.now()
	if _, err := s.store.GetCode(ctx, key, now); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("profile: voiding a code: %w", err)
	}
	junk := make([]byte, 32)
	rand.Read(junk)
	if err := s.store.PutCode(ctx, store.VerificationCode{Key: key, Hash: junk, ExpiresAt: now}, now); err != nil {
		return fmt.Errorf("profile: voiding a code: %w", err)
	}
	return nil
}
