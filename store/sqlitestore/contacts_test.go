package sqlitestore_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/sqlitestore"
)

func TestPurgeVerificationCodes(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	s := open(t, path)
	// 600 codes that expire at base+1s, then 256 put at base+2s: the purges on the way delete the
	// expired ones.
	for i := range 600 {
		c := store.VerificationCode{Key: fmt.Sprint("old", i), Hash: []byte{1}, ExpiresAt: base.Add(time.Second)}
		if err := s.PutCode(ctx, c, base); err != nil {
			t.Fatal(err)
		}
	}
	now := base.Add(2 * time.Second)
	for i := range 256 {
		c := store.VerificationCode{Key: fmt.Sprint("new", i), Hash: []byte{1}, ExpiresAt: now.Add(time.Minute)}
		if err := s.PutCode(ctx, c, now); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, path, "verification_codes"); n != 256 {
		t.Errorf("%d codes in the table, want the 256 live ones", n)
	}
}

// TestContactsStoredForm checks the rows of contacts and codes as another program reads them, and
// that the schema itself keeps a verified value to one user.
func TestContactsStoredForm(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	s := open(t, path)
	for _, c := range []store.Contact{
		{UserID: "u1", Kind: "email", Value: "a@example.com", AddedAt: base},
		{UserID: "u1", Kind: "phone", Value: "+15550100"},
		{UserID: "u2", Kind: "email", Value: "a@example.com", AddedAt: base},
	} {
		if _, err := s.AddContact(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.VerifyContact(ctx, "u1", "email", "a@example.com", base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCode(ctx, store.VerificationCode{Key: "k", Hash: []byte{0, 1}, ExpiresAt: base, Failures: 2}, base); err != nil {
		t.Fatal(err)
	}
	db := inspect(t, path)
	rows, err := db.Query(`SELECT user_id, kind, value, position, coalesce(added_at, -1), coalesce(verified_at, -1), is_primary FROM contacts ORDER BY user_id, position`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var (
			user, kind, value             string
			pos, added, verified, primary int64
		)
		if err := rows.Scan(&user, &kind, &value, &pos, &added, &verified, &primary); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(user, " ", kind, " ", value, " ", pos, " ", added, " ", verified, " ", primary))
	}
	rows.Close()
	want := []string{
		fmt.Sprint("u1 email a@example.com 0 ", base.UnixNano(), " ", base.Add(time.Second).UnixNano(), " 1"),
		"u1 phone +15550100 1 -1 -1 0",
		fmt.Sprint("u2 email a@example.com 0 ", base.UnixNano(), " -1 0"),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("contacts rows = %q\nwant %q", got, want)
	}
	var (
		hash              []byte
		expires, failures int64
	)
	if err := db.QueryRow(`SELECT hash, expires_at, failures FROM verification_codes WHERE key = 'k'`).Scan(&hash, &expires, &failures); err != nil {
		t.Fatal(err)
	}
	if string(hash) != "\x00\x01" || expires != base.UnixNano() || failures != 2 {
		t.Errorf("code row = %x, %d, %d", hash, expires, failures)
	}
	// Another program cannot verify the value for a second user, nor make an unverified contact
	// primary.
	if _, err := db.Exec(`UPDATE contacts SET verified_at = 1 WHERE user_id = 'u2'`); err == nil {
		t.Error("verifying a value verified by another user in SQL succeeded, want a constraint error")
	}
	if _, err := db.Exec(`UPDATE contacts SET is_primary = 1 WHERE user_id = 'u1' AND kind = 'phone'`); err == nil {
		t.Error("making an unverified contact primary in SQL succeeded, want a constraint error")
	}
}

// TestTwoStoresOneFileContacts has two stores (as two processes would) verify one value for 20
// users, and add failures to one code, at once: one verification wins, the code dies at its
// maximum, and nothing fails for a lock.
func TestTwoStoresOneFileContacts(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	stores := []*sqlitestore.Store{open(t, path), open(t, path)}
	const n, limit = 20, 5
	for i := range n {
		if _, err := stores[i%2].AddContact(ctx, store.Contact{UserID: fmt.Sprint("user", i), Kind: "email", Value: "shared@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	code := store.VerificationCode{Key: "shared", Hash: []byte("h"), ExpiresAt: base.Add(time.Hour)}
	if err := stores[0].PutCode(ctx, code, base); err != nil {
		t.Fatal(err)
	}
	verifies := make([]error, n)
	failures := make([]error, n)
	counts := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, verifies[i] = stores[i%2].VerifyContact(ctx, fmt.Sprint("user", i), "email", "shared@example.com", base)
		})
		wg.Go(func() {
			counts[i], failures[i] = stores[i%2].AddCodeFailure(ctx, "shared", limit, base)
		})
	}
	wg.Wait()
	wins, seen := 0, map[int]bool{}
	for i := range n {
		switch err := verifies[i]; {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("VerifyContact #%d = %v, want nil or ErrConflict", i, err)
		}
		switch err := failures[i]; {
		case err == nil:
			if seen[counts[i]] || counts[i] < 1 || counts[i] > limit {
				t.Errorf("AddCodeFailure #%d = %d, want each of 1..%d once", i, counts[i], limit)
			}
			seen[counts[i]] = true
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("AddCodeFailure #%d = %v, want nil or ErrNotFound", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent VerifyContact calls succeeded, want 1", wins)
	}
	if len(seen) != limit {
		t.Errorf("%d AddCodeFailure calls succeeded, want %d", len(seen), limit)
	}
	if c := count(t, path, "verification_codes"); c != 0 {
		t.Errorf("%d codes left, want the dead one deleted", c)
	}
}
