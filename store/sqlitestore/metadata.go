package sqlitestore

import (
	"context"
	"time"

	"github.com/walletauth/walletauth/store"
)

// MaxMetadataSize is the most bytes of one metadata document (one member of a user's
// [store.Metadata]): a [Store.SetMetadata] with a larger one returns an error wrapping
// [store.ErrInvalid]. It matches the bound of memstore.
const MaxMetadataSize = 64 << 10

// SQL of the metadata. Every operation is one statement.
const (
	getMetadataSQL = `SELECT member, doc FROM metadata WHERE user_id = ?1`
	setMetadataSQL = `INSERT INTO metadata (user_id, member, doc, updated_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (user_id, member) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`
	deleteMetadataSQL = `DELETE FROM metadata WHERE user_id = ?1 AND member = ?2`
)

// GetMetadata implements [store.MetadataStore.GetMetadata] with one SELECT, so that the three
// members come from one state of the database.
func (s *Store) GetMetadata(ctx context.Context, userID string) (store.Metadata, error) {
	if err := s.begin(ctx, metadataRole); err != nil {
		return store.Metadata{}, err
	}
	rows, err := s.getMetadata.QueryContext(ctx, userID)
	if err != nil {
		return store.Metadata{}, s.fail(ctx, "get metadata", err)
	}
	defer rows.Close()
	var m store.Metadata
	for rows.Next() {
		var (
			member string
			doc    []byte
		)
		if err := rows.Scan(&member, &doc); err != nil {
			return store.Metadata{}, s.fail(ctx, "get metadata", err)
		}
		if f := m.Member(member); f != nil && len(doc) > 0 {
			*f = doc
		}
	}
	if err := rows.Err(); err != nil {
		return store.Metadata{}, s.fail(ctx, "get metadata", err)
	}
	return m, nil
}

// SetMetadata implements [store.MetadataStore.SetMetadata] with one upsert of the member's row, or
// a DELETE of it when doc is nil or empty (a nil member means {}). The row keeps doc as given, as
// TEXT, and now (NULL when zero) as its updated_at; the store does not parse doc. It also returns
// an error wrapping [store.ErrInvalid] when userID is empty, doc is longer than
// [MaxMetadataSize], or now is out of range.
func (s *Store) SetMetadata(ctx context.Context, userID, member string, doc []byte, now time.Time) error {
	if err := store.CheckMetadata(userID, member, doc, MaxMetadataSize, now); err != nil {
		return err
	}
	updated := optNanos(now)
	if err := s.begin(ctx, metadataRole); err != nil {
		return err
	}
	var err error
	if len(doc) == 0 {
		_, err = s.deleteMetadata.ExecContext(ctx, userID, member)
	} else {
		// A string binds as TEXT, which the STRICT column requires (a []byte would be a BLOB).
		_, err = s.setMetadata.ExecContext(ctx, userID, member, string(doc), updated)
	}
	if err != nil {
		return s.fail(ctx, "set metadata", err)
	}
	return nil
}
