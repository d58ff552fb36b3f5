package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/pgstore"
	"github.com/walletauth/walletauth/store/storetest"
)

var base = time.Date(2030, time.January, 2, 3, 4, 5, 6, time.UTC)

var (
	reachOnce sync.Once
	reachErr  error
)

// serverURL returns the URL of the test server, or ends the test when it is unreachable (see
// testutil.NeedService).
func serverURL(t testing.TB) string {
	t.Helper()
	url := testutil.PostgresURL()
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := connect(ctx, url)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		reachErr = err
	})
	testutil.NeedService(t, "PostgreSQL", reachErr)
	return url
}

// connect opens a connection of its own to the server of url, which may hold the parameters of
// a pool (pool_max_conns and the like), as Open takes it.
func connect(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg.ConnConfig)
}

// freshSchema returns the name of a schema that does not exist yet, which the test's cleanup
// drops (with everything in it) through a connection of its own. The name has the greatest
// length allowed.
func freshSchema(t testing.TB) string {
	t.Helper()
	url := serverURL(t)
	var b [16]byte
	rand.Read(b[:])
	name := "wa_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := connect(ctx, url)
		if err != nil {
			t.Errorf("connect to drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// open opens a store of schema on the test server, closed by the test's cleanup.
func open(t testing.TB, schema string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), serverURL(t), pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatalf("Open(schema %s) = %v", schema, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// admin returns a connection to the test server for a test to look into the database.
func admin(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := connect(t.Context(), serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Every subtest of the suites gets a schema of its own, migrated from nothing.

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, freshSchema(t))
	})
}

func TestWatcher(t *testing.T) {
	storetest.RunWatcher(t, func(t *testing.T) (store.Store, store.Store) {
		schema := freshSchema(t)
		return open(t, schema), open(t, schema)
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store {
		return open(b, freshSchema(b))
	})
}

type migrationRow struct {
	version   int64
	name      string
	appliedAt int64
}

func migrationRows(t *testing.T, schema string) []migrationRow {
	t.Helper()
	rows, err := admin(t).Query(t.Context(), `SELECT version, name, applied_at FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+` ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (migrationRow, error) {
		var r migrationRow
		err := row.Scan(&r.version, &r.name, &r.appliedAt)
		return r, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

var wantMigrations = []string{"0001_init", "0002_accounts"}

func wantMigrated(t *testing.T, rows []migrationRow) {
	t.Helper()
	var names []string
	for i, r := range rows {
		if r.version != int64(i+1) {
			t.Errorf("schema_migrations row %d has version %d, want %d", i, r.version, i+1)
		}
		names = append(names, r.name)
	}
	if !slices.Equal(names, wantMigrations) {
		t.Errorf("schema_migrations = %q, want %q", names, wantMigrations)
	}
}

// TestMigrateConcurrently has 8 instances start at once on a schema that does not exist: all
// open, and each migration is applied once.
func TestMigrateConcurrently(t *testing.T) {
	schema := freshSchema(t)
	const n = 8
	stores := make([]*pgstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = pgstore.Open(t.Context(), serverURL(t), pgstore.Options{Schema: schema})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d = %v", i, err)
			continue
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if t.Failed() {
		t.FailNow()
	}
	wantMigrated(t, migrationRows(t, schema))
	// Every instance works on the one schema.
	ctx := t.Context()
	for i, s := range stores {
		n := store.Nonce{Value: fmt.Sprintf("instance%02d", i), ExpiresAt: base.Add(time.Hour)}
		if err := s.CreateNonce(ctx, n, base); err != nil {
			t.Fatalf("CreateNonce on instance %d: %v", i, err)
		}
		if _, err := stores[(i+1)%len(stores)].ConsumeNonce(ctx, n.Value, base); err != nil {
			t.Errorf("ConsumeNonce on instance %d of a nonce of instance %d: %v", (i+1)%len(stores), i, err)
		}
	}
}

// TestReopen opens a migrated schema again: the records are there, and nothing is migrated again.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	s := open(t, schema)
	n := store.Nonce{Value: "persisted1", Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ChainID: 1, IssuedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateNonce(ctx, n, base); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	first := migrationRows(t, schema)
	wantMigrated(t, first)
	for range 2 {
		s := open(t, schema)
		if got, err := s.GetNonce(ctx, n.Value, base); err != nil || got.Address != n.Address || !got.ExpiresAt.Equal(n.ExpiresAt) {
			t.Errorf("GetNonce after reopening = %+v, %v; want %+v", got, err, n)
		}
		s.Close()
	}
	if again := migrationRows(t, schema); !slices.Equal(again, first) {
		t.Errorf("schema_migrations after reopening = %+v, want %+v unchanged", again, first)
	}
}

// TestSchemaTooNew opens a schema that records a migration beyond the newest this package knows.
func TestSchemaTooNew(t *testing.T) {
	schema := freshSchema(t)
	open(t, schema).Close()
	if _, err := admin(t).Exec(t.Context(), `INSERT INTO `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+
		` (version, name, applied_at) VALUES ($1, 'from_the_future', 1)`, len(wantMigrations)+1); err != nil {
		t.Fatal(err)
	}
	s, err := pgstore.Open(t.Context(), serverURL(t), pgstore.Options{Schema: schema})
	if !errors.Is(err, pgstore.ErrSchemaTooNew) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a schema migrated by a newer version = %v, want ErrSchemaTooNew", err)
	}
}

func TestBadSchema(t *testing.T) {
	for _, name := range []string{
		"Walletauth", "wallet-auth", "wallet auth", "wallet.auth", `wallet"auth`, "wallet;auth", "1walletauth",
		"pg_walletauth", "pg_catalog", "walletäuth", strings.Repeat("a", pgstore.MaxSchemaLen+1),
	} {
		// The name is refused before any connection: the server need not be there.
		if s, err := pgstore.Open(t.Context(), "postgres://nobody@127.0.0.1:1/none", pgstore.Options{Schema: name}); err == nil {
			s.Close()
			t.Errorf("Open with schema %q succeeded, want an error", name)
		}
	}
	url := serverURL(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pgstore.New(t.Context(), pool, pgstore.Options{Schema: "Bad-Name"}); err == nil {
		t.Errorf("New with schema %q succeeded, want an error", "Bad-Name")
	}
	if _, err := pgstore.New(t.Context(), nil, pgstore.Options{}); err == nil {
		t.Errorf("New with a nil pool succeeded, want an error")
	}
}

// TestSchemasApart runs two stores in two schemas of one database, on one pool whose search_path
// names the second schema: each keeps its own records and hears only its own changes, and the
// first's tables are in its schema whatever the search_path.
func TestSchemasApart(t *testing.T) {
	ctx := t.Context()
	schemaA, schemaB := freshSchema(t), freshSchema(t)
	cfg, err := pgxpool.ParseConfig(serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schemaB
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	a, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schemaA})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schemaB})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	n := store.Nonce{Value: "onlyInA001", ExpiresAt: base.Add(time.Hour)}
	if err := a.CreateNonce(ctx, n, base); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetNonce(ctx, n.Value, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetNonce in the other schema = %v, want ErrNotFound", err)
	}
	if err := b.CreateNonce(ctx, n, base); err != nil {
		t.Errorf("CreateNonce of the same value in the other schema = %v, want nil", err)
	}
	u := store.User{ID: "user", CreatedAt: base, Wallets: []store.Wallet{{Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ChainID: 1}}}
	if err := a.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateUser(ctx, u); err != nil {
		t.Errorf("CreateUser with the same wallet in the other schema = %v, want nil", err)
	}
	conn := admin(t)
	for schema, want := range map[string]int{schemaA: 1, schemaB: 1} {
		var got int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "nonces"}.Sanitize()).Scan(&got); err != nil || got != want {
			t.Errorf("rows of %s.nonces = %d, %v; want %d", schema, got, err, want)
		}
	}

	// Changes in one schema are not heard in the other.
	heardA, heardB := watch(t, a), watch(t, b)
	if err := a.CreateSession(ctx, session("sess", "user", base)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeSession(ctx, "sess", base); err != nil {
		t.Fatal(err)
	}
	heardA.expect(t, store.ChangeRevoked)
	heardB.expectNothing(t, 300*time.Millisecond)
}

func session(id, user string, now time.Time) store.Session {
	return store.Session{ID: id, UserID: user, Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ChainID: 1,
		AAL: "aal1", AMR: []string{"siwe"}, RefreshHash: []byte(id + "/0"), CreatedAt: now, LastUsedAt: now,
		IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour), UserAgent: "test", IP: "192.0.2.1"}
}

// watching is a watch running for a test: its changes arrive on c, its end on done.
type watching struct {
	c    chan store.Change
	done chan error
}

// watch starts a watch of s, waits for it to be live, and ends it with the test.
func watch(t *testing.T, s *pgstore.Store) *watching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watching{c: make(chan store.Change, 100), done: make(chan error, 1)}
	go func() { w.done <- s.Watch(ctx, func(c store.Change) { w.c <- c }) }()
	t.Cleanup(func() {
		cancel()
		<-w.done
	})
	select {
	case c := <-w.c:
		if c != store.ChangeSubscribed {
			t.Fatalf("first change = %v, want subscribed", c)
		}
	case err := <-w.done:
		t.Fatalf("Watch = %v before it was live", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Watch was not live after 10s")
	}
	return w
}

func (w *watching) expect(t *testing.T, want store.Change) {
	t.Helper()
	select {
	case c := <-w.c:
		if c != want {
			t.Errorf("change = %v, want %v", c, want)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("no %v within 5s", want)
	}
}

func (w *watching) expectNothing(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case c := <-w.c:
		t.Errorf("change %v, want none", c)
	case <-time.After(d):
	}
}

// TestNotifyOnlyChanges checks that calls that change nothing announce nothing: a key that
// conflicts, a deletion of an absent key, a revocation of an absent or revoked session.
func TestNotifyOnlyChanges(t *testing.T) {
	ctx := t.Context()
	s := open(t, freshSchema(t))
	k := store.SigningKey{ID: "kid", Algorithm: "EdDSA", Private: []byte(`{}`), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, session("sess", "user", base)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, "sess", base); err != nil {
		t.Fatal(err)
	}
	w := watch(t, s)
	if err := s.CreateKey(ctx, k); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateKey of a live ID = %v, want ErrConflict", err)
	}
	for _, err := range []error{
		s.DeleteKey(ctx, "absent"),
		s.RevokeSession(ctx, "absent", base),
		s.RevokeSession(ctx, "sess", base.Add(time.Second)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.RevokeUserSessions(ctx, "user", "", base); err != nil || n != 0 {
		t.Fatalf("RevokeUserSessions = %d, %v; want 0, nil", n, err)
	}
	w.expectNothing(t, 300*time.Millisecond)
	if err := s.DeleteKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	w.expect(t, store.ChangeKeys)
}

// TestWatchConnectionLost ends the server side of a watch's connection: Watch returns an error
// (not ErrClosed), and a new watch works.
func TestWatchConnectionLost(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	s := open(t, schema)
	w := watch(t, s)
	var killed bool
	if err := admin(t).QueryRow(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity
WHERE datname = current_database() AND query = $1`, `LISTEN "walletauth_changes_`+schema+`"`).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the watch's backend = %v, %v; want true, nil", killed, err)
	}
	select {
	case err := <-w.done:
		if err == nil || errors.Is(err, store.ErrClosed) {
			t.Errorf("Watch after its connection was lost = %v, want an error other than ErrClosed", err)
		}
		w.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return within 10s of the loss of its connection")
	}
	again := watch(t, s)
	if err := s.CreateKey(ctx, store.SigningKey{ID: "kid", Algorithm: "EdDSA", Private: []byte(`{}`), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	again.expect(t, store.ChangeKeys)
}

// TestWatchClosed checks Watch on a closed store, and that Close of a store made by New leaves
// the caller's pool open.
func TestWatchClosed(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	pool, err := pgxpool.New(ctx, serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.done:
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("Watch ended by Close = %v, want ErrClosed", err)
		}
		w.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not end within 10s of Close")
	}
	if err := s.Watch(ctx, func(store.Change) { t.Error("fn called on a closed store") }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Watch on a closed store = %v, want ErrClosed", err)
	}
	if err := open(t, schema).Watch(ctx, nil); err == nil {
		t.Errorf("Watch with a nil function = nil, want an error")
	}
	if err := pool.Ping(ctx); err != nil {
		t.Errorf("the caller's pool after Close of the store: %v", err)
	}
	// A watch whose context is done returns nil without calling fn.
	t2 := open(t, schema)
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := t2.Watch(done, func(store.Change) { t.Error("fn called with a done context") }); err != nil {
		t.Errorf("Watch with a done context = %v, want nil", err)
	}
}

// TestStoredForm looks at the rows a store writes, as another program would read them.
func TestStoredForm(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	s := open(t, schema)
	v := session("stored", "user", base)
	v.ChainID = 1<<64 - 1
	v.AMR = []string{"siwe", "totp"}
	v.RetiredRefreshHashes = [][]byte{{0x00, 0xff}, {}, {0xab}}
	v.LastUsedAt = time.Time{}
	v.UserAgent = "Navigateur/1.0 (\xe9t\xe9; \x00)" // Latin-1 and a NUL: not text, as a header may be
	if err := s.CreateSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetSession(ctx, v.ID, base); err != nil || got.UserAgent != v.UserAgent {
		t.Errorf("GetSession = %q, %v; want the user agent %q", got.UserAgent, err, v.UserAgent)
	}
	var (
		chainID, created int64
		lastUsed         *int64
		amr              []string
		retired          [][]byte
	)
	err := admin(t).QueryRow(ctx, `SELECT chain_id, created_at, last_used_at, amr, retired_refresh_hashes FROM `+
		pgx.Identifier{schema, "sessions"}.Sanitize()+` WHERE id = 'stored'`).Scan(&chainID, &created, &lastUsed, &amr, &retired)
	if err != nil {
		t.Fatal(err)
	}
	if chainID != -1 || created != base.UnixNano() || lastUsed != nil || !slices.Equal(amr, v.AMR) ||
		len(retired) != 3 || string(retired[0]) != "\x00\xff" || len(retired[1]) != 0 || string(retired[2]) != "\xab" {
		t.Errorf("stored session: chain_id %d, created_at %d, last_used_at %v, amr %q, retired %x; want -1, %d, NULL, %q, %x",
			chainID, created, lastUsed, amr, retired, base.UnixNano(), v.AMR, v.RetiredRefreshHashes)
	}
	doc := []byte(`{ "plan" : "pro",  "name":"Zoë \u00e9" }`)
	if err := s.SetMetadata(ctx, "user", "public", doc, base); err != nil {
		t.Fatal(err)
	}
	var plan, text string
	if err := admin(t).QueryRow(ctx, `SELECT doc->>'plan', doc::text FROM `+pgx.Identifier{schema, "metadata"}.Sanitize()).Scan(&plan, &text); err != nil {
		t.Fatal(err)
	}
	if plan != "pro" || text != string(doc) {
		t.Errorf("stored metadata: plan %q, text %q; want pro, %q", plan, text, doc)
	}
	if err := s.SetMetadata(ctx, "user", "private", []byte(`{"open":`), base); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetMetadata of a document that is not JSON = %v, want ErrInvalid", err)
	}
	if _, err := s.GetNonce(ctx, "nul\x00byte", base); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("GetNonce of a value with a NUL byte = %v, want ErrInvalid", err)
	}
}

// TestPurge checks that every 256th CreateNonce deletes expired nonces, and leaves live ones.
func TestPurge(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	s := open(t, schema)
	for i := range 255 {
		n := store.Nonce{Value: fmt.Sprintf("expiring%04d", i), ExpiresAt: base.Add(time.Minute)}
		if i%2 == 0 {
			n.ExpiresAt = base.Add(time.Hour) // still live at the purge
		}
		if err := s.CreateNonce(ctx, n, base); err != nil {
			t.Fatal(err)
		}
	}
	later := base.Add(30 * time.Minute)
	if err := s.CreateNonce(ctx, store.Nonce{Value: "theLastOne", ExpiresAt: later.Add(time.Minute)}, later); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := admin(t).QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "nonces"}.Sanitize()).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if want := 128 + 1; left != want {
		t.Errorf("nonces after the purge = %d, want %d", left, want)
	}
}

// ExampleOpen opens a store in the schema "walletauth" of a database, creating the schema and
// its tables on the first run.
func ExampleOpen() {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, "postgres://walletauth@db.example.com:5432/app?sslmode=verify-full", pgstore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	// Hand s to the walletauth services; run s.Watch in a goroutine for instant revocations.
}
