package web3auth

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps exactly one of them, so callers (and the
// HTTP layer, which maps them to error codes) test them with [errors.Is].
var (
	// ErrInvalidMessage: the text is not an EIP-4361 message ([*ParseError] carries the details).
	ErrInvalidMessage = errors.New("web3auth: invalid message")
	// ErrInvalidSignatureFormat: the signature is not well-formed ([*SignatureFormatError]).
	ErrInvalidSignatureFormat = errors.New("web3auth: invalid signature format")
	// ErrInvalidAddress: an address is not 0x-prefixed hex of 20 bytes in EIP-55 form.
	ErrInvalidAddress = errors.New("web3auth: invalid address")

	// ErrDomainMismatch: the message's domain is not the server's.
	ErrDomainMismatch = errors.New("web3auth: domain mismatch")
	// ErrSchemeMismatch: the message's scheme (https when absent) is not the server's.
	ErrSchemeMismatch = errors.New("web3auth: scheme mismatch")
	// ErrURIMismatch: the message's URI is not on the server's origin.
	ErrURIMismatch = errors.New("web3auth: uri mismatch")
	// ErrChainNotAllowed: the message's chain id is not one the server accepts.
	ErrChainNotAllowed = errors.New("web3auth: chain not allowed")
	// ErrNonceInvalid: the nonce is unknown, expired, already used, bound to another account or
	// chain, or not the expected one.
	ErrNonceInvalid = errors.New("web3auth: nonce invalid")
	// ErrExpired: the message's Expiration Time has passed.
	ErrExpired = errors.New("web3auth: message expired")
	// ErrNotYetValid: the message's Not Before time has not come.
	ErrNotYetValid = errors.New("web3auth: message not yet valid")
	// ErrIssuedInFuture: the message's Issued At is later than now plus the allowed clock skew.
	ErrIssuedInFuture = errors.New("web3auth: message issued in the future")
	// ErrIssuedTooLongAgo: the message's Issued At is older than any nonce can be.
	ErrIssuedTooLongAgo = errors.New("web3auth: message issued too long ago")
	// ErrSignatureMismatch: the signature is well-formed but not the address's over the message.
	ErrSignatureMismatch = errors.New("web3auth: signature mismatch")
	// ErrBadExpectations: a required expectation (origin, nonce, chains, time) was not given; the
	// check refuses to run rather than skip it.
	ErrBadExpectations = errors.New("web3auth: missing or invalid expectation")
)

// ParseError reports why a text is not an EIP-4361 message. It wraps [ErrInvalidMessage].
type ParseError struct {
	Line  int    // 1-based line of the message where the problem is
	Field string // the ABNF rule concerned: "domain", "address", "statement", "uri", ...
	Msg   string // what is wrong
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("web3auth: invalid message: line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// Unwrap returns [ErrInvalidMessage].
func (e *ParseError) Unwrap() error { return ErrInvalidMessage }

// SignatureFormatError reports why a signature is not well-formed. It wraps
// [ErrInvalidSignatureFormat].
type SignatureFormatError struct {
	Reason string
}

func (e *SignatureFormatError) Error() string {
	return "web3auth: invalid signature format: " + e.Reason
}

// Unwrap returns [ErrInvalidSignatureFormat].
func (e *SignatureFormatError) Unwrap() error { return ErrInvalidSignatureFormat }

// ValidationError reports a message that is well-formed but not acceptable to this server. Err is
// one of the sentinels above; Got and Want, when set, show the values compared (never secrets).
type ValidationError struct {
	Err       error
	Field     string
	Got, Want string
}

func (e *ValidationError) Error() string {
	switch {
	case e.Got != "" || e.Want != "":
		return fmt.Sprintf("%v: %s is %q, expected %s", e.Err, e.Field, e.Got, e.Want)
	case e.Field != "":
		return fmt.Sprintf("%v (%s)", e.Err, e.Field)
	}
	return e.Err.Error()
}

// Unwrap returns the sentinel.
func (e *ValidationError) Unwrap() error { return e.Err }
