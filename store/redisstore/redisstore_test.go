package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/redisstore"
	"github.com/walletauth/walletauth/store/storetest"
)

// base is the tests' fake now: in 2030, far from the clock of the Redis server.
var base = time.Date(2030, time.March, 14, 15, 9, 26, 535897932, time.UTC)

// admin returns a client of the test server, of its own, for what the tests do beside the stores
// (reading TTLs, deleting keys); the test skips when the server is unreachable.
func admin(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(testutil.RedisURL())
	if err != nil {
		t.Fatalf("redis.ParseURL(%q) = %v", testutil.RedisURL(), err)
	}
	// No retries: a test without a server skips at once.
	o.MaxRetries, o.DialerRetries = -1, 1
	c := redis.NewClient(o)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		testutil.NeedService(t, "Redis", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newPrefix returns a prefix that no other test uses, and deletes its keys when t ends.
func newPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "watest" + hex.EncodeToString(b[:])
	t.Cleanup(func() { deleteKeys(t, c, prefix) })
	return prefix
}

// deleteKeys deletes the keys of a prefix, and only those.
func deleteKeys(t testing.TB, c *redis.Client, prefix string) {
	t.Helper()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, "{"+prefix+"}:*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				t.Errorf("deleting the keys of %s: %v", prefix, err)
			}
			keys = keys[:0]
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scanning the keys of %s: %v", prefix, err)
	}
	if len(keys) > 0 {
		if err := c.Unlink(ctx, keys...).Err(); err != nil {
			t.Errorf("deleting the keys of %s: %v", prefix, err)
		}
	}
}

// open opens a store on the test server with the given prefix, closed when t ends.
func open(t testing.TB, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(testutil.RedisURL(), redisstore.Options{Prefix: prefix})
	if err != nil {
		testutil.NeedService(t, "Redis", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fresh opens a store with a prefix of its own.
func fresh(t testing.TB) (*redisstore.Store, *redis.Client, string) {
	t.Helper()
	c := admin(t)
	prefix := newPrefix(t, c)
	return open(t, prefix), c, prefix
}

func TestConformance(t *testing.T) {
	c := admin(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, newPrefix(t, c))
	})
}

func TestWatcher(t *testing.T) {
	c := admin(t)
	storetest.RunWatcher(t, func(t *testing.T) (store.Store, store.Store) {
		prefix := newPrefix(t, c)
		return open(t, prefix), open(t, prefix)
	})
}

func BenchmarkStore(b *testing.B) {
	c := admin(b)
	storetest.Benchmark(b, func(b *testing.B) store.Store {
		return open(b, newPrefix(b, c))
	})
}

// pttl returns the time to live of a key of the store.
func pttl(t *testing.T, c *redis.Client, prefix, kind, id string) time.Duration {
	t.Helper()
	d, err := c.PTTL(context.Background(), "{"+prefix+"}:"+kind+":"+id).Result()
	if err != nil {
		t.Fatalf("PTTL(%s:%s) = %v", kind, id, err)
	}
	return d
}

// wantTTL checks that a key's time to live is the life given and the margin (less the little time
// that passed since it was set).
func wantTTL(t *testing.T, c *redis.Client, prefix, kind, id string, life time.Duration) {
	t.Helper()
	d := pttl(t, c, prefix, kind, id)
	if top := life + redisstore.TTLMargin; d <= top-5*time.Second || d > top {
		t.Errorf("PTTL of %s %q = %v, want %v (its life %v and the margin)", kind, id, d, top, life)
	}
}

// wantNoTTL checks that a key exists and has no time to live.
func wantNoTTL(t *testing.T, c *redis.Client, prefix, kind, id string) {
	t.Helper()
	if d := pttl(t, c, prefix, kind, id); d != -1 {
		t.Errorf("PTTL of %s %q = %v, want none (-1)", kind, id, d)
	}
}

// TestTTL checks that records that expire get a TTL relative to the caller's now (in 2030, while
// the server's clock reads today) with the margin, and that the others get none.
func TestTTL(t *testing.T) {
	s, c, prefix := fresh(t)
	ctx := t.Context()
	n := store.Nonce{Value: "ttlNonce01", IssuedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	if err := s.CreateNonce(ctx, n, base); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "nonce", n.Value, 5*time.Minute)
	// A nonce created already expired (by the caller's clock) lives the margin only.
	old := store.Nonce{Value: "ttlNonce02", ExpiresAt: base.Add(-time.Hour)}
	if err := s.CreateNonce(ctx, old, base); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "nonce", old.Value, 0)
	// Failures do not move the TTL.
	if _, err := s.AddNonceFailure(ctx, n.Value, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "nonce", n.Value, 5*time.Minute)

	if _, _, err := s.IncrementCounter(ctx, "rate", 2*time.Minute, base); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "counter", "rate", 2*time.Minute)

	code := store.VerificationCode{Key: "verify:x", Hash: []byte{1}, ExpiresAt: base.Add(10 * time.Minute)}
	if err := s.PutCode(ctx, code, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "code", code.Key, 9*time.Minute)

	k := store.SigningKey{ID: "ttlKey", Algorithm: "HS256", Private: []byte{1}, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "key", k.ID, time.Hour)
	// Without a creation time the store has no now: no TTL. ListKeys deletes the key once it has
	// been expired for the margin (until then, an instance whose clock lags may still list it).
	k2 := store.SigningKey{ID: "ttlKey2", Algorithm: "HS256", Private: []byte{1}, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateKey(ctx, k2); err != nil {
		t.Fatal(err)
	}
	wantNoTTL(t, c, prefix, "key", k2.ID)
	for _, now := range []time.Time{k2.ExpiresAt, k2.ExpiresAt.Add(redisstore.TTLMargin - 1)} {
		if keys, err := s.ListKeys(ctx, now); err != nil || len(keys) != 0 {
			t.Fatalf("ListKeys after the keys expired = %d keys, %v; want none", len(keys), err)
		}
		if n := c.Exists(ctx, "{"+prefix+"}:key:"+k2.ID).Val(); n != 1 {
			t.Errorf("a key expired less than the margin before the now of ListKeys was deleted")
		}
	}
	if _, err := s.ListKeys(ctx, k2.ExpiresAt.Add(redisstore.TTLMargin)); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, "{"+prefix+"}:key:"+k2.ID).Val(); n != 0 {
		t.Errorf("a key expired the margin before the now of ListKeys is still held")
	}

	v := store.Session{ID: "ttlSession", UserID: "u", RefreshHash: []byte{1}, CreatedAt: base,
		IdleExpiresAt: base.Add(30 * time.Minute), ExpiresAt: base.Add(24 * time.Hour)}
	if err := s.CreateSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "session", v.ID, 30*time.Minute)
	// A refresh moves the TTL on, from its now, to the earlier expiry.
	now := base.Add(10 * time.Minute)
	if _, err := s.RotateRefresh(ctx, v.ID, v.RefreshHash, []byte{2}, nil, now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "session", v.ID, time.Hour)
	// The absolute expiry, when it comes first.
	now = base.Add(time.Hour)
	if _, err := s.RotateRefresh(ctx, v.ID, []byte{2}, []byte{3}, nil, now.Add(24*time.Hour), now); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "session", v.ID, 23*time.Hour)

	// Records that do not expire get no TTL.
	if err := s.CreateUser(ctx, store.User{ID: "u", CreatedAt: base, Wallets: []store.Wallet{{Address: "0xAbC"}}}); err != nil {
		t.Fatal(err)
	}
	wantNoTTL(t, c, prefix, "user", "u")
	wantNoTTL(t, c, prefix, "wallet", "0xabc")
	if err := s.PutTOTP(ctx, store.TOTP{UserID: "u", Secret: []byte{1}, KeyID: "k"}); err != nil {
		t.Fatal(err)
	}
	wantNoTTL(t, c, prefix, "totp", "u")
	if err := s.SetMetadata(ctx, "u", "public", []byte(`{}`), base); err != nil {
		t.Fatal(err)
	}
	wantNoTTL(t, c, prefix, "metadata", "u")
}

func TestOptions(t *testing.T) {
	c := admin(t)
	for _, p := range []string{"{x}", "a{b", "b}", "a b", "tab\there", "new\nline", "nul\x00", "é", strings.Repeat("p", redisstore.MaxPrefixLen+1)} {
		if s, err := redisstore.New(c, redisstore.Options{Prefix: p}); err == nil {
			s.Close()
			t.Errorf("New with prefix %q = nil error, want an error", p)
		}
		if s, err := redisstore.Open(testutil.RedisURL(), redisstore.Options{Prefix: p}); err == nil {
			s.Close()
			t.Errorf("Open with prefix %q = nil error, want an error", p)
		}
	}
	for _, p := range []string{"", "x", "walletauth:prod", strings.Repeat("p", redisstore.MaxPrefixLen)} {
		s, err := redisstore.New(c, redisstore.Options{Prefix: p})
		if err != nil {
			t.Errorf("New with prefix %q = %v, want nil", p, err)
			continue
		}
		s.Close()
	}
	if _, err := redisstore.New(nil, redisstore.Options{}); err == nil {
		t.Errorf("New(nil) = nil error, want an error")
	}
}

// TestDefaultPrefix checks where a store without a prefix writes: under {walletauth}.
func TestDefaultPrefix(t *testing.T) {
	c := admin(t)
	s, err := redisstore.New(c, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b [8]byte
	rand.Read(b[:])
	value := "defaultPrefix" + hex.EncodeToString(b[:])
	key := "{walletauth}:nonce:" + value
	t.Cleanup(func() { c.Del(context.Background(), key) })
	if err := s.CreateNonce(t.Context(), store.Nonce{Value: value, ExpiresAt: base.Add(time.Minute)}, base); err != nil {
		t.Fatal(err)
	}
	if c.Exists(t.Context(), key).Val() != 1 {
		t.Errorf("the nonce of a store without a prefix is not at %s", key)
	}
}

// TestPrefixesApart checks that two stores with different prefixes on one server see nothing of
// each other.
func TestPrefixesApart(t *testing.T) {
	c := admin(t)
	a, err := redisstore.New(c, redisstore.Options{Prefix: newPrefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := redisstore.New(c, redisstore.Options{Prefix: newPrefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	n := store.Nonce{Value: "shared0001", ExpiresAt: base.Add(time.Minute)}
	u := store.User{ID: "user", Wallets: []store.Wallet{{Address: "0xAA"}}}
	v := store.Session{ID: "sess", UserID: "user", RefreshHash: []byte{1}, CreatedAt: base, IdleExpiresAt: base.Add(time.Hour), ExpiresAt: base.Add(time.Hour)}
	for _, s := range []*redisstore.Store{a, b} {
		if err := s.CreateNonce(ctx, n, base); err != nil {
			t.Fatalf("CreateNonce = %v, want nil: the other prefix's nonce is not this store's", err)
		}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser = %v, want nil", err)
		}
		if err := s.CreateSession(ctx, v); err != nil {
			t.Fatalf("CreateSession = %v, want nil", err)
		}
		if err := s.CreateKey(ctx, store.SigningKey{ID: "k", Algorithm: "HS256", Private: []byte{1}, ExpiresAt: base.Add(time.Hour)}); err != nil {
			t.Fatalf("CreateKey = %v, want nil", err)
		}
	}
	if _, err := a.ConsumeNonce(ctx, n.Value, base); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetNonce(ctx, n.Value, base); err != nil {
		t.Errorf("GetNonce after the other store consumed its nonce = %v, want nil", err)
	}
	if err := a.RevokeSession(ctx, v.ID, base); err != nil {
		t.Fatal(err)
	}
	if list, err := b.RevokedSince(ctx, base, base); err != nil || len(list) != 0 {
		t.Errorf("RevokedSince of the other store = %v, %v; want none", list, err)
	}
	if err := a.DeleteKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if keys, err := b.ListKeys(ctx, base); err != nil || len(keys) != 1 {
		t.Errorf("ListKeys of the other store = %d keys, %v; want 1", len(keys), err)
	}
}

// TestOpenFails checks that Open fails, and fast, for an unreachable server and a bad URL.
func TestOpenFails(t *testing.T) {
	start := time.Now()
	s, err := redisstore.Open("redis://127.0.0.1:1/0", redisstore.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable server = nil error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open of an unreachable server took %v", d)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Open of an unreachable server = %v, want the address in the error", err)
	}
	for _, url := range []string{"", "http://127.0.0.1:6379", "redis://127.0.0.1:6379/notanumber", "redis://user:s3cret@127.0.0.1:port/0",
		// Passwords with '/', '#' or '?' unescaped (as base64 passwords have) split the URL inside
		// the password, and the parsers quote the piece after the split.
		"redis://user:s3cret/Ab+c@127.0.0.1:6379/0", "redis://user:s3cret#Ab@127.0.0.1:6379/0",
		"redis://user:s3cret?Ab@127.0.0.1:6379/0", "redis://user:12/s3cret@127.0.0.1:6379/0",
		"redis://user:s3cret%zz@127.0.0.1:6379/0", "redis://us@er:12/s3cret@127.0.0.1:6379/0"} {
		s, err := redisstore.Open(url, redisstore.Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) = nil error, want an error", url)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v: the error shows the password", url, err)
		}
	}
}

// TestCloseBorrowed checks that Close leaves a client given to New open, and that calls fail.
func TestCloseBorrowed(t *testing.T) {
	c := admin(t)
	s, err := redisstore.New(c, redisstore.Options{Prefix: newPrefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Errorf("the client after the store's Close: Ping = %v, want nil", err)
	}
	if _, err := s.GetNonce(t.Context(), "x", base); !errors.Is(err, redisstore.ErrClosed) || !errors.Is(err, store.ErrClosed) {
		t.Errorf("GetNonce after Close = %v, want ErrClosed", err)
	}
	err = s.Watch(t.Context(), func(store.Change) { t.Error("fn called by a watch of a closed store") })
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Watch after Close = %v, want ErrClosed", err)
	}
}

// TestCorrupt checks that records the store cannot read give errors, not panics or wrong answers.
func TestCorrupt(t *testing.T) {
	s, c, prefix := fresh(t)
	ctx := t.Context()
	p := "{" + prefix + "}:"
	c.HSet(ctx, p+"nonce:badTime", "expires", "not a time", "failures", "0")
	c.HSet(ctx, p+"nonce:badCount", "expires", "99999999999999999999", "failures", "x")
	c.Set(ctx, p+"nonce:wrongType", "x", 0)
	for _, v := range []string{"badTime", "badCount", "wrongType"} {
		if _, err := s.GetNonce(ctx, v, base); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetNonce of a corrupt nonce %q = %v, want an error other than ErrNotFound", v, err)
		}
		if _, err := s.ConsumeNonce(ctx, v, base); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("ConsumeNonce of a corrupt nonce %q = %v, want an error other than ErrNotFound", v, err)
		}
	}
	c.HSet(ctx, p+"session:bad", "user", "u", "hash", "h", "end", "x", "idle", "x", "expires", "x", "retired", "\xff")
	c.ZAdd(ctx, p+"user-sessions:u", redis.Z{Score: 0, Member: "bad"})
	if _, err := s.GetSession(ctx, "bad", base); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession of a corrupt session = %v, want an error", err)
	}
	if _, err := s.RotateRefresh(ctx, "bad", []byte("h"), []byte("n"), nil, base.Add(time.Hour), base); err == nil {
		t.Errorf("RotateRefresh of a corrupt session = nil error")
	}
	c.HSet(ctx, p+"totp:u", "secret", "s", "key_id", "k", "last_step", "-5")
	if _, err := s.GetTOTP(ctx, "u"); err == nil {
		t.Errorf("GetTOTP of a corrupt factor = nil error")
	}
	c.ZAdd(ctx, p+"contacts:u", redis.Z{Score: 1, Member: "fax:123"})
	if _, err := s.ListContacts(ctx, "u"); err == nil {
		t.Errorf("ListContacts with a corrupt contact = nil error")
	}
	c.ZAdd(ctx, p+"oauth:u", redis.Z{Score: 1, Member: "github"})
	if _, err := s.ListOAuth(ctx, "u"); err == nil {
		t.Errorf("ListOAuth with a corrupt account = nil error")
	}
	c.HSet(ctx, p+"user:u", "created", "yesterday")
	if _, err := s.GetUser(ctx, "u"); err == nil {
		t.Errorf("GetUser of a corrupt user = nil error")
	}
}

// TestIndexesPruned checks that the indexes of sessions do not keep what has ended: the calls that
// meet ended sessions remove them.
func TestIndexesPruned(t *testing.T) {
	s, c, prefix := fresh(t)
	ctx := t.Context()
	p := "{" + prefix + "}:"
	for i := range 10 {
		v := store.Session{ID: "s" + string(rune('0'+i)), UserID: "u", RefreshHash: []byte{1}, CreatedAt: base,
			IdleExpiresAt: base.Add(time.Hour), ExpiresAt: base.Add(time.Duration(i+1) * time.Hour)}
		if err := s.CreateSession(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeSession(ctx, v.ID, base.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.ZCard(ctx, p+"revoked").Val(); n != 10 {
		t.Fatalf("revocations held = %d, want 10", n)
	}
	// Sessions that ended less than the margin ago are not listed, but kept: an instance whose
	// clock lags may still see them.
	soon := base.Add(time.Hour + redisstore.TTLMargin - 1)
	if list, err := s.RevokedSince(ctx, base, soon); err != nil || len(list) != 0 {
		t.Fatalf("RevokedSince after every session ended = %v, %v; want none", list, err)
	}
	if list, err := s.ListSessions(ctx, "u", soon); err != nil || len(list) != 0 {
		t.Fatalf("ListSessions after every session ended = %v, %v; want none", list, err)
	}
	if n, _ := c.Exists(ctx, p+"session:s0", p+"session:s9").Result(); n != 2 {
		t.Errorf("%d of 2 sessions that ended less than the margin ago held, want 2", n)
	}
	if n := c.ZCard(ctx, p+"revoked").Val(); n != 10 {
		t.Errorf("revocations held = %d, want 10", n)
	}
	later := base.Add(2 * time.Hour)
	if list, err := s.RevokedSince(ctx, base.Add(time.Minute), later); err != nil || len(list) != 0 {
		t.Fatalf("RevokedSince after every session ended = %v, %v; want none", list, err)
	}
	for _, k := range []string{"revoked", "revoked-end"} {
		if n := c.ZCard(ctx, p+k).Val(); n != 0 {
			t.Errorf("%s after RevokedSince = %d entries, want 0", k, n)
		}
	}
	if list, err := s.ListSessions(ctx, "u", later); err != nil || len(list) != 0 {
		t.Fatalf("ListSessions after every session ended = %v, %v; want none", list, err)
	}
	if n := c.ZCard(ctx, p+"user-sessions:u").Val(); n != 0 {
		t.Errorf("the user's index after ListSessions = %d entries, want 0", n)
	}
	if n, _ := c.Exists(ctx, p+"session:s0", p+"session:s9").Result(); n != 0 {
		t.Errorf("%d ended sessions still held, want none", n)
	}
	// A new session of the user prunes the index of ended ones, a few at a time.
	for i := range 5 {
		v := store.Session{ID: "e" + string(rune('0'+i)), UserID: "w", RefreshHash: []byte{1}, CreatedAt: base,
			IdleExpiresAt: base.Add(time.Minute), ExpiresAt: base.Add(time.Hour)}
		if err := s.CreateSession(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	v := store.Session{ID: "new", UserID: "w", RefreshHash: []byte{1}, CreatedAt: base.Add(time.Hour),
		IdleExpiresAt: base.Add(2 * time.Hour), ExpiresAt: base.Add(2 * time.Hour)}
	if err := s.CreateSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	if n := c.ZCard(ctx, p+"user-sessions:w").Val(); n != 1 {
		t.Errorf("the user's index after a new session = %d entries, want 1", n)
	}
}

// TestUserIndexExpires checks that a user's index of sessions does not outlive the sessions it
// names: a user who signs in once and never comes back leaves no key behind for ever. Its TTL
// covers the longest-lived of its sessions, moved on by refreshes, and an index of a session
// without a TTL (no CreatedAt) keeps none.
func TestUserIndexExpires(t *testing.T) {
	s, c, prefix := fresh(t)
	ctx := t.Context()
	long := store.Session{ID: "long", UserID: "u", RefreshHash: []byte{1}, CreatedAt: base,
		IdleExpiresAt: base.Add(2 * time.Hour), ExpiresAt: base.Add(24 * time.Hour)}
	short := store.Session{ID: "short", UserID: "u", RefreshHash: []byte{1}, CreatedAt: base,
		IdleExpiresAt: base.Add(30 * time.Minute), ExpiresAt: base.Add(24 * time.Hour)}
	for _, v := range []store.Session{long, short} {
		if err := s.CreateSession(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	// The shorter session that came second does not shorten the index's life.
	wantTTL(t, c, prefix, "user-sessions", "u", 2*time.Hour)
	now := base.Add(20 * time.Minute)
	if _, err := s.RotateRefresh(ctx, short.ID, short.RefreshHash, []byte{2}, nil, now.Add(5*time.Hour), now); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "user-sessions", "u", 5*time.Hour)
	if err := s.RevokeSession(ctx, long.ID, now); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, c, prefix, "user-sessions", "u", 5*time.Hour)

	forever := store.Session{ID: "forever", UserID: "w", RefreshHash: []byte{1},
		IdleExpiresAt: base.Add(time.Hour), ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateSession(ctx, store.Session{ID: "first", UserID: "w", RefreshHash: []byte{1}, CreatedAt: base,
		IdleExpiresAt: base.Add(time.Hour), ExpiresAt: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, forever); err != nil {
		t.Fatal(err)
	}
	wantNoTTL(t, c, prefix, "user-sessions", "w")
	if list, err := s.ListSessions(ctx, "w", base); err != nil || len(list) != 2 {
		t.Errorf("ListSessions = %d sessions, %v; want 2", len(list), err)
	}
}
