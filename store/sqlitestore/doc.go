// Package sqlitestore is an implementation of [store.Store] on SQLite, through the pure-Go driver
// modernc.org/sqlite (no cgo). It is walletauth's default embedded store: one file, no server.
//
// # Use
//
//	s, err := sqlitestore.Open(ctx, "walletauth.db")
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//
// [Open] takes a file system path, created if absent, or [Memory] (":memory:") for a private
// in-memory database that lives until [Store.Close] — for tests and demos.
//
// # Schema and migrations
//
// The schema lives in numbered SQL files (migrations/0001_init.sql, ...) embedded in the program.
// [Open] applies those the database lacks, each in a transaction of its own, and records each in the
// table schema_migrations; opening a migrated database applies nothing. A database migrated by a
// newer program is refused with [ErrSchemaTooNew] rather than used with a schema this one does not
// know. Times are stored as INTEGER Unix nanoseconds, so they survive to the nanosecond; that limits
// them to the years 1678 to 2261, and a record with a time outside gets an error wrapping
// [store.ErrInvalid] (so does a revocation or refresh whose now is outside, or zero, since the
// session keeps it). Optional times are NULL when zero. Times come back in UTC.
//
// A session's AMR is a JSON array; its PrevRefreshHash is NULL before the first rotation, and an
// empty one comes back nil. Its RetiredRefreshHashes are one TEXT column, a JSON array of the
// hashes in lower-case hexadecimal in the order of the list ('["00ff10","ab"]'; '[]' when empty,
// which comes back nil), so that RotateRefresh stays one statement; an empty hash in the list
// comes back empty, not nil. A wallet's address is unique without regard to case through the
// primary key of the wallets table, which holds the address with its ASCII letters in lower case
// (as SQL's lower() has it); the address itself is kept as given. A wallet's position orders
// the user's wallets: CreateUser numbers them from 0 in the order given, and LinkWallet gives a
// wallet the position after the user's greatest, so that they come back in the order linked.
//
// A user's metadata is one row of the table metadata for each member that is set, keyed by
// (user_id, member), with the JSON document as TEXT, as the caller gave it (SQLite's JSON
// functions read it), and the now of the SetMetadata that wrote it as updated_at; SetMetadata
// with a nil or empty document deletes the row. The table does not refer to a user row. One
// document holds at most [MaxMetadataSize] bytes (64 KiB, as in memstore); a larger one, an empty
// user id and a now out of range are [store.ErrInvalid].
//
// A TOTP factor is a row of the table totp, keyed by user id, with its sealed secret as a BLOB and
// confirmed_at NULL while it is unconfirmed; recovery codes are rows (user_id, hash) of the table
// recovery_codes, whose primary key they are, each with the now of the ReplaceRecoveryCodes that
// stored it as created_at. Neither refers to a user row, and DeleteTOTP leaves the user's codes.
// One user holds at most [MaxRecoveryCodesPerUser] codes; a LastStep below zero, a zero now of
// UseTOTPStep, an empty hash and a hash given twice are [store.ErrInvalid].
//
// A contact is a row of the table contacts, keyed by (user_id, kind, value), with verified_at NULL
// while it is unverified, is_primary 0 or 1, and a position that orders the user's contacts as
// added (AddContact gives a contact the position after the user's greatest). A partial unique
// index on (kind, value) WHERE verified_at IS NOT NULL keeps a verified value to one user, and a
// CHECK keeps an unverified contact from being primary, whoever writes the table. A verification
// code is a row of verification_codes keyed by key, with its hash as a BLOB and its failures.
// Neither table refers to a user row. A zero now of VerifyContact, a negative Failures and a
// maxFailures below 1 are [store.ErrInvalid].
//
// A linked OAuth account is a row of oauth_accounts keyed by (provider, subject), with UNIQUE
// (user_id, provider) keeping a user to one account of each provider, and a position that orders
// the user's accounts as linked. LinkOAuth is one INSERT ... ON CONFLICT DO NOTHING, so that of
// calls linking one provider account at once exactly one wins; UnlinkOAuth is one DELETE. The
// table refers to no user row.
//
// # Concurrency
//
// A file database runs in WAL mode with synchronous=NORMAL (a commit is durable across a crash of
// the process; a power loss may lose the last commits, never corrupt the file) and a busy timeout
// of 10 s. All writes of a [Store] go through a pool of one connection, so that they queue in the
// process instead of contending for SQLite's write lock: "database is locked" cannot arise between
// the goroutines of one process, only when another process holds the lock for longer than the busy
// timeout. Reads (GetNonce, ListKeys, GetSession, ListSessions, RevokedSince, GetUser,
// UserByWallet, GetMetadata, GetTOTP, CountRecoveryCodes, ListContacts, GetCode, ListOAuth) use a separate pool of read-only
// connections, which WAL lets run beside the writer. An in-memory database uses one connection for
// everything, since each connection to ":memory:" would be a database of its own.
//
// Every operation but CreateUser, ReplaceRecoveryCodes, ConsumeCode and AddCodeFailure is a
// single statement, atomic without a
// transaction: ConsumeNonce and UseRecoveryCode are a DELETE ... RETURNING, AddNonceFailure an
// UPDATE ... RETURNING, IncrementCounter an INSERT ... ON CONFLICT DO UPDATE ... RETURNING,
// CreateNonce, CreateKey and CreateSession upserts that replace only an expired row, PutTOTP an
// upsert that replaces only an unconfirmed factor, SetMetadata an upsert (or a DELETE),
// RevokeSession and RevokeUserSessions conditional UPDATEs. RotateRefresh is the compare-and-set
// UPDATE ... SET refresh_hash = new, retired_refresh_hashes = retired, ... WHERE id = ? AND
// refresh_hash = old AND revoked_at IS NULL AND (live) RETURNING ...; when it changes nothing, a
// read of the session tells [store.ErrNotFound] from [store.ErrConflict]. UseTOTPStep is the
// compare-and-set UPDATE totp SET last_step = step, confirmed_at = (now when NULL) WHERE
// user_id = ? AND secret = ? AND last_step < step RETURNING ..., and ResealTOTP the compare-and-set
// UPDATE totp SET secret = new, key_id = ? WHERE user_id = ? AND secret = old; when one changes
// nothing, a read of the factor tells [store.ErrNotFound] from [store.ErrConflict]. LinkWallet is
// an INSERT ... SELECT ... FROM users WHERE id = ? ON CONFLICT DO NOTHING, which inserts nothing
// without the user or when the address is taken, and UnlinkWallet a DELETE FROM wallets WHERE user_id = ? AND
// address_key = ? AND (SELECT count(*) FROM wallets WHERE user_id = ?) > 1, which never deletes a
// user's last wallet, however many calls race; when either changes nothing, a read tells
// [store.ErrNotFound] from [store.ErrConflict] (users are never deleted, so a user that a
// LinkWallet finds missing afterwards was missing before). CreateUser inserts the user and its
// wallets in one transaction on the writer, which takes the write lock at BEGIN (BEGIN IMMEDIATE):
// it cannot fail half-way for a lock, and a conflict on any wallet rolls back the whole user.
// ReplaceRecoveryCodes deletes the user's codes and inserts the new ones in such a transaction, so
// that the old set is void at the commit that makes the new one usable.
//
// AddContact is an INSERT ... ON CONFLICT DO UPDATE (of nothing) ... RETURNING, which returns the
// new contact or the one the user has in one statement. VerifyContact is the UPDATE contacts SET
// verified_at = now, is_primary = NOT EXISTS (the user's primary of the kind) WHERE (the contact)
// AND verified_at IS NULL AND NOT EXISTS (a verified contact of the kind and value) RETURNING
// ..., so that of users verifying one value at once exactly one wins; SetPrimaryContact is one
// UPDATE of the user's contacts of the kind guarded by EXISTS (the contact, verified); when either
// changes nothing, a read tells [store.ErrNotFound] from [store.ErrConflict] (or, for
// VerifyContact, from a contact the user has verified already, which it returns unchanged).
// PutCode is an upsert. ConsumeCode reads the live code's hash, compares it in constant time (SQL's
// = does not) and deletes the code, and AddCodeFailure adds one to the failures and deletes the
// code at the maximum, each in one transaction on the writer (BEGIN IMMEDIATE).
//
// Statements are prepared per role (nonces, counters, keys, sessions, users, metadata, second
// factors, contacts, verification codes, OAuth accounts) on the first call of the role, so a store used for some roles only never prepares the
// rest.
//
// # Expiry
//
// Expired rows are invisible at once (every query compares with the caller's now) and deleted in
// batches: every 256th CreateNonce deletes up to 1024 expired nonces, every 256th counter started
// deletes up to 1024 ended counters, every 256th CreateSession up to 1024 ended sessions, and
// every 256th PutCode up to 1024 expired verification codes, so
// the tables stay near the size of their live rows and no call does unbounded work. Keys are few
// and made seldom: every CreateKey deletes up to 1024 expired keys. CreateKey and CreateSession
// take no now; the new record's CreatedAt stands for it (with a zero CreatedAt they purge and
// replace nothing). Users, metadata, TOTP factors, recovery codes, contacts and OAuth accounts do not
// expire.
//
// # Errors and cancellation
//
// Errors wrap the [store] sentinels and the driver's error with %w. A call with a context that is
// already done returns an error wrapping ctx.Err() and changes nothing; a call whose context ends
// while its statement runs is interrupted and its error wraps ctx.Err() too. Calls after
// [Store.Close] return [ErrClosed].
package sqlitestore
