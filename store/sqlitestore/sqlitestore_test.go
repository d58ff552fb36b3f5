package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

func TestConformanceFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "walletauth.db"))
	})
}

func TestConformanceMemory(t *testing.T) {
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
	if len(first) != 1 || first[0].version != 1 || first[0].name != "0001_init" {
		t.Fatalf("schema_migrations = %+v, want version 1, 0001_init", first)
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

func benchmarkNonceIssueConsume(b *testing.B, path string) {
	ctx := context.Background()
	s := open(b, path)
	values := make([]string, 4096)
	for i := range values {
		values[i] = fmt.Sprintf("bench%012d", i)
	}
	n := store.Nonce{Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ChainID: 1, IssuedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		n.Value = values[i%len(values)]
		i++
		if err := s.CreateNonce(ctx, n, base); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ConsumeNonce(ctx, n.Value, base); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNonceIssueConsume(b *testing.B) {
	benchmarkNonceIssueConsume(b, filepath.Join(b.TempDir(), "bench.db"))
}

func BenchmarkNonceIssueConsumeMemory(b *testing.B) {
	benchmarkNonceIssueConsume(b, sqlitestore.Memory)
}

func BenchmarkGetNonce(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	n := store.Nonce{Value: "benchGet01", ChainID: 1, IssuedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	if err := s.CreateNonce(ctx, n, base); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetNonce(ctx, n.Value, base); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncrementCounter(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.IncrementCounter(ctx, "rate:ip:192.0.2.1", time.Minute, base); err != nil {
			b.Fatal(err)
		}
	}
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
