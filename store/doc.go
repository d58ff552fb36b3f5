// Package store defines the records walletauth keeps and the small, role-split interfaces through
// which it keeps them. It imports nothing of walletauth's own, so that a third party can implement
// a store without pulling in the rest of the library.
//
// # Contract
//
// Every method takes a [context.Context] first and honours its cancellation: a call whose context is
// already done returns an error that wraps ctx.Err() and changes nothing. (A call cancelled while
// it runs also returns such an error, but a database may have committed its change by then.)
//
// Time is always passed in by the caller (the application's clock), never read by a store. A record
// whose expiry is at or before the "now" of a call is treated exactly as one that does not exist:
// reads return [ErrNotFound], and single-use operations do not consume it. Stores may delete such
// records lazily.
//
// There is one not-found sentinel, [ErrNotFound]; deletes are idempotent (deleting what is not there
// is not an error). Operations that consume something single-use are atomic: of any number of
// concurrent callers, exactly one receives the record and the others receive [ErrNotFound].
//
// A failed call never leaves a half-written record behind.
//
// Values must survive a round trip exactly: times to the nanosecond (within the range of Unix
// nanoseconds in an int64, 1678–2262; others are ErrInvalid), a zero IssuedAt, and the full range
// of uint64 chain ids.
//
// # Roles
//
//   - [NonceStore]: sign-in nonces, issued once and consumed once.
//   - [CounterStore]: fixed-window counters for rate limits and attempt limits.
//   - [KeyStore]: the access-token signing keys that instances share.
//   - [SessionStore]: refresh sessions, their rotation and revocation.
//   - [UserStore]: users and their wallets.
//   - [MetadataStore]: users' public, private and unsafe metadata (JSON objects).
//   - [ContactStore]: users' email addresses and phone numbers, verified or not.
//   - [CodeStore]: one-time verification codes (hashes) with their failures.
//   - [OAuthStore]: accounts at OAuth 2.0 / OpenID Connect providers linked to users.
//   - [MFAStore]: TOTP factors (sealed secrets, the last accepted time step) and recovery codes
//     (hashes).
//
// [Store] composes the roles; further roles are added here as the features that need them land.
// [FastStore] is the hot part of them (nonces, counters, refresh sessions, verification codes),
// and [Pair] puts it in a store of its own beside a durable one.
//
// # Several instances
//
// Instances of an app that share a store learn of each other's revocations and signing keys by
// reading it ([SessionStore.RevokedSince], [KeyStore.ListKeys]) every few seconds. A store that
// can push changes as they happen implements [Watcher] (pgstore with LISTEN/NOTIFY, redisstore
// with pub/sub, memstore within a process): the session package then hears of a revocation made
// elsewhere within a fraction of a second, and the polling remains as the bound when a push is
// lost.
//
// # Implementing a store
//
// The checks that every store makes of what it is given to keep are functions of this package, one
// for each method that takes a record or arguments to keep: [CheckNonce], [CheckSigningKey],
// [CheckSession], [CheckRefreshRotation], [CheckUser], [CheckWallet], [CheckMetadata],
// [CheckTOTP], [CheckTOTPReseal], [CheckRecoveryCodes], [CheckContact], [CheckVerificationCode],
// [CheckMaxFailures] and [CheckOAuthAccount]. They share the rules of [CheckTime] and
// [CheckOptionalTime] (the range of times above), [ValidKeyID], and [FoldAddress] (how stores
// compare wallet addresses without regard to case). A store calls the check before it does
// anything else and returns its error as it is: the error wraps [ErrInvalid], and its message
// names the record and the field, never a secret (a hash, a private key, a sealed secret). What a
// store refuses beyond these for reasons of its own (a bound on its size, an encoding that cannot
// hold a value) it checks itself.
//
// # Conformance
//
// Package [github.com/walletauth/walletauth/store/storetest] holds a conformance suite that every
// implementation runs from a few lines of test code (storetest.Run, and storetest.RunWatcher
// for a [Watcher]).
package store
