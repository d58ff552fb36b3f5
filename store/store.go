package store

import (
	"context"
	"errors"
	"time"
)

// Errors that stores return. Implementations wrap causes with these using %w, so callers test them
// with [errors.Is].
var (
	// ErrNotFound reports that a record does not exist or has expired.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports that a record with the same key already exists.
	ErrConflict = errors.New("store: conflict")
	// ErrCapacity reports that a bounded store is full of live records and refuses new ones; it
	// protects the process from floods (see memstore). Callers should answer it as a temporary
	// failure, never by evicting other users' records.
	ErrCapacity = errors.New("store: capacity reached")
	// ErrInvalid reports a record that a store cannot keep (a required field is empty, a value is
	// out of range).
	ErrInvalid = errors.New("store: invalid record")
	// ErrClosed reports a call on a store after its Close.
	ErrClosed = errors.New("store: closed")
)

// Nonce is a sign-in nonce issued by the server. Value is the key.
type Nonce struct {
	// Value is the nonce itself: at least 8 ASCII letters and digits.
	Value string
	// Address, when not empty, binds the nonce to one account: the EIP-55 form of the address that
	// requested it. Only a message from that address may use the nonce.
	Address string
	// ChainID, when not zero, binds the nonce to one chain.
	ChainID uint64
	// IssuedAt is when the nonce was issued.
	IssuedAt time.Time
	// ExpiresAt is when the nonce stops being valid; at and after it the nonce does not exist.
	ExpiresAt time.Time
	// Failures counts failed sign-in attempts that used the nonce (see [NonceStore.AddNonceFailure]).
	Failures int
}

// NonceStore keeps sign-in nonces.
//
// A nonce lives from CreateNonce until it is consumed, deleted, or expires. Looking a nonce up
// ([NonceStore.GetNonce]) does not use it up; only [NonceStore.ConsumeNonce] does, and of any number
// of concurrent calls for one nonce exactly one succeeds.
type NonceStore interface {
	// CreateNonce stores a new nonce. It returns ErrConflict when a live nonce with the same Value
	// exists, ErrInvalid when Value is empty or ExpiresAt is zero, and ErrCapacity when the store is
	// bounded and full of live nonces. now is the caller's clock and may be used to purge expired
	// records.
	CreateNonce(ctx context.Context, n Nonce, now time.Time) error

	// GetNonce returns the live nonce with the given value, or ErrNotFound.
	GetNonce(ctx context.Context, value string, now time.Time) (Nonce, error)

	// ConsumeNonce deletes the live nonce with the given value and returns it, atomically: of many
	// concurrent calls for one nonce exactly one returns it and the rest return ErrNotFound. An
	// expired or absent nonce gives ErrNotFound.
	ConsumeNonce(ctx context.Context, value string, now time.Time) (Nonce, error)

	// AddNonceFailure atomically adds one to the live nonce's Failures and returns the new count,
	// or ErrNotFound.
	AddNonceFailure(ctx context.Context, value string, now time.Time) (int, error)

	// DeleteNonce deletes the nonce, live or expired. Deleting an absent nonce is not an error.
	DeleteNonce(ctx context.Context, value string) error
}

// CounterStore keeps fixed-window counters, as used for rate limits ("at most N requests per client
// per minute") and attempt limits.
type CounterStore interface {
	// IncrementCounter atomically adds one to the counter key and returns the new count and the end
	// of its window. When the counter does not exist or its window has ended (at or before now), a
	// new window of length window starts at now with count 1; a later call with another window
	// does not move the end of a running one. window must be positive (ErrInvalid). A bounded
	// store full of live counters returns ErrCapacity.
	IncrementCounter(ctx context.Context, key string, window time.Duration, now time.Time) (count int64, resetAt time.Time, err error)

	// ResetCounter deletes the counter. Resetting an absent counter is not an error.
	ResetCounter(ctx context.Context, key string) error
}

// Store is everything walletauth keeps. Implementations are safe for concurrent use.
type Store interface {
	NonceStore
	CounterStore
	// Close releases the store's resources. Later calls fail with an error wrapping ErrClosed;
	// closing again does nothing.
	Close() error
}
