// Package web3auth implements Sign-In with Ethereum (EIP-4361): the message format, EIP-191
// personal_sign signatures, and a service that issues single-use nonces and verifies signed
// messages end to end.
//
// It is the wallet layer of walletauth; sessions, MFA and profiles build on the [Account] it
// returns. The pure protocol code ([ParseMessage], [Validate], [RecoverAddress]) needs no store;
// [Service] adds the nonces.
//
// # Messages
//
// [ParseMessage] is a strict parser written from the EIP-4361 ABNF (RFC 3986 for the domain and
// URIs, RFC 3339 for times) without regular expressions. Every deviation — a field missing, out
// of order or repeated, an extra blank line, a character outside a field's set, an address not in
// EIP-55 form, an impossible date — is a [*ParseError] naming the line and field. Sizes are capped
// ([MaxMessageLength], [MaxResources], [MaxNonceLength]) so a hostile message costs little.
// [Message.String] writes the canonical text; a parsed message formats back to exactly its input.
//
// # Validation
//
// [Validate] checks a message against the server's [Expectations]: the domain is the server's
// origin host and port exactly (never the request's Host header), the scheme is the origin's
// (https when the message has none; a message without a scheme is also accepted on a plain-http
// loopback origin, for development), the URI is on the origin, the chain is allowed, the nonce is
// the expected one, and the times hold: not before Not Before, before Expiration Time, Issued At
// neither in the future (beyond a small clock skew) nor older than a nonce can be. The origin,
// nonce, chains and time are required: leaving one out fails with [ErrBadExpectations] instead of
// skipping the check. Each failure wraps its own sentinel ([ErrDomainMismatch], [ErrExpired], …).
//
// # Signatures
//
// A signature is verified over the exact bytes the wallet signed ([HashMessage]), never over a
// re-serialisation. [NormalizeSignature] accepts 65-byte signatures with v ∈ {0, 1, 27, 28} and
// EIP-2098 64-byte compact ones, and refuses high s, r or s out of range, any other v and any
// other length with a [*SignatureFormatError]. [EOAVerifier] recovers the key with go-ethereum
// (libsecp256k1 when cgo is on) and compares the 20-byte address; given a [KeyCache] (a
// [Service]'s default verifier has one), it verifies the signature of an account whose key it has
// recovered before against that key, which costs less. Verification goes through the
// [Verifier] interface; [ChainVerifier] runs the cheap local check first and only then a chain's
// contract-wallet verifier (EIP-1271/EIP-6492), so contract wallets plug in per chain without
// changing callers.
//
// # Nonces and the service
//
// [Service.Challenge] issues a nonce of 128 bits from crypto/rand ([NewNonce]), stores it with its
// expiry (five minutes by default) and, given an address and chain, binds it to them and builds
// the complete message to sign. [Service.Verify] parses, validates, looks the nonce up, verifies
// the signature and consumes the nonce atomically, so a message signs in at most once even when
// submitted many times at once. A failed attempt does not burn the nonce — otherwise anyone who
// saw it could spoil its owner's sign-in — but attempts per nonce are limited
// ([Config.MaxAttempts]).
//
// # Errors
//
// Every error wraps one sentinel of this package, except errors of the store or of a verifier
// that could not decide, which mean the sign-in could not be checked and has failed.
package web3auth
