package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/walletauth/walletauth/store"
)

// MaxRecoveryCodesPerUser is the most recovery codes that one user holds: a
// [Store.ReplaceRecoveryCodes] with more returns an error wrapping [store.ErrInvalid]. It matches
// the bound of memstore and sqlitestore.
const MaxRecoveryCodesPerUser = 64

// SQL of the second factors. Every operation but ReplaceRecoveryCodes is one statement (with, for
// UseTOTPStep and ResealTOTP, a read after it that tells why it changed nothing);
// ReplaceRecoveryCodes is a transaction.
const (
	totpColumns = `user_id, secret, key_id, created_at, confirmed_at, last_step`
	// putTOTPSQL inserts a factor, or replaces the user's factor while it is unconfirmed: a
	// confirmed one leaves the statement without a change, which is the conflict.
	putTOTPSQL = `INSERT INTO {schema}.totp AS f (` + totpColumns + `) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (user_id) DO UPDATE SET
	secret = excluded.secret, key_id = excluded.key_id, created_at = excluded.created_at,
	confirmed_at = excluded.confirmed_at, last_step = excluded.last_step
WHERE f.confirmed_at IS NULL`
	getTOTPSQL = `SELECT ` + totpColumns + ` FROM {schema}.totp WHERE user_id = $1`
	// useTOTPStepSQL is the compare-and-set of UseTOTPStep: only a greater step of the factor
	// whose secret is $4 moves last_step, and the first confirms the factor at $3. Of concurrent
	// calls with one step, those that wait for the first test the WHERE again on its new row.
	useTOTPStepSQL = `UPDATE {schema}.totp SET last_step = $2, confirmed_at = coalesce(confirmed_at, $3)
WHERE user_id = $1 AND secret = $4 AND last_step < $2
RETURNING ` + totpColumns
	// totpExistsSQL tells why a UseTOTPStep or ResealTOTP changed nothing: no factor, or another
	// secret (or a step not greater).
	totpExistsSQL = `SELECT 1 FROM {schema}.totp WHERE user_id = $1`
	// resealTOTPSQL is the compare-and-set of ResealTOTP: only the factor whose secret is $2 gets
	// the new secret $3.
	resealTOTPSQL = `UPDATE {schema}.totp SET secret = $3, key_id = $4 WHERE user_id = $1 AND secret = $2`
	deleteTOTPSQL = `DELETE FROM {schema}.totp WHERE user_id = $1`

	// lockSQL takes a transaction-level advisory lock (see lockKey).
	lockSQL                = `SELECT pg_advisory_xact_lock($1)`
	deleteRecoveryCodesSQL = `DELETE FROM {schema}.recovery_codes WHERE user_id = $1`
	insertRecoveryCodesSQL = `INSERT INTO {schema}.recovery_codes (user_id, hash, created_at)
SELECT $1::text, h, $3::bigint FROM unnest($2::bytea[]) AS h`
	useRecoveryCodeSQL    = `DELETE FROM {schema}.recovery_codes WHERE user_id = $1 AND hash = $2 RETURNING 1`
	countRecoveryCodesSQL = `SELECT count(*) FROM {schema}.recovery_codes WHERE user_id = $1`
)

// scanTOTP reads the columns of totpColumns.
func scanTOTP(row pgx.Row) (store.TOTP, error) {
	var (
		f                  store.TOTP
		created, confirmed pgtype.Int8
	)
	if err := row.Scan(&f.UserID, &f.Secret, &f.KeyID, &created, &confirmed, &f.LastStep); err != nil {
		return store.TOTP{}, err
	}
	f.CreatedAt, f.ConfirmedAt = fromOptNanos(created), fromOptNanos(confirmed)
	return f, nil
}

// PutTOTP implements [store.MFAStore.PutTOTP] with one INSERT ... ON CONFLICT DO UPDATE ... WHERE
// the held factor is unconfirmed; when it changes nothing, the user has a confirmed factor. It also
// returns an error wrapping [store.ErrInvalid] when LastStep is negative or a time is out of range.
func (s *Store) PutTOTP(ctx context.Context, f store.TOTP) error {
	if err := store.CheckTOTP(f); err != nil {
		return err
	}
	created, confirmed := optNanos(f.CreatedAt), optNanos(f.ConfirmedAt)
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.q.putTOTP, f.UserID, f.Secret, f.KeyID, created, confirmed, f.LastStep)
	if err != nil {
		return s.fail(ctx, "put TOTP factor", err)
	}
	return conflictIfNone(tag)
}

// GetTOTP implements [store.MFAStore.GetTOTP].
func (s *Store) GetTOTP(ctx context.Context, userID string) (store.TOTP, error) {
	if err := s.begin(ctx); err != nil {
		return store.TOTP{}, err
	}
	f, err := scanTOTP(s.pool.QueryRow(ctx, s.q.getTOTP, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.TOTP{}, store.ErrNotFound
	}
	if err != nil {
		return store.TOTP{}, s.fail(ctx, "get TOTP factor", err)
	}
	return f, nil
}

// UseTOTPStep implements [store.MFAStore.UseTOTPStep] with one UPDATE ... WHERE user_id = ? AND
// secret = ? AND last_step < step RETURNING ...; when it changes nothing, a read tells
// [store.ErrNotFound] from [store.ErrConflict]. A zero or out-of-range now gives an error wrapping
// [store.ErrInvalid] and changes nothing, whether or not the factor is confirmed: a factor
// confirmed at the zero time would look unconfirmed.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, secret []byte, step int64, now time.Time) (store.TOTP, error) {
	if err := store.CheckTime("TOTP factor time of use", now); err != nil {
		return store.TOTP{}, err
	}
	nowNs := now.UnixNano()
	if err := s.begin(ctx); err != nil {
		return store.TOTP{}, err
	}
	f, err := scanTOTP(s.pool.QueryRow(ctx, s.q.useTOTPStep, userID, step, nowNs, secret))
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.TOTP{}, s.fail(ctx, "use TOTP step", err)
	}
	return store.TOTP{}, s.totpConflict(ctx, userID, "use TOTP step")
}

// totpConflict tells why a compare-and-set of the user's factor changed nothing:
// [store.ErrNotFound] when there is no factor, [store.ErrConflict] when there is one.
func (s *Store) totpConflict(ctx context.Context, userID, op string) error {
	var one int
	err := s.pool.QueryRow(ctx, s.q.totpExists, userID).Scan(&one)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return s.fail(ctx, op, err)
	}
	return store.ErrConflict
}

// ResealTOTP implements [store.MFAStore.ResealTOTP] with one UPDATE ... WHERE user_id = ? AND
// secret = oldSecret; when it changes nothing, a read tells [store.ErrNotFound] from
// [store.ErrConflict]. An empty new secret or key ID, which PutTOTP would refuse, gives an error
// wrapping [store.ErrInvalid] and changes nothing.
func (s *Store) ResealTOTP(ctx context.Context, userID string, oldSecret, newSecret []byte, keyID string) error {
	if err := store.CheckTOTPReseal(userID, newSecret, keyID); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.q.resealTOTP, userID, oldSecret, newSecret, keyID)
	if err != nil {
		return s.fail(ctx, "reseal TOTP factor", err)
	}
	if tag.RowsAffected() == 0 {
		return s.totpConflict(ctx, userID, "reseal TOTP factor")
	}
	return nil
}

// DeleteTOTP implements [store.MFAStore.DeleteTOTP]. It leaves the user's recovery codes.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.q.deleteTOTP, userID); err != nil {
		return s.fail(ctx, "delete TOTP factor", err)
	}
	return nil
}

// ReplaceRecoveryCodes implements [store.MFAStore.ReplaceRecoveryCodes] in one transaction, which
// takes an advisory lock of the user's codes (so that replacements of one user's set run one
// after the other), deletes the user's codes and inserts the new ones: readers see the old set or
// the new, never a mix or none in between, and a use of an old code either commits before the
// replacement or finds the code gone. Each code keeps now (NULL when zero) as its created_at. It
// returns an error wrapping [store.ErrInvalid], and keeps the old set, when userID is empty, a hash
// is empty, a hash is given twice, there are more than [MaxRecoveryCodesPerUser] hashes, or now is
// out of range.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	if err := store.CheckRecoveryCodes(userID, hashes, MaxRecoveryCodesPerUser, now); err != nil {
		return err
	}
	created := optNanos(now)
	if err := s.begin(ctx); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockSQL, lockKey(s.schema, "recovery codes", userID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q.deleteRecoveryCodes, userID); err != nil {
			return err
		}
		if len(hashes) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, s.q.insertRecoveryCodes, userID, hashes, created)
		return err
	})
	if err != nil {
		return s.fail(ctx, "replace recovery codes", err)
	}
	return nil
}

// UseRecoveryCode implements [store.MFAStore.UseRecoveryCode] with one DELETE ... RETURNING.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	var one int
	err := s.pool.QueryRow(ctx, s.q.useRecoveryCode, userID, hash).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return s.fail(ctx, "use recovery code", err)
	}
	return nil
}

// CountRecoveryCodes implements [store.MFAStore.CountRecoveryCodes].
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	var n int64
	if err := s.pool.QueryRow(ctx, s.q.countRecoveryCodes, userID).Scan(&n); err != nil {
		return 0, s.fail(ctx, "count recovery codes", err)
	}
	return int(n), nil
}
