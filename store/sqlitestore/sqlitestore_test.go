package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/sqlitestore"
	"github.com/walletauth/walletauth/store/storetest"
)

var base = time.Date(2030, time.January, 2, 3, 4, 5, 6, time.UTC)

func open(t testing.TB, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The two runs of the suite are the bulk of the package's tests: they run beside each other.

func TestConformanceFile(t *testing.T) {
	t.Parallel()
	// Each subtest opens a copy of one migrated database: migrating a new file for each would
	// double the time the suite takes under the race detector. (TestReopen and
	// TestMigrateFromVersion1 migrate files; TestConformanceMemory migrates for every subtest.)
	template := filepath.Join(t.TempDir(), "template.db")
	if err := open(t, template).Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(template + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the template's WAL was not checkpointed and removed on Close: %v", err)
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "walletauth.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return open(t, path)
	})
}

func TestConformanceMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, sqlitestore.Memory)
	})
}

// inspect opens the database file directly, as another program would.
func inspect(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type migrationRow struct {
	version   int64
	name      string
	appliedAt int64
}

func migrationRows(t *testing.T, path string) []migrationRow {
	t.Helper()
	rows, err := inspect(t, path).Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migrationRow
	for rows.Next() {
		var r migrationRow
		if err := rows.Scan(&r.version, &r.name, &r.appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	n := store.Nonce{Value: "persisted1", Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ChainID: 1, IssuedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateNonce(ctx, n, base); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.IncrementCounter(ctx, "k", time.Hour, base); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	first := migrationRows(t, path)
	if len(first) != 7 || first[0].version != 1 || first[0].name != "0001_init" ||
		first[1].version != 2 || first[1].name != "0002_keys_sessions_users" ||
		first[2].version != 3 || first[2].name != "0003_retired_refresh_hashes" ||
		first[3].version != 4 || first[3].name != "0004_mfa" ||
		first[4].version != 5 || first[4].name != "0005_metadata" ||
		first[5].version != 6 || first[5].name != "0006_contacts_codes" ||
		first[6].version != 7 || first[6].name != "0007_oauth" {
		t.Fatalf("schema_migrations = %+v, want versions 1, 0001_init, 2, 0002_keys_sessions_users, 3, 0003_retired_refresh_hashes, 4, 0004_mfa, 5, 0005_metadata, 6, 0006_contacts_codes and 7, 0007_oauth", first)
	}

	for range 2 {
		s := open(t, path)
		got, err := s.GetNonce(ctx, n.Value, base)
		if err != nil || got.Address != n.Address || !got.ExpiresAt.Equal(n.ExpiresAt) {
			t.Errorf("GetNonce after reopening = %+v, %v; want %+v", got, err, n)
		}
		s.Close()
	}
	s = open(t, path)
	if c, _, err := s.IncrementCounter(ctx, "k", time.Hour, base); err != nil || c != 2 {
		t.Errorf("IncrementCounter after reopening = %d, %v; want 2, nil", c, err)
	}
	if again := migrationRows(t, path); !slices.Equal(again, first) {
		t.Errorf("schema_migrations after reopening = %+v, want %+v unchanged", again, first)
	}
	var mode string
	if err := inspect(t, path).QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// TestMigrateFromVersion1 opens a database that a program knowing only the first migration made,
// with a nonce in it: the later migrations are applied, and the nonce kept.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	init, err := os.ReadFile(filepath.Join("migrations", "0001_init.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db := inspect(t, path)
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
		string(init),
		`INSERT INTO schema_migrations VALUES (1, '0001_init', 1)`,
		`INSERT INTO nonces VALUES ('fromV1nonce', '', 1, NULL, 9000000000000000000, 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := open(t, path)
	if _, err := s.GetNonce(ctx, "fromV1nonce", base); err != nil {
		t.Errorf("GetNonce of a nonce from version 1 = %v", err)
	}
	rows := migrationRows(t, path)
	if len(rows) != 7 || rows[0].appliedAt != 1 || rows[1].version != 2 || rows[2].version != 3 || rows[3].version != 4 || rows[4].version != 5 || rows[5].version != 6 || rows[6].version != 7 {
		t.Errorf("schema_migrations = %+v, want version 1 as it was and versions 2 to 7", rows)
	}
	v := session("migrated", "user", base)
	if err := s.CreateSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefresh(ctx, v.ID, v.RefreshHash, []byte("new"), [][]byte{[]byte("old")}, base.Add(time.Hour), base); err != nil {
		t.Errorf("RotateRefresh after the migration = %v", err)
	}
}

// TestMigrateFromVersion2 opens a database that a program knowing the first two migrations made,
// with a rotated session in it: migration 3 gives the session an empty list of retired hashes, and
// the session rotates on.
func TestMigrateFromVersion2(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	db := inspect(t, path)
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"0001_init", "0002_keys_sessions_users"} {
		text, err := os.ReadFile(filepath.Join("migrations", name+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(text)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?1, ?2, 1)`, i+1, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO sessions (id, user_id, address, chain_id, aal, amr, refresh_hash, prev_refresh_hash,
	rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, user_agent, ip)
VALUES ('fromV2', 'user', '', 1, 'aal1', '["siwe"]', X'0102', X'01', ?1, ?1, ?1, ?2, ?2, NULL, '', '')`,
		base.UnixNano(), base.Add(time.Hour).UnixNano()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := open(t, path)
	rows := migrationRows(t, path)
	if len(rows) != 7 || rows[1].appliedAt != 1 || rows[2].version != 3 || rows[2].name != "0003_retired_refresh_hashes" || rows[3].version != 4 || rows[4].version != 5 || rows[5].version != 6 || rows[6].version != 7 {
		t.Errorf("schema_migrations = %+v, want versions 1 and 2 as they were and versions 3 to 7", rows)
	}
	v, err := s.GetSession(ctx, "fromV2", base)
	if err != nil || string(v.RefreshHash) != "\x01\x02" || string(v.PrevRefreshHash) != "\x01" || v.RetiredRefreshHashes != nil {
		t.Fatalf("GetSession of a session from version 2 = %+v, %v; want it with no retired hashes", v, err)
	}
	retired := [][]byte{v.PrevRefreshHash}
	v, err = s.RotateRefresh(ctx, v.ID, v.RefreshHash, []byte{3}, retired, base.Add(time.Hour), base)
	if err != nil || len(v.RetiredRefreshHashes) != 1 || string(v.RetiredRefreshHashes[0]) != "\x01" {
		t.Errorf("RotateRefresh after the migration = %+v, %v; want retired hashes [01]", v, err)
	}
}

func TestOpenCorrupt(t *testing.T) {
	page := make([]byte, 4096)
	for i := range page {
		page[i] = byte(i * 7)
	}
	header := append([]byte("SQLite format 3\x00"), page...)
	tests := []struct {
		name string
		data []byte
	}{
		{"Text", []byte("this is not a database, just some text that happens to be here\n")},
		{"Garbage", page},
		{"BadPages", header},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "corrupt.db")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := sqlitestore.Open(t.Context(), path)
			if err == nil {
				s.Close()
				t.Fatal("Open of a corrupt file = nil error, want an error")
			}
			t.Logf("Open: %v", err)
		})
	}
	t.Run("Directory", func(t *testing.T) {
		if s, err := sqlitestore.Open(t.Context(), t.TempDir()); err == nil {
			s.Close()
			t.Fatal("Open of a directory = nil error, want an error")
		}
	})
	t.Run("Empty", func(t *testing.T) {
		if _, err := sqlitestore.Open(t.Context(), ""); err == nil {
			t.Fatal(`Open("") = nil error, want an error`)
		}
	})
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "walletauth.db")
	open(t, path).Close()
	if _, err := inspect(t, path).Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, '0099_future', 0)`); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.Open(t.Context(), path)
	if !errors.Is(err, sqlitestore.ErrSchemaTooNew) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open of a database from the future = %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "walletauth.db"))
	if !errors.Is(err, context.Canceled) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir#1")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "wallet?auth=1&x%20y.db")
	s := open(t, path)
	if err := s.CreateNonce(t.Context(), store.Nonce{Value: "uriPath01", ExpiresAt: base.Add(time.Minute)}, base); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetNonce(t.Context(), "uriPath01", base); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the path given: %v", err)
	}
}

func TestClosed(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "walletauth.db"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	if _, err := s.GetNonce(t.Context(), "closed01", base); !errors.Is(err, sqlitestore.ErrClosed) {
		t.Errorf("GetNonce after Close = %v, want ErrClosed", err)
	}
	if _, _, err := s.IncrementCounter(t.Context(), "k", time.Minute, base); !errors.Is(err, sqlitestore.ErrClosed) {
		t.Errorf("IncrementCounter after Close = %v, want ErrClosed", err)
	}
	if _, err := s.RotateRefresh(t.Context(), "s", []byte("a"), []byte("b"), [][]byte{[]byte("c")}, base.Add(time.Hour), base); !errors.Is(err, sqlitestore.ErrClosed) {
		t.Errorf("RotateRefresh after Close = %v, want ErrClosed", err)
	}
	if err := s.CreateUser(t.Context(), store.User{ID: "u", Wallets: []store.Wallet{{Address: "0x1"}}}); !errors.Is(err, sqlitestore.ErrClosed) {
		t.Errorf("CreateUser after Close = %v, want ErrClosed", err)
	}
}

func TestOutOfRangeTimes(t *testing.T) {
	ctx := t.Context()
	s := open(t, sqlitestore.Memory)
	far := time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC)
	long := time.Date(1600, time.January, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []store.Nonce{
		{Value: "farFuture1", ExpiresAt: far},
		{Value: "longAgo001", IssuedAt: long, ExpiresAt: base},
	} {
		if err := s.CreateNonce(ctx, n, base); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CreateNonce(%+v) = %v, want ErrInvalid", n, err)
		}
	}
	if _, _, err := s.IncrementCounter(ctx, "k", 200*365*24*time.Hour, base.AddDate(100, 0, 0)); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("IncrementCounter with a window past 2262 = %v, want ErrInvalid", err)
	}
	// A caller's now out of range still compares correctly.
	n := store.Nonce{Value: "inRange001", ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateNonce(ctx, n, base); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetNonce(ctx, n.Value, far); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetNonce at a now after 2262 = %v, want ErrNotFound", err)
	}
	if _, err := s.GetNonce(ctx, n.Value, long); err != nil {
		t.Errorf("GetNonce at a now before 1678 = %v, want nil", err)
	}
}

func session(id, user string, now time.Time) store.Session {
	return store.Session{
		ID: id, UserID: user, Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ChainID: 1,
		AAL: "aal1", AMR: []string{"siwe"}, RefreshHash: []byte(id + "/0"),
		CreatedAt: now, LastUsedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour),
	}
}

// TestStoredForm checks how records sit in the database, for other programs that read it.
func TestStoredForm(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	s := open(t, path)
	v := session("stored", "user", base)
	v.AMR = []string{"siwe", "totp"}
	if err := s.CreateSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	u := store.User{ID: "user", Wallets: []store.Wallet{{Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ChainID: 1}}}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	db := inspect(t, path)
	var amr string
	var prev []byte
	var revoked sql.NullInt64
	if err := db.QueryRow(`SELECT amr, prev_refresh_hash, revoked_at FROM sessions WHERE id = 'stored'`).Scan(&amr, &prev, &revoked); err != nil {
		t.Fatal(err)
	}
	if amr != `["siwe","totp"]` || prev != nil || revoked.Valid {
		t.Errorf("stored amr, prev_refresh_hash, revoked_at = %q, %x, %v; want a JSON array, NULL, NULL", amr, prev, revoked)
	}
	// Retired refresh hashes: a JSON array of lower-case hexadecimal strings, which SQL reads back.
	retiredText := func() string {
		t.Helper()
		var text string
		if err := db.QueryRow(`SELECT retired_refresh_hashes FROM sessions WHERE id = 'stored'`).Scan(&text); err != nil {
			t.Fatal(err)
		}
		return text
	}
	if text := retiredText(); text != `[]` {
		t.Errorf("stored retired_refresh_hashes of a new session = %q, want []", text)
	}
	retired := [][]byte{{0x00, 0xff, 0x10}, {0xab}, {}, []byte(`"\`)}
	if _, err := s.RotateRefresh(ctx, v.ID, v.RefreshHash, []byte("stored/1"), retired, base.Add(time.Hour), base); err != nil {
		t.Fatal(err)
	}
	if text := retiredText(); text != `["00ff10","ab","","225c"]` {
		t.Errorf("stored retired_refresh_hashes = %q, want [\"00ff10\",\"ab\",\"\",\"225c\"]", text)
	}
	rows, err := db.Query(`SELECT unhex(value) FROM sessions, json_each(sessions.retired_refresh_hashes)
WHERE sessions.id = 'stored' ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	var read [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		read = append(read, h)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if !slices.EqualFunc(read, retired, bytes.Equal) {
		t.Errorf("retired hashes read with json_each and unhex = %x, want %x", read, retired)
	}
	var key string
	if err := db.QueryRow(`SELECT address_key FROM wallets WHERE user_id = 'user'`).Scan(&key); err != nil {
		t.Fatal(err)
	}
	if key != "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed" {
		t.Errorf("address_key = %q, want the address in lower case", key)
	}
	// The schema holds: foreign keys are on, and no row breaks one.
	var fk int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil || fk != 0 {
		t.Errorf("foreign key violations = %d, %v; want 0", fk, err)
	}
}

// TestCorruptRetiredHashes checks that a session whose retired hashes another program spoiled is
// an error, not a session with none.
func TestCorruptRetiredHashes(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	s := open(t, path)
	v := session("corrupt", "user", base)
	if err := s.CreateSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{`not json`, `["zz"]`, `["abc"]`, `[1]`, `{}`} {
		if _, err := inspect(t, path).Exec(`UPDATE sessions SET retired_refresh_hashes = ?1 WHERE id = 'corrupt'`, text); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetSession(ctx, v.ID, base); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSession with retired_refresh_hashes %q = %+v, %v; want an error other than ErrNotFound", text, got, err)
		}
	}
}

func TestOutOfRangeSessionTimes(t *testing.T) {
	ctx := t.Context()
	s := open(t, sqlitestore.Memory)
	far := time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC)
	v := session("inRange", "user", base)
	if err := s.CreateSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	// A caller's now out of range compares correctly where it is not stored.
	if _, err := s.GetSession(ctx, v.ID, far); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession at a now after 2262 = %v, want ErrNotFound", err)
	}
	if list, err := s.ListSessions(ctx, v.UserID, time.Time{}); err != nil || len(list) != 1 {
		t.Errorf("ListSessions at the zero time = %d sessions, %v; want 1", len(list), err)
	}
	// Where it would be stored, it is invalid.
	if _, err := s.RotateRefresh(ctx, v.ID, v.RefreshHash, []byte("new"), nil, base.Add(time.Hour), far); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RotateRefresh at a now after 2262 = %v, want ErrInvalid", err)
	}
	if err := s.RevokeSession(ctx, v.ID, far); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RevokeSession at a now after 2262 = %v, want ErrInvalid", err)
	}
	if got, err := s.GetSession(ctx, v.ID, base); err != nil || !got.RevokedAt.IsZero() || string(got.RefreshHash) != string(v.RefreshHash) {
		t.Errorf("GetSession = %+v, %v; want it unchanged", got, err)
	}
}

func count(t *testing.T, path, table string) int {
	t.Helper()
	var n int
	if err := inspect(t, path).QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPurge(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	s := open(t, path)
	// 600 nonces and counters that end at base+1s, then 256 of each at base+2s: the purges on the
	// way delete the ended ones.
	for i := range 600 {
		n := store.Nonce{Value: fmt.Sprintf("old%06d", i), IssuedAt: base, ExpiresAt: base.Add(time.Second)}
		if err := s.CreateNonce(ctx, n, base); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.IncrementCounter(ctx, fmt.Sprintf("old%d", i), time.Second, base); err != nil {
			t.Fatal(err)
		}
	}
	now := base.Add(2 * time.Second)
	for i := range 256 {
		n := store.Nonce{Value: fmt.Sprintf("new%06d", i), IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := s.CreateNonce(ctx, n, now); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.IncrementCounter(ctx, fmt.Sprintf("new%d", i), time.Minute, now); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, path, "nonces"); n != 256 {
		t.Errorf("%d nonces in the table, want the 256 live ones", n)
	}
	if n := count(t, path, "counters"); n != 256 {
		t.Errorf("%d counters in the table, want the 256 live ones", n)
	}
}

func TestPurgeSessionsAndKeys(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	s := open(t, path)
	// 300 sessions that end by base+1h (some idle, some absolute, some revoked), then 212 more
	// created at base+2h: the purge at the 512th creation deletes the ended ones.
	for i := range 300 {
		v := session(fmt.Sprintf("old%06d", i), fmt.Sprint("user", i%10), base)
		if i%2 == 0 {
			v.IdleExpiresAt, v.ExpiresAt = base.Add(2*time.Hour), base.Add(time.Hour)
		}
		if i%3 == 0 {
			v.RevokedAt = base
		}
		if err := s.CreateSession(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	now := base.Add(2 * time.Hour)
	for i := range 212 {
		if err := s.CreateSession(ctx, session(fmt.Sprintf("new%06d", i), "user", now)); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, path, "sessions"); n != 212 {
		t.Errorf("%d sessions in the table, want the 212 live ones", n)
	}
	// Every key creation purges keys expired at its CreatedAt.
	key := func(id string, created time.Time) store.SigningKey {
		return store.SigningKey{ID: id, Algorithm: "EdDSA", Private: []byte("{}"), CreatedAt: created, NotBefore: created, ExpiresAt: created.Add(time.Hour)}
	}
	for i := range 5 {
		if err := s.CreateKey(ctx, key(fmt.Sprint("k", i), base)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateKey(ctx, key("later", base.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if n := count(t, path, "signing_keys"); n != 1 {
		t.Errorf("%d keys in the table, want the live one", n)
	}
}

// TestTwoStoresOneFile has two stores (as two processes would) write to one file at once: the
// busy timeout makes them wait for each other, and no update is lost.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "walletauth.db")
	stores := []*sqlitestore.Store{open(t, path), open(t, path)}
	const perStore = 100
	var (
		mu     sync.Mutex
		counts []int64
		wg     sync.WaitGroup
	)
	for i := range 2 * perStore {
		wg.Go(func() {
			c, _, err := stores[i%2].IncrementCounter(t.Context(), "shared", time.Minute, base)
			if err != nil {
				t.Errorf("IncrementCounter = %v", err)
				return
			}
			mu.Lock()
			counts = append(counts, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(counts)
	for i, c := range counts {
		if c != int64(i+1) {
			t.Fatalf("counts %v, want each of 1..%d once", counts, 2*perStore)
		}
	}
}

// TestTwoStoresOneFileSessions has two stores (as two processes would) refresh one session and
// create users claiming one address at once, through transactions and single statements alike:
// nothing fails for a lock, one refresh and one user win.
func TestTwoStoresOneFileSessions(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	stores := []*sqlitestore.Store{open(t, path), open(t, path)}
	v := session("shared", "user", base)
	if err := stores[0].CreateSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	const n = 40
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			retired := [][]byte{[]byte(fmt.Sprint("retired", i)), []byte("older")}
			_, errs[i] = stores[i%2].RotateRefresh(ctx, v.ID, v.RefreshHash, []byte(fmt.Sprint("new", i)), retired, base.Add(time.Hour), base)
		})
		wg.Go(func() {
			u := store.User{ID: fmt.Sprint("user", i), Wallets: []store.Wallet{
				{Address: fmt.Sprintf("0x%040x", i+1)},
				{Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
			}}
			errs[n+i] = stores[i%2].CreateUser(ctx, u)
		})
	}
	wg.Wait()
	for half, errs := range [][]error{errs[:n], errs[n:]} {
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("call %d of kind %d = %v, want nil or ErrConflict", i, half, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d calls of kind %d succeeded, want 1", wins, half)
		}
	}
}

// TestMFAStoredForm checks how factors and recovery codes sit in the database, for other programs
// that read it.
func TestMFAStoredForm(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	s := open(t, path)
	f := store.TOTP{UserID: "user", Secret: []byte{0, 1, 2}, KeyID: "mfa-key-1", CreatedAt: base, LastStep: 0}
	if err := s.PutTOTP(ctx, f); err != nil {
		t.Fatal(err)
	}
	db := inspect(t, path)
	var (
		secret             []byte
		keyID              string
		created, confirmed sql.NullInt64
		lastStep           int64
	)
	row := func() {
		t.Helper()
		if err := db.QueryRow(`SELECT secret, key_id, created_at, confirmed_at, last_step FROM totp WHERE user_id = 'user'`).
			Scan(&secret, &keyID, &created, &confirmed, &lastStep); err != nil {
			t.Fatal(err)
		}
	}
	row()
	if string(secret) != "\x00\x01\x02" || keyID != "mfa-key-1" || created.Int64 != base.UnixNano() || confirmed.Valid || lastStep != 0 {
		t.Errorf("stored factor = %x, %q, %v, %v, %d; want the secret, the key id, CreatedAt in ns, NULL, 0", secret, keyID, created, confirmed, lastStep)
	}
	now := base.Add(time.Minute + 1)
	if _, err := s.UseTOTPStep(ctx, "user", f.Secret, 42, now); err != nil {
		t.Fatal(err)
	}
	row()
	if confirmed.Int64 != now.UnixNano() || lastStep != 42 {
		t.Errorf("stored factor after UseTOTPStep: confirmed_at %v, last_step %d; want %d, 42", confirmed, lastStep, now.UnixNano())
	}
	if err := s.ReplaceRecoveryCodes(ctx, "user", [][]byte{{0xab}, {0xcd, 0xef}}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, "other", [][]byte{{0xab}}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT user_id, hex(hash), created_at FROM recovery_codes ORDER BY user_id, hash`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var user, h string
		var at sql.NullInt64
		if err := rows.Scan(&user, &h, &at); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(user, " ", h, " ", at.Valid && at.Int64 == now.UnixNano(), " ", at.Valid))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	want := []string{"other AB false false", "user AB true true", "user CDEF true true"}
	if !slices.Equal(got, want) {
		t.Errorf("stored recovery codes = %q, want %q", got, want)
	}
	// The schema refuses what no store would write.
	for _, q := range []string{
		`INSERT INTO totp (user_id, secret, key_id, last_step) VALUES ('bad', X'01', 'k', -1)`,
		`INSERT INTO totp (user_id, secret, key_id, last_step) VALUES ('bad', X'', 'k', 0)`,
		`INSERT INTO totp (user_id, secret, key_id, last_step) VALUES ('bad', X'01', '', 0)`,
		`INSERT INTO recovery_codes (user_id, hash) VALUES ('bad', X'')`,
		`INSERT INTO recovery_codes (user_id, hash) VALUES ('user', X'AB')`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s succeeded, want a constraint error", q)
		}
	}
}

func TestRecoveryCodeLimits(t *testing.T) {
	ctx := t.Context()
	s := open(t, sqlitestore.Memory)
	codes := make([][]byte, sqlitestore.MaxRecoveryCodesPerUser+1)
	for i := range codes {
		codes[i] = []byte(fmt.Sprint("code", i))
	}
	if err := s.ReplaceRecoveryCodes(ctx, "user", codes[:sqlitestore.MaxRecoveryCodesPerUser], base); err != nil {
		t.Fatalf("ReplaceRecoveryCodes of %d codes = %v, want nil", sqlitestore.MaxRecoveryCodesPerUser, err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, "user", codes, base); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ReplaceRecoveryCodes of %d codes = %v, want ErrInvalid", len(codes), err)
	}
	far := time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC)
	if err := s.ReplaceRecoveryCodes(ctx, "user", codes[:1], far); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ReplaceRecoveryCodes at a now after 2262 = %v, want ErrInvalid", err)
	}
	if n, err := s.CountRecoveryCodes(ctx, "user"); err != nil || n != sqlitestore.MaxRecoveryCodesPerUser {
		t.Errorf("CountRecoveryCodes = %d, %v; want the %d kept", n, err, sqlitestore.MaxRecoveryCodesPerUser)
	}
}

// TestTwoStoresOneFileMFA has two stores (as two processes would) accept one TOTP step, use one
// recovery code and replace a set at once: one call wins each race, and nothing fails for a lock.
func TestTwoStoresOneFileMFA(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	stores := []*sqlitestore.Store{open(t, path), open(t, path)}
	if err := stores[0].PutTOTP(ctx, store.TOTP{UserID: "user", Secret: []byte{1}, KeyID: "k"}); err != nil {
		t.Fatal(err)
	}
	shared := []byte("shared code")
	if err := stores[1].ReplaceRecoveryCodes(ctx, "user", [][]byte{shared}, base); err != nil {
		t.Fatal(err)
	}
	const n = 40
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = stores[i%2].UseTOTPStep(ctx, "user", []byte{1}, 1000, base)
		})
		wg.Go(func() {
			errs[n+i] = stores[i%2].UseRecoveryCode(ctx, "user", shared)
		})
		wg.Go(func() {
			codes := [][]byte{[]byte(fmt.Sprint("other", i)), []byte(fmt.Sprint("other", i+1))}
			if err := stores[i%2].ReplaceRecoveryCodes(ctx, "other", codes, base); err != nil {
				t.Errorf("ReplaceRecoveryCodes #%d = %v", i, err)
			}
		})
	}
	wg.Wait()
	for half, want := range []error{store.ErrConflict, store.ErrNotFound} {
		wins := 0
		for i, err := range errs[half*n : (half+1)*n] {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, want):
				t.Errorf("call %d of kind %d = %v, want nil or %v", i, half, err, want)
			}
		}
		if wins != 1 {
			t.Errorf("%d calls of kind %d succeeded, want 1", wins, half)
		}
	}
	if c, err := stores[0].CountRecoveryCodes(ctx, "other"); err != nil || c != 2 {
		t.Errorf("CountRecoveryCodes after the race of replacements = %d, %v; want one whole set of 2", c, err)
	}
}

// BenchmarkStore runs the stores' shared benchmarks (storetest.Benchmark) on a database file;
// BenchmarkStoreMemory on an in-memory database.
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return open(b, filepath.Join(b.TempDir(), "bench.db")) })
}

func BenchmarkStoreMemory(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return open(b, sqlitestore.Memory) })
}

func ExampleOpen() {
	ctx := context.Background()
	// A file path in production; an in-memory database here.
	s, err := sqlitestore.Open(ctx, sqlitestore.Memory)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	now := time.Date(2030, time.January, 1, 12, 0, 0, 0, time.UTC)
	n := store.Nonce{Value: "k7Qm2xPz9a", ChainID: 1, IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	if err := s.CreateNonce(ctx, n, now); err != nil {
		fmt.Println(err)
		return
	}
	got, err := s.ConsumeNonce(ctx, "k7Qm2xPz9a", now.Add(10*time.Second))
	fmt.Println(got.Value, got.ChainID, got.ExpiresAt.Format(time.RFC3339), err)

	// A nonce is used once.
	_, err = s.ConsumeNonce(ctx, "k7Qm2xPz9a", now.Add(11*time.Second))
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// k7Qm2xPz9a 1 2030-01-01T12:05:00Z <nil>
	// true
}

// TestWalletsAndMetadataStoredForm checks how linked wallets and metadata sit in the database,
// for other programs that read it.
func TestWalletsAndMetadataStoredForm(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	s := open(t, path)
	u := store.User{ID: "user", Wallets: []store.Wallet{{Address: "0xA1", ChainID: 1}, {Address: "0xA2", ChainID: 1}}}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"0xB1", "0xB2"} {
		if err := s.LinkWallet(ctx, "user", store.Wallet{Address: a, ChainID: 10, LinkedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UnlinkWallet(ctx, "user", "0xa2"); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkWallet(ctx, "user", store.Wallet{Address: "0xB3", ChainID: 10}); err != nil {
		t.Fatal(err)
	}
	db := inspect(t, path)
	rows, err := db.Query(`SELECT address_key, address, position, linked_at FROM wallets WHERE user_id = 'user' ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var key, address string
		var position int
		var linked sql.NullInt64
		if err := rows.Scan(&key, &address, &position, &linked); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(key, " ", address, " ", position, " ", linked.Valid && linked.Int64 == base.UnixNano(), " ", linked.Valid))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	want := []string{"0xa1 0xA1 0 false false", "0xb1 0xB1 2 true true", "0xb2 0xB2 3 true true", "0xb3 0xB3 4 false false"}
	if !slices.Equal(got, want) {
		t.Errorf("stored wallets = %q, want %q", got, want)
	}

	doc := []byte(`{"plan":"pro","seats":3}`)
	now := base.Add(time.Minute + 1)
	if err := s.SetMetadata(ctx, "user", "public", doc, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMetadata(ctx, "user", "unsafe", []byte(`{}`), time.Time{}); err != nil {
		t.Fatal(err)
	}
	var (
		plan    string
		typ     string
		updated sql.NullInt64
	)
	if err := db.QueryRow(`SELECT json_extract(doc, '$.plan'), typeof(doc), updated_at FROM metadata WHERE user_id = 'user' AND member = 'public'`).
		Scan(&plan, &typ, &updated); err != nil {
		t.Fatal(err)
	}
	if plan != "pro" || typ != "text" || updated.Int64 != now.UnixNano() {
		t.Errorf("stored public metadata: plan %q, type %q, updated_at %v; want pro, text, %d", plan, typ, updated, now.UnixNano())
	}
	if err := db.QueryRow(`SELECT updated_at FROM metadata WHERE user_id = 'user' AND member = 'unsafe'`).Scan(&updated); err != nil || updated.Valid {
		t.Errorf("updated_at of a member set at the zero time = %v, %v; want NULL", updated, err)
	}
	// A deleted member has no row.
	if err := s.SetMetadata(ctx, "user", "unsafe", nil, now); err != nil {
		t.Fatal(err)
	}
	if n := count(t, path, "metadata"); n != 1 {
		t.Errorf("metadata rows after deleting a member = %d, want 1", n)
	}
	// The schema refuses what no store would write.
	for _, q := range []string{
		`INSERT INTO metadata (user_id, member, doc) VALUES ('bad', 'other', '{}')`,
		`INSERT INTO metadata (user_id, member, doc) VALUES ('bad', 'private', '')`,
		`INSERT INTO metadata (user_id, member, doc) VALUES ('bad', 'private', X'7B7D')`,
		`INSERT INTO metadata (user_id, member, doc) VALUES ('user', 'public', '{}')`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s succeeded, want a constraint error", q)
		}
	}
	var fk int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil || fk != 0 {
		t.Errorf("foreign key violations = %d, %v; want 0", fk, err)
	}
}

func TestMetadataLimits(t *testing.T) {
	ctx := t.Context()
	s := open(t, sqlitestore.Memory)
	big := bytes.Repeat([]byte("x"), sqlitestore.MaxMetadataSize-len(`{"x":""}`))
	doc := append(append([]byte(`{"x":"`), big...), `"}`...)
	if err := s.SetMetadata(ctx, "user", "private", doc, base); err != nil {
		t.Fatalf("SetMetadata of %d bytes = %v, want nil", len(doc), err)
	}
	longer := append(append([]byte(`{"x":"`), big...), `y"}`...)
	if err := s.SetMetadata(ctx, "user", "private", longer, base); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetMetadata of %d bytes = %v, want ErrInvalid", len(longer), err)
	}
	far := time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC)
	if err := s.SetMetadata(ctx, "user", "private", []byte(`{}`), far); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetMetadata at a now after 2262 = %v, want ErrInvalid", err)
	}
	if m, err := s.GetMetadata(ctx, "user"); err != nil || !bytes.Equal(m.Private, doc) {
		t.Errorf("GetMetadata = %d bytes, %v; want the %d kept", len(m.Private), err, len(doc))
	}
}

// TestMigrateFromVersion4 opens a database that a program knowing the first four migrations made,
// with a user in it: migration 5 adds the metadata, and the user's wallets link on after the ones
// it had.
func TestMigrateFromVersion4(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	db := inspect(t, path)
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"0001_init", "0002_keys_sessions_users", "0003_retired_refresh_hashes", "0004_mfa"} {
		text, err := os.ReadFile(filepath.Join("migrations", name+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(text)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?1, ?2, 1)`, i+1, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO users (id, created_at) VALUES ('fromV4', NULL)`,
		`INSERT INTO wallets (address_key, address, user_id, position, chain_id, linked_at) VALUES ('0xa1', '0xA1', 'fromV4', 0, 1, NULL), ('0xa2', '0xA2', 'fromV4', 1, 1, NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := open(t, path)
	rows := migrationRows(t, path)
	if len(rows) != 7 || rows[3].appliedAt != 1 || rows[4].version != 5 || rows[4].name != "0005_metadata" || rows[5].version != 6 || rows[6].version != 7 {
		t.Errorf("schema_migrations = %+v, want versions 1 to 4 as they were and versions 5 to 7", rows)
	}
	if err := s.LinkWallet(ctx, "fromV4", store.Wallet{Address: "0xA3", ChainID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.UnlinkWallet(ctx, "fromV4", "0xA1"); err != nil {
		t.Fatal(err)
	}
	u, err := s.GetUser(ctx, "fromV4")
	if err != nil || len(u.Wallets) != 2 || u.Wallets[0].Address != "0xA2" || u.Wallets[1].Address != "0xA3" {
		t.Errorf("GetUser after the migration = %+v, %v; want wallets 0xA2, 0xA3", u, err)
	}
	if err := s.SetMetadata(ctx, "fromV4", "public", []byte(`{"v":5}`), base); err != nil {
		t.Fatal(err)
	}
	if m, err := s.GetMetadata(ctx, "fromV4"); err != nil || string(m.Public) != `{"v":5}` {
		t.Errorf("GetMetadata after the migration = %+v, %v", m, err)
	}
}

// TestTwoStoresOneFileWallets has two stores (as two processes would) link one address to
// different users, and unlink each of one user's two wallets, at once: one call wins each race,
// and nothing fails for a lock.
func TestTwoStoresOneFileWallets(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "walletauth.db")
	stores := []*sqlitestore.Store{open(t, path), open(t, path)}
	const n = 20
	for i := range n {
		u := store.User{ID: fmt.Sprint("user", i), Wallets: []store.Wallet{{Address: fmt.Sprintf("0x%040x", i+1)}}}
		if err := stores[i%2].CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	pair := []string{"0xPair1", "0xPair2"}
	if err := stores[0].CreateUser(ctx, store.User{ID: "pair", Wallets: []store.Wallet{{Address: pair[0]}, {Address: pair[1]}}}); err != nil {
		t.Fatal(err)
	}
	links := make([]error, n)
	unlinks := make([]error, 2)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			links[i] = stores[i%2].LinkWallet(ctx, fmt.Sprint("user", i), store.Wallet{Address: "0xShared"})
		})
	}
	for i, a := range pair {
		wg.Go(func() {
			unlinks[i] = stores[i].UnlinkWallet(ctx, "pair", strings.ToUpper(a))
		})
	}
	wg.Wait()
	for _, tc := range []struct {
		name string
		errs []error
	}{{"LinkWallet", links}, {"UnlinkWallet", unlinks}} {
		wins := 0
		for i, err := range tc.errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("%s #%d = %v, want nil or ErrConflict", tc.name, i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d concurrent %s calls succeeded, want 1", wins, tc.name)
		}
	}
	u, err := stores[1].GetUser(ctx, "pair")
	if err != nil || len(u.Wallets) != 1 {
		t.Errorf("GetUser(pair) after the race = %+v, %v; want one wallet", u, err)
	}
	if c := count(t, path, "wallets"); c != n+2 {
		t.Errorf("wallets after the races = %d, want %d (one of each user, the shared one)", c, n+2)
	}
}
