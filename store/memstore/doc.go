// Package memstore is an in-memory implementation of [store.Store], for tests, development and
// single-instance deployments that can afford to lose everything on restart: nonces, counters,
// signing keys, sessions, users and their second factors (TOTP factors and recovery codes).
//
// # Use
//
//	s := memstore.New()
//	defer s.Close()
//
// A [Store] is safe for concurrent use. Its records live in the process: instances behind a load
// balancer do not share them, so a deployment with several instances needs a shared store.
//
// # Bounds
//
// A store keeps at most [DefaultMaxNonces] nonces, [DefaultMaxCounters] counters,
// [DefaultMaxKeys] signing keys, [DefaultMaxSessions] sessions, [DefaultMaxUsers] users,
// [DefaultMaxTOTP] TOTP factors and [DefaultMaxRecoveryCodes] recovery codes (of all users
// together) unless [WithMaxNonces], [WithMaxCounters], [WithMaxKeys], [WithMaxSessions],
// [WithMaxUsers], [WithMaxTOTP] and [WithMaxRecoveryCodes] say otherwise, so that a flood of
// requests cannot grow the process without limit. A store that is
// full of live records refuses new ones with an error wrapping [store.ErrCapacity]; it never
// evicts a live record to make room, which would let one client spoil another's sign-in. Records
// already held keep working when the store is full: nonces can be read, consumed and deleted,
// counters keep counting, sessions keep refreshing. A revoked session is live until it expires
// (its revocation must stay visible), and users never expire, so a store full of users refuses
// new ones for good. Nor do TOTP factors and recovery codes expire: a store full of them refuses
// a new user's factor (replacing a user's unconfirmed factor needs no room) or a set of codes
// larger than the one it replaces, until factors are deleted and codes used or replaced by
// fewer. One user holds at most [MaxRecoveryCodesPerUser] recovery codes: a larger set is
// [store.ErrInvalid], whatever the room.
//
// # Expiry
//
// Each kind of record that expires is indexed by its expiry (a min-heap beside the map); a session
// expires at the earlier of its idle and absolute expiries. Every call that can add a record first
// removes up to 32 records that have expired at the call's now, earliest first, so a full store
// refuses a new record only when none of its records has expired. Expired records thus go at least
// as fast as new ones come, each at a cost of O(log n), and no call ever scans the whole store. A
// call that meets an expired record (a lookup of its key, a user's sessions, the revoked sessions)
// removes it at once, and ListKeys removes every expired key.
//
// CreateKey and CreateSession take no now: for them the new record's CreatedAt stands for the
// caller's clock, both to purge and to tell an expired record with the same ID (which the new one
// replaces) from a live one (a conflict). With a zero CreatedAt nothing is purged and any record
// held with the same ID is a conflict.
//
// Sessions are also indexed by user and, when revoked, in a set of their own, so that
// ListSessions and RevokeUserSessions cost O(the user's sessions) and RevokedSince O(revoked
// sessions held).
//
// Times are kept as wall clock readings ([time.Time.Round](0)): the monotonic clock reading of a
// time is dropped, as it would be in any store that serialises times. Times of keys, sessions,
// users and TOTP factors outside the range of Unix nanoseconds (1678 to 2262) are refused with
// [store.ErrInvalid], as a store that serialises them must; so is a zero now of UseTOTPStep
// (which would confirm a factor at the zero time) and a now of ReplaceRecoveryCodes out of range
// (which the store does not otherwise use, but a store that serialises it must refuse).
//
// # Second factors
//
// TOTP factors are held by user id, and recovery codes as a set of hashes for each user. They
// refer to no user record: the store keeps what it is given, and DeleteTOTP leaves the user's
// recovery codes (the mfa package empties them itself). UseRecoveryCode compares the hash given
// with each of the user's codes in constant time.
//
// # Copies
//
// The store copies every slice it is given (a key's Private, a session's AMR and hashes, each of its
// retired hashes and the list that holds them, a user's wallets, a factor's sealed secret, each
// recovery code hash) and every slice it returns, so callers and the store never share memory.
package memstore
