package session

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors of token verification and refresh wrap exactly one of them, so callers
// (and the HTTP layer, which maps them to error codes) test them with [errors.Is]. Errors of the
// store are returned wrapped with the operation and wrap none of these: the request could not be
// checked and has failed (fail closed).
var (
	// ErrTokenInvalid: the token is not an access token (or pending token) of this issuer in good
	// standing: malformed, too large, not the compact serialisation, a bad signature, an unknown
	// kid, an algorithm other than the key's, crit or b64 headers, the wrong type, issuer or
	// audience, a required claim missing, not yet valid, or issued in the future.
	ErrTokenInvalid = errors.New("session: token invalid")
	// ErrTokenExpired: the token's exp (plus the clock skew) has passed.
	ErrTokenExpired = errors.New("session: token expired")
	// ErrSessionRevoked: the token's session has been revoked (by sign-out, by "sign out other
	// devices", or after refresh-token reuse).
	ErrSessionRevoked = errors.New("session: session revoked")
	// ErrRefreshInvalid: the refresh token is malformed, unknown, or its session has expired
	// (idle timeout or absolute lifetime).
	ErrRefreshInvalid = errors.New("session: refresh token invalid")
	// ErrRefreshReused: a rotated refresh token was presented outside the grace period; the whole
	// session has been revoked.
	ErrRefreshReused = errors.New("session: refresh token reused; session revoked")
	// ErrConfig: [New] was given an invalid [Config], or a call is not possible with the
	// configuration ([Manager.RotateKeys] with a fixed HMAC secret).
	ErrConfig = errors.New("session: invalid config")
)

// Details of ErrTokenInvalid, made once so that refusing garbage costs no allocation.
var (
	errTooLarge        = fmt.Errorf("%w: token too large", ErrTokenInvalid)
	errMalformed       = fmt.Errorf("%w: not a compact JWS", ErrTokenInvalid)
	errHeader          = fmt.Errorf("%w: malformed header", ErrTokenInvalid)
	errCrit            = fmt.Errorf("%w: crit header not supported", ErrTokenInvalid)
	errB64             = fmt.Errorf("%w: b64 header not supported", ErrTokenInvalid)
	errHeaderType      = fmt.Errorf("%w: wrong token type (typ header)", ErrTokenInvalid)
	errNoKid           = fmt.Errorf("%w: no kid", ErrTokenInvalid)
	errUnknownKid      = fmt.Errorf("%w: unknown kid", ErrTokenInvalid)
	errAlgorithm       = fmt.Errorf("%w: algorithm is not the key's", ErrTokenInvalid)
	errSignature       = fmt.Errorf("%w: signature verification failed", ErrTokenInvalid)
	errPayload         = fmt.Errorf("%w: malformed claims", ErrTokenInvalid)
	errType            = fmt.Errorf("%w: wrong token type (typ claim)", ErrTokenInvalid)
	errIssuer          = fmt.Errorf("%w: wrong issuer", ErrTokenInvalid)
	errAudience        = fmt.Errorf("%w: wrong audience", ErrTokenInvalid)
	errMissingClaim    = fmt.Errorf("%w: required claim missing", ErrTokenInvalid)
	errNotYetValid     = fmt.Errorf("%w: not yet valid", ErrTokenInvalid)
	errIssuedInFuture  = fmt.Errorf("%w: issued in the future", ErrTokenInvalid)
	errChain           = fmt.Errorf("%w: malformed chain claim", ErrTokenInvalid)
	errExpired         = fmt.Errorf("%w", ErrTokenExpired)
	errRevoked         = fmt.Errorf("%w", ErrSessionRevoked)
	errRefreshMalform  = fmt.Errorf("%w: malformed", ErrRefreshInvalid)
	errRefreshUnknown  = fmt.Errorf("%w: unknown or expired session", ErrRefreshInvalid)
	errRefreshMismatch = fmt.Errorf("%w: not the session's refresh token", ErrRefreshInvalid)
)
