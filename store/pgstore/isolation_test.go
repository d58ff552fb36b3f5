package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/pgstore"
)

const (
	walletA = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	walletB = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
)

// table returns the quoted name of a table of schema.
func table(schema, name string) string { return pgx.Identifier{schema, name}.Sanitize() }

// waitForLockWait waits until a backend runs a statement that names schema and waits for a lock
// (held by a test's own transaction).
func waitForLockWait(t *testing.T, conn *pgx.Conn, schema string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var waiting bool
		if err := conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND strpos(query, $1) > 0)`, schema).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no statement on schema %s waited for a lock within 10s", schema)
}

// repeatableReadPool returns a pool whose connections default to REPEATABLE READ, as a database
// or role configured with ALTER ... SET default_transaction_isolation makes them.
func repeatableReadPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "repeatable read"
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestUnlinkWalletRepeatableRead runs UnlinkWallet on a pool whose default isolation is
// REPEATABLE READ while another transaction holds the user's lock and unlinks the user's other
// wallet: once it commits, UnlinkWallet must count the wallets it left (one) and refuse to
// unlink the last. With its snapshot taken before the wait, it would count two and delete the last.
func TestUnlinkWalletRepeatableRead(t *testing.T) {
	ctx := t.Context()
	schema := freshSchema(t)
	s, err := pgstore.New(ctx, repeatableReadPool(t), pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateUser(ctx, store.User{ID: "u", Wallets: []store.Wallet{{Address: walletA}, {Address: walletB}}}); err != nil {
		t.Fatal(err)
	}
	conn := admin(t)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	// What a concurrent UnlinkWallet of walletA does.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM `+table(schema, "users")+` WHERE id = 'u' FOR NO KEY UPDATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM `+table(schema, "wallets")+` WHERE address_key = lower($1)`, walletA); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.UnlinkWallet(context.Background(), "u", walletB) }()
	waitForLockWait(t, admin(t), schema)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, store.ErrConflict) {
		t.Errorf("UnlinkWallet of the last wallet, after a concurrent unlink = %v, want ErrConflict", err)
	}
	if u, err := s.GetUser(ctx, "u"); err != nil || len(u.Wallets) != 1 {
		t.Errorf("GetUser = %+v, %v; want the user with one wallet", u, err)
	}
}

// TestMigrateConcurrentlyRepeatableRead has 8 instances start at once on a schema that does not
// exist, on pools whose default isolation is REPEATABLE READ: each must see, after the migration
// lock, what the instance before it made.
func TestMigrateConcurrentlyRepeatableRead(t *testing.T) {
	schema := freshSchema(t)
	pool := repeatableReadPool(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			var s *pgstore.Store
			s, errs[i] = pgstore.New(t.Context(), pool, pgstore.Options{Schema: schema})
			if s != nil {
				s.Close()
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("New #%d = %v", i, err)
		}
	}
	wantMigrated(t, migrationRows(t, schema))
}

// TestOpenReadCommitted opens a store with a connection string that asks for REPEATABLE READ:
// its statements must still run at READ COMMITTED, where an upsert that waits for a concurrent
// change of its row applies to the new row instead of failing with a serialization error.
func TestOpenReadCommitted(t *testing.T) {
	ctx := t.Context()
	u, err := url.Parse(serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += "default_transaction_isolation=repeatable%20read" // pgx reads no + as a space
	schema := freshSchema(t)
	s, err := pgstore.Open(ctx, u.String(), pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.SetMetadata(ctx, "u", "public", []byte(`{"v":0}`), base); err != nil {
		t.Fatal(err)
	}
	tx, err := admin(t).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `UPDATE `+table(schema, "metadata")+` SET doc = '{"v":1}' WHERE user_id = 'u'`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.SetMetadata(context.Background(), "u", "public", []byte(`{"v":2}`), base) }()
	waitForLockWait(t, admin(t), schema)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("SetMetadata after a concurrent change of the row = %v, want nil", err)
	}
	if m, err := s.GetMetadata(ctx, "u"); err != nil || string(m.Public) != `{"v":2}` {
		t.Errorf("GetMetadata = %s, %v; want {\"v\":2}", m.Public, err)
	}
}

// TestCreateUserDeadlock has CreateUser insert two addresses while another transaction holds the
// second and then inserts the first: PostgreSQL ends CreateUser as the deadlock's victim.
// CreateUser must still answer as the contract says: ErrConflict when the other transaction
// commits the addresses, success when it rolls back.
func TestCreateUserDeadlock(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			ctx := t.Context()
			schema := freshSchema(t)
			s := open(t, schema)
			tx, err := admin(t).Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.Background())
			// Each waiting backend looks for a deadlock deadlock_timeout after it began to wait
			// (1 s by default); the first to look is the victim. On a loaded machine the backends'
			// wake-ups can come late enough to swap the order, so this side looks only after a
			// minute: CreateUser is always the victim. (deadlock_timeout needs a superuser.)
			if _, err := tx.Exec(ctx, `SET LOCAL deadlock_timeout = '1min'`); err != nil {
				t.Fatalf("SET LOCAL deadlock_timeout (the test's server role must be a superuser): %v", err)
			}
			insert := `INSERT INTO ` + table(schema, "wallets") + ` (address_key, address, user_id, chain_id) VALUES (lower($1), $1, 'other', 1)`
			if _, err := tx.Exec(ctx, `INSERT INTO `+table(schema, "users")+` (id) VALUES ('other')`); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, insert, walletB); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				done <- s.CreateUser(context.Background(), store.User{ID: "u", Wallets: []store.Wallet{{Address: walletA}, {Address: walletB}}})
			}()
			waitForLockWait(t, admin(t), schema)
			// CreateUser holds walletA and waits for walletB: inserting walletA closes the cycle.
			// CreateUser detects the deadlock (after 1 s, this side after 1 min) and is its victim.
			if _, err := tx.Exec(ctx, insert, walletA); err != nil {
				t.Fatalf("the other transaction was the deadlock's victim: %v", err)
			}
			if commit {
				err = tx.Commit(ctx)
			} else {
				err = tx.Rollback(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			err = <-done
			switch {
			case commit && !errors.Is(err, store.ErrConflict):
				t.Errorf("CreateUser with addresses another user took = %v, want ErrConflict", err)
			case !commit && err != nil:
				t.Errorf("CreateUser with addresses that became free again = %v, want nil", err)
			}
		})
	}
}

// TestLongKeyInvalid stores a nonce whose value is too long for the index of its table: an error
// wrapping store.ErrInvalid, a record the store cannot keep.
func TestLongKeyInvalid(t *testing.T) {
	s := open(t, freshSchema(t))
	b := make([]byte, 6000)
	rand.Read(b)
	value := hex.EncodeToString(b) // incompressible: PostgreSQL cannot make it fit
	if err := s.CreateNonce(t.Context(), store.Nonce{Value: value, ExpiresAt: base.Add(time.Hour)}, base); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CreateNonce of a %d-byte value = %v, want ErrInvalid", len(value), err)
	}
}

// TestWatchPoolOnNotification watches through a pool whose connections hand notifications to a
// function of the app (ConnConfig.OnNotification), which leaves pgx none to return from
// WaitForNotification: Watch must neither crash nor miss the change.
func TestWatchPoolOnNotification(t *testing.T) {
	ctx := t.Context()
	cfg, err := pgxpool.ParseConfig(serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.OnNotification = func(*pgconn.PgConn, *pgconn.Notification) {}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: freshSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	wctx, cancel := context.WithCancel(context.Background())
	changes := make(chan store.Change, 100)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("Watch panicked: %v", p)
			}
		}()
		done <- s.Watch(wctx, func(c store.Change) { changes <- c })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch = %v, want nil", err)
		}
	}()
	next := func() (store.Change, bool) {
		select {
		case c := <-changes:
			return c, true
		case err := <-done:
			done <- err
			return 0, false
		case <-time.After(5 * time.Second):
			return 0, false
		}
	}
	if c, ok := next(); !ok || c != store.ChangeSubscribed {
		t.Fatalf("first change = %v, %v; want subscribed", c, ok)
	}
	if err := s.CreateSession(ctx, session("sess", "user", base)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, "sess", base); err != nil {
		t.Fatal(err)
	}
	for {
		c, ok := next()
		if !ok {
			t.Fatal("no revoked change within 5s")
		}
		if c == store.ChangeRevoked {
			return
		}
	}
}
