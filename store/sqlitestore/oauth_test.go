package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/walletauth/walletauth/store"
)

// TestOAuthStoredForm checks the rows of oauth_accounts as another program reads them, and that
// the schema itself keeps its keys unique and its table STRICT.
func TestOAuthStoredForm(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	s := open(t, path)
	for _, a := range []store.OAuthAccount{
		{UserID: "u1", Provider: "github", Subject: "42", Email: "a@example.com", Username: "a", LinkedAt: base},
		{UserID: "u1", Provider: "google", Subject: "7"},
	} {
		if err := s.LinkOAuth(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	db := inspect(t, path)
	var (
		provider, subject, user, email, username string
		position, linked                         int64
	)
	if err := db.QueryRow(`SELECT provider, subject, user_id, position, email, username, linked_at FROM oauth_accounts WHERE provider = 'github'`).
		Scan(&provider, &subject, &user, &position, &email, &username, &linked); err != nil {
		t.Fatal(err)
	}
	if subject != "42" || user != "u1" || position != 0 || email != "a@example.com" || username != "a" || linked != base.UnixNano() {
		t.Errorf("github row = %q %q %d %q %q %d", subject, user, position, email, username, linked)
	}
	var null bool
	if err := db.QueryRow(`SELECT position, linked_at IS NULL FROM oauth_accounts WHERE provider = 'google'`).Scan(&position, &null); err != nil {
		t.Fatal(err)
	}
	if position != 1 || !null {
		t.Errorf("google row: position %d, linked_at NULL %v; want 1, true", position, null)
	}
	for _, q := range []string{
		// Another user, the same provider account.
		`INSERT INTO oauth_accounts VALUES ('github', '42', 'u2', 0, '', '', NULL)`,
		// The same user, a second account of the provider.
		`INSERT INTO oauth_accounts VALUES ('github', '43', 'u1', 5, '', '', NULL)`,
		// Empty keys.
		`INSERT INTO oauth_accounts VALUES ('', '1', 'u3', 0, '', '', NULL)`,
		`INSERT INTO oauth_accounts VALUES ('x', '', 'u3', 0, '', '', NULL)`,
		`INSERT INTO oauth_accounts VALUES ('x', '1', '', 0, '', '', NULL)`,
		// STRICT: a text time.
		`INSERT INTO oauth_accounts VALUES ('x', '1', 'u3', 0, '', '', 'yesterday')`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s succeeded, want a constraint error", q)
		}
	}
}
