package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/walletauth/walletauth/internal/sqlstore"
	"github.com/walletauth/walletauth/store"
)

var errWindow = fmt.Errorf("pgstore: counter window must be positive: %w", store.ErrInvalid)

// SQL of the nonces and counters. Every operation is one statement, atomic without a transaction.
// {schema} stands for the quoted schema (see newQueries).
const (
	// createNonceSQL inserts a nonce, or replaces one with the same value that has expired by now
	// ($7): a live one leaves the statement without a change, which is the conflict.
	createNonceSQL = `INSERT INTO {schema}.nonces AS n (value, address, chain_id, issued_at, expires_at, failures)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (value) DO UPDATE SET
	address = excluded.address, chain_id = excluded.chain_id, issued_at = excluded.issued_at,
	expires_at = excluded.expires_at, failures = excluded.failures
WHERE n.expires_at <= $7`
	getNonceSQL = `SELECT address, chain_id, issued_at, expires_at, failures FROM {schema}.nonces
WHERE value = $1 AND expires_at > $2`
	consumeNonceSQL = `DELETE FROM {schema}.nonces WHERE value = $1 AND expires_at > $2
RETURNING address, chain_id, issued_at, expires_at, failures`
	addNonceFailureSQL = `UPDATE {schema}.nonces SET failures = failures + 1 WHERE value = $1 AND expires_at > $2
RETURNING failures`
	deleteNonceSQL = `DELETE FROM {schema}.nonces WHERE value = $1`
	// purgeNoncesSQL deletes up to $2 nonces expired at $1. The condition on expires_at is
	// repeated outside the subquery so that a row renewed meanwhile (CreateNonce over an expired
	// value) is checked again, and kept; SKIP LOCKED leaves rows that other calls hold.
	purgeNoncesSQL = `DELETE FROM {schema}.nonces WHERE expires_at <= $1 AND value IN
(SELECT value FROM {schema}.nonces WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`

	// incrementCounterSQL starts the counter $1 with a window ending at $3, or counts one more in
	// its window, or starts a new window when the last has ended at now ($2).
	incrementCounterSQL = `INSERT INTO {schema}.counters AS c (key, count, reset_at) VALUES ($1, 1, $3)
ON CONFLICT (key) DO UPDATE SET
	count = CASE WHEN c.reset_at <= $2 THEN 1 ELSE c.count + 1 END,
	reset_at = CASE WHEN c.reset_at <= $2 THEN $3 ELSE c.reset_at END
RETURNING count, reset_at`
	resetCounterSQL  = `DELETE FROM {schema}.counters WHERE key = $1`
	purgeCountersSQL = `DELETE FROM {schema}.counters WHERE reset_at <= $1 AND key IN
(SELECT key FROM {schema}.counters WHERE reset_at <= $1 ORDER BY reset_at LIMIT $2 FOR UPDATE SKIP LOCKED)`
)

// CreateNonce implements [store.NonceStore.CreateNonce] with one INSERT ... ON CONFLICT DO UPDATE
// ... WHERE the held nonce has expired at now. Times outside the years 1678 to 2261 give an error
// wrapping [store.ErrInvalid]. Every 256th call deletes up to 1024 expired nonces.
func (s *Store) CreateNonce(ctx context.Context, n store.Nonce, now time.Time) error {
	if err := store.CheckNonce(n); err != nil {
		return err
	}
	expires, issued := n.ExpiresAt.UnixNano(), optNanos(n.IssuedAt)
	if err := s.begin(ctx); err != nil {
		return err
	}
	nowNs := sqlstore.NowNanos(now)
	tag, err := s.pool.Exec(ctx, s.q.createNonce, n.Value, n.Address, int64(n.ChainID), issued, expires, int64(n.Failures), nowNs)
	if err != nil {
		return s.fail(ctx, "create nonce", err)
	}
	if err := conflictIfNone(tag); err != nil {
		return err
	}
	if s.creates.Add(1)%purgeEvery == 0 {
		// Best effort: the nonce is stored whatever becomes of the purge.
		_, _ = s.pool.Exec(ctx, s.q.purgeNonces, nowNs, purgeLimit)
	}
	return nil
}

// scanNonce reads the columns address, chain_id, issued_at, expires_at, failures.
func scanNonce(row pgx.Row, value string) (store.Nonce, error) {
	var (
		chainID, expires, failures int64
		issued                     pgtype.Int8
	)
	n := store.Nonce{Value: value}
	if err := row.Scan(&n.Address, &chainID, &issued, &expires, &failures); err != nil {
		return store.Nonce{}, err
	}
	n.ChainID = uint64(chainID)
	n.IssuedAt = fromOptNanos(issued)
	n.ExpiresAt = sqlstore.FromNanos(expires)
	n.Failures = int(failures)
	return n, nil
}

// GetNonce implements [store.NonceStore.GetNonce].
func (s *Store) GetNonce(ctx context.Context, value string, now time.Time) (store.Nonce, error) {
	if err := s.begin(ctx); err != nil {
		return store.Nonce{}, err
	}
	n, err := scanNonce(s.pool.QueryRow(ctx, s.q.getNonce, value, sqlstore.NowNanos(now)), value)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Nonce{}, store.ErrNotFound
	}
	if err != nil {
		return store.Nonce{}, s.fail(ctx, "get nonce", err)
	}
	return n, nil
}

// ConsumeNonce implements [store.NonceStore.ConsumeNonce] with one DELETE ... RETURNING: of
// concurrent calls, the first deletes the row and the others, once it commits, find none.
func (s *Store) ConsumeNonce(ctx context.Context, value string, now time.Time) (store.Nonce, error) {
	if err := s.begin(ctx); err != nil {
		return store.Nonce{}, err
	}
	n, err := scanNonce(s.pool.QueryRow(ctx, s.q.consumeNonce, value, sqlstore.NowNanos(now)), value)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Nonce{}, store.ErrNotFound
	}
	if err != nil {
		return store.Nonce{}, s.fail(ctx, "consume nonce", err)
	}
	return n, nil
}

// AddNonceFailure implements [store.NonceStore.AddNonceFailure] with one UPDATE ... RETURNING.
func (s *Store) AddNonceFailure(ctx context.Context, value string, now time.Time) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	var failures int64
	err := s.pool.QueryRow(ctx, s.q.addNonceFailure, value, sqlstore.NowNanos(now)).Scan(&failures)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, store.ErrNotFound
	}
	if err != nil {
		return 0, s.fail(ctx, "add nonce failure", err)
	}
	return int(failures), nil
}

// DeleteNonce implements [store.NonceStore.DeleteNonce].
func (s *Store) DeleteNonce(ctx context.Context, value string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.q.deleteNonce, value); err != nil {
		return s.fail(ctx, "delete nonce", err)
	}
	return nil
}

// IncrementCounter implements [store.CounterStore.IncrementCounter] with one INSERT ... ON
// CONFLICT DO UPDATE ... RETURNING. A window that would end after the year 2261 gives an error
// wrapping [store.ErrInvalid]. Every 256th counter started deletes up to 1024 ended ones.
func (s *Store) IncrementCounter(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if window <= 0 {
		return 0, time.Time{}, errWindow
	}
	nowNs, ok := sqlstore.Nanos(now)
	if !ok {
		return 0, time.Time{}, fmt.Errorf("pgstore: counter time %v out of range: %w", now, store.ErrInvalid)
	}
	resetNs, ok := sqlstore.Nanos(now.Add(window))
	if !ok || resetNs < nowNs {
		return 0, time.Time{}, fmt.Errorf("pgstore: counter window end %v out of range: %w", now.Add(window), store.ErrInvalid)
	}
	if err := s.begin(ctx); err != nil {
		return 0, time.Time{}, err
	}
	var count, resetAt int64
	if err := s.pool.QueryRow(ctx, s.q.incrementCounter, key, nowNs, resetNs).Scan(&count, &resetAt); err != nil {
		return 0, time.Time{}, s.fail(ctx, "increment counter", err)
	}
	if count == 1 && s.counts.Add(1)%purgeEvery == 0 {
		// Best effort, as in CreateNonce.
		_, _ = s.pool.Exec(ctx, s.q.purgeCounters, nowNs, purgeLimit)
	}
	return count, sqlstore.FromNanos(resetAt), nil
}

// ResetCounter implements [store.CounterStore.ResetCounter].
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.q.resetCounter, key); err != nil {
		return s.fail(ctx, "reset counter", err)
	}
	return nil
}
