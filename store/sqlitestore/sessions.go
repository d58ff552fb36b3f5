package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/walletauth/walletauth/internal/sqlstore"
	"github.com/walletauth/walletauth/store"
)

// SQL of the signing keys, sessions, users and wallets. Every operation but CreateUser is one
// statement (with, for LinkWallet and UnlinkWallet, a read after it that tells why it changed
// nothing); CreateUser is one transaction.
const (
	// createKeySQL inserts a key, or replaces one with the same ID that has expired by the new
	// key's creation time (?4; NULL when zero, which replaces nothing).
	createKeySQL = `INSERT INTO signing_keys (id, algorithm, private, created_at, not_before, expires_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (id) DO UPDATE SET
	algorithm = excluded.algorithm, private = excluded.private, created_at = excluded.created_at,
	not_before = excluded.not_before, expires_at = excluded.expires_at
WHERE signing_keys.expires_at <= ?4`
	listKeysSQL = `SELECT id, algorithm, private, created_at, not_before, expires_at FROM signing_keys
WHERE expires_at > ?1 ORDER BY not_before DESC, id DESC`
	deleteKeySQL = `DELETE FROM signing_keys WHERE id = ?1`
	purgeKeysSQL = `DELETE FROM signing_keys WHERE id IN
(SELECT id FROM signing_keys WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)`

	sessionColumns = `id, user_id, address, chain_id, aal, amr, refresh_hash, prev_refresh_hash, rotated_at,
	created_at, last_used_at, idle_expires_at, expires_at, revoked_at, user_agent, ip, retired_refresh_hashes`
	// live is the condition on a session that exists at ?now.
	liveSession = `idle_expires_at > ?%[1]d AND expires_at > ?%[1]d`

	// createSessionSQL inserts a session, or replaces one with the same ID that has ended by the
	// new session's creation time (?18; NULL when zero, which replaces nothing).
	createSessionSQL = `INSERT INTO sessions (` + sessionColumns + `)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
ON CONFLICT (id) DO UPDATE SET
	user_id = excluded.user_id, address = excluded.address, chain_id = excluded.chain_id,
	aal = excluded.aal, amr = excluded.amr, refresh_hash = excluded.refresh_hash,
	prev_refresh_hash = excluded.prev_refresh_hash, rotated_at = excluded.rotated_at,
	created_at = excluded.created_at, last_used_at = excluded.last_used_at,
	idle_expires_at = excluded.idle_expires_at, expires_at = excluded.expires_at,
	revoked_at = excluded.revoked_at, user_agent = excluded.user_agent, ip = excluded.ip,
	retired_refresh_hashes = excluded.retired_refresh_hashes
WHERE min(sessions.idle_expires_at, sessions.expires_at) <= ?18`
	// rotateRefreshSQL is the compare-and-set of RotateRefresh. The right-hand sides of SET see
	// the row as it was, so prev_refresh_hash takes the replaced hash (which equals ?2). ?6 is the
	// encoded retired hashes (see encodeHashes).
	rotateRefreshSQL = `UPDATE sessions SET
	prev_refresh_hash = refresh_hash, refresh_hash = ?3, retired_refresh_hashes = ?6,
	idle_expires_at = ?4, rotated_at = ?5, last_used_at = ?5
WHERE id = ?1 AND refresh_hash = ?2 AND revoked_at IS NULL AND idle_expires_at > ?5 AND expires_at > ?5
RETURNING ` + sessionColumns
	revokeSessionSQL = `UPDATE sessions SET revoked_at = ?2
WHERE id = ?1 AND revoked_at IS NULL AND idle_expires_at > ?2 AND expires_at > ?2`
	revokeUserSessionsSQL = `UPDATE sessions SET revoked_at = ?3
WHERE user_id = ?1 AND id <> ?2 AND revoked_at IS NULL AND idle_expires_at > ?3 AND expires_at > ?3`
	purgeSessionsSQL = `DELETE FROM sessions WHERE id IN
(SELECT id FROM sessions WHERE min(idle_expires_at, expires_at) <= ?1
ORDER BY min(idle_expires_at, expires_at) LIMIT ?2)`
)

var (
	getSessionSQL = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?1 AND ` + fmt.Sprintf(liveSession, 2)
	// sessionStateSQL tells why a RotateRefresh changed nothing: no row, a revoked session, or
	// another hash.
	sessionStateSQL = `SELECT revoked_at IS NOT NULL FROM sessions WHERE id = ?1 AND ` + fmt.Sprintf(liveSession, 2)
	listSessionsSQL = `SELECT ` + sessionColumns + ` FROM sessions
WHERE user_id = ?1 AND revoked_at IS NULL AND ` + fmt.Sprintf(liveSession, 2) + `
ORDER BY created_at DESC, id DESC`
	revokedSinceSQL = `SELECT id, revoked_at, expires_at FROM sessions
WHERE revoked_at >= ?1 AND ` + fmt.Sprintf(liveSession, 2) + `
ORDER BY revoked_at, id`
)

const (
	insertUserSQL   = `INSERT INTO users (id, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING`
	insertWalletSQL = `INSERT INTO wallets (address_key, address, user_id, position, chain_id, linked_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING`
	// getUserSQL and userByWalletSQL read a user and its wallets in one statement, so that they
	// see one state of the database.
	getUserSQL = `SELECT users.id, users.created_at, wallets.address, wallets.chain_id, wallets.linked_at
FROM users LEFT JOIN wallets ON wallets.user_id = users.id
WHERE users.id = ?1 ORDER BY wallets.position`
	userByWalletSQL = `SELECT users.id, users.created_at, wallets.address, wallets.chain_id, wallets.linked_at
FROM users LEFT JOIN wallets ON wallets.user_id = users.id
WHERE users.id = (SELECT user_id FROM wallets WHERE address_key = ?1) ORDER BY wallets.position`
	// linkWalletSQL inserts a wallet of the user ?3 after the user's others, only when the user
	// exists and the address is free: the SELECT yields no row without the user, and ON CONFLICT
	// DO NOTHING inserts none for a taken address. (The SELECT's WHERE also keeps SQLite from
	// reading ON CONFLICT as a join constraint.)
	linkWalletSQL = `INSERT INTO wallets (address_key, address, user_id, position, chain_id, linked_at)
SELECT ?1, ?2, users.id, (SELECT coalesce(max(position) + 1, 0) FROM wallets WHERE user_id = ?3), ?4, ?5
FROM users WHERE users.id = ?3
ON CONFLICT DO NOTHING`
	// userExistsSQL tells why a LinkWallet inserted nothing: no user, or a taken address.
	userExistsSQL = `SELECT 1 FROM users WHERE id = ?1`
	// unlinkWalletSQL deletes the user's wallet unless it is the user's last: the count and the
	// deletion are one statement, so two calls that each remove one of a user's two wallets
	// cannot both succeed.
	unlinkWalletSQL = `DELETE FROM wallets WHERE address_key = ?2 AND user_id = ?1
AND (SELECT count(*) FROM wallets WHERE user_id = ?1) > 1`
	// hasWalletSQL tells why an UnlinkWallet deleted nothing: the user has no such wallet, or it
	// is the last.
	hasWalletSQL = `SELECT 1 FROM wallets WHERE address_key = ?2 AND user_id = ?1`
)

// optNanos returns an optional time as Unix nanoseconds, NULL for the zero time. The times of the
// records it converts are in range: the checks of package store ([store.CheckOptionalTime]) come
// first. (A required time, checked by [store.CheckTime], converts with [time.Time.UnixNano].)
func optNanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromOptNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return sqlstore.FromNanos(n.Int64)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// ---- Signing keys

// CreateKey implements [store.KeyStore.CreateKey]. It also returns an error wrapping
// [store.ErrInvalid] when the ID is not 1 to 64 ASCII letters, digits, '-' and '_', the algorithm
// is not one of those [store.SigningKey] lists, or a time is out of range.
//
// CreateKey takes no now: the new key's CreatedAt stands for the caller's clock. A key with the
// same ID that has expired by then is replaced (nothing of it carries over); any other with the
// same ID, and any at all when CreatedAt is zero, is a conflict. Each CreateKey also deletes up to
// 1024 keys expired at CreatedAt.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	if err := store.CheckSigningKey(k); err != nil {
		return err
	}
	expires, created, notBefore := k.ExpiresAt.UnixNano(), optNanos(k.CreatedAt), optNanos(k.NotBefore)
	if err := s.begin(ctx, keyRole); err != nil {
		return err
	}
	res, err := s.createKey.ExecContext(ctx, k.ID, k.Algorithm, k.Private, created, notBefore, expires)
	if err != nil {
		return s.fail(ctx, "create signing key", err)
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return s.fail(ctx, "create signing key", err)
	}
	if rows == 0 {
		return store.ErrConflict
	}
	if created.Valid {
		// Best effort: the key is stored whatever becomes of the purge. Keys are few and made
		// seldom, so every creation purges.
		_, _ = s.purgeKeys.ExecContext(ctx, created.Int64, purgeLimit)
	}
	return nil
}

// ListKeys implements [store.KeyStore.ListKeys].
func (s *Store) ListKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	if err := s.begin(ctx, keyRole); err != nil {
		return nil, err
	}
	rows, err := s.listKeys.QueryContext(ctx, sqlstore.NowNanos(now))
	if err != nil {
		return nil, s.fail(ctx, "list signing keys", err)
	}
	defer rows.Close()
	keys := []store.SigningKey{}
	for rows.Next() {
		var (
			k                  store.SigningKey
			created, notBefore sql.NullInt64
			expires            int64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, &created, &notBefore, &expires); err != nil {
			return nil, s.fail(ctx, "list signing keys", err)
		}
		k.CreatedAt, k.NotBefore, k.ExpiresAt = fromOptNanos(created), fromOptNanos(notBefore), sqlstore.FromNanos(expires)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list signing keys", err)
	}
	return keys, nil
}

// DeleteKey implements [store.KeyStore.DeleteKey].
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := s.begin(ctx, keyRole); err != nil {
		return err
	}
	if _, err := s.deleteKey.ExecContext(ctx, id); err != nil {
		return s.fail(ctx, "delete signing key", err)
	}
	return nil
}

// ---- Sessions

func encodeAMR(amr []string) (string, error) {
	if len(amr) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(amr)
	return string(b), err
}

func decodeAMR(text string) ([]string, error) {
	var amr []string
	if err := json.Unmarshal([]byte(text), &amr); err != nil {
		return nil, fmt.Errorf("amr %q: %w", text, err)
	}
	if len(amr) == 0 {
		return nil, nil
	}
	return amr, nil
}

// encodeHashes encodes a list of hashes for the column retired_refresh_hashes: a JSON array of
// lower-case hexadecimal strings, "[]" for an empty list (see
// migrations/0003_retired_refresh_hashes.sql).
func encodeHashes(hashes [][]byte) string {
	if len(hashes) == 0 {
		return "[]"
	}
	n := 1
	for _, h := range hashes {
		n += 2*len(h) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, h := range hashes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = hex.AppendEncode(b, h)
		b = append(b, '"')
	}
	b = append(b, ']')
	return string(b)
}

// decodeHashes decodes what encodeHashes (or another program) wrote: an empty list comes back
// nil, an empty hash as an empty, non-nil slice.
func decodeHashes(text string) ([][]byte, error) {
	var list []string
	if err := json.Unmarshal([]byte(text), &list); err != nil {
		return nil, fmt.Errorf("retired refresh hashes %q: %w", text, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	hashes := make([][]byte, len(list))
	for i, h := range list {
		var err error
		if hashes[i], err = hex.DecodeString(h); err != nil {
			return nil, fmt.Errorf("retired refresh hash #%d %q: %w", i, h, err)
		}
	}
	return hashes, nil
}

// scanSession reads the columns of sessionColumns.
func scanSession(row scanner) (store.Session, error) {
	var (
		v                                   store.Session
		chainID, idleExpires, expires       int64
		amr, retired                        string
		rotated, created, lastUsed, revoked sql.NullInt64
	)
	if err := row.Scan(&v.ID, &v.UserID, &v.Address, &chainID, &v.AAL, &amr, &v.RefreshHash, &v.PrevRefreshHash,
		&rotated, &created, &lastUsed, &idleExpires, &expires, &revoked, &v.UserAgent, &v.IP, &retired); err != nil {
		return store.Session{}, err
	}
	var err error
	if v.AMR, err = decodeAMR(amr); err != nil {
		return store.Session{}, err
	}
	if v.RetiredRefreshHashes, err = decodeHashes(retired); err != nil {
		return store.Session{}, err
	}
	v.ChainID = uint64(chainID)
	v.RotatedAt, v.CreatedAt, v.LastUsedAt = fromOptNanos(rotated), fromOptNanos(created), fromOptNanos(lastUsed)
	v.IdleExpiresAt, v.ExpiresAt, v.RevokedAt = sqlstore.FromNanos(idleExpires), sqlstore.FromNanos(expires), fromOptNanos(revoked)
	if len(v.PrevRefreshHash) == 0 {
		v.PrevRefreshHash = nil
	}
	return v, nil
}

// CreateSession implements [store.SessionStore.CreateSession]. A time out of range also gives an
// error wrapping [store.ErrInvalid].
//
// CreateSession takes no now: the new session's CreatedAt stands for the caller's clock. A
// session with the same ID that has ended by then is replaced (nothing of it carries over); any
// other with the same ID, revoked or not, and any at all when CreatedAt is zero, is a conflict.
// Every 256th CreateSession deletes up to 1024 sessions ended at its CreatedAt.
func (s *Store) CreateSession(ctx context.Context, v store.Session) error {
	if err := store.CheckSession(v); err != nil {
		return err
	}
	idleExpires, expires := v.IdleExpiresAt.UnixNano(), v.ExpiresAt.UnixNano()
	rotated, created, lastUsed, revoked := optNanos(v.RotatedAt), optNanos(v.CreatedAt), optNanos(v.LastUsedAt), optNanos(v.RevokedAt)
	amr, err := encodeAMR(v.AMR)
	if err != nil {
		return fmt.Errorf("sqlitestore: session amr: %v: %w", err, store.ErrInvalid)
	}
	var prev []byte
	if len(v.PrevRefreshHash) > 0 {
		prev = v.PrevRefreshHash
	}
	if err := s.begin(ctx, sessionRole); err != nil {
		return err
	}
	res, err := s.createSession.ExecContext(ctx, v.ID, v.UserID, v.Address, int64(v.ChainID), v.AAL, amr,
		v.RefreshHash, prev, rotated, created, lastUsed, idleExpires, expires, revoked, v.UserAgent, v.IP,
		encodeHashes(v.RetiredRefreshHashes), created)
	if err != nil {
		return s.fail(ctx, "create session", err)
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return s.fail(ctx, "create session", err)
	}
	if rows == 0 {
		return store.ErrConflict
	}
	if created.Valid && s.sessions.Add(1)%purgeEvery == 0 {
		// Best effort, as in CreateNonce.
		_, _ = s.purgeSessions.ExecContext(ctx, created.Int64, purgeLimit)
	}
	return nil
}

// GetSession implements [store.SessionStore.GetSession].
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	if err := s.begin(ctx, sessionRole); err != nil {
		return store.Session{}, err
	}
	v, err := scanSession(s.getSession.QueryRowContext(ctx, id, sqlstore.NowNanos(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, s.fail(ctx, "get session", err)
	}
	return v, nil
}

// RotateRefresh implements [store.SessionStore.RotateRefresh] with one UPDATE ... RETURNING;
// when it changes nothing, a read tells [store.ErrNotFound] from [store.ErrConflict]. An empty
// newHash, or a zero or out-of-range idleExpiresAt or now (which the session would keep), gives
// an error wrapping [store.ErrInvalid] and changes nothing. The same UPDATE sets the retired hashes,
// encoded in one column; an empty retired list comes back nil.
func (s *Store) RotateRefresh(ctx context.Context, id string, oldHash, newHash []byte, retired [][]byte, idleExpiresAt, now time.Time) (store.Session, error) {
	if err := store.CheckRefreshRotation(newHash, idleExpiresAt, now); err != nil {
		return store.Session{}, err
	}
	idleNs, nowNs := idleExpiresAt.UnixNano(), now.UnixNano()
	if oldHash == nil {
		oldHash = []byte{} // never NULL: compare as a value
	}
	if err := s.begin(ctx, sessionRole); err != nil {
		return store.Session{}, err
	}
	v, err := scanSession(s.rotateRefresh.QueryRowContext(ctx, id, oldHash, newHash, idleNs, nowNs, encodeHashes(retired)))
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, s.fail(ctx, "rotate refresh", err)
	}
	var revoked bool
	err = s.sessionState.QueryRowContext(ctx, id, nowNs).Scan(&revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && revoked:
		return store.Session{}, store.ErrNotFound
	case err != nil:
		return store.Session{}, s.fail(ctx, "rotate refresh", err)
	}
	return store.Session{}, store.ErrConflict
}

// revokeTime checks and converts the now of a revocation, which the session keeps as RevokedAt: a
// zero now would leave the session looking unrevoked.
func revokeTime(now time.Time) (int64, error) {
	if err := store.CheckTime("session revocation time", now); err != nil {
		return 0, err
	}
	return now.UnixNano(), nil
}

// RevokeSession implements [store.SessionStore.RevokeSession]. A zero or out-of-range now gives
// an error wrapping [store.ErrInvalid] and changes nothing.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	nowNs, err := revokeTime(now)
	if err != nil {
		return err
	}
	if err := s.begin(ctx, sessionRole); err != nil {
		return err
	}
	if _, err := s.revokeSession.ExecContext(ctx, id, nowNs); err != nil {
		return s.fail(ctx, "revoke session", err)
	}
	return nil
}

// RevokeUserSessions implements [store.SessionStore.RevokeUserSessions] with one UPDATE. A zero
// or out-of-range now gives an error wrapping [store.ErrInvalid] and changes nothing.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, exceptID string, now time.Time) (int, error) {
	nowNs, err := revokeTime(now)
	if err != nil {
		return 0, err
	}
	if err := s.begin(ctx, sessionRole); err != nil {
		return 0, err
	}
	res, err := s.revokeUserSessions.ExecContext(ctx, userID, exceptID, nowNs)
	if err != nil {
		return 0, s.fail(ctx, "revoke user sessions", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.fail(ctx, "revoke user sessions", err)
	}
	return int(n), nil
}

// ListSessions implements [store.SessionStore.ListSessions]. Sessions created at the same instant
// come the greater ID first.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	if err := s.begin(ctx, sessionRole); err != nil {
		return nil, err
	}
	rows, err := s.listSessions.QueryContext(ctx, userID, sqlstore.NowNanos(now))
	if err != nil {
		return nil, s.fail(ctx, "list sessions", err)
	}
	defer rows.Close()
	var list []store.Session
	for rows.Next() {
		v, err := scanSession(rows)
		if err != nil {
			return nil, s.fail(ctx, "list sessions", err)
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list sessions", err)
	}
	return list, nil
}

// RevokedSince implements [store.SessionStore.RevokedSince]. Revocations at the same instant come
// in order of session ID.
func (s *Store) RevokedSince(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	if err := s.begin(ctx, sessionRole); err != nil {
		return nil, err
	}
	rows, err := s.revokedSince.QueryContext(ctx, sqlstore.NowNanos(since), sqlstore.NowNanos(now))
	if err != nil {
		return nil, s.fail(ctx, "list revocations", err)
	}
	defer rows.Close()
	var list []store.Revocation
	for rows.Next() {
		var (
			r                store.Revocation
			revoked, expires int64
		)
		if err := rows.Scan(&r.SessionID, &revoked, &expires); err != nil {
			return nil, s.fail(ctx, "list revocations", err)
		}
		r.RevokedAt, r.ExpiresAt = sqlstore.FromNanos(revoked), sqlstore.FromNanos(expires)
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list revocations", err)
	}
	return list, nil
}

// ---- Users

// CreateUser implements [store.UserStore.CreateUser] in one transaction. It also returns an error
// wrapping [store.ErrInvalid] when a wallet has no address, when two of the user's wallets have
// the same address (without regard to case), or when a time is out of range.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := store.CheckUser(u); err != nil {
		return err
	}
	created := optNanos(u.CreatedAt)
	keys := make([]string, len(u.Wallets))
	linked := make([]sql.NullInt64, len(u.Wallets))
	for i, w := range u.Wallets {
		keys[i] = store.FoldAddress(w.Address)
		linked[i] = optNanos(w.LinkedAt)
	}
	if err := s.begin(ctx, userRole); err != nil {
		return err
	}
	// The writer has one connection and _txlock=immediate: BEGIN takes the write lock, so the
	// transaction never fails half-way for another writer, and the other goroutines queue.
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, "create user", err)
	}
	defer tx.Rollback()
	res, err := tx.StmtContext(ctx, s.insertUser).ExecContext(ctx, u.ID, created)
	if err := conflict(res, err); err != nil {
		return s.failConflict(ctx, "create user", err)
	}
	insertWallet := tx.StmtContext(ctx, s.insertWallet)
	for i, w := range u.Wallets {
		res, err := insertWallet.ExecContext(ctx, keys[i], w.Address, u.ID, i, int64(w.ChainID), linked[i])
		if err := conflict(res, err); err != nil {
			return s.failConflict(ctx, "create user", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, "create user", err)
	}
	return nil
}

// conflict returns store.ErrConflict when an INSERT ... ON CONFLICT DO NOTHING inserted nothing,
// or the error of the statement.
func conflict(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrConflict
	}
	return nil
}

// failConflict is fail, but returns store.ErrConflict as it is.
func (s *Store) failConflict(ctx context.Context, op string, err error) error {
	if errors.Is(err, store.ErrConflict) {
		return err
	}
	return s.fail(ctx, op, err)
}

// scanUser reads the rows of getUserSQL or userByWalletSQL.
func scanUser(rows *sql.Rows) (store.User, error) {
	var u store.User
	found := false
	for rows.Next() {
		var (
			id              string
			created, linked sql.NullInt64
			address         sql.NullString
			chainID         sql.NullInt64
		)
		if err := rows.Scan(&id, &created, &address, &chainID, &linked); err != nil {
			return store.User{}, err
		}
		if !found {
			u.ID, u.CreatedAt, found = id, fromOptNanos(created), true
		}
		if address.Valid {
			u.Wallets = append(u.Wallets, store.Wallet{Address: address.String, ChainID: uint64(chainID.Int64), LinkedAt: fromOptNanos(linked)})
		}
	}
	if err := rows.Err(); err != nil {
		return store.User{}, err
	}
	if !found {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

// GetUser implements [store.UserStore.GetUser].
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	return s.readUser(ctx, "get user", &s.getUser, id)
}

// UserByWallet implements [store.UserStore.UserByWallet].
func (s *Store) UserByWallet(ctx context.Context, address string) (store.User, error) {
	return s.readUser(ctx, "get user by wallet", &s.userByWallet, store.FoldAddress(address))
}

// readUser runs *st, a statement of the user role (prepared by begin), with arg.
func (s *Store) readUser(ctx context.Context, op string, st **sql.Stmt, arg string) (store.User, error) {
	if err := s.begin(ctx, userRole); err != nil {
		return store.User{}, err
	}
	rows, err := (*st).QueryContext(ctx, arg)
	if err != nil {
		return store.User{}, s.fail(ctx, op, err)
	}
	defer rows.Close()
	u, err := scanUser(rows)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	if err != nil {
		return store.User{}, s.fail(ctx, op, err)
	}
	return u, nil
}

// LinkWallet implements [store.UserStore.LinkWallet] with one INSERT ... SELECT ... FROM users
// WHERE id = ? ON CONFLICT DO NOTHING, which gives the wallet the position after the user's
// others; when it inserts nothing, a read tells [store.ErrNotFound] (no such user, whether or not
// the address is taken) from [store.ErrConflict]. It also returns an error wrapping
// [store.ErrInvalid] when LinkedAt is out of range.
func (s *Store) LinkWallet(ctx context.Context, userID string, w store.Wallet) error {
	if err := store.CheckWallet(userID, w); err != nil {
		return err
	}
	linked := optNanos(w.LinkedAt)
	if err := s.begin(ctx, userRole); err != nil {
		return err
	}
	res, err := s.linkWallet.ExecContext(ctx, store.FoldAddress(w.Address), w.Address, userID, int64(w.ChainID), linked)
	err = conflict(res, err)
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrConflict) {
		return s.fail(ctx, "link wallet", err)
	}
	// Users are never deleted: a user that exists now existed when the INSERT ran, unless a
	// CreateUser of that id came in between, which this reports as the conflict.
	var one int
	err = s.userExists.QueryRowContext(ctx, userID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return s.fail(ctx, "link wallet", err)
	}
	return store.ErrConflict
}

// UnlinkWallet implements [store.UserStore.UnlinkWallet] with one DELETE ... WHERE (the user's
// count of wallets) > 1; when it deletes nothing, a read tells [store.ErrConflict] (the user's
// last wallet) from [store.ErrNotFound]. The user's other wallets keep their order.
func (s *Store) UnlinkWallet(ctx context.Context, userID, address string) error {
	if err := s.begin(ctx, userRole); err != nil {
		return err
	}
	key := store.FoldAddress(address)
	res, err := s.unlinkWallet.ExecContext(ctx, userID, key)
	if err != nil {
		return s.fail(ctx, "unlink wallet", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(ctx, "unlink wallet", err)
	}
	if n > 0 {
		return nil
	}
	var one int
	err = s.hasWallet.QueryRowContext(ctx, userID, key).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return s.fail(ctx, "unlink wallet", err)
	}
	return store.ErrConflict
}
