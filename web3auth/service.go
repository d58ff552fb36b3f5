package web3auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/walletauth/walletauth/store"
)

// DefaultMaxAttempts is how many failed sign-in attempts one nonce survives by default.
const DefaultMaxAttempts = 5

// Config configures a [Service]. Origin, ChainIDs and Nonces are required; every other field has
// the default its comment gives.
type Config struct {
	// Origin is the site users sign in to, such as "https://example.com" (see [ParseOrigin]). It
	// gives the domain written into and required of every message. Required.
	Origin string
	// ChainIDs are the EIP-155 chain ids accepted, in order of preference: the first is used for a
	// challenge that names no chain. Required.
	ChainIDs []uint64
	// Nonces keeps the issued nonces. Required.
	Nonces store.NonceStore

	// Statement is written into messages the server builds. Empty means none.
	Statement string
	// URI is written into messages the server builds; it must be on Origin or URIOrigins. Empty
	// means Origin itself.
	URI string
	// URIOrigins are further origins a message's URI may be on (see [Expectations.URIOrigins]).
	URIOrigins []string
	// NonceLifetime is how long an issued nonce stays valid. Zero means [DefaultNonceLifetime].
	NonceLifetime time.Duration
	// MaxAttempts is how many failed attempts a nonce survives before it is deleted. Zero means
	// [DefaultMaxAttempts].
	MaxAttempts int
	// ClockSkew is how far a message's Issued At may be ahead of the server's clock. Zero means
	// [DefaultClockSkew]; negative means none.
	ClockSkew time.Duration
	// Verifier checks signatures. Nil means an [EOAVerifier] with a [KeyCache] of
	// [DefaultKeyCacheSize]; use [ChainVerifier] (with its own KeyCache) to add contract-wallet
	// verification per chain.
	Verifier Verifier
	// Clock returns the current time. Nil means [time.Now].
	Clock func() time.Time
}

// Service issues sign-in challenges and verifies signed messages end to end. It is safe for
// concurrent use.
type Service struct {
	cfg        Config
	origin     Origin
	uriOrigins []Origin
}

// New validates cfg, fills in its defaults, and returns a Service.
func New(cfg Config) (*Service, error) {
	o, err := ParseOrigin(cfg.Origin)
	if err != nil {
		return nil, fmt.Errorf("web3auth: Config.Origin: %w", err)
	}
	s := &Service{origin: o}
	for _, u := range cfg.URIOrigins {
		uo, err := ParseOrigin(u)
		if err != nil {
			return nil, fmt.Errorf("web3auth: Config.URIOrigins: %w", err)
		}
		s.uriOrigins = append(s.uriOrigins, uo)
	}
	switch {
	case len(cfg.ChainIDs) == 0:
		return nil, errors.New("web3auth: Config.ChainIDs: at least one chain id is required")
	case slices.Contains(cfg.ChainIDs, 0):
		return nil, errors.New("web3auth: Config.ChainIDs: 0 is not a chain id")
	case cfg.Nonces == nil:
		return nil, errors.New("web3auth: Config.Nonces: a nonce store is required")
	case cfg.Statement != "" && !validStatement(cfg.Statement):
		return nil, errors.New("web3auth: Config.Statement: only printable ASCII letters, digits, space and RFC 3986 delimiters")
	case cfg.NonceLifetime < 0 || cfg.MaxAttempts < 0:
		return nil, errors.New("web3auth: Config.NonceLifetime and Config.MaxAttempts must not be negative")
	}
	cfg.ChainIDs = slices.Clone(cfg.ChainIDs)
	if cfg.URI == "" {
		cfg.URI = o.String()
	}
	if !validURI(cfg.URI) || !(o.matchesURI(cfg.URI) || slices.ContainsFunc(s.uriOrigins, func(u Origin) bool { return u.matchesURI(cfg.URI) })) {
		return nil, fmt.Errorf("web3auth: Config.URI: %q is not a URI on the origin", cfg.URI)
	}
	if cfg.NonceLifetime == 0 {
		cfg.NonceLifetime = DefaultNonceLifetime
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = DefaultClockSkew
	} else if cfg.ClockSkew < 0 {
		cfg.ClockSkew = 0
	}
	if cfg.Verifier == nil {
		cfg.Verifier = EOAVerifier{Keys: NewKeyCache(DefaultKeyCacheSize)}
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	s.cfg = cfg
	return s, nil
}

// Origin returns the origin messages are validated against.
func (s *Service) Origin() Origin { return s.origin }

// ChainIDs returns the accepted chain ids, the preferred first.
func (s *Service) ChainIDs() []uint64 { return slices.Clone(s.cfg.ChainIDs) }

// NewNonce returns a fresh random nonce: 26 characters of A–Z and 2–7 carrying 128 bits from
// crypto/rand.
func NewNonce() string { return rand.Text() }

// ChallengeRequest asks for a challenge.
type ChallengeRequest struct {
	// Address, when not zero, binds the nonce to this account and asks for the whole message.
	Address common.Address
	// ChainID, when not zero, binds the nonce to this chain (which must be allowed). With an
	// Address and no ChainID, the first allowed chain is used.
	ChainID uint64
}

// Challenge is what a client needs to sign in.
type Challenge struct {
	// Nonce is the single-use nonce to put in the message.
	Nonce string
	// ExpiresAt is when the nonce stops being valid.
	ExpiresAt time.Time
	// Message is the complete message to sign, built from the server's configuration, when the
	// request named an address; nil otherwise. Its Expiration Time is the nonce's expiry.
	Message *Message
}

// Challenge issues a nonce, stores it (bound to the address and chain when given) and, when an
// address is given, builds the message for the wallet to sign.
func (s *Service) Challenge(ctx context.Context, req ChallengeRequest) (*Challenge, error) {
	if req.ChainID != 0 && !slices.Contains(s.cfg.ChainIDs, req.ChainID) {
		return nil, &ValidationError{Err: ErrChainNotAllowed, Field: "chain-id", Got: fmt.Sprint(req.ChainID), Want: "an allowed chain"}
	}
	hasAddr := req.Address != (common.Address{})
	if hasAddr && req.ChainID == 0 {
		req.ChainID = s.cfg.ChainIDs[0]
	}
	// In whole milliseconds, as the message states its times: the nonce's IssuedAt is then the
	// message's Issued At exactly, which matters when ClockSkew is none.
	now := s.cfg.Clock().Truncate(time.Millisecond)
	n := store.Nonce{ChainID: req.ChainID, IssuedAt: now, ExpiresAt: now.Add(s.cfg.NonceLifetime)}
	if hasAddr {
		n.Address = FormatAddress(req.Address)
	}
	var err error
	for range 3 { // a collision of 128-bit nonces will not happen; a retry costs nothing if it does
		n.Value = NewNonce()
		if err = s.cfg.Nonces.CreateNonce(ctx, n, now); !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("web3auth: storing nonce: %w", err)
	}
	c := &Challenge{Nonce: n.Value, ExpiresAt: n.ExpiresAt}
	if hasAddr {
		c.Message = &Message{
			Scheme:         s.origin.scheme,
			Domain:         s.origin.Domain(),
			Address:        req.Address,
			Statement:      s.cfg.Statement,
			URI:            s.cfg.URI,
			Version:        "1",
			ChainID:        req.ChainID,
			Nonce:          n.Value,
			IssuedAt:       NewTimestamp(now),
			ExpirationTime: NewTimestamp(n.ExpiresAt),
		}
		if s.origin.scheme == "https" {
			c.Message.Scheme = "" // https is the default; most wallets show messages without it
		}
	}
	return c, nil
}

// Account is a verified sign-in.
type Account struct {
	Address common.Address
	// AddressHex is Address in EIP-55 form, as the signed message spells it.
	AddressHex string
	ChainID    uint64
	// Message is the parsed message that was signed.
	Message *Message
}

// Verify verifies a signed sign-in message end to end: it parses the exact text the wallet
// signed, validates it against the server's origin, chains and clock, checks that its nonce is
// live and bound (if it was issued bound) to the message's address and chain, verifies the
// signature over the text's bytes, and consumes the nonce. signature is 0x-prefixed hex.
//
// Cheap checks run first: parsing, validation and the signature's encoding before any store
// access; the store's nonce look-up before the signature's verification.
//
// # Nonces and failed attempts
//
// A nonce is used up only by a successful sign-in, atomically: of concurrent submissions of one
// message exactly one succeeds, the others fail with [ErrNonceInvalid]. A failed attempt does not
// burn the nonce — otherwise anybody who saw a nonce could spoil its owner's sign-in by submitting
// garbage — but it is counted, and after [Config.MaxAttempts] failed attempts the nonce is
// deleted. Failures before the signature check (a malformed message, another domain) are not
// counted: they never reach the nonce.
//
// Errors wrap the sentinels of this package; an error wrapping none of them (a store or RPC
// failure) means the check could not be completed, and the sign-in has failed.
func (s *Service) Verify(ctx context.Context, message, signature string) (*Account, error) {
	m, err := ParseMessage(message)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock()
	exp := Expectations{Origin: s.origin, URIOrigins: s.uriOrigins, ChainIDs: s.cfg.ChainIDs, Now: now,
		MaxAge: s.cfg.NonceLifetime, ClockSkew: s.cfg.ClockSkew}
	if exp.ClockSkew == 0 {
		exp.ClockSkew = -1 // configured as none
	}
	if err := validate(m, &exp); err != nil {
		return nil, err
	}
	sig, err := DecodeSignatureHex(signature)
	if err != nil {
		return nil, err
	}
	n, err := s.cfg.Nonces.GetNonce(ctx, m.Nonce, now)
	if err != nil {
		return nil, nonceErr(err)
	}
	if err := s.checkNonce(m, &n); err != nil {
		return nil, err
	}
	if err := s.cfg.Verifier.Verify(ctx, VerifyRequest{ChainID: m.ChainID, Address: m.Address, Message: []byte(message), Signature: sig}); err != nil {
		if errors.Is(err, ErrSignatureMismatch) || errors.Is(err, ErrInvalidSignatureFormat) {
			s.countFailure(ctx, m.Nonce, now)
			return nil, err
		}
		return nil, fmt.Errorf("web3auth: verifying signature: %w", err)
	}
	n, err = s.cfg.Nonces.ConsumeNonce(ctx, m.Nonce, now)
	if err != nil {
		return nil, nonceErr(err)
	}
	if err := s.checkNonce(m, &n); err != nil {
		return nil, err
	}
	return &Account{Address: m.Address, AddressHex: addressLine(message), ChainID: m.ChainID, Message: m}, nil
}

// checkNonce checks the stored nonce against the message: the binding to account and chain, the
// failure count, and that the message was not made before its nonce.
func (s *Service) checkNonce(m *Message, n *store.Nonce) error {
	switch {
	case n.Address != "" && !sameAddress(n.Address, &m.Address):
		return &ValidationError{Err: ErrNonceInvalid, Field: "nonce", Want: "a nonce issued to this address"}
	case n.ChainID != 0 && n.ChainID != m.ChainID:
		return &ValidationError{Err: ErrNonceInvalid, Field: "nonce", Want: "a nonce issued for this chain"}
	case n.Failures >= s.cfg.MaxAttempts:
		return &ValidationError{Err: ErrNonceInvalid, Field: "nonce", Want: "a nonce with attempts left"}
	case m.IssuedAt.Time().Before(n.IssuedAt.Add(-s.cfg.ClockSkew)):
		return &ValidationError{Err: ErrIssuedTooLongAgo, Field: "issued-at", Want: "a time after the nonce was issued"}
	}
	return nil
}

// sameAddress reports whether s, "0x" and 40 hex digits in any case, is a. The nonce's address
// was written by Challenge in EIP-55 form; a store may have folded its case, nothing else.
func sameAddress(s string, a *common.Address) bool {
	b, err := decodeAddress(s)
	return err == nil && b == *a
}

// countFailure records a failed attempt on the nonce and deletes it when its attempts are spent.
// Store errors here are not reported: the attempt has failed already, and a nonce whose count
// could not be raised still expires.
func (s *Service) countFailure(ctx context.Context, nonce string, now time.Time) {
	if count, err := s.cfg.Nonces.AddNonceFailure(ctx, nonce, now); err == nil && count >= s.cfg.MaxAttempts {
		_ = s.cfg.Nonces.DeleteNonce(ctx, nonce)
	}
}

func nonceErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &ValidationError{Err: ErrNonceInvalid, Field: "nonce", Want: "a live nonce issued by this server"}
	}
	return fmt.Errorf("web3auth: nonce store: %w", err)
}
