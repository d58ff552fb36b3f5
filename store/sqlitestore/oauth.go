package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/walletauth/walletauth/store"
)

// SQL of the linked OAuth accounts. Every operation is one statement.
const (
	oauthColumns = `user_id, provider, subject, email, username, linked_at`
	// linkOAuthSQL inserts the account after the user's others; ON CONFLICT DO NOTHING (of any
	// uniqueness constraint: the provider account, or the user's account of the provider) inserts
	// nothing when either is taken.
	linkOAuthSQL = `INSERT INTO oauth_accounts (provider, subject, user_id, position, email, username, linked_at)
VALUES (?1, ?2, ?3, (SELECT coalesce(max(position) + 1, 0) FROM oauth_accounts WHERE user_id = ?3), ?4, ?5, ?6)
ON CONFLICT DO NOTHING`
	unlinkOAuthSQL = `DELETE FROM oauth_accounts WHERE user_id = ?1 AND provider = ?2`
	listOAuthSQL   = `SELECT ` + oauthColumns + ` FROM oauth_accounts WHERE user_id = ?1 ORDER BY position`
)

// LinkOAuth implements [store.OAuthStore.LinkOAuth] with one INSERT ... ON CONFLICT DO NOTHING,
// which gives the account the position after the user's others. It also returns an error
// wrapping [store.ErrInvalid] when LinkedAt is out of range. Provider and Subject are compared
// exactly (with regard to case).
func (s *Store) LinkOAuth(ctx context.Context, a store.OAuthAccount) error {
	if err := store.CheckOAuthAccount(a); err != nil {
		return err
	}
	linked := optNanos(a.LinkedAt)
	if err := s.begin(ctx, oauthRole); err != nil {
		return err
	}
	res, err := s.linkOAuth.ExecContext(ctx, a.Provider, a.Subject, a.UserID, a.Email, a.Username, linked)
	if err := conflict(res, err); err != nil {
		return s.failConflict(ctx, "link OAuth account", err)
	}
	return nil
}

// UnlinkOAuth implements [store.OAuthStore.UnlinkOAuth] with one DELETE. The user's other
// accounts keep their order.
func (s *Store) UnlinkOAuth(ctx context.Context, userID, provider string) error {
	if err := s.begin(ctx, oauthRole); err != nil {
		return err
	}
	res, err := s.unlinkOAuth.ExecContext(ctx, userID, provider)
	if err != nil {
		return s.fail(ctx, "unlink OAuth account", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(ctx, "unlink OAuth account", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ListOAuth implements [store.OAuthStore.ListOAuth]. It returns nil when the user has none.
func (s *Store) ListOAuth(ctx context.Context, userID string) ([]store.OAuthAccount, error) {
	if err := s.begin(ctx, oauthRole); err != nil {
		return nil, err
	}
	rows, err := s.listOAuth.QueryContext(ctx, userID)
	if err != nil {
		return nil, s.fail(ctx, "list OAuth accounts", err)
	}
	defer rows.Close()
	var list []store.OAuthAccount
	for rows.Next() {
		var (
			a      store.OAuthAccount
			linked sql.NullInt64
		)
		if err := rows.Scan(&a.UserID, &a.Provider, &a.Subject, &a.Email, &a.Username, &linked); err != nil {
			return nil, s.fail(ctx, "list OAuth accounts", err)
		}
		a.LinkedAt = fromOptNanos(linked)
		list = append(list, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list OAuth accounts", err)
	}
	return list, nil
}
