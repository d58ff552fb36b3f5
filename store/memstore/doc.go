// Package memstore is an in-memory implementation of [store.Store], for tests, development and
// single-instance deployments that can afford to lose everything on restart: nonces, counters,
// signing keys, sessions, users with their wallets, metadata, contacts, linked OAuth accounts and second
// factors (TOTP factors and recovery codes), and verification codes.
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
// [DefaultMaxWallets] wallets and [DefaultMaxMetadata] metadata documents (of all users
// together), [DefaultMaxTOTP] TOTP factors and [DefaultMaxRecoveryCodes] recovery codes (of all
// users together), [DefaultMaxContacts] contacts (of all users together),
// [DefaultMaxVerificationCodes] verification codes and [DefaultMaxOAuthAccounts] linked OAuth
// accounts (of all users together) unless [WithMaxNonces], [WithMaxCounters],
// [WithMaxKeys], [WithMaxSessions], [WithMaxUsers], [WithMaxWallets], [WithMaxMetadata],
// [WithMaxTOTP], [WithMaxRecoveryCodes], [WithMaxContacts], [WithMaxVerificationCodes] and
// [WithMaxOAuthAccounts] say
// otherwise, so that a flood of requests cannot grow the process without limit. A store that
// is full of live records refuses new ones with an error wrapping [store.ErrCapacity]; it never
// evicts a live record to make room, which would let one client spoil another's sign-in. Records
// already held keep working when the store is full: nonces can be read, consumed and deleted,
// counters keep counting, sessions keep refreshing, codes are replaced, consumed and counted. A
// revoked session is live until it expires
// (its revocation must stay visible), and users never expire, so a store full of users refuses
// new ones for good; a store full of wallets refuses new users and linked wallets until wallets
// are unlinked. Nor do metadata, TOTP factors and recovery codes expire: a store full of them
// refuses a member of a user's metadata that is not set (replacing or deleting one needs no
// room), a new user's factor (replacing a user's unconfirmed factor needs no room) or a set of
// codes larger than the one it replaces, until members are deleted, factors deleted and codes
// used or replaced by fewer. Contacts do not expire either: a store full of them refuses a new
// contact (adding one a user has, verifying and making primary need no room) until contacts are
// deleted; likewise a store full of OAuth accounts refuses to link more until some are unlinked. One metadata document holds at most [MaxMetadataSize] bytes (64
// KiB), and one user at most [MaxRecoveryCodesPerUser] recovery codes: a larger document or set is
// [store.ErrInvalid], whatever the room.
//
// # Expiry
//
// Each kind of record that expires (nonces, counters, keys, sessions, verification codes) is
// indexed by its expiry (a min-heap beside the map); a session
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
// users, wallets and TOTP factors outside the range of Unix nanoseconds (1678 to 2262) are refused
// with [store.ErrInvalid], as a store that serialises them must; so is a zero now of UseTOTPStep
// (which would confirm a factor at the zero time) and a now of ReplaceRecoveryCodes or SetMetadata
// out of range (which the store does not otherwise use, but a store that serialises it must
// refuse).
//
// # Users, wallets and metadata
//
// Users are held by id, and by the address of each of their wallets with its ASCII letters in
// lower case, so that an address belongs to one user at most without regard to case. LinkWallet
// adds a wallet after the user's others and UnlinkWallet removes one (never the last), each
// under the store's lock, so both are atomic. A user's metadata is held by user id, as the three
// documents of [store.Metadata] (a user with none has no entry); like second factors, it refers
// to no user record. SetMetadata with an empty document deletes the member, as nil does. The store
// keeps each document as given and does not parse it.
//
// # Second factors
//
// TOTP factors are held by user id, and recovery codes as a set of hashes for each user. They
// refer to no user record: the store keeps what it is given, and DeleteTOTP leaves the user's
// recovery codes (the mfa package empties them itself). UseRecoveryCode compares the hash given
// with each of the user's codes in constant time.
//
// # Contacts and verification codes
//
// Contacts are held by (user id, kind, value), and each user's also in a list in the order added;
// verified ones are also indexed by (kind, value), so that VerifyContact finds in O(1) whether
// another user has the value verified. VerifyContact makes a contact primary when the user has
// no primary contact of its kind; verifying a verified contact changes nothing. SetPrimaryContact
// and DeleteContact cost O(the user's contacts). Contacts refer to no user record. A
// verification code is held by key; ConsumeCode compares the hash given with the code's in
// constant time, and AddCodeFailure removes the code at once when its count reaches the maximum
// (a maximum below 1 is [store.ErrInvalid]).
//
// # OAuth accounts
//
// Linked OAuth accounts are held by (provider, subject), and each user's also in a list in the
// order linked; LinkOAuth and UnlinkOAuth cost O(the user's accounts). Provider and subject are
// compared exactly. Accounts refer to no user record.
//
// # Copies
//
// The store copies every slice it is given (a key's Private, a session's AMR and hashes, each of its
// retired hashes and the list that holds them, a user's wallets, a metadata document, a factor's
// sealed secret, each recovery code hash, a verification code's hash) and every slice it returns, so callers and the store
// never share memory.
package memstore
