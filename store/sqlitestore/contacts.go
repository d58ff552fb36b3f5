package sqlitestore

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"time"

	"github.com/walletauth/walletauth/internal/sqlstore"
	"github.com/walletauth/walletauth/store"
)

// SQL of the contacts and verification codes. Every operation but ConsumeCode and AddCodeFailure
// is one statement (with, for VerifyContact and SetPrimaryContact, a read after it that tells why
// it changed nothing); ConsumeCode and AddCodeFailure are one transaction each.
const (
	contactColumns = `user_id, kind, value, added_at, verified_at, is_primary`
	// addContactSQL inserts an unverified contact after the user's others, or, when the user has
	// it, returns the stored one: the DO UPDATE sets nothing to a new value, and RETURNING gives
	// the row as it is, in the same statement.
	addContactSQL = `INSERT INTO contacts (user_id, kind, value, position, added_at, verified_at, is_primary)
VALUES (?1, ?2, ?3, (SELECT coalesce(max(position) + 1, 0) FROM contacts WHERE user_id = ?1), ?4, NULL, 0)
ON CONFLICT (user_id, kind, value) DO UPDATE SET user_id = contacts.user_id
RETURNING ` + contactColumns
	listContactsSQL = `SELECT ` + contactColumns + ` FROM contacts WHERE user_id = ?1 ORDER BY position`
	getContactSQL   = `SELECT ` + contactColumns + ` FROM contacts WHERE user_id = ?1 AND kind = ?2 AND value = ?3`
	// verifyContactSQL verifies the user's unverified contact unless some contact of its kind and
	// value is verified (which, this one being unverified, is another user's), and makes it
	// primary when the user has no primary contact of its kind. The right-hand sides of SET see
	// the table as it was.
	verifyContactSQL = `UPDATE contacts SET verified_at = ?4,
	is_primary = NOT EXISTS (SELECT 1 FROM contacts AS p WHERE p.user_id = ?1 AND p.kind = ?2 AND p.is_primary = 1)
WHERE user_id = ?1 AND kind = ?2 AND value = ?3 AND verified_at IS NULL
AND NOT EXISTS (SELECT 1 FROM contacts AS o WHERE o.kind = ?2 AND o.value = ?3 AND o.verified_at IS NOT NULL)
RETURNING ` + contactColumns
	// setPrimaryContactSQL makes the user's contact ?3 the primary one of its kind and the former
	// primary not, only when ?3 is verified: the check and both changes are one statement.
	setPrimaryContactSQL = `UPDATE contacts SET is_primary = (value = ?3)
WHERE user_id = ?1 AND kind = ?2 AND (is_primary = 1 OR value = ?3)
AND EXISTS (SELECT 1 FROM contacts AS t WHERE t.user_id = ?1 AND t.kind = ?2 AND t.value = ?3 AND t.verified_at IS NOT NULL)`
	deleteContactSQL = `DELETE FROM contacts WHERE user_id = ?1 AND kind = ?2 AND value = ?3`

	putCodeSQL = `INSERT INTO verification_codes (key, hash, expires_at, failures) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at, failures = excluded.failures`
	getCodeSQL        = `SELECT hash, expires_at, failures FROM verification_codes WHERE key = ?1 AND expires_at > ?2`
	codeHashSQL       = `SELECT hash FROM verification_codes WHERE key = ?1 AND expires_at > ?2`
	deleteCodeSQL     = `DELETE FROM verification_codes WHERE key = ?1`
	addCodeFailureSQL = `UPDATE verification_codes SET failures = failures + 1 WHERE key = ?1 AND expires_at > ?2
RETURNING failures`
	purgeCodesSQL = `DELETE FROM verification_codes WHERE key IN
(SELECT key FROM verification_codes WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)`
)

// scanContact reads the columns of contactColumns.
func scanContact(row scanner) (store.Contact, error) {
	var (
		c               store.Contact
		added, verified sql.NullInt64
		primary         int64
	)
	if err := row.Scan(&c.UserID, &c.Kind, &c.Value, &added, &verified, &primary); err != nil {
		return store.Contact{}, err
	}
	c.AddedAt, c.VerifiedAt, c.Primary = fromOptNanos(added), fromOptNanos(verified), primary != 0
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
	if err := s.begin(ctx, contactRole); err != nil {
		return store.Contact{}, err
	}
	got, err := scanContact(s.addContact.QueryRowContext(ctx, c.UserID, c.Kind, c.Value, added))
	if err != nil {
		return store.Contact{}, s.fail(ctx, "add contact", err)
	}
	return got, nil
}

// ListContacts implements [store.ContactStore.ListContacts]. It returns nil when the user has
// none.
func (s *Store) ListContacts(ctx context.Context, userID string) ([]store.Contact, error) {
	if err := s.begin(ctx, contactRole); err != nil {
		return nil, err
	}
	rows, err := s.listContacts.QueryContext(ctx, userID)
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

// VerifyContact implements [store.ContactStore.VerifyContact] with one UPDATE ... WHERE the
// contact is unverified AND NOT EXISTS (a verified contact of its kind and value) RETURNING ...,
// which also makes it primary when the user has no primary contact of its kind; when it changes
// nothing, a read tells [store.ErrNotFound] (no such contact) from [store.ErrConflict] (another
// user has it verified) and from a contact the user has verified already, which it returns
// unchanged (VerifiedAt stays). A zero or out-of-range now gives an error wrapping
// [store.ErrInvalid]: a contact verified at the zero time would look unverified.
func (s *Store) VerifyContact(ctx context.Context, userID, kind, value string, now time.Time) (store.Contact, error) {
	if err := store.CheckTime("contact verification time", now); err != nil {
		return store.Contact{}, err
	}
	nowNs := now.UnixNano()
	if err := s.begin(ctx, contactRole); err != nil {
		return store.Contact{}, err
	}
	c, err := scanContact(s.verifyContact.QueryRowContext(ctx, userID, kind, value, nowNs))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Contact{}, s.fail(ctx, "verify contact", err)
	}
	c, err = scanContact(s.getContact.QueryRowContext(ctx, userID, kind, value))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Contact{}, store.ErrNotFound
	case err != nil:
		return store.Contact{}, s.fail(ctx, "verify contact", err)
	case c.VerifiedAt.IsZero():
		return store.Contact{}, store.ErrConflict
	}
	return c, nil
}

// SetPrimaryContact implements [store.ContactStore.SetPrimaryContact] with one UPDATE of the
// user's contacts of the kind, which makes the contact primary and the former primary not only
// when the contact is verified; when it changes nothing, a read tells [store.ErrNotFound] from
// [store.ErrConflict].
func (s *Store) SetPrimaryContact(ctx context.Context, userID, kind, value string) error {
	if err := s.begin(ctx, contactRole); err != nil {
		return err
	}
	res, err := s.setPrimaryContact.ExecContext(ctx, userID, kind, value)
	if err != nil {
		return s.fail(ctx, "set primary contact", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(ctx, "set primary contact", err)
	}
	if n > 0 {
		return nil
	}
	_, err = scanContact(s.getContact.QueryRowContext(ctx, userID, kind, value))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return s.fail(ctx, "set primary contact", err)
	}
	// The contact was unverified when the UPDATE ran.
	return store.ErrConflict
}

// DeleteContact implements [store.ContactStore.DeleteContact]. Deleting the primary contact
// leaves the user without a primary contact of its kind.
func (s *Store) DeleteContact(ctx context.Context, userID, kind, value string) error {
	if err := s.begin(ctx, contactRole); err != nil {
		return err
	}
	if _, err := s.deleteContact.ExecContext(ctx, userID, kind, value); err != nil {
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
	if err := s.begin(ctx, codeRole); err != nil {
		return err
	}
	if _, err := s.putCode.ExecContext(ctx, c.Key, c.Hash, expires, int64(c.Failures)); err != nil {
		return s.fail(ctx, "put verification code", err)
	}
	if s.codePuts.Add(1)%purgeEvery == 0 {
		// Best effort, as in CreateNonce.
		_, _ = s.purgeCodes.ExecContext(ctx, sqlstore.NowNanos(now), purgeLimit)
	}
	return nil
}

// GetCode implements [store.CodeStore.GetCode].
func (s *Store) GetCode(ctx context.Context, key string, now time.Time) (store.VerificationCode, error) {
	if err := s.begin(ctx, codeRole); err != nil {
		return store.VerificationCode{}, err
	}
	var (
		c                 = store.VerificationCode{Key: key}
		expires, failures int64
	)
	err := s.getCode.QueryRowContext(ctx, key, sqlstore.NowNanos(now)).Scan(&c.Hash, &expires, &failures)
	if errors.Is(err, sql.ErrNoRows) {
		return store.VerificationCode{}, store.ErrNotFound
	}
	if err != nil {
		return store.VerificationCode{}, s.fail(ctx, "get verification code", err)
	}
	c.ExpiresAt, c.Failures = sqlstore.FromNanos(expires), int(failures)
	return c, nil
}

// ConsumeCode implements [store.CodeStore.ConsumeCode] in one transaction on the writer (BEGIN
// IMMEDIATE, as in CreateUser): it reads the live code's hash, compares it with hash in constant
// time (which SQL's = does not), and deletes the code only when they are equal, so that of
// concurrent calls exactly one deletes it.
func (s *Store) ConsumeCode(ctx context.Context, key string, hash []byte, now time.Time) error {
	if err := s.begin(ctx, codeRole); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, "consume verification code", err)
	}
	defer tx.Rollback()
	var held []byte
	err = tx.StmtContext(ctx, s.codeHash).QueryRowContext(ctx, key, sqlstore.NowNanos(now)).Scan(&held)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return s.fail(ctx, "consume verification code", err)
	}
	if subtle.ConstantTimeCompare(held, hash) != 1 {
		return store.ErrNotFound
	}
	if _, err := tx.StmtContext(ctx, s.deleteCode).ExecContext(ctx, key); err != nil {
		return s.fail(ctx, "consume verification code", err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, "consume verification code", err)
	}
	return nil
}

// AddCodeFailure implements [store.CodeStore.AddCodeFailure] in one transaction on the writer: an
// UPDATE ... SET failures = failures + 1 ... RETURNING failures, and a DELETE of the code when the
// count reaches or passes maxFailures. A maxFailures below 1 gives an error wrapping
// [store.ErrInvalid] and changes nothing.
func (s *Store) AddCodeFailure(ctx context.Context, key string, maxFailures int, now time.Time) (int, error) {
	if err := store.CheckMaxFailures(key, maxFailures); err != nil {
		return 0, err
	}
	if err := s.begin(ctx, codeRole); err != nil {
		return 0, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.fail(ctx, "add verification code failure", err)
	}
	defer tx.Rollback()
	var failures int64
	err = tx.StmtContext(ctx, s.addCodeFailure).QueryRowContext(ctx, key, sqlstore.NowNanos(now)).Scan(&failures)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.ErrNotFound
	}
	if err != nil {
		return 0, s.fail(ctx, "add verification code failure", err)
	}
	if failures >= int64(maxFailures) {
		if _, err := tx.StmtContext(ctx, s.deleteCode).ExecContext(ctx, key); err != nil {
			return 0, s.fail(ctx, "add verification code failure", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, s.fail(ctx, "add verification code failure", err)
	}
	return int(failures), nil
}
