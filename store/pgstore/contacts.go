package pgstore

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/walletauth/walletauth/internal/sqlstore"
	"github.com/walletauth/walletauth/store"
)

// SQL of the contacts and verification codes. AddContact, DeleteContact, PutCode and GetCode are
// one statement each; VerifyContact, SetPrimaryContact, ConsumeCode and AddCodeFailure are
// transactions.
const (
	contactColumns = `user_id, kind, value, added_at, verified_at, is_primary`
	// addContactSQL inserts an unverified contact after the user's others or, when the user has
	// it, returns the stored one: the DO UPDATE sets nothing to a new value, and RETURNING gives
	// the row as it is, in the same statement.
	addContactSQL = `INSERT INTO {schema}.contacts AS c (user_id, kind, value, added_at, verified_at, is_primary)
VALUES ($1, $2, $3, $4, NULL, false)
ON CONFLICT (user_id, kind, value) DO UPDATE SET added_at = c.added_at
RETURNING ` + contactColumns
	listContactsSQL = `SELECT ` + contactColumns + ` FROM {schema}.contacts WHERE user_id = $1 ORDER BY seq`
	getContactSQL   = `SELECT ` + contactColumns + ` FROM {schema}.contacts WHERE user_id = $1 AND kind = $2 AND value = $3`
	// verifyContactSQL verifies the user's unverified contact unless a contact of its kind and
	// value is verified (which, this one being unverified, is another user's), and makes it
	// primary when the user has no primary contact of its kind. Another user's verification that
	// commits meanwhile makes it fail on the unique index contacts_verified instead.
	verifyContactSQL = `UPDATE {schema}.contacts AS c SET verified_at = $4,
	is_primary = NOT EXISTS (SELECT 1 FROM {schema}.contacts AS p WHERE p.user_id = $1 AND p.kind = $2 AND p.is_primary)
WHERE c.user_id = $1 AND c.kind = $2 AND c.value = $3 AND c.verified_at IS NULL
AND NOT EXISTS (SELECT 1 FROM {schema}.contacts AS o WHERE o.kind = $2 AND o.value = $3 AND o.verified_at IS NOT NULL)
RETURNING ` + contactColumns
	// setPrimaryContactSQL makes the user's contact $3 the primary one of its kind and the former
	// primary not, only when $3 is verified: the check and both changes are one statement.
	setPrimaryContactSQL = `UPDATE {schema}.contacts SET is_primary = (value = $3)
WHERE user_id = $1 AND kind = $2 AND (is_primary OR value = $3)
AND EXISTS (SELECT 1 FROM {schema}.contacts AS t WHERE t.user_id = $1 AND t.kind = $2 AND t.value = $3 AND t.verified_at IS NOT NULL)`
	deleteContactSQL = `DELETE FROM {schema}.contacts WHERE user_id = $1 AND kind = $2 AND value = $3`

	putCodeSQL = `INSERT INTO {schema}.verification_codes AS v (key, hash, expires_at, failures) VALUES ($1, $2, $3, $4)
ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at, failures = excluded.failures`
	getCodeSQL = `SELECT hash, expires_at, failures FROM {schema}.verification_codes WHERE key = $1 AND expires_at > $2`
	// codeHashSQL reads the live code's hash; consumeCodeSQL deletes the code only while it is
	// live and still holds that hash (a compare-and-delete in one statement).
	codeHashSQL       = `SELECT hash FROM {schema}.verification_codes WHERE key = $1 AND expires_at > $2`
	consumeCodeSQL    = `DELETE FROM {schema}.verification_codes WHERE key = $1 AND hash = $2 AND expires_at > $3`
	deleteCodeSQL     = `DELETE FROM {schema}.verification_codes WHERE key = $1`
	addCodeFailureSQL = `UPDATE {schema}.verification_codes SET failures = failures + 1 WHERE key = $1 AND expires_at > $2
RETURNING failures`
	purgeCodesSQL = `DELETE FROM {schema}.verification_codes WHERE expires_at <= $1 AND key IN
(SELECT key FROM {schema}.verification_codes WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`
)

// scanContact reads the columns of contactColumns.
func scanContact(row pgx.Row) (store.Contact, error) {
	var (
		c               store.Contact
		added, verified pgtype.Int8
	)
	if err := row.Scan(&c.UserID, &c.Kind, &c.Value, &added, &verified, &c.Primary); err != nil {
		return store.Contact{}, err
	}
	c.AddedAt, c.VerifiedAt = fromOptNanos(added), fromOptNanos(verified)
	return c, nil
}

// AddContact implements [store.ContactStore.AddContact] with one INSERT ... ON CONFLICT DO
// UPDATE (of nothing) ... RETURNING, which gives the new contact or the one the user has. The
// contact is stored unverified and not primary, whatever c's VerifiedAt and Primary say. It also
// returns an error wrapping [store.ErrInvalid] when AddedAt is out of range.
func (s *Store) AddContact(ctx context.Context, c store.Contact) (store.Contact, error) {
	if err := store.CheckContact(c); err != nil {
		return store.Contact{}, err
	}
	added := optNanos(c.AddedAt)
	if err := s.begin(ctx); err != nil {
		return store.Contact{}, err
	}
	got, err := scanContact(s.pool.QueryRow(ctx, s.q.addContact, c.UserID, c.Kind, c.Value, added))
	if err != nil {
		return store.Contact{}, s.fail(ctx, "add contact", err)
	}
	return got, nil
}

// ListContacts implements [store.ContactStore.ListContacts]. It returns nil when the user has
// none.
func (s *Store) ListContacts(ctx context.Context, userID string) ([]store.Contact, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.q.listContacts, userID)
	if err != nil {
		return nil, s.fail(ctx, "list contacts", err)
	}
	defer rows.Close()
	var list []store.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, s.fail(ctx, "list contacts", err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list contacts", err)
	}
	return list, nil
}

// lockContacts takes the advisory lock of the user's contacts of a kind, which VerifyContact and
// SetPrimaryContact hold so that the changes of one user's primary contact run one after the
// other.
func (s *Store) lockContacts(ctx context.Context, tx pgx.Tx, userID, kind string) error {
	_, err := tx.Exec(ctx, lockSQL, lockKey(s.schema, "contacts", userID, kind))
	return err
}

// VerifyContact implements [store.ContactStore.VerifyContact] in one transaction: under the lock
// of the user's contacts of the kind, an UPDATE ... WHERE the contact is unverified AND NOT EXISTS
// (a verified contact of its kind and value) RETURNING ..., which also makes it primary when the
// user has no primary contact of its kind. Of users verifying one value at once, the unique index
// on verified values lets one win; the others get [store.ErrConflict]. When it changes nothing, a
// read tells [store.ErrNotFound] (no such contact) from [store.ErrConflict] (another user has it
// verified) and from a contact the user has verified already, which it returns unchanged
// (VerifiedAt stays). A zero or out-of-range now gives an error wrapping [store.ErrInvalid]: a
// contact verified at the zero time would look unverified.
func (s *Store) VerifyContact(ctx context.Context, userID, kind, value string, now time.Time) (store.Contact, error) {
	if err := store.CheckTime("contact verification time", now); err != nil {
		return store.Contact{}, err
	}
	nowNs := now.UnixNano()
	if err := s.begin(ctx); err != nil {
		return store.Contact{}, err
	}
	var c store.Contact
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.lockContacts(ctx, tx, userID, kind); err != nil {
			return err
		}
		var err error
		c, err = scanContact(tx.QueryRow(ctx, s.q.verifyContact, userID, kind, value, nowNs))
		switch {
		case err == nil:
			return nil
		case uniqueViolation(err, "contacts_verified"):
			return store.ErrConflict
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		c, err = scanContact(tx.QueryRow(ctx, s.q.getContact, userID, kind, value))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		case c.VerifiedAt.IsZero():
			return store.ErrConflict
		}
		return nil
	})
	if err != nil {
		return store.Contact{}, s.fail(ctx, "verify contact", err)
	}
	return c, nil
}

// SetPrimaryContact implements [store.ContactStore.SetPrimaryContact] in one transaction: under
// the lock of the user's contacts of the kind, one UPDATE makes the contact primary and the former
// primary not, only when the contact is verified; when it changes nothing, a read tells
// [store.ErrNotFound] from [store.ErrConflict].
func (s *Store) SetPrimaryContact(ctx context.Context, userID, kind, value string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.lockContacts(ctx, tx, userID, kind); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, s.q.setPrimaryContact, userID, kind, value)
		if err != nil {
			return err
		}
		if tag.RowsAffected() > 0 {
			return nil
		}
		_, err = scanContact(tx.QueryRow(ctx, s.q.getContact, userID, kind, value))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		}
		return store.ErrConflict // the contact is not verified
	})
	if err != nil {
		return s.fail(ctx, "set primary contact", err)
	}
	return nil
}

// DeleteContact implements [store.ContactStore.DeleteContact]. Deleting the primary contact
// leaves the user without a primary contact of its kind.
func (s *Store) DeleteContact(ctx context.Context, userID, kind, value string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.q.deleteContact, userID, kind, value); err != nil {
		return s.fail(ctx, "delete contact", err)
	}
	return nil
}

// PutCode implements [store.CodeStore.PutCode] with one upsert. It also returns an error wrapping
// [store.ErrInvalid] when ExpiresAt is out of range or Failures is negative. Every 256th call
// deletes up to 1024 expired codes.
func (s *Store) PutCode(ctx context.Context, c store.VerificationCode, now time.Time) error {
	if err := store.CheckVerificationCode(c); err != nil {
		return err
	}
	expires := c.ExpiresAt.UnixNano()
	if err := s.begin(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.q.putCode, c.Key, c.Hash, expires, int64(c.Failures)); err != nil {
		return s.fail(ctx, "put verification code", err)
	}
	if s.puts.Add(1)%purgeEvery == 0 {
		// Best effort, as in CreateNonce.
		_, _ = s.pool.Exec(ctx, s.q.purgeCodes, sqlstore.NowNanos(now), purgeLimit)
	}
	return nil
}

// GetCode implements [store.CodeStore.GetCode].
func (s *Store) GetCode(ctx context.Context, key string, now time.Time) (store.VerificationCode, error) {
	if err := s.begin(ctx); err != nil {
		return store.VerificationCode{}, err
	}
	var (
		c                 = store.VerificationCode{Key: key}
		expires, failures int64
	)
	err := s.pool.QueryRow(ctx, s.q.getCode, key, sqlstore.NowNanos(now)).Scan(&c.Hash, &expires, &failures)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.VerificationCode{}, store.ErrNotFound
	}
	if err != nil {
		return store.VerificationCode{}, s.fail(ctx, "get verification code", err)
	}
	c.ExpiresAt, c.Failures = sqlstore.FromNanos(expires), int(failures)
	return c, nil
}

// ConsumeCode implements [store.CodeStore.ConsumeCode]: it reads the live code's hash, compares
// it with hash in constant time (which SQL's = does not), and when they are equal deletes the code
// with one statement that is a compare-and-delete on that hash (and the expiry): of concurrent
// calls exactly one deletes it, and a code replaced in between (a resend) is not consumed by the
// old one's hash.
func (s *Store) ConsumeCode(ctx context.Context, key string, hash []byte, now time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	var held []byte
	err := s.pool.QueryRow(ctx, s.q.codeHash, key, sqlstore.NowNanos(now)).Scan(&held)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return s.fail(ctx, "consume verification code", store.ErrNotFound)
	case err != nil:
		return s.fail(ctx, "consume verification code", err)
	case subtle.ConstantTimeCompare(held, hash) != 1:
		return s.fail(ctx, "consume verification code", store.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, s.q.consumeCode, key, held, sqlstore.NowNanos(now))
	switch {
	case err != nil:
		return s.fail(ctx, "consume verification code", err)
	case tag.RowsAffected() != 1:
		return s.fail(ctx, "consume verification code", store.ErrNotFound)
	}
	return nil
}

// AddCodeFailure implements [store.CodeStore.AddCodeFailure] in one transaction: an UPDATE ... SET
// failures = failures + 1 ... RETURNING failures, which locks the row, and a DELETE of the code
// when the count reaches or passes maxFailures. A maxFailures below 1 gives an error wrapping
// [store.ErrInvalid] and changes nothing.
func (s *Store) AddCodeFailure(ctx context.Context, key string, maxFailures int, now time.Time) (int, error) {
	if err := store.CheckMaxFailures(key, maxFailures); err != nil {
		return 0, err
	}
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	var failures int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, s.q.addCodeFailure, key, sqlstore.NowNanos(now)).Scan(&failures)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		case failures >= int64(maxFailures):
			_, err = tx.Exec(ctx, s.q.deleteCode, key)
		}
		return err
	})
	if err != nil {
		return 0, s.fail(ctx, "add verification code failure", err)
	}
	return int(failures), nil
}
