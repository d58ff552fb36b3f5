package pgstore

import (
	"context"
	"time"

	"github.com/walletauth/walletauth/store"
)

// MaxMetadataSize is the most bytes of one metadata document (one member of a user's
// [store.Metadata]): a [Store.SetMetadata] with a larger one returns an error wrapping
// [store.ErrInvalid]. It matches the bound of memstore and sqlitestore.
const MaxMetadataSize = 64 << 10

// SQL of the metadata. Every operation is one statement. The documents go in and out as text, so
// that the json column keeps them byte for byte.
const (
	getMetadataSQL = `SELECT member, doc::text FROM {schema}.metadata WHERE user_id = $1`
	setMetadataSQL = `INSERT INTO {schema}.metadata AS m (user_id, member, doc, updated_at)
VALUES ($1, $2, $3::text::json, $4)
ON CONFLICT (user_id, member) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`
	deleteMetadataSQL = `DELETE FROM {schema}.metadata WHERE user_id = $1 AND member = $2`
)

// GetMetadata implements [store.MetadataStore.GetMetadata] with one SELECT, so that the three
// members come from one state of the database.
func (s *Store) GetMetadata(ctx context.Context, userID string) (store.Metadata, error) {
	if err := s.begin(ctx); err != nil {
		return store.Metadata{}, err
	}
	rows, err := s.pool.Query(ctx, s.q.getMetadata, userID)
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
// a DELETE of it when doc is nil or empty (a nil member means {}). The row keeps doc as given, in
// a json column (which keeps the text as it is, unlike jsonb), and now (NULL when zero) as its
// updated_at. It also returns an error wrapping [store.ErrInvalid] when userID is empty, doc is
// longer than [MaxMetadataSize] or is not JSON (PostgreSQL checks the syntax), or now is out of
// range.
func (s *Store) SetMetadata(ctx context.Context, userID, member string, doc []byte, now time.Time) error {
	if err := store.CheckMetadata(userID, member, doc, MaxMetadataSize, now); err != nil {
		return err
	}
	updated := optNanos(now)
	if err := s.begin(ctx); err != nil {
		return err
	}
	var err error
	if len(doc) == 0 {
		_, err = s.pool.Exec(ctx, s.q.deleteMetadata, userID, member)
	} else {
		_, err = s.pool.Exec(ctx, s.q.setMetadata, userID, member, string(doc), updated)
	}
	if err != nil {
		return s.fail(ctx, "set metadata", err)
	}
	return nil
}
