package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/walletauth/walletauth/store"
)

// SQL of the linked OAuth accounts. Every operation is one statement.
const (
	// linkOAuthSQL inserts the account after the user's others; ON CONFLICT DO NOTHING (of any
	// unique constraint: the provider account, or the user's account of the provider) inserts
	// nothing when either is taken, also when a concurrent link takes it first.
	linkOAuthSQL = `INSERT INTO {schema}.oauth_accounts (provider, subject, user_id, email, username, linked_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING`
	unlinkOAuthSQL = `DELETE FROM {schema}.oauth_accounts WHERE user_id = $1 AND provider = $2`
	listOAuthSQL   = `SELECT user_id, provider, subject, email, username, linked_at FROM {schema}.oauth_accounts
WHERE user_id = $1 ORDER BY seq`
)

// LinkOAuth implements [store.OAuthStore.LinkOAuth] with one INSERT ... ON CONFLICT DO NOTHING.
// It also returns an error wrapping [store.ErrInvalid] when LinkedAt is out of range. Provider and
// Subject are compared exactly (with regard to case). Email and Username are kept as bytes, so
// that whatever the provider reported comes back as it was.
func (s *Store) LinkOAuth(ctx context.Context, a store.OAuthAccount) error {
	if err := store.CheckOAuthAccount(a); err != nil {
		return err
	}
	linked := optNanos(a.LinkedAt)
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.q.linkOAuth, a.Provider, a.Subject, a.UserID, []byte(a.Email), []byte(a.Username), linked)
	if err != nil {
		return s.fail(ctx, "link OAuth account", err)
	}
	return conflictIfNone(tag)
}

// UnlinkOAuth implements [store.OAuthStore.UnlinkOAuth] with one DELETE. The user's other
// accounts keep their order.
func (s *Store) UnlinkOAuth(ctx context.Context, userID, provider string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.q.unlinkOAuth, userID, provider)
	if err != nil {
		return s.fail(ctx, "unlink OAuth account", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ListOAuth implements [store.OAuthStore.ListOAuth]. It returns nil when the user has none.
func (s *Store) ListOAuth(ctx context.Context, userID string) ([]store.OAuthAccount, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.q.listOAuth, userID)
	if err != nil {
		return nil, s.fail(ctx, "list OAuth accounts", err)
	}
	defer rows.Close()
	var list []store.OAuthAccount
	for rows.Next() {
		var (
			a               store.OAuthAccount
			email, username []byte
			linked          pgtype.Int8
		)
		if err := rows.Scan(&a.UserID, &a.Provider, &a.Subject, &email, &username, &linked); err != nil {
			return nil, s.fail(ctx, "list OAuth accounts", err)
		}
		a.Email, a.Username, a.LinkedAt = string(email), string(username), fromOptNanos(linked)
		list = append(list, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list OAuth accounts", err)
	}
	return list, nil
}
