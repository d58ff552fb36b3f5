package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/walletauth/walletauth/internal/sqlstore"
	"github.com/walletauth/walletauth/store"
)

// ErrClosed is returned by every call on a [Store] after [Store.Close]. It wraps
// [store.ErrClosed].
var ErrClosed = fmt.Errorf("pgstore: %w", store.ErrClosed)

// ErrSchemaTooNew is returned by [Open] and [New] for a schema that a newer version of this
// package migrated than the running one knows.
var ErrSchemaTooNew = errors.New("pgstore: database schema is newer than this program")

// DefaultSchema is the schema that holds the tables when [Options.Schema] is empty.
const DefaultSchema = "walletauth"

// MaxSchemaLen is the longest name [Options.Schema] may have. The schema's LISTEN/NOTIFY channel
// is named after it, and must fit PostgreSQL's limit of 63 bytes.
const MaxSchemaLen = 40

// Options configure a [Store].
type Options struct {
	// Schema is the PostgreSQL schema that holds the store's tables, created when it does not
	// exist; empty means [DefaultSchema]. It is a plain identifier: 1 to [MaxSchemaLen] lower-case
	// ASCII letters, digits and underscores, not starting with a digit nor with "pg_" (which
	// PostgreSQL reserves). Stores in different schemas of one database are independent: they
	// share no record and hear no change of each other.
	Schema string
}

// schemaName returns the schema that o names, or an error when the name is not allowed.
func (o Options) schemaName() (string, error) {
	name := o.Schema
	if name == "" {
		return DefaultSchema, nil
	}
	if !validSchema(name) {
		return "", fmt.Errorf("pgstore: schema %q is not 1 to %d lower-case letters, digits and underscores, starting with a letter or underscore and not with pg_",
			name, MaxSchemaLen)
	}
	return name, nil
}

func validSchema(name string) bool {
	if name == "" || len(name) > MaxSchemaLen || strings.HasPrefix(name, "pg_") || '0' <= name[0] && name[0] <= '9' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

const (
	// purgeEvery is how many creations of a kind of record pass between purges of the expired ones.
	purgeEvery = 256
	// purgeLimit is the most expired records of a kind that one purge deletes, four times what was
	// created since the last, so that expired records go faster than new ones come while the work
	// of one call stays bounded.
	purgeLimit = 4 * purgeEvery
	// rollbackTimeout bounds the ROLLBACK of a failed transaction, which runs even when the
	// caller's context has ended (a connection whose ROLLBACK fails is closed instead).
	rollbackTimeout = 5 * time.Second
)

// Store is a [store.Store] and a [store.Watcher] kept in a PostgreSQL database, in one schema.
// It is safe for concurrent use, also by many processes sharing the database.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool   // Open made the pool: Close closes it
	schema  string // the schema's name, as validated
	channel string // the LISTEN/NOTIFY channel of the schema
	q       *queries

	closed    atomic.Bool
	mu        sync.Mutex                         // guards nextWatch and watches
	nextWatch uint64                             // the id of the last watch started
	watches   map[uint64]context.CancelCauseFunc // running watches, to end at Close

	creates atomic.Uint64 // CreateNonce calls, to pace purges
	counts  atomic.Uint64 // IncrementCounter calls that may have started a counter
	starts  atomic.Uint64 // CreateSession calls, to pace purges
	puts    atomic.Uint64 // PutCode calls, to pace purges
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Watcher = (*Store)(nil)
)

// Open connects to the PostgreSQL database that connString names (a URL or key=value string, as
// [pgxpool.ParseConfig] reads it, pool_max_conns and the like included), creates the schema of
// opts when needed, and migrates it to the current version. The pool's connections run at READ
// COMMITTED whatever connString, the role or the database set (see Concurrency in the package
// documentation). The Store owns the pool it makes: [Store.Close] closes it. ctx bounds the
// opening and the migrations only.
func Open(ctx context.Context, connString string, opts Options) (*Store, error) {
	schema, err := opts.schemaName()
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err) // pgx redacts the password in the message
	}
	// The single statements rely on READ COMMITTED too: a later level (set on the database, the
	// role or in connString) makes those that wait for a concurrent change fail with a
	// serialization error instead of testing their conditions again on the new row.
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	s, err := newStore(ctx, pool, schema)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// New makes a Store on a pool that the caller made and keeps: [Store.Close] leaves it open. It
// creates the schema of opts when needed and migrates it, as [Open] does; ctx bounds that only.
// Several Stores, of one schema or of different ones, may share a pool. The pool's connections
// should default to READ COMMITTED, PostgreSQL's default (see Concurrency in the package
// documentation).
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	schema, err := opts.schemaName()
	if err != nil {
		return nil, err
	}
	return newStore(ctx, pool, schema)
}

func newStore(ctx context.Context, pool *pgxpool.Pool, schema string) (*Store, error) {
	s := &Store{
		pool:    pool,
		schema:  schema,
		channel: "walletauth_changes_" + schema,
		watches: make(map[uint64]context.CancelCauseFunc),
	}
	s.q = newQueries(schema, s.channel)
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("pgstore: migrate schema %s: %w", schema, err)
	}
	return s, nil
}

// quoteIdent quotes a name as an SQL identifier. The names it gets are validated schema names and
// names made from them, which hold no quote; doubling quotes keeps it right for any name.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// quoteLiteral quotes a string as an SQL string literal.
func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// lockKey returns the key of a transaction-level advisory lock (pg_advisory_xact_lock) of the
// schema: the FNV-1a hash of the schema's name, the lock's purpose and its parts. Two keys that
// collide only make unrelated calls wait for each other.
func lockKey(schema string, parts ...string) int64 {
	h := fnv.New64a()
	h.Write([]byte("walletauth/pgstore\x00"))
	h.Write([]byte(schema))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return int64(h.Sum64())
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate brings the schema to the current version in one transaction, which first takes an
// advisory lock of the schema: instances that start at once wait for each other, and each
// migration is applied once. A schema that is up to date is only read, so that a role without
// the privilege to create may open it.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := sqlstore.LoadMigrations(migrationFiles, "migrations/*.sql")
	if err != nil {
		return err
	}
	schema := quoteIdent(s.schema)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(s.schema, "migrate")); err != nil {
			return err
		}
		// Each statement from here on sees what the holders of the lock before us committed.
		var hasSchema, hasTable bool
		if err := tx.QueryRow(ctx, `SELECT
	EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1),
	EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = 'schema_migrations')`, s.schema).Scan(&hasSchema, &hasTable); err != nil {
			return err
		}
		if !hasSchema {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
				return err
			}
		}
		if !hasTable {
			if _, err := tx.Exec(ctx, `CREATE TABLE `+schema+`.schema_migrations (
	version    bigint NOT NULL PRIMARY KEY,
	name       text   NOT NULL,
	applied_at bigint NOT NULL
)`); err != nil {
				return err
			}
		}
		var current int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+schema+`.schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > int64(len(ms)) {
			return fmt.Errorf("%w: version %d, this program knows up to %d", ErrSchemaTooNew, current, len(ms))
		}
		for _, m := range ms[current:] {
			// Without arguments, Exec sends the file as one simple query, all its statements at once.
			if _, err := tx.Exec(ctx, strings.ReplaceAll(m.SQL, "{schema}", schema)); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			// applied_at is bookkeeping, from this program's clock (never the server's).
			if _, err := tx.Exec(ctx, `INSERT INTO `+schema+`.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// inTx runs fn in a transaction of the pool, which it commits when fn returns nil and rolls back
// otherwise. It returns fn's error as it is. The transaction is READ COMMITTED whatever the
// connection's default_transaction_isolation: the transactions take a lock and then rely on each
// later statement seeing what the lock's last holder committed, which a snapshot taken at the
// first statement (REPEATABLE READ, SERIALIZABLE) does not.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		// The caller's context may have ended: roll back all the same, for a while.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		_ = tx.Rollback(rctx) // a failed ROLLBACK closes the connection, which rolls back too
		return err
	}
	return tx.Commit(ctx)
}

// begin reports whether a call may start: the store is open and ctx is not done.
func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	return nil
}

// fail wraps an error of operation op. When the store is closed, the error also wraps
// [ErrClosed]; when ctx is done, ctx.Err(), whatever the driver made of the interruption; when
// PostgreSQL refused a value (a data exception, SQLSTATE class 22, such as a NUL byte or bad UTF-8
// in a string, or program_limit_exceeded, 54000, such as a key too long for its index),
// [store.ErrInvalid]. The sentinels of package store pass as they are.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	switch err {
	case store.ErrNotFound, store.ErrConflict, store.ErrInvalid:
		return err
	}
	if s.closed.Load() && !errors.Is(err, store.ErrClosed) {
		return fmt.Errorf("pgstore: %s: %w: %w", op, ErrClosed, err)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("pgstore: %s: %w: %w", op, cerr, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "22") || pgErr.Code == "54000") {
		return fmt.Errorf("pgstore: %s: %w: %w", op, store.ErrInvalid, err)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// uniqueViolation reports whether err is a unique violation (SQLSTATE 23505) of the constraint or
// unique index named constraint.
func uniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}

// conflictIfNone returns store.ErrConflict when a statement changed no row.
func conflictIfNone(tag pgconn.CommandTag) error {
	if tag.RowsAffected() == 0 {
		return store.ErrConflict
	}
	return nil
}

// ---- Times

// optNanos returns an optional time as Unix nanoseconds, NULL for the zero time. The times of the
// records it converts are in range: the checks of package store ([store.CheckOptionalTime]) come
// first. (A required time, checked by [store.CheckTime], converts with [time.Time.UnixNano].)
func optNanos(t time.Time) pgtype.Int8 {
	if t.IsZero() {
		return pgtype.Int8{}
	}
	return pgtype.Int8{Int64: t.UnixNano(), Valid: true}
}

func fromOptNanos(n pgtype.Int8) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return sqlstore.FromNanos(n.Int64)
}

// ---- Close

// Close ends the store's watches (each returns an error wrapping [ErrClosed]) and, when [Open]
// made the pool, closes the pool, which waits for the calls in progress. Later calls return
// [ErrClosed]. Closing a closed store does nothing.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.mu.Lock()
	for _, cancel := range s.watches {
		cancel(ErrClosed)
	}
	clear(s.watches)
	s.mu.Unlock()
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}
