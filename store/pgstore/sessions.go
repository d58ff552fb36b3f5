package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/walletauth/walletauth/internal/sqlstore"
	"github.com/walletauth/walletauth/store"
)

// SQL of the signing keys and sessions. Every operation is one statement (with, for
// RotateRefresh, a read after it that tells why it changed nothing). {channel} stands for the
// quoted name of the schema's LISTEN/NOTIFY channel: the statements that change keys or revoke
// sessions notify in the same statement, so that a change is announced when, and only when, it
// commits.
const (
	// createKeySQL inserts a key, or replaces one with the same ID that has expired by the new
	// key's creation time ($4; NULL when zero, which replaces nothing), and notifies when it did.
	// It returns the number of rows written (and of notifications sent).
	createKeySQL = `WITH c AS (
	INSERT INTO {schema}.signing_keys AS k (id, algorithm, private, created_at, not_before, expires_at)
	VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (id) DO UPDATE SET
		algorithm = excluded.algorithm, private = excluded.private, created_at = excluded.created_at,
		not_before = excluded.not_before, expires_at = excluded.expires_at
	WHERE k.expires_at <= $4
	RETURNING 1
), n AS (SELECT pg_notify({channel}, 'keys') FROM c LIMIT 1)
SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM n)`
	listKeysSQL = `SELECT id, algorithm, private, created_at, not_before, expires_at FROM {schema}.signing_keys
WHERE expires_at > $1 ORDER BY not_before DESC NULLS LAST, id DESC`
	deleteKeySQL = `WITH d AS (DELETE FROM {schema}.signing_keys WHERE id = $1 RETURNING 1),
n AS (SELECT pg_notify({channel}, 'keys') FROM d LIMIT 1)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM n)`
	purgeKeysSQL = `DELETE FROM {schema}.signing_keys WHERE expires_at <= $1 AND id IN
(SELECT id FROM {schema}.signing_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`

	sessionColumns = `id, user_id, address, chain_id, aal, amr, refresh_hash, prev_refresh_hash, retired_refresh_hashes,
	rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, user_agent, ip`

	// createSessionSQL inserts a session, or replaces one with the same ID that has ended by the
	// new session's creation time ($11; NULL when zero, which replaces nothing).
	createSessionSQL = `INSERT INTO {schema}.sessions AS s (` + sessionColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT (id) DO UPDATE SET
	user_id = excluded.user_id, address = excluded.address, chain_id = excluded.chain_id,
	aal = excluded.aal, amr = excluded.amr, refresh_hash = excluded.refresh_hash,
	prev_refresh_hash = excluded.prev_refresh_hash, retired_refresh_hashes = excluded.retired_refresh_hashes,
	rotated_at = excluded.rotated_at, created_at = excluded.created_at, last_used_at = excluded.last_used_at,
	idle_expires_at = excluded.idle_expires_at, expires_at = excluded.expires_at,
	revoked_at = excluded.revoked_at, user_agent = excluded.user_agent, ip = excluded.ip
WHERE least(s.idle_expires_at, s.expires_at) <= $11`
	getSessionSQL = `SELECT ` + sessionColumns + ` FROM {schema}.sessions
WHERE id = $1 AND idle_expires_at > $2 AND expires_at > $2`
	// rotateRefreshSQL is the compare-and-set of RotateRefresh. The right-hand sides of SET see
	// the row as it was, so prev_refresh_hash takes the replaced hash (which equals $2). Of
	// concurrent calls, the first locks the row; the others wait for it to commit and then test
	// the WHERE again on the new row, whose hash is no longer $2.
	rotateRefreshSQL = `UPDATE {schema}.sessions SET
	prev_refresh_hash = refresh_hash, refresh_hash = $3, retired_refresh_hashes = $6,
	idle_expires_at = $4, rotated_at = $5, last_used_at = $5
WHERE id = $1 AND refresh_hash = $2 AND revoked_at IS NULL AND idle_expires_at > $5 AND expires_at > $5
RETURNING ` + sessionColumns
	// sessionStateSQL tells why a RotateRefresh changed nothing: no live row, a revoked session,
	// or another hash.
	sessionStateSQL = `SELECT revoked_at IS NOT NULL FROM {schema}.sessions
WHERE id = $1 AND idle_expires_at > $2 AND expires_at > $2`
	// revokeSessionSQL and revokeUserSessionsSQL revoke, notify when they revoked any session,
	// and return the number of sessions revoked (and of notifications sent).
	revokeSessionSQL = `WITH r AS (
	UPDATE {schema}.sessions SET revoked_at = $2
	WHERE id = $1 AND revoked_at IS NULL AND idle_expires_at > $2 AND expires_at > $2
	RETURNING 1
), n AS (SELECT pg_notify({channel}, 'revoked') FROM r LIMIT 1)
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM n)`
	revokeUserSessionsSQL = `WITH r AS (
	UPDATE {schema}.sessions SET revoked_at = $3
	WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL AND idle_expires_at > $3 AND expires_at > $3
	RETURNING 1
), n AS (SELECT pg_notify({channel}, 'revoked') FROM r LIMIT 1)
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM n)`
	// listSessionsSQL lists the newest first; a zero CreatedAt (NULL) is the oldest.
	listSessionsSQL = `SELECT ` + sessionColumns + ` FROM {schema}.sessions
WHERE user_id = $1 AND revoked_at IS NULL AND idle_expires_at > $2 AND expires_at > $2
ORDER BY created_at DESC NULLS LAST, id DESC`
	revokedSinceSQL = `SELECT id, revoked_at, expires_at FROM {schema}.sessions
WHERE revoked_at >= $1 AND idle_expires_at > $2 AND expires_at > $2
ORDER BY revoked_at, id`
	purgeSessionsSQL = `DELETE FROM {schema}.sessions WHERE least(idle_expires_at, expires_at) <= $1 AND id IN
(SELECT id FROM {schema}.sessions WHERE least(idle_expires_at, expires_at) <= $1
ORDER BY least(idle_expires_at, expires_at) LIMIT $2 FOR UPDATE SKIP LOCKED)`
)

// ---- Signing keys

// CreateKey implements [store.KeyStore.CreateKey] with one statement that inserts the key and
// notifies [store.ChangeKeys] to the watches. It also returns an error wrapping
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
	if err := s.begin(ctx); err != nil {
		return err
	}
	var written, notified int64
	if err := s.pool.QueryRow(ctx, s.q.createKey, k.ID, k.Algorithm, k.Private, created, notBefore, expires).Scan(&written, &notified); err != nil {
		return s.fail(ctx, "create signing key", err)
	}
	if written == 0 {
		return store.ErrConflict
	}
	if created.Valid {
		// Best effort: the key is stored whatever becomes of the purge. Keys are few and made
		// seldom, so every creation purges.
		_, _ = s.pool.Exec(ctx, s.q.purgeKeys, created.Int64, purgeLimit)
	}
	return nil
}

// ListKeys implements [store.KeyStore.ListKeys]. Keys with the same NotBefore come the greater ID
// first, IDs compared byte by byte; a zero NotBefore is the oldest.
func (s *Store) ListKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.q.listKeys, sqlstore.NowNanos(now))
	if err != nil {
		return nil, s.fail(ctx, "list signing keys", err)
	}
	defer rows.Close()
	keys := []store.SigningKey{}
	for rows.Next() {
		var (
			k                  store.SigningKey
			created, notBefore pgtype.Int8
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

// DeleteKey implements [store.KeyStore.DeleteKey] with one statement that deletes the key and,
// when there was one, notifies [store.ChangeKeys] to the watches.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.q.deleteKey, id); err != nil {
		return s.fail(ctx, "delete signing key", err)
	}
	return nil
}

// ---- Sessions

// nonNilHashes returns hashes with each nil hash made empty (so that the array holds no NULL),
// and an empty list for nil. It does not change hashes.
func nonNilHashes(hashes [][]byte) [][]byte {
	out := make([][]byte, len(hashes))
	for i, h := range hashes {
		if h == nil {
			h = []byte{}
		}
		out[i] = h
	}
	return out
}

// scanSession reads the columns of sessionColumns.
func scanSession(row pgx.Row) (store.Session, error) {
	var (
		v                                   store.Session
		chainID, idleExpires, expires       int64
		rotated, created, lastUsed, revoked pgtype.Int8
		userAgent                           []byte
	)
	if err := row.Scan(&v.ID, &v.UserID, &v.Address, &chainID, &v.AAL, &v.AMR, &v.RefreshHash, &v.PrevRefreshHash,
		&v.RetiredRefreshHashes, &rotated, &created, &lastUsed, &idleExpires, &expires, &revoked, &userAgent, &v.IP); err != nil {
		return store.Session{}, err
	}
	v.UserAgent = string(userAgent)
	v.ChainID = uint64(chainID)
	v.RotatedAt, v.CreatedAt, v.LastUsedAt = fromOptNanos(rotated), fromOptNanos(created), fromOptNanos(lastUsed)
	v.IdleExpiresAt, v.ExpiresAt, v.RevokedAt = sqlstore.FromNanos(idleExpires), sqlstore.FromNanos(expires), fromOptNanos(revoked)
	if len(v.AMR) == 0 {
		v.AMR = nil
	}
	if len(v.PrevRefreshHash) == 0 {
		v.PrevRefreshHash = nil
	}
	if len(v.RetiredRefreshHashes) == 0 {
		v.RetiredRefreshHashes = nil
	}
	return v, nil
}

// CreateSession implements [store.SessionStore.CreateSession] with one INSERT ... ON CONFLICT DO
// UPDATE ... WHERE the held session has ended. A time out of range also gives an error wrapping
// [store.ErrInvalid]. UserAgent is kept as bytes: a client's header need not be UTF-8.
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
	amr := v.AMR
	if amr == nil {
		amr = []string{}
	}
	var prev []byte // NULL before the first rotation
	if len(v.PrevRefreshHash) > 0 {
		prev = v.PrevRefreshHash
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.q.createSession, v.ID, v.UserID, v.Address, int64(v.ChainID), v.AAL, amr,
		v.RefreshHash, prev, nonNilHashes(v.RetiredRefreshHashes), rotated, created, lastUsed, idleExpires, expires,
		revoked, []byte(v.UserAgent), v.IP)
	if err != nil {
		return s.fail(ctx, "create session", err)
	}
	if err := conflictIfNone(tag); err != nil {
		return err
	}
	if created.Valid && s.starts.Add(1)%purgeEvery == 0 {
		// Best effort, as in CreateNonce.
		_, _ = s.pool.Exec(ctx, s.q.purgeSessions, created.Int64, purgeLimit)
	}
	return nil
}

// GetSession implements [store.SessionStore.GetSession].
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	if err := s.begin(ctx); err != nil {
		return store.Session{}, err
	}
	v, err := scanSession(s.pool.QueryRow(ctx, s.q.getSession, id, sqlstore.NowNanos(now)))
	if errors.Is(err, pgx.ErrNoRows) {
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
// an error wrapping [store.ErrInvalid] and changes nothing. The same UPDATE sets the retired
// hashes, one bytea[] column; an empty retired list comes back nil.
func (s *Store) RotateRefresh(ctx context.Context, id string, oldHash, newHash []byte, retired [][]byte, idleExpiresAt, now time.Time) (store.Session, error) {
	if err := store.CheckRefreshRotation(newHash, idleExpiresAt, now); err != nil {
		return store.Session{}, err
	}
	idleNs, nowNs := idleExpiresAt.UnixNano(), now.UnixNano()
	if oldHash == nil {
		oldHash = []byte{} // never NULL: compare as a value
	}
	if err := s.begin(ctx); err != nil {
		return store.Session{}, err
	}
	v, err := scanSession(s.pool.QueryRow(ctx, s.q.rotateRefresh, id, oldHash, newHash, idleNs, nowNs, nonNilHashes(retired)))
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Session{}, s.fail(ctx, "rotate refresh", err)
	}
	var revoked bool
	err = s.pool.QueryRow(ctx, s.q.sessionState, id, nowNs).Scan(&revoked)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || err == nil && revoked:
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

// RevokeSession implements [store.SessionStore.RevokeSession] with one statement that revokes
// the session and, when it was live and unrevoked, notifies [store.ChangeRevoked] to the watches.
// A zero or out-of-range now gives an error wrapping [store.ErrInvalid] and changes nothing.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	nowNs, err := revokeTime(now)
	if err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.q.revokeSession, id, nowNs); err != nil {
		return s.fail(ctx, "revoke session", err)
	}
	return nil
}

// RevokeUserSessions implements [store.SessionStore.RevokeUserSessions] with one statement that
// revokes the sessions and, when it revoked any, notifies [store.ChangeRevoked] to the watches. A
// zero or out-of-range now gives an error wrapping [store.ErrInvalid] and changes nothing.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, exceptID string, now time.Time) (int, error) {
	nowNs, err := revokeTime(now)
	if err != nil {
		return 0, err
	}
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	var revoked, notified int64
	if err := s.pool.QueryRow(ctx, s.q.revokeUserSessions, userID, exceptID, nowNs).Scan(&revoked, &notified); err != nil {
		return 0, s.fail(ctx, "revoke user sessions", err)
	}
	return int(revoked), nil
}

// ListSessions implements [store.SessionStore.ListSessions]. Sessions created at the same instant
// come the greater ID first, IDs compared byte by byte.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.q.listSessions, userID, sqlstore.NowNanos(now))
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
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.q.revokedSince, sqlstore.NowNanos(since), sqlstore.NowNanos(now))
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
