package session_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

// pushBound is how soon a change made by one instance must reach another through a push.
const pushBound = time.Second

// noPoll leaves pushes as the only way a started Manager learns of changes within a test.
func noPoll(c *session.Config) { c.SyncInterval = session.MaxSyncInterval }

// within waits up to pushBound for cond, checking it every few milliseconds: it waits for a
// push to arrive, not for time to pass (the Managers' clock does not move).
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pushBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, pushBound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPushedRevocationReachesOtherInstance(t *testing.T) {
	e := newEnv(t)
	a, b := e.manager(noPoll), e.manager(noPoll)
	b.Start(context.Background())
	tok := e.create(a, alice)
	if _, err := b.Verify(tok.AccessToken); err != nil {
		t.Fatalf("B verifies A's token: %v", err)
	}
	if err := a.Revoke(context.Background(), tok.SessionID); err != nil {
		t.Fatal(err)
	}
	within(t, "B refuses the revoked session's token", func() bool {
		_, err := b.Verify(tok.AccessToken)
		return errors.Is(err, session.ErrSessionRevoked)
	})
}

func TestPushedKeyReachesOtherInstance(t *testing.T) {
	e := newEnv(t)
	a, b := e.manager(noPoll), e.manager(noPoll)
	b.Start(context.Background())
	if err := a.RotateKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	keys, err := e.st.ListKeys(context.Background(), e.clock.Now())
	if err != nil || len(keys) != 2 {
		t.Fatalf("ListKeys = %d keys, %v; want 2", len(keys), err)
	}
	newest := keys[0].ID
	within(t, "B publishes A's new key", func() bool {
		return strings.Contains(jwksOf(t, b), newest)
	})
}

func jwksOf(t *testing.T, m *session.Manager) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.JWKS().ServeHTTP(rec, httptest.NewRequest("GET", "/jwks.json", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// flakyWatcher fails its first watches at once, then watches the store.
type flakyWatcher struct {
	*memstore.Store
	failures atomic.Int32
}

func (f *flakyWatcher) Watch(ctx context.Context, fn func(store.Change)) error {
	if f.failures.Add(-1) >= 0 {
		return errors.New("connection refused")
	}
	return f.Store.Watch(ctx, fn)
}

func TestWatchRestartsAfterFailure(t *testing.T) {
	e := newEnv(t)
	flaky := &flakyWatcher{Store: e.st}
	flaky.failures.Store(2)
	a := e.manager(noPoll)
	b := e.manager(noPoll, func(c *session.Config) { c.Sessions, c.Keys = flaky, flaky })
	b.Start(context.Background())
	tok := e.create(a, alice)
	// Two failed watches (100 ms, then 200 ms apart), then a live one.
	within(t, "the watch is back", func() bool { return flaky.failures.Load() < 0 })
	if err := a.Revoke(context.Background(), tok.SessionID); err != nil {
		t.Fatal(err)
	}
	within(t, "B refuses the revoked session's token", func() bool {
		_, err := b.Verify(tok.AccessToken)
		return errors.Is(err, session.ErrSessionRevoked)
	})
	if n := strings.Count(e.logs.String(), "watching the store for changes failed"); n != 2 {
		t.Errorf("logged %d watch failures, want 2:\n%s", n, e.logs.String())
	}
}

// subscribedOnly is a store whose watch reports that it is live and nothing after.
type subscribedOnly struct {
	*memstore.Store
	watches atomic.Int32
}

func (s *subscribedOnly) Watch(ctx context.Context, fn func(store.Change)) error {
	s.watches.Add(1)
	fn(store.ChangeSubscribed)
	<-ctx.Done()
	return nil
}

func TestNewWatchSyncs(t *testing.T) {
	// A revocation made before a watch is live is read when the watch reports ChangeSubscribed.
	e := newEnv(t)
	quiet := &subscribedOnly{Store: e.st}
	a := e.manager(noPoll)
	b := e.manager(noPoll, func(c *session.Config) { c.Sessions, c.Keys = quiet, quiet })
	tok := e.create(a, alice)
	if err := a.Revoke(context.Background(), tok.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(tok.AccessToken); err != nil {
		t.Fatalf("B before it syncs: %v (want the token accepted: B has not heard yet)", err)
	}
	b.Start(context.Background())
	within(t, "B reads the store when its watch is live", func() bool {
		_, err := b.Verify(tok.AccessToken)
		return errors.Is(err, session.ErrSessionRevoked)
	})
	if n := quiet.watches.Load(); n != 1 {
		t.Errorf("%d watches, want 1 (one store for keys and sessions)", n)
	}
}

func TestCloseEndsWatches(t *testing.T) {
	e := newEnv(t)
	b := e.manager(noPoll)
	b.Start(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5s while watching")
	}
}

// countingStore counts the reads of revocations and keys.
type countingStore struct {
	*memstore.Store
	revokedSince, listKeys atomic.Int32
}

func (c *countingStore) RevokedSince(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	c.revokedSince.Add(1)
	return c.Store.RevokedSince(ctx, since, now)
}

func (c *countingStore) ListKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	c.listKeys.Add(1)
	return c.Store.ListKeys(ctx, now)
}

func TestPushReadsWhatChanged(t *testing.T) {
	e := newEnv(t)
	counting := &countingStore{Store: e.st}
	a := e.manager(noPoll)
	b := e.manager(noPoll, func(c *session.Config) { c.Sessions, c.Keys = counting, counting })
	loaded := counting.listKeys.Load() // New read the keys once
	b.Start(context.Background())
	within(t, "B reads everything when its watch is live", func() bool {
		return counting.revokedSince.Load() >= 2 && counting.listKeys.Load() >= loaded+1
	})
	time.Sleep(100 * time.Millisecond) // let that sync finish: no push is coming meanwhile
	revoked, keys := counting.revokedSince.Load(), counting.listKeys.Load()

	tok := e.create(a, alice)
	if err := a.Revoke(context.Background(), tok.SessionID); err != nil {
		t.Fatal(err)
	}
	within(t, "B refuses the revoked session's token", func() bool {
		_, err := b.Verify(tok.AccessToken)
		return errors.Is(err, session.ErrSessionRevoked)
	})
	if got := counting.listKeys.Load(); got != keys {
		t.Errorf("a revocation made B read the keys (%d reads, was %d)", got, keys)
	}
	if err := a.RotateKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	within(t, "B reads the keys after a key change", func() bool { return counting.listKeys.Load() > keys })
	time.Sleep(100 * time.Millisecond)
	if got := counting.revokedSince.Load(); got != revoked+1 {
		t.Errorf("B read revocations %d times for one revocation and one key change, want 1", got-revoked)
	}
}
