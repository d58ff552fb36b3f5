// Package pgstore is an implementation of [store.Store] and [store.Watcher] on PostgreSQL,
// through github.com/jackc/pgx/v5 and its pool, pgxpool. It is the store for several instances of
// an app that share one database: every promise of package store holds across them, and
// revocations and new signing keys reach every instance at once through LISTEN/NOTIFY.
//
// # Use
//
//	s, err := pgstore.Open(ctx, "postgres://walletauth@db.example.com/app?sslmode=verify-full", pgstore.Options{})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//
// [Open] takes a connection string as [pgxpool.ParseConfig] reads it (pool settings such as
// pool_max_conns included) and makes a pool that the Store owns and [Store.Close] closes. [New]
// takes a pool that the caller made and keeps: Close leaves it open, and several Stores may share
// it. Both need PostgreSQL 10 or later (identity columns); pgstore is tested on PostgreSQL 15.
//
// # Schema
//
// The tables live in one schema, [Options.Schema] ([DefaultSchema], "walletauth", when empty),
// which Open and New create when it does not exist. Every statement names its tables with the
// schema, so the connections' search_path does not matter, and stores in two schemas of one
// database are independent: they share no record, and hear none of each other's changes. A schema
// name is a plain identifier: up to [MaxSchemaLen] lower-case ASCII letters, digits and
// underscores, not starting with a digit nor "pg_"; any other is an error before anything is
// done.
//
// # Migrations
//
// The schema's tables are made by numbered SQL files (migrations/0001_init.sql, ...) embedded in
// the program. Open and New apply those the schema lacks, and record each in the table
// schema_migrations of the schema, in one transaction that first takes an advisory lock derived
// from the schema's name (pg_advisory_xact_lock): instances that start at once wait for each
// other, the first migrates, and the others find the schema up to date. DDL is transactional in
// PostgreSQL, so a migration that fails leaves nothing behind. A schema that is up to date is
// only read, so an app may run with a role that cannot create tables once the schema is made
// (CREATE on the database, or on the schema, is needed when there is something to create). A
// schema migrated by a newer program is refused with [ErrSchemaTooNew] rather than used with a
// schema this one does not know.
//
// # Time
//
// The store never reads a clock of its own, nor the server's: no statement calls now() or
// CURRENT_TIMESTAMP, and no column has a default time. Every time comes from the now arguments
// and the records' fields, so that instances, tests with fake clocks and the database agree on
// what has expired. Times are stored as BIGINT Unix nanoseconds, so they survive to the
// nanosecond; that limits them to the years 1678 to 2261, and a record with a time outside gets
// an error wrapping [store.ErrInvalid] (so does a revocation or refresh whose now is outside, or
// zero, since the session keeps it). Optional times are NULL when zero; times come back in UTC.
// A record expires at its expiry (at or before now it is as if absent), and creating a record
// over an expired one of the same key replaces it in the same statement (INSERT ... ON CONFLICT
// DO UPDATE ... WHERE the held row has expired).
//
// # Stored form
//
// Chain ids are BIGINT holding the bit pattern of the uint64. A session's AMR is a text[], its
// RetiredRefreshHashes a bytea[], its UserAgent bytea (a client's header need not be UTF-8); an
// empty PrevRefreshHash is NULL and comes back nil. A wallet's address is unique without regard to
// case through the primary key of the wallets table, the address with its ASCII letters in lower
// case; the address itself is kept as given. Wallets, contacts and OAuth accounts are ordered by an
// identity column, which grows with every row made, so that they come back in the order made
// without a lock to number them. Metadata documents are json (not jsonb, which would not keep them
// byte for byte), so SQL reads them with the JSON operators; a document that is not JSON is
// [store.ErrInvalid]. An OAuth account's Email and Username are bytea, kept as the provider
// reported them. Identifiers that lists are ordered by compare byte by byte (COLLATE "C"). Strings
// are otherwise text: one that PostgreSQL cannot hold (a NUL byte, bad UTF-8), or a key too long
// for its index (some 2,700 bytes that do not compress), is refused with an error wrapping
// [store.ErrInvalid]. Limits: [MaxMetadataSize] bytes a metadata document,
// [MaxRecoveryCodesPerUser] recovery codes a user.
//
// # Concurrency
//
// Every single-use or compare-and-set operation is one statement, atomic on its own, whose row lock
// makes concurrent calls wait for the first and then test their conditions again on the row it
// left: ConsumeNonce and UseRecoveryCode are a DELETE ... RETURNING; AddNonceFailure an UPDATE ...
// RETURNING; IncrementCounter an INSERT ... ON CONFLICT DO UPDATE ... RETURNING; CreateNonce,
// CreateKey and CreateSession upserts that replace only an expired row; PutTOTP an upsert that
// replaces only an unconfirmed factor; RotateRefresh, UseTOTPStep and ResealTOTP conditional
// UPDATEs (when one changes nothing, a read tells [store.ErrNotFound] from [store.ErrConflict]);
// AddContact an INSERT ... ON CONFLICT DO UPDATE (of nothing) ... RETURNING; LinkOAuth an INSERT
// ... ON CONFLICT DO NOTHING. CreateUser inserts the user and all its wallets in one statement: a
// taken address fails it whole, as a unique violation that it reports as [store.ErrConflict]; two
// calls that insert some of the same addresses in different orders can deadlock, and the one
// PostgreSQL ends runs its statement again after a short pause (20 ms, then 40 ms), which then
// waits for the other. LinkWallet is one
// statement that inserts only when the user exists and the address is free, and tells which.
//
// Every statement relies on READ COMMITTED, PostgreSQL's default level: a statement that waits for
// a row that another call changes tests its conditions again on the new row, where a later level
// fails with a serialization error. [Open] sets default_transaction_isolation to read committed on
// the connections of its pool, whatever the connection string, the role or the database say; the
// pool given to [New] should keep that default. Where an invariant spans rows, the operation is a
// transaction, begun READ COMMITTED whatever the connection's default, that first takes a lock, so
// that the calls it could race with run one after the other, each statement seeing what the last
// committed: UnlinkWallet locks the user's row (SELECT ... FOR NO KEY UPDATE) before it counts the
// wallets, so that a user never loses the last; ReplaceRecoveryCodes takes an advisory lock of the
// user's codes, VerifyContact and SetPrimaryContact one of the user's contacts of the kind, so that
// a user has one primary contact of a kind; AddCodeFailure counts and deletes at the maximum in
// one transaction. ConsumeCode reads the code's hash, compares it in constant time, and deletes the
// code with one statement that is a compare-and-delete on that hash. A verified value belongs to one user through a partial unique
// index, whose violation VerifyContact reports as [store.ErrConflict]. A failed call rolls back, so
// that it changes nothing.
//
// Expired rows are invisible at once and deleted in batches: every 256th CreateNonce deletes up to
// 1024 expired nonces, every 256th counter started up to 1024 ended counters, every 256th
// CreateSession up to 1024 ended sessions, every 256th PutCode up to 1024 expired codes, and every
// CreateKey up to 1024 expired keys (FOR UPDATE SKIP LOCKED: instances purging at once do not
// wait for each other).
//
// # Watching: LISTEN/NOTIFY
//
// [Store.Watch] runs LISTEN on a channel named after the schema ("walletauth_changes_" and the
// schema's name) on a connection of its own, taken out of the pool. RevokeSession and
// RevokeUserSessions send a notification when they revoke a session, CreateKey and DeleteKey
// when they create or delete a key, in the statement that makes the change: PostgreSQL delivers
// it to every listener on the database when, and only when, the change commits. The session
// package reads the store on each notification, so the instances learn of a revocation or a new
// key at once. It keeps polling all the same, which bounds the delay when a notification is
// missed: a watch whose connection fails returns an error (the caller starts another, and reads
// the store when it reports [store.ChangeSubscribed]), and notifications sent while no watch was
// listening are not kept. [Store.Close] ends the store's watches first; each returns an error
// wrapping [ErrClosed].
//
// LISTEN needs a session of its own on the server. Behind PgBouncer in transaction pooling mode
// (or another pooler that hands each transaction to any server connection) a LISTEN does not
// stay, and notifications do not arrive: Watch then reports no change and the instances fall back
// to their polling. Give Watch a direct connection: make a second Store with [New] on a pool that
// connects to PostgreSQL directly (or through a pooler in session mode), with the same schema,
// and call Watch on it; notifications are sent by the server, so a change made through the
// pooled Store reaches it. The other operations suit transaction pooling: every lock they take
// ends with its transaction. The pgx default of caching prepared statements on each connection
// needs a pooler that supports them (PgBouncer 1.21 or later with max_prepared_statements); with
// an older one, set default_query_exec_mode=exec in the connection string.
//
// # Errors and cancellation
//
// Errors wrap the [store] sentinels and the driver's error with %w; messages carry no secret
// (pgx leaves passwords out, and no hash or key is put in a message). A call with a context that
// is already done returns an error wrapping ctx.Err() and changes nothing; a call whose context
// ends while its statement runs is interrupted and its error wraps ctx.Err() too (a transaction is
// then rolled back; a single statement that the server has already run may have taken effect).
// Calls after [Store.Close] return [ErrClosed].
package pgstore
