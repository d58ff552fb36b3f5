// Package session issues, refreshes, verifies and revokes the sessions of signed-in users: short-lived
// access tokens (JWS, signed with keys shared through the store) and long-lived, rotating refresh
// tokens (opaque, stored as hashes).
//
// A [Manager] is made by [New] from a [Config] and works over a [store.KeyStore] and a
// [store.SessionStore]. Several instances (processes) sharing one store form one deployment:
// they share the signing keys and learn of each other's revocations by polling
// ([Manager.Start], [Manager.Sync]).
//
// # Access tokens
//
// [Manager.Create] starts a session for a [Subject] and returns its first [Tokens];
// [Manager.Verify] checks an access token and returns its [Claims] without any I/O. An access
// token is a JWS in the compact serialisation with the header typ "at+jwt" and a kid, and the
// claims iss, aud, sub (the user id), sid (the session id), iat, nbf, exp, jti, typ "access",
// addr and chain (the wallet, chain as CAIP-2 "eip155:<id>"), aal, amr and auth_time (the
// sign-in). Its lifetime is [Config.AccessTTL], 60 s by default.
//
// Verification refuses with [ErrTokenInvalid] anything else: tokens over [MaxTokenSize], the
// JSON serialisation, JWE, extra segments, a kid not in the in-memory key set, an algorithm
// other than its key's ("none", or HS256 keyed with a public key), the crit and b64 headers,
// other types (a pending token, say), another issuer or audience, missing required claims
// (iss, aud, sub, sid, iat, exp, typ), nbf or iat in the future beyond [Config.ClockSkew]. Keys
// named in the token (jku, jwk, x5u, x5c) are never used. An expired token gives
// [ErrTokenExpired]; a token of a revoked session [ErrSessionRevoked].
//
// Tokens are signed, and their signatures checked, by jwx
// ([github.com/lestrrat-go/jwx/v3/jws/jwsbb], the building blocks under jws.Sign and
// jws.Verify, with the key chosen by kid and its algorithm fixed by the key). Each key's protected headers are written once by jws.Sign and
// reused; the claims are encoded and decoded without reflection (exactly as encoding/json
// would, which decodes any claims not in the form this package writes). That keeps signing and
// a first verification within a few microseconds of the bare signature. A bounded cache
// ([Config.CacheSize]) remembers verified tokens, so that the same token verifies again in well
// under a microsecond; expiry, revocation and the key are checked again on every hit.
//
// [Manager.MintPending] and [Manager.VerifyPending] make and check a second type of token, for
// a sign-in waiting for its second factor: typ "mfa_pending", the same keys, and never accepted
// where the other is expected.
//
// [Config.Claims] adds claims of the application to access tokens ([Claims.Extra]); it cannot
// set the names this package sets ([IsReservedClaim]).
//
// # Refresh tokens
//
// A refresh token is "<session id>.<secret>", the secret 256 bits from crypto/rand; the store
// keeps only its SHA-256, compared in constant time. [Manager.Refresh] rotates it on every use
// (a compare-and-set in the store, so of concurrent refreshes with one token exactly one
// rotates) and extends the idle timeout ([Config.RefreshIdleTimeout]) up to the absolute
// lifetime ([Config.RefreshLifetime]).
//
// The previous token presented within [Config.RefreshGrace] (at most 10 s) of its rotation —
// two tabs refreshing at once — gets a new access token but no new refresh token
// ([Tokens.RefreshToken] is empty): the client keeps the one it has. The previous token after
// the grace, or an older one, is reuse: the whole session is revoked and Refresh fails with
// [ErrRefreshReused]. Since the store keeps two hashes only, "an older token" is any
// well-formed token of a session that has rotated and is neither its current nor its previous
// token; a session that never rotated has no older tokens, and a wrong secret for it is merely
// [ErrRefreshInvalid].
//
// # Revocation
//
// [Manager.Revoke], [Manager.RevokeByRefreshToken] and [Manager.SignOut] (sign-out), and
// [Manager.RevokeOthers] ("sign out other devices") add the sessions to the instance's in-memory
// revoked set at once, then mark them revoked in the store. Every instance polls the store's
// revocations every [Config.SyncInterval] (2 s by default, at most 60 s), so a revoked session's
// access tokens are refused at once by the revoking instance and within the interval by the
// others, without a store read per request. A poll reads the revocations since a little before
// the previous one; every 30 s one reads all that can still matter, so that a revocation whose
// store write became visible late (a long lock wait) is seen within 30 s all the same. Stores that push changes ([store.Watcher]: PostgreSQL LISTEN/NOTIFY,
// Redis pub/sub) make [Manager.Start] sync as soon as another instance revokes: the others then
// refuse the tokens within a fraction of a second, and the poll bounds the delay when a push is
// lost. An entry leaves the set when every token of its session has expired.
// A revoked session cannot refresh. When the store fails to record a revocation, the call returns
// the error but the revocation does not fail open: the instance keeps the session in its set
// until the session's absolute expiry, and [Manager.Sync] retries the store until it records it.
//
// # Keys
//
// Signing keys (Ed25519 by default; ECDSA P-256 or HMAC-SHA256 by [Config.Algorithm]) are
// generated by the first instance to start, with a random kid, and kept as private JWKs in the
// store; every instance loads them from there. A key signs for [Config.KeyRotation] (30 days);
// then a new key is created, published at once and signing only after
// [Config.KeyPublishDelay], by which time every instance has loaded it (at once where the store
// pushes changes, within SyncInterval otherwise). A key keeps verifying
// until every token it signed has expired. [Manager.RotateKeys] rotates early; deleting a key
// from the store revokes it at the next Sync. [Manager.JWKS] serves the public keys.
//
// A fixed [Config.HMACSecret] replaces the stored keys, for deployments that share a secret
// by other means; it does not rotate.
//
// # Time and logs
//
// Every time comes from [Config.Clock]. Security events (session created, refreshed, revoked,
// refresh-token reuse, key created) go to [Config.Logger] with session, user and key ids, never
// with a token, a hash or key material.
//
// # Errors
//
// Verification and refresh errors wrap one of [ErrTokenInvalid], [ErrTokenExpired],
// [ErrSessionRevoked], [ErrRefreshInvalid] and [ErrRefreshReused]; configuration errors wrap
// [ErrConfig]. Errors of the store wrap none of them: the request could not be checked and has
// failed.
package session
