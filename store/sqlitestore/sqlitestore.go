package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletauth/walletauth/internal/sqlstore"
	"github.com/walletauth/walletauth/store"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrClosed is returned by every call on a [Store] after [Store.Close]. It wraps
// [store.ErrClosed].
var ErrClosed = fmt.Errorf("sqlitestore: %w", store.ErrClosed)

// ErrSchemaTooNew is returned by [Open] for a database whose schema was migrated by a newer
// version of this package than the running one.
var ErrSchemaTooNew = errors.New("sqlitestore: database schema is newer than this program")

// Memory is the path that [Open] takes for a private in-memory database.
const Memory = ":memory:"

// Connection parameters (modernc.org/sqlite DSN syntax). busy_timeout makes a connection wait for a
// lock held by another process instead of failing with "database is locked"; _txlock=immediate
// makes the migrations' transactions take the write lock at BEGIN.
const (
	writerParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	readerParams = "_pragma=busy_timeout(10000)&_pragma=query_only(1)"
	memoryParams = "_pragma=foreign_keys(1)&_txlock=immediate"
)

const (
	// purgeEvery is how many creations of a kind of record pass between purges of the expired ones.
	purgeEvery = 256
	// purgeLimit is the most expired records of a kind that one purge deletes, four times what was
	// created since the last, so that expired records go faster than new ones come while the work
	// of one call stays bounded.
	purgeLimit = 4 * purgeEvery
)

var errWindow = fmt.Errorf("sqlitestore: counter window must be positive: %w", store.ErrInvalid)

// SQL of the store's operations. Every operation is one statement, so that it is atomic without a
// transaction.
const (
	createNonceSQL = `INSERT INTO nonces (value, address, chain_id, issued_at, expires_at, failures)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (value) DO UPDATE SET
	address = excluded.address, chain_id = excluded.chain_id, issued_at = excluded.issued_at,
	expires_at = excluded.expires_at, failures = excluded.failures
WHERE nonces.expires_at <= ?7`
	getNonceSQL = `SELECT address, chain_id, issued_at, expires_at, failures FROM nonces
WHERE value = ?1 AND expires_at > ?2`
	consumeNonceSQL = `DELETE FROM nonces WHERE value = ?1 AND expires_at > ?2
RETURNING address, chain_id, issued_at, expires_at, failures`
	addNonceFailureSQL = `UPDATE nonces SET failures = failures + 1 WHERE value = ?1 AND expires_at > ?2
RETURNING failures`
	deleteNonceSQL = `DELETE FROM nonces WHERE value = ?1`
	purgeNoncesSQL = `DELETE FROM nonces WHERE value IN
(SELECT value FROM nonces WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)`
	incrementCounterSQL = `INSERT INTO counters (key, count, reset_at) VALUES (?1, 1, ?3)
ON CONFLICT (key) DO UPDATE SET
	count = CASE WHEN counters.reset_at <= ?2 THEN 1 ELSE counters.count + 1 END,
	reset_at = CASE WHEN counters.reset_at <= ?2 THEN ?3 ELSE counters.reset_at END
RETURNING count, reset_at`
	resetCounterSQL  = `DELETE FROM counters WHERE key = ?1`
	purgeCountersSQL = `DELETE FROM counters WHERE key IN
(SELECT key FROM counters WHERE reset_at <= ?1 ORDER BY reset_at LIMIT ?2)`
)

// Store is a [store.Store] kept in a SQLite database. It is safe for concurrent use, also by
// several processes sharing one database file.
type Store struct {
	// w is the writer: a pool of one connection through which every write goes, so that writes
	// queue in the process rather than contend for SQLite's lock. r is a pool of read-only
	// connections; for an in-memory database it is w.
	w, r *sql.DB

	createNonce, getNonce, consumeNonce, addNonceFailure, deleteNonce, purgeNonces *sql.Stmt
	incrementCounter, resetCounter, purgeCounters                                  *sql.Stmt
	createKey, listKeys, deleteKey, purgeKeys                                      *sql.Stmt
	createSession, getSession, sessionState, rotateRefresh, revokeSession          *sql.Stmt
	revokeUserSessions, listSessions, revokedSince, purgeSessions                  *sql.Stmt
	insertUser, insertWallet, getUser, userByWallet                                *sql.Stmt
	linkWallet, userExists, unlinkWallet, hasWallet                                *sql.Stmt
	getMetadata, setMetadata, deleteMetadata                                       *sql.Stmt
	putTOTP, getTOTP, useTOTPStep, totpExists, resealTOTP, deleteTOTP              *sql.Stmt
	deleteRecoveryCodes, insertRecoveryCode, useRecoveryCode, countRecoveryCodes   *sql.Stmt
	addContact, listContacts, getContact, verifyContact                            *sql.Stmt
	setPrimaryContact, deleteContact                                               *sql.Stmt
	putCode, getCode, codeHash, deleteCode, addCodeFailure, purgeCodes             *sql.Stmt
	linkOAuth, unlinkOAuth, listOAuth                                              *sql.Stmt

	prepared [roles]prepared

	closed     atomic.Bool
	creates    atomic.Uint64 // CreateNonce calls, to pace purges
	increments atomic.Uint64 // IncrementCounter calls that may have created a counter
	sessions   atomic.Uint64 // CreateSession calls, to pace purges
	codePuts   atomic.Uint64 // PutCode calls, to pace purges
}

var _ store.Store = (*Store)(nil)

// Open opens the SQLite database at path, creating it if needed, and migrates its schema to the
// current version. path is a file system path (not a URI); [Memory] (":memory:") opens a private
// in-memory database that lives until [Store.Close]. ctx bounds the opening and the migrations
// only.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlitestore: empty database path")
	}
	s := &Store{}
	if err := s.open(ctx, path); err != nil {
		s.closeAll()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, path string) (err error) {
	name, uri := path, ""
	if path == Memory {
		// Every connection to ":memory:" is a database of its own: use exactly one, for good.
		name = "in-memory database"
		s.w, err = openPool(ctx, Memory+"?"+memoryParams, 1)
	} else if uri, err = fileURI(path); err == nil {
		s.w, err = openPool(ctx, uri+"?"+writerParams, 1)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", name, err)
	}
	// Migrate before the readers connect, so that they find the database in WAL mode.
	if err := migrate(ctx, s.w); err != nil {
		return fmt.Errorf("sqlitestore: migrate %s: %w", name, err)
	}
	s.r = s.w
	if path != Memory {
		if s.r, err = openPool(ctx, uri+"?"+readerParams, max(4, runtime.GOMAXPROCS(0))); err != nil {
			return fmt.Errorf("sqlitestore: open %s for reading: %w", name, err)
		}
	}
	return nil
}

// A role is a group of statements, those of one role of [store.Store], that a store prepares
// together on the first call of the role: a store used for nonces alone never prepares the rest,
// and [Open] stays quick.
type role int

const (
	nonceRole role = iota
	counterRole
	keyRole
	sessionRole
	userRole
	metadataRole
	mfaRole
	contactRole
	codeRole
	oauthRole
	roles
)

// prepared holds the statements of a role once prepared.
type prepared struct {
	mu    sync.Mutex
	ready atomic.Bool // set, under mu, once the statements of the role are in the Store's fields
	stmts []*sql.Stmt // to close
}

// prepare prepares the statements of role r unless done. A failure (such as a cancelled ctx)
// leaves them to the next call.
func (s *Store) prepare(ctx context.Context, r role) error {
	p := &s.prepared[r]
	if p.ready.Load() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready.Load() {
		return nil
	}
	if s.closed.Load() {
		return ErrClosed // closeAll may have passed this role already
	}
	var err error
	prep := func(db *sql.DB, query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		if st, err = db.PrepareContext(ctx, query); err == nil {
			p.stmts = append(p.stmts, st)
		}
		return st
	}
	switch r {
	case nonceRole:
		s.createNonce = prep(s.w, createNonceSQL)
		s.getNonce = prep(s.r, getNonceSQL)
		s.consumeNonce = prep(s.w, consumeNonceSQL)
		s.addNonceFailure = prep(s.w, addNonceFailureSQL)
		s.deleteNonce = prep(s.w, deleteNonceSQL)
		s.purgeNonces = prep(s.w, purgeNoncesSQL)
	case counterRole:
		s.incrementCounter = prep(s.w, incrementCounterSQL)
		s.resetCounter = prep(s.w, resetCounterSQL)
		s.purgeCounters = prep(s.w, purgeCountersSQL)
	case keyRole:
		s.createKey = prep(s.w, createKeySQL)
		s.listKeys = prep(s.r, listKeysSQL)
		s.deleteKey = prep(s.w, deleteKeySQL)
		s.purgeKeys = prep(s.w, purgeKeysSQL)
	case sessionRole:
		s.createSession = prep(s.w, createSessionSQL)
		s.getSession = prep(s.r, getSessionSQL)
		s.sessionState = prep(s.r, sessionStateSQL)
		s.rotateRefresh = prep(s.w, rotateRefreshSQL)
		s.revokeSession = prep(s.w, revokeSessionSQL)
		s.revokeUserSessions = prep(s.w, revokeUserSessionsSQL)
		s.listSessions = prep(s.r, listSessionsSQL)
		s.revokedSince = prep(s.r, revokedSinceSQL)
		s.purgeSessions = prep(s.w, purgeSessionsSQL)
	case userRole:
		s.insertUser = prep(s.w, insertUserSQL)
		s.insertWallet = prep(s.w, insertWalletSQL)
		s.linkWallet = prep(s.w, linkWalletSQL)
		s.userExists = prep(s.r, userExistsSQL)
		s.unlinkWallet = prep(s.w, unlinkWalletSQL)
		s.hasWallet = prep(s.r, hasWalletSQL)
		s.getUser = prep(s.r, getUserSQL)
		s.userByWallet = prep(s.r, userByWalletSQL)
	case metadataRole:
		s.getMetadata = prep(s.r, getMetadataSQL)
		s.setMetadata = prep(s.w, setMetadataSQL)
		s.deleteMetadata = prep(s.w, deleteMetadataSQL)
	case mfaRole:
		s.putTOTP = prep(s.w, putTOTPSQL)
		s.getTOTP = prep(s.r, getTOTPSQL)
		s.useTOTPStep = prep(s.w, useTOTPStepSQL)
		s.totpExists = prep(s.r, totpExistsSQL)
		s.resealTOTP = prep(s.w, resealTOTPSQL)
		s.deleteTOTP = prep(s.w, deleteTOTPSQL)
		s.deleteRecoveryCodes = prep(s.w, deleteRecoveryCodesSQL)
		s.insertRecoveryCode = prep(s.w, insertRecoveryCodeSQL)
		s.useRecoveryCode = prep(s.w, useRecoveryCodeSQL)
		s.countRecoveryCodes = prep(s.r, countRecoveryCodesSQL)
	case contactRole:
		s.addContact = prep(s.w, addContactSQL)
		s.listContacts = prep(s.r, listContactsSQL)
		s.getContact = prep(s.r, getContactSQL)
		s.verifyContact = prep(s.w, verifyContactSQL)
		s.setPrimaryContact = prep(s.w, setPrimaryContactSQL)
		s.deleteContact = prep(s.w, deleteContactSQL)
	case codeRole:
		s.putCode = prep(s.w, putCodeSQL)
		s.getCode = prep(s.r, getCodeSQL)
		s.codeHash = prep(s.w, codeHashSQL)
		s.deleteCode = prep(s.w, deleteCodeSQL)
		s.addCodeFailure = prep(s.w, addCodeFailureSQL)
		s.purgeCodes = prep(s.w, purgeCodesSQL)
	case oauthRole:
		s.linkOAuth = prep(s.w, linkOAuthSQL)
		s.unlinkOAuth = prep(s.w, unlinkOAuthSQL)
		s.listOAuth = prep(s.r, listOAuthSQL)
	}
	if err != nil {
		for _, st := range p.stmts {
			st.Close()
		}
		p.stmts = nil
		return s.fail(ctx, "prepare statements", err)
	}
	p.ready.Store(true)
	return nil
}

// openPool opens a pool of at most n connections that are kept open for good, and connects one.
func openPool(ctx context.Context, dsn string, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// fileURI turns a file system path into an SQLite URI filename, so that no character of the path
// (such as '?') can be taken for a parameter.
func fileURI(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	abs = filepath.ToSlash(abs)
	if !strings.HasPrefix(abs, "/") {
		abs = "/" + abs // a Windows drive letter: file:///C:/...
	}
	return "file://" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(abs), nil
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies the migrations that db lacks, each in a transaction of its own that also
// records it in schema_migrations.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := sqlstore.LoadMigrations(migrationFiles, "migrations/*.sql")
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
) STRICT`); err != nil {
		return err
	}
	var current sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current.Int64 > int64(len(ms)) {
		return fmt.Errorf("%w: version %d, this program knows up to %d", ErrSchemaTooNew, current.Int64, len(ms))
	}
	for _, m := range ms[current.Int64:] {
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m sqlstore.Migration) error {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: see writerParams
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have applied it since we looked.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?1`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)`,
		m.Version, m.Name, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// begin reports whether a call of role r may start: the store is open, ctx is not done, and the
// statements of the role are prepared.
func (s *Store) begin(ctx context.Context, r role) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	return s.prepare(ctx, r)
}

// fail wraps an error of the database in operation op. When ctx is done, the error also wraps
// ctx.Err(), whatever the driver made of the interruption.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if s.closed.Load() && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("sqlitestore: %s: %w: %w", op, ErrClosed, err)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlitestore: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// CreateNonce implements [store.NonceStore.CreateNonce]. Times outside the years 1678 to 2261
// give an error wrapping [store.ErrInvalid].
func (s *Store) CreateNonce(ctx context.Context, n store.Nonce, now time.Time) error {
	if err := store.CheckNonce(n); err != nil {
		return err
	}
	expires, issued := n.ExpiresAt.UnixNano(), optNanos(n.IssuedAt)
	if err := s.begin(ctx, nonceRole); err != nil {
		return err
	}
	nowNs := sqlstore.NowNanos(now)
	res, err := s.createNonce.ExecContext(ctx, n.Value, n.Address, int64(n.ChainID), issued, expires, int64(n.Failures), nowNs)
	if err != nil {
		return s.fail(ctx, "create nonce", err)
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return s.fail(ctx, "create nonce", err)
	}
	if rows == 0 {
		return store.ErrConflict
	}
	if s.creates.Add(1)%purgeEvery == 0 {
		// Best effort: the nonce is stored whatever becomes of the purge.
		_, _ = s.purgeNonces.ExecContext(ctx, nowNs, purgeLimit)
	}
	return nil
}

// scanNonce reads the columns address, chain_id, issued_at, expires_at, failures.
func scanNonce(row *sql.Row, value string) (store.Nonce, error) {
	var (
		chainID, expires, failures int64
		issued                     sql.NullInt64
	)
	n := store.Nonce{Value: value}
	if err := row.Scan(&n.Address, &chainID, &issued, &expires, &failures); err != nil {
		return store.Nonce{}, err
	}
	n.ChainID = uint64(chainID)
	if issued.Valid {
		n.IssuedAt = sqlstore.FromNanos(issued.Int64)
	}
	n.ExpiresAt = sqlstore.FromNanos(expires)
	n.Failures = int(failures)
	return n, nil
}

// GetNonce implements [store.NonceStore.GetNonce].
func (s *Store) GetNonce(ctx context.Context, value string, now time.Time) (store.Nonce, error) {
	if err := s.begin(ctx, nonceRole); err != nil {
		return store.Nonce{}, err
	}
	n, err := scanNonce(s.getNonce.QueryRowContext(ctx, value, sqlstore.NowNanos(now)), value)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Nonce{}, store.ErrNotFound
	}
	if err != nil {
		return store.Nonce{}, s.fail(ctx, "get nonce", err)
	}
	return n, nil
}

// ConsumeNonce implements [store.NonceStore.ConsumeNonce].
func (s *Store) ConsumeNonce(ctx context.Context, value string, now time.Time) (store.Nonce, error) {
	if err := s.begin(ctx, nonceRole); err != nil {
		return store.Nonce{}, err
	}
	n, err := scanNonce(s.consumeNonce.QueryRowContext(ctx, value, sqlstore.NowNanos(now)), value)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Nonce{}, store.ErrNotFound
	}
	if err != nil {
		return store.Nonce{}, s.fail(ctx, "consume nonce", err)
	}
	return n, nil
}

// AddNonceFailure implements [store.NonceStore.AddNonceFailure].
func (s *Store) AddNonceFailure(ctx context.Context, value string, now time.Time) (int, error) {
	if err := s.begin(ctx, nonceRole); err != nil {
		return 0, err
	}
	var failures int64
	err := s.addNonceFailure.QueryRowContext(ctx, value, sqlstore.NowNanos(now)).Scan(&failures)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.ErrNotFound
	}
	if err != nil {
		return 0, s.fail(ctx, "add nonce failure", err)
	}
	return int(failures), nil
}

// DeleteNonce implements [store.NonceStore.DeleteNonce].
func (s *Store) DeleteNonce(ctx context.Context, value string) error {
	if err := s.begin(ctx, nonceRole); err != nil {
		return err
	}
	if _, err := s.deleteNonce.ExecContext(ctx, value); err != nil {
		return s.fail(ctx, "delete nonce", err)
	}
	return nil
}

// IncrementCounter implements [store.CounterStore.IncrementCounter]. A window that would end after
// the year 2261 gives an error wrapping [store.ErrInvalid].
func (s *Store) IncrementCounter(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if window <= 0 {
		return 0, time.Time{}, errWindow
	}
	nowNs, ok := sqlstore.Nanos(now)
	if !ok {
		return 0, time.Time{}, fmt.Errorf("sqlitestore: counter time %v out of range: %w", now, store.ErrInvalid)
	}
	resetNs, ok := sqlstore.Nanos(now.Add(window))
	if !ok || resetNs < nowNs {
		return 0, time.Time{}, fmt.Errorf("sqlitestore: counter window end %v out of range: %w", now.Add(window), store.ErrInvalid)
	}
	if err := s.begin(ctx, counterRole); err != nil {
		return 0, time.Time{}, err
	}
	var count, resetAt int64
	if err := s.incrementCounter.QueryRowContext(ctx, key, nowNs, resetNs).Scan(&count, &resetAt); err != nil {
		return 0, time.Time{}, s.fail(ctx, "increment counter", err)
	}
	if count == 1 && s.increments.Add(1)%purgeEvery == 0 {
		// Best effort, as in CreateNonce.
		_, _ = s.purgeCounters.ExecContext(ctx, nowNs, purgeLimit)
	}
	return count, sqlstore.FromNanos(resetAt), nil
}

// ResetCounter implements [store.CounterStore.ResetCounter].
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if err := s.begin(ctx, counterRole); err != nil {
		return err
	}
	if _, err := s.resetCounter.ExecContext(ctx, key); err != nil {
		return s.fail(ctx, "reset counter", err)
	}
	return nil
}

// Close closes the database; later calls return [ErrClosed]. Closing a closed store does nothing.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	return s.closeAll()
}

func (s *Store) closeAll() error {
	var errs []error
	for i := range s.prepared {
		p := &s.prepared[i]
		p.mu.Lock()
		for _, st := range p.stmts {
			errs = append(errs, st.Close())
		}
		p.stmts = nil
		p.mu.Unlock()
	}
	if s.r != nil && s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlitestore: close: %w", err)
	}
	return nil
}
