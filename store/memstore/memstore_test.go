package memstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
	"github.com/walletauth/walletauth/store/storetest"
)

var base = time.Date(2030, time.January, 2, 3, 4, 5, 6, time.UTC)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestWatcher(t *testing.T) {
	// One process, one store: both "instances" are the same handle.
	storetest.RunWatcher(t, func(t *testing.T) (store.Store, store.Store) {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s, s
	})
}

func TestConformanceSmallBounds(t *testing.T) {
	// The suite holds at most 100 records of a kind per store; bounds just above must not show.
	storetest.Run(t, func(t *testing.T) store.Store {
		s := memstore.New(memstore.WithMaxNonces(101), memstore.WithMaxCounters(101),
			memstore.WithMaxKeys(101), memstore.WithMaxSessions(101), memstore.WithMaxUsers(101),
			memstore.WithMaxWallets(101), memstore.WithMaxMetadata(101),
			memstore.WithMaxTOTP(101), memstore.WithMaxRecoveryCodes(101),
			memstore.WithMaxContacts(101), memstore.WithMaxVerificationCodes(101))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func nonce(value string, now time.Time, ttl time.Duration) store.Nonce {
	return store.Nonce{Value: value, IssuedAt: now, ExpiresAt: now.Add(ttl)}
}

func TestNonceCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxNonces(3))
	defer s.Close()
	short := nonce("short001", base, time.Minute)
	for _, n := range []store.Nonce{short, nonce("long0001", base, time.Hour), nonce("long0002", base, time.Hour)} {
		if err := s.CreateNonce(ctx, n, base); err != nil {
			t.Fatalf("CreateNonce(%s) = %v", n.Value, err)
		}
	}
	// Full of live nonces: refused, nothing evicted.
	extra := nonce("extra001", base, time.Hour)
	if err := s.CreateNonce(ctx, extra, base.Add(time.Minute-1)); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("CreateNonce when full = %v, want ErrCapacity", err)
	}
	if n, _ := s.Len(); n != 3 {
		t.Errorf("Len = %d nonces, want 3", n)
	}
	// Held nonces keep working when the store is full.
	if _, err := s.GetNonce(ctx, short.Value, base); err != nil {
		t.Errorf("GetNonce when full = %v", err)
	}
	if _, err := s.AddNonceFailure(ctx, short.Value, base); err != nil {
		t.Errorf("AddNonceFailure when full = %v", err)
	}
	// A value already held is a conflict, whatever the fill.
	if err := s.CreateNonce(ctx, short, base); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateNonce of a held value when full = %v, want ErrConflict", err)
	}
	// Once one has expired, it makes room.
	now := short.ExpiresAt
	if err := s.CreateNonce(ctx, extra, now); err != nil {
		t.Fatalf("CreateNonce after one expired = %v, want nil", err)
	}
	if n, _ := s.Len(); n != 3 {
		t.Errorf("Len = %d nonces, want 3", n)
	}
	if _, err := s.GetNonce(ctx, short.Value, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetNonce of the purged nonce = %v, want ErrNotFound", err)
	}
	// Consuming or deleting one makes room too.
	if err := s.CreateNonce(ctx, nonce("extra002", now, time.Hour), now); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("CreateNonce when full = %v, want ErrCapacity", err)
	}
	if _, err := s.ConsumeNonce(ctx, extra.Value, now); err != nil {
		t.Fatalf("ConsumeNonce = %v", err)
	}
	if err := s.CreateNonce(ctx, nonce("extra002", now, time.Hour), now); err != nil {
		t.Fatalf("CreateNonce after a consume = %v, want nil", err)
	}
	if err := s.DeleteNonce(ctx, "extra002"); err != nil {
		t.Fatalf("DeleteNonce = %v", err)
	}
	if err := s.CreateNonce(ctx, nonce("extra003", now, time.Hour), now); err != nil {
		t.Fatalf("CreateNonce after a delete = %v, want nil", err)
	}
}

func TestCounterCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxCounters(2))
	defer s.Close()
	inc := func(key string, window time.Duration, now time.Time) (int64, error) {
		c, _, err := s.IncrementCounter(ctx, key, window, now)
		return c, err
	}
	if _, err := inc("a", time.Minute, base); err != nil {
		t.Fatal(err)
	}
	if _, err := inc("b", time.Hour, base); err != nil {
		t.Fatal(err)
	}
	if _, err := inc("c", time.Minute, base.Add(time.Second)); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("IncrementCounter of a new key when full = %v, want ErrCapacity", err)
	}
	// Existing keys still count when full.
	if c, err := inc("a", time.Minute, base.Add(time.Second)); err != nil || c != 2 {
		t.Fatalf("IncrementCounter(a) when full = %d, %v; want 2, nil", c, err)
	}
	// When a's window ends it makes room.
	if c, err := inc("c", time.Minute, base.Add(time.Minute)); err != nil || c != 1 {
		t.Fatalf("IncrementCounter(c) after a's window = %d, %v; want 1, nil", c, err)
	}
	if _, n := s.Len(); n != 2 {
		t.Errorf("Len = %d counters, want 2", n)
	}
	// a was purged: it starts again, but only once there is room.
	if _, err := inc("a", time.Minute, base.Add(time.Minute)); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("IncrementCounter(a) after its purge = %v, want ErrCapacity", err)
	}
	if err := s.ResetCounter(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if c, err := inc("a", time.Minute, base.Add(time.Minute)); err != nil || c != 1 {
		t.Fatalf("IncrementCounter(a) after a reset = %d, %v; want 1, nil", c, err)
	}
}

// TestNonceFloodBounded floods the store with nonce requests that nobody consumes, as an attacker
// would, and checks that the store never holds more than its bound and forgets expired nonces as
// fast as they come.
func TestNonceFloodBounded(t *testing.T) {
	const total = 300_000
	step := time.Millisecond // one request per millisecond of fake time
	tests := []struct {
		name string
		ttl  time.Duration
	}{
		// 50 000 live at a time: nothing is refused, expired nonces go as new ones come.
		{"ExpiryBelowCap", 50 * time.Second},
		// 200 000 would be live at a time: the store fills up and refuses, but never grows.
		{"ExpiryAboveCap", 200 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := memstore.New()
			defer s.Close()
			live := int(tc.ttl / step)
			refused, maxLen := 0, 0
			for i := range total {
				now := base.Add(time.Duration(i) * step)
				err := s.CreateNonce(ctx, nonce("flood"+strconv.Itoa(i), now, tc.ttl), now)
				switch {
				case err == nil:
				case errors.Is(err, store.ErrCapacity):
					refused++
				default:
					t.Fatalf("CreateNonce #%d = %v", i, err)
				}
				if i%1000 == 0 || i == total-1 {
					n, _ := s.Len()
					maxLen = max(maxLen, n)
					if n > memstore.DefaultMaxNonces {
						t.Fatalf("after %d requests the store holds %d nonces, over its bound %d", i+1, n, memstore.DefaultMaxNonces)
					}
					// Expired nonces do not pile up: the store holds only the live ones.
					if i >= live && n > min(live, memstore.DefaultMaxNonces) {
						t.Fatalf("after %d requests the store holds %d nonces, %d live", i+1, n, min(live, memstore.DefaultMaxNonces))
					}
				}
			}
			if live < memstore.DefaultMaxNonces {
				if refused != 0 {
					t.Errorf("%d requests refused, want none", refused)
				}
			} else if refused == 0 || maxLen != memstore.DefaultMaxNonces {
				t.Errorf("refused %d, held at most %d; want refusals and the store full at %d", refused, maxLen, memstore.DefaultMaxNonces)
			}
			t.Logf("ttl %v: refused %d of %d, held at most %d", tc.ttl, refused, total, maxLen)
		})
	}
}

func TestClosed(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	if err := s.CreateNonce(ctx, nonce("closed01", base, time.Minute), base); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTOTP(ctx, totp("u")); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, "u", codes("u", 3), base); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	if _, err := s.GetNonce(ctx, "closed01", base); !errors.Is(err, memstore.ErrClosed) {
		t.Errorf("GetNonce after Close = %v, want ErrClosed", err)
	}
	if _, _, err := s.IncrementCounter(ctx, "k", time.Minute, base); !errors.Is(err, memstore.ErrClosed) {
		t.Errorf("IncrementCounter after Close = %v, want ErrClosed", err)
	}
	if n, c := s.Len(); n != 0 || c != 0 {
		t.Errorf("Len after Close = %d, %d; want 0, 0", n, c)
	}
	if got := s.Sizes(); got != (memstore.Sizes{}) {
		t.Errorf("Sizes after Close = %+v, want zeros", got)
	}
	if err := s.CreateSession(ctx, session("closed", "u", base)); !errors.Is(err, memstore.ErrClosed) {
		t.Errorf("CreateSession after Close = %v, want ErrClosed", err)
	}
	if _, err := s.UseTOTPStep(ctx, "u", []byte("sealed/u"), 1, base); !errors.Is(err, memstore.ErrClosed) {
		t.Errorf("UseTOTPStep after Close = %v, want ErrClosed", err)
	}
}

// TestModel runs random operations against a store and against a plain map that scans for
// expired records, and compares every answer: the heap index must not change what the store says.
func TestModel(t *testing.T) {
	const limit = 20
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	s := memstore.New(memstore.WithMaxNonces(limit), memstore.WithMaxCounters(limit))
	defer s.Close()
	type rec struct {
		n       store.Nonce
		count   int64
		expires time.Time
	}
	nonces, counters := map[string]*rec{}, map[string]*rec{}
	liveCount := func(m map[string]*rec, now time.Time) int {
		c := 0
		for _, r := range m {
			if r.expires.After(now) {
				c++
			}
		}
		return c
	}
	now := base
	for i := range 50_000 {
		key := fmt.Sprintf("key%05d", rng.IntN(40))
		ttl := time.Duration(1+rng.IntN(100)) * time.Second
		now = now.Add(time.Duration(rng.IntN(3)) * time.Second)
		r, ok := nonces[key]
		live := ok && r.expires.After(now)
		switch op := rng.IntN(7); op {
		case 0: // create
			n := store.Nonce{Value: key, ChainID: uint64(i), IssuedAt: now, ExpiresAt: now.Add(ttl)}
			err := s.CreateNonce(ctx, n, now)
			switch {
			case live:
				if !errors.Is(err, store.ErrConflict) {
					t.Fatalf("op %d: CreateNonce of a live nonce = %v", i, err)
				}
			case liveCount(nonces, now) >= limit:
				if !errors.Is(err, store.ErrCapacity) {
					t.Fatalf("op %d: CreateNonce when full = %v", i, err)
				}
			default:
				if err != nil {
					t.Fatalf("op %d: CreateNonce = %v", i, err)
				}
				nonces[key] = &rec{n: n, expires: n.ExpiresAt}
			}
		case 1, 2: // get or consume
			get := s.GetNonce
			if op == 2 {
				get = s.ConsumeNonce
			}
			n, err := get(ctx, key, now)
			if !live {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("op %d: get/consume of a dead nonce = %v", i, err)
				}
				break
			}
			if err != nil || n.ChainID != r.n.ChainID || n.Failures != r.n.Failures {
				t.Fatalf("op %d: get/consume = %+v, %v; want %+v", i, n, err, r.n)
			}
			if op == 2 {
				delete(nonces, key)
			}
		case 3: // failure
			c, err := s.AddNonceFailure(ctx, key, now)
			if !live {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("op %d: AddNonceFailure of a dead nonce = %v", i, err)
				}
				break
			}
			r.n.Failures++
			if err != nil || c != r.n.Failures {
				t.Fatalf("op %d: AddNonceFailure = %d, %v; want %d", i, c, err, r.n.Failures)
			}
		case 4: // delete
			if err := s.DeleteNonce(ctx, key); err != nil {
				t.Fatalf("op %d: DeleteNonce = %v", i, err)
			}
			delete(nonces, key)
		case 5: // increment
			c, resetAt, err := s.IncrementCounter(ctx, key, ttl, now)
			r, ok := counters[key]
			switch {
			case ok && r.expires.After(now):
				r.count++
			case liveCount(counters, now) >= limit:
				if !errors.Is(err, store.ErrCapacity) {
					t.Fatalf("op %d: IncrementCounter when full = %v", i, err)
				}
				continue
			default:
				r = &rec{count: 1, expires: now.Add(ttl)}
				counters[key] = r
			}
			if err != nil || c != r.count || !resetAt.Equal(r.expires) {
				t.Fatalf("op %d: IncrementCounter = %d, %v, %v; want %d, %v", i, c, resetAt, err, r.count, r.expires)
			}
		case 6: // reset
			if err := s.ResetCounter(ctx, key); err != nil {
				t.Fatalf("op %d: ResetCounter = %v", i, err)
			}
			delete(counters, key)
		}
		if n, c := s.Len(); n > limit || c > limit {
			t.Fatalf("op %d: Len = %d, %d; over the bound %d", i, n, c, limit)
		}
	}
}

func session(id, user string, now time.Time) store.Session {
	return store.Session{
		ID: id, UserID: user, Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ChainID: 1,
		AAL: "aal1", AMR: []string{"siwe"}, RefreshHash: []byte(id + "/0"),
		CreatedAt: now, LastUsedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour),
	}
}

func TestSessionCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxSessions(3))
	defer s.Close()
	short := session("short", "u1", base)
	short.IdleExpiresAt = base.Add(time.Minute)
	for _, v := range []store.Session{short, session("long1", "u1", base), session("long2", "u2", base)} {
		if err := s.CreateSession(ctx, v); err != nil {
			t.Fatalf("CreateSession(%s) = %v", v.ID, err)
		}
	}
	// Full of live sessions (a revoked one is still live): refused, nothing evicted.
	if err := s.RevokeSession(ctx, "long2", base); err != nil {
		t.Fatal(err)
	}
	extra := session("extra", "u3", base.Add(time.Minute-1))
	if err := s.CreateSession(ctx, extra); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("CreateSession when full = %v, want ErrCapacity", err)
	}
	if n := s.Sizes().Sessions; n != 3 {
		t.Errorf("Sizes().Sessions = %d, want 3", n)
	}
	// Held sessions keep working when the store is full.
	if _, err := s.RotateRefresh(ctx, "long1", []byte("long1/0"), []byte("long1/1"), nil, base.Add(time.Hour), base); err != nil {
		t.Errorf("RotateRefresh when full = %v", err)
	}
	// An ID already held is a conflict, whatever the fill.
	if err := s.CreateSession(ctx, session("long1", "u1", base)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession of a held ID when full = %v, want ErrConflict", err)
	}
	// Once one has expired (at the new session's CreatedAt), it makes room.
	extra = session("extra", "u3", short.IdleExpiresAt)
	if err := s.CreateSession(ctx, extra); err != nil {
		t.Fatalf("CreateSession after one expired = %v, want nil", err)
	}
	if n := s.Sizes().Sessions; n != 3 {
		t.Errorf("Sizes().Sessions = %d, want 3", n)
	}
	// The indexes followed the purge: u1 has one session left, and nothing of short shows.
	now := extra.CreatedAt
	if list, err := s.ListSessions(ctx, "u1", now); err != nil || len(list) != 1 || list[0].ID != "long1" {
		t.Errorf("ListSessions(u1) = %+v, %v; want long1 only", list, err)
	}
	if n, err := s.RevokeUserSessions(ctx, "u1", "", now); err != nil || n != 1 {
		t.Errorf("RevokeUserSessions(u1) = %d, %v; want 1, nil", n, err)
	}
	if revs, err := s.RevokedSince(ctx, base, now); err != nil || len(revs) != 2 {
		t.Errorf("RevokedSince = %+v, %v; want long2 and long1", revs, err)
	}
}

func TestKeyCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxKeys(2))
	defer s.Close()
	key := func(id string, created time.Time, ttl time.Duration) store.SigningKey {
		return store.SigningKey{ID: id, Algorithm: "HS256", Private: []byte("secret"), CreatedAt: created, NotBefore: created, ExpiresAt: created.Add(ttl)}
	}
	for _, k := range []store.SigningKey{key("a", base, time.Hour), key("b", base, 2*time.Hour)} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateKey(ctx, key("c", base.Add(time.Hour-1), time.Hour)); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("CreateKey when full = %v, want ErrCapacity", err)
	}
	// Without a creation time, nothing can be known to have expired.
	noCreation := key("c", base, 2*time.Hour)
	noCreation.CreatedAt = time.Time{}
	if err := s.CreateKey(ctx, noCreation); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("CreateKey without CreatedAt when full = %v, want ErrCapacity", err)
	}
	// Made after a's expiry, c takes its room.
	if err := s.CreateKey(ctx, key("c", base.Add(time.Hour), time.Hour)); err != nil {
		t.Fatalf("CreateKey after one expired = %v, want nil", err)
	}
	if keys, err := s.ListKeys(ctx, base.Add(2*time.Hour-1)); err != nil || len(keys) != 2 || keys[0].ID != "c" || keys[1].ID != "b" {
		t.Errorf("ListKeys = %+v, %v; want c, b", keys, err)
	}
	// ListKeys drops the expired keys.
	if keys, err := s.ListKeys(ctx, base.Add(2*time.Hour)); err != nil || len(keys) != 0 {
		t.Errorf("ListKeys when all have expired = %+v, %v; want none", keys, err)
	}
	if n := s.Sizes().Keys; n != 0 {
		t.Errorf("Sizes().Keys = %d, want 0", n)
	}
}

func TestUserCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxUsers(2))
	defer s.Close()
	user := func(id string, addrs ...string) store.User {
		u := store.User{ID: id, CreatedAt: base}
		for _, a := range addrs {
			u.Wallets = append(u.Wallets, store.Wallet{Address: a, ChainID: 1, LinkedAt: base})
		}
		return u
	}
	if err := s.CreateUser(ctx, user("a", "0xA1", "0xA2")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, user("b", "0xB1")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, user("c", "0xC1")); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("CreateUser when full = %v, want ErrCapacity", err)
	}
	// A conflict is still a conflict.
	if err := s.CreateUser(ctx, user("c", "0xa2")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUser of a taken address when full = %v, want ErrConflict", err)
	}
	if _, err := s.UserByWallet(ctx, "0xc1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByWallet of a refused user's wallet = %v, want ErrNotFound", err)
	}
	if got := s.Sizes(); got.Users != 2 || got.Wallets != 3 {
		t.Errorf("Sizes = %+v, want 2 users, 3 wallets", got)
	}
}

func TestWalletCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxWallets(4))
	defer s.Close()
	user := func(id string, addrs ...string) store.User {
		u := store.User{ID: id, CreatedAt: base}
		for _, a := range addrs {
			u.Wallets = append(u.Wallets, store.Wallet{Address: a, ChainID: 1, LinkedAt: base})
		}
		return u
	}
	if err := s.CreateUser(ctx, user("a", "0xA1", "0xA2")); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkWallet(ctx, "a", store.Wallet{Address: "0xA3"}); err != nil {
		t.Fatal(err)
	}
	// A user whose wallets would go past the bound is refused whole.
	if err := s.CreateUser(ctx, user("b", "0xB1", "0xB2")); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("CreateUser past the wallet limit = %v, want ErrCapacity", err)
	}
	if _, err := s.GetUser(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser of a refused user = %v, want ErrNotFound", err)
	}
	if err := s.CreateUser(ctx, user("b", "0xB1")); err != nil {
		t.Fatalf("CreateUser up to the wallet limit = %v, want nil", err)
	}
	if err := s.LinkWallet(ctx, "a", store.Wallet{Address: "0xA4"}); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("LinkWallet when full = %v, want ErrCapacity", err)
	}
	// Conflicts and unknown users are what they are, full or not.
	if err := s.LinkWallet(ctx, "a", store.Wallet{Address: "0xb1"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("LinkWallet of a taken address when full = %v, want ErrConflict", err)
	}
	if err := s.LinkWallet(ctx, "c", store.Wallet{Address: "0xC1"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LinkWallet to an unknown user when full = %v, want ErrNotFound", err)
	}
	if got := s.Sizes(); got.Users != 2 || got.Wallets != 4 {
		t.Errorf("Sizes = %+v, want 2 users, 4 wallets", got)
	}
	// Unlinking makes room.
	if err := s.UnlinkWallet(ctx, "a", "0xa2"); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkWallet(ctx, "b", store.Wallet{Address: "0xA2"}); err != nil {
		t.Errorf("LinkWallet after an unlinking = %v, want nil", err)
	}
	if u, err := s.UserByWallet(ctx, "0xa2"); err != nil || u.ID != "b" {
		t.Errorf("UserByWallet of the relinked address = %+v, %v; want b", u, err)
	}
}

func TestMetadataLimits(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxMetadata(3))
	defer s.Close()
	size := func(want int) {
		t.Helper()
		if got := s.Sizes().Metadata; got != want {
			t.Errorf("Sizes().Metadata = %d, want %d", got, want)
		}
	}
	// One document holds at most MaxMetadataSize bytes, whatever the room.
	big := bytes.Repeat([]byte("x"), memstore.MaxMetadataSize-len(`{"x":""}`))
	doc := append(append([]byte(`{"x":"`), big...), `"}`...)
	if err := s.SetMetadata(ctx, "a", "private", doc, base); err != nil {
		t.Fatalf("SetMetadata of %d bytes = %v, want nil", len(doc), err)
	}
	longer := append(append([]byte(`{"x":"`), big...), `y"}`...)
	if err := s.SetMetadata(ctx, "a", "private", longer, base); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetMetadata of %d bytes = %v, want ErrInvalid", len(longer), err)
	}
	// A now out of range is refused, as in a store that keeps it.
	far := time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC)
	if err := s.SetMetadata(ctx, "a", "private", []byte(`{}`), far); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetMetadata at a now after 2262 = %v, want ErrInvalid", err)
	}
	if m, err := s.GetMetadata(ctx, "a"); err != nil || !bytes.Equal(m.Private, doc) {
		t.Errorf("GetMetadata = %d bytes, %v; want the %d kept", len(m.Private), err, len(doc))
	}
	for _, name := range []string{"public", "unsafe"} {
		if err := s.SetMetadata(ctx, "a", name, []byte(`{}`), base); err != nil {
			t.Fatal(err)
		}
	}
	size(3)
	// Full: a member that is not set is refused, for any user; replacing and deleting work.
	if err := s.SetMetadata(ctx, "b", "public", []byte(`{}`), base); !errors.Is(err, store.ErrCapacity) {
		t.Errorf("SetMetadata of a new user's member when full = %v, want ErrCapacity", err)
	}
	if err := s.SetMetadata(ctx, "a", "public", []byte(`{"v":2}`), base); err != nil {
		t.Errorf("SetMetadata replacing a member when full = %v, want nil", err)
	}
	if err := s.SetMetadata(ctx, "b", "public", nil, base); err != nil {
		t.Errorf("SetMetadata deleting an absent member when full = %v, want nil", err)
	}
	size(3)
	if err := s.SetMetadata(ctx, "a", "unsafe", nil, base); err != nil {
		t.Fatal(err)
	}
	size(2)
	if err := s.SetMetadata(ctx, "b", "public", []byte(`{}`), base); err != nil {
		t.Errorf("SetMetadata after a deletion = %v, want nil", err)
	}
	for _, name := range []string{"public", "private"} {
		if err := s.SetMetadata(ctx, "a", name, []byte{}, base); err != nil {
			t.Fatal(err)
		}
	}
	size(1)
	if m, err := s.GetMetadata(ctx, "a"); err != nil || m.Public != nil || m.Private != nil || m.Unsafe != nil {
		t.Errorf("GetMetadata after deleting every member = %+v, %v; want all nil", m, err)
	}
}

func totp(user string) store.TOTP {
	return store.TOTP{UserID: user, Secret: []byte("sealed/" + user), KeyID: "mfa-key-1", CreatedAt: base}
}

func codes(prefix string, n int) [][]byte {
	list := make([][]byte, n)
	for i := range list {
		list[i] = []byte(fmt.Sprint(prefix, "/code", i))
	}
	return list
}

func TestTOTPCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxTOTP(2))
	defer s.Close()
	for _, user := range []string{"a", "b"} {
		if err := s.PutTOTP(ctx, totp(user)); err != nil {
			t.Fatalf("PutTOTP(%s) = %v", user, err)
		}
	}
	if err := s.PutTOTP(ctx, totp("c")); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("PutTOTP of a third user when full = %v, want ErrCapacity", err)
	}
	// Held factors keep working when the store is full: replaced while unconfirmed, used,
	// resealed; a confirmed one is still a conflict.
	if err := s.PutTOTP(ctx, totp("a")); err != nil {
		t.Errorf("PutTOTP replacing an unconfirmed factor when full = %v, want nil", err)
	}
	if _, err := s.UseTOTPStep(ctx, "a", totp("a").Secret, 1, base); err != nil {
		t.Errorf("UseTOTPStep when full = %v, want nil", err)
	}
	if err := s.ResealTOTP(ctx, "a", totp("a").Secret, []byte("resealed"), "mfa-key-2"); err != nil {
		t.Errorf("ResealTOTP when full = %v, want nil", err)
	}
	if err := s.PutTOTP(ctx, totp("a")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutTOTP over a confirmed factor when full = %v, want ErrConflict", err)
	}
	if got := s.Sizes().TOTP; got != 2 {
		t.Errorf("Sizes().TOTP = %d, want 2", got)
	}
	// A deletion makes room.
	if err := s.DeleteTOTP(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTOTP(ctx, totp("c")); err != nil {
		t.Errorf("PutTOTP after a deletion = %v, want nil", err)
	}
	if _, err := s.GetTOTP(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTOTP of the deleted factor = %v, want ErrNotFound", err)
	}
}

func TestRecoveryCodeCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxRecoveryCodes(100))
	defer s.Close()
	count := func(user string, want int) {
		t.Helper()
		if n, err := s.CountRecoveryCodes(ctx, user); err != nil || n != want {
			t.Errorf("CountRecoveryCodes(%s) = %d, %v; want %d", user, n, err, want)
		}
	}
	// One user holds at most MaxRecoveryCodesPerUser codes, whatever the room.
	a := codes("a", memstore.MaxRecoveryCodesPerUser+1)
	if err := s.ReplaceRecoveryCodes(ctx, "a", a, base); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("ReplaceRecoveryCodes of %d codes = %v, want ErrInvalid", len(a), err)
	}
	a = a[:memstore.MaxRecoveryCodesPerUser]
	if err := s.ReplaceRecoveryCodes(ctx, "a", a, base); err != nil {
		t.Fatalf("ReplaceRecoveryCodes of %d codes = %v, want nil", len(a), err)
	}
	b := codes("b", 100-len(a))
	if err := s.ReplaceRecoveryCodes(ctx, "b", b, base); err != nil {
		t.Fatalf("ReplaceRecoveryCodes up to the limit = %v, want nil", err)
	}
	// Full: a new user's set, or a larger set, is refused, and the old set kept.
	if err := s.ReplaceRecoveryCodes(ctx, "c", codes("c", 1), base); !errors.Is(err, store.ErrCapacity) {
		t.Errorf("ReplaceRecoveryCodes of a new user when full = %v, want ErrCapacity", err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, "b", codes("b2", len(b)+1), base); !errors.Is(err, store.ErrCapacity) {
		t.Errorf("ReplaceRecoveryCodes of a larger set when full = %v, want ErrCapacity", err)
	}
	count("b", len(b))
	// A set of the same size replaces the old, whose room it takes.
	if err := s.ReplaceRecoveryCodes(ctx, "b", codes("b3", len(b)), base); err != nil {
		t.Errorf("ReplaceRecoveryCodes of a set of the same size when full = %v, want nil", err)
	}
	// Used codes make room; so does an empty set.
	if err := s.UseRecoveryCode(ctx, "a", a[5]); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, "c", codes("c", 1), base); err != nil {
		t.Errorf("ReplaceRecoveryCodes after a code was used = %v, want nil", err)
	}
	if got := s.Sizes().RecoveryCodes; got != 100 {
		t.Errorf("Sizes().RecoveryCodes = %d, want 100", got)
	}
	if err := s.ReplaceRecoveryCodes(ctx, "a", nil, base); err != nil {
		t.Fatal(err)
	}
	if got := s.Sizes().RecoveryCodes; got != 100-len(a)+1 {
		t.Errorf("Sizes().RecoveryCodes = %d, want %d", got, 100-len(a)+1)
	}
	// A now out of range is refused, as in a store that keeps it.
	far := time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC)
	if err := s.ReplaceRecoveryCodes(ctx, "a", codes("a", 1), far); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ReplaceRecoveryCodes at a now after 2262 = %v, want ErrInvalid", err)
	}
	count("a", 0)
	count("c", 1)
}

// TestSessionFloodBounded creates sessions nobody refreshes, and checks that the store never holds
// more than its bound and drops expired sessions as new ones come.
func TestSessionFloodBounded(t *testing.T) {
	ctx := t.Context()
	const limit, total = 1000, 20_000
	s := memstore.New(memstore.WithMaxSessions(limit))
	defer s.Close()
	for i := range total {
		now := base.Add(time.Duration(i) * time.Second)
		v := session(fmt.Sprint("flood", i), fmt.Sprint("user", i%7), now)
		v.IdleExpiresAt = now.Add(500 * time.Second) // 500 live at a time
		if err := s.CreateSession(ctx, v); err != nil {
			t.Fatalf("CreateSession #%d = %v", i, err)
		}
		if n := s.Sizes().Sessions; n > 500 {
			t.Fatalf("after %d sessions the store holds %d, 500 live", i+1, n)
		}
	}
}

// TestSessionModel runs random session operations against a store and against a plain map that
// scans for ended sessions, and compares every answer: the expiry heap and the indexes by user and
// of revoked sessions must not change what the store says.
func TestSessionModel(t *testing.T) {
	const limit = 8
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	s := memstore.New(memstore.WithMaxSessions(limit))
	defer s.Close()
	type rec struct {
		v    store.Session
		hash int // the refresh hash is "id/hash"
	}
	model := map[string]*rec{}
	live := func(r *rec, now time.Time) bool {
		return r != nil && r.v.IdleExpiresAt.After(now) && r.v.ExpiresAt.After(now)
	}
	hashOf := func(id string, n int) []byte { return []byte(fmt.Sprint(id, "/", n)) }
	users := []string{"u0", "u1", "u2"}
	now := base
	for i := range 20_000 {
		id := fmt.Sprint("s", rng.IntN(12))
		user := users[rng.IntN(len(users))]
		now = now.Add(time.Duration(rng.IntN(180)) * time.Second)
		r := model[id]
		switch op := rng.IntN(8); op {
		case 0, 1: // create
			for k, r := range model {
				if !live(r, now) {
					delete(model, k)
				}
			}
			v := store.Session{
				ID: id, UserID: user, RefreshHash: hashOf(id, 0), CreatedAt: now,
				IdleExpiresAt: now.Add(time.Duration(1+rng.IntN(20)) * time.Minute),
				ExpiresAt:     now.Add(time.Duration(1+rng.IntN(60)) * time.Minute),
			}
			err := s.CreateSession(ctx, v)
			switch {
			case model[id] != nil:
				if !errors.Is(err, store.ErrConflict) {
					t.Fatalf("op %d: CreateSession of a live session = %v", i, err)
				}
			case len(model) >= limit:
				if !errors.Is(err, store.ErrCapacity) {
					t.Fatalf("op %d: CreateSession when full = %v", i, err)
				}
			default:
				if err != nil {
					t.Fatalf("op %d: CreateSession = %v", i, err)
				}
				model[id] = &rec{v: v}
			}
		case 2: // get
			got, err := s.GetSession(ctx, id, now)
			if !live(r, now) {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("op %d: GetSession of an ended session = %v", i, err)
				}
				break
			}
			if err != nil || !got.RevokedAt.Equal(r.v.RevokedAt) || string(got.RefreshHash) != string(r.v.RefreshHash) || !got.IdleExpiresAt.Equal(r.v.IdleExpiresAt) ||
				!slices.EqualFunc(got.RetiredRefreshHashes, r.v.RetiredRefreshHashes, bytes.Equal) {
				t.Fatalf("op %d: GetSession = %+v, %v; want %+v", i, got, err, r.v)
			}
		case 3: // rotate, with the current hash or a stale one
			n := 0
			if r != nil {
				n = r.hash - rng.IntN(2)
			}
			idle := now.Add(time.Duration(1+rng.IntN(20)) * time.Minute)
			// The hashes before the replaced one retire, at most three, as a session package would keep.
			var retired [][]byte
			for k := n - 1; k >= 0 && k >= n-3; k-- {
				retired = append(retired, hashOf(id, k))
			}
			_, err := s.RotateRefresh(ctx, id, hashOf(id, n), hashOf(id, n+1), retired, idle, now)
			switch {
			case !live(r, now) || !r.v.RevokedAt.IsZero():
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("op %d: RotateRefresh of an ended or revoked session = %v", i, err)
				}
			case n != r.hash:
				if !errors.Is(err, store.ErrConflict) {
					t.Fatalf("op %d: RotateRefresh with a stale hash = %v", i, err)
				}
			default:
				if err != nil {
					t.Fatalf("op %d: RotateRefresh = %v", i, err)
				}
				r.hash++
				r.v.RefreshHash = hashOf(id, r.hash)
				r.v.RetiredRefreshHashes = retired
				r.v.IdleExpiresAt = idle
			}
		case 4: // revoke
			if err := s.RevokeSession(ctx, id, now); err != nil {
				t.Fatalf("op %d: RevokeSession = %v", i, err)
			}
			if live(r, now) && r.v.RevokedAt.IsZero() {
				r.v.RevokedAt = now
			}
		case 5: // revoke a user's sessions but one
			n, err := s.RevokeUserSessions(ctx, user, id, now)
			want := 0
			for k, r := range model {
				if r.v.UserID == user && k != id && live(r, now) && r.v.RevokedAt.IsZero() {
					r.v.RevokedAt = now
					want++
				}
			}
			if err != nil || n != want {
				t.Fatalf("op %d: RevokeUserSessions = %d, %v; want %d", i, n, err, want)
			}
		case 6: // list
			list, err := s.ListSessions(ctx, user, now)
			var want []store.Session
			for _, r := range model {
				if r.v.UserID == user && live(r, now) && r.v.RevokedAt.IsZero() {
					want = append(want, r.v)
				}
			}
			slices.SortFunc(want, func(a, b store.Session) int {
				if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
					return c
				}
				return strings.Compare(b.ID, a.ID)
			})
			if err != nil || len(list) != len(want) {
				t.Fatalf("op %d: ListSessions = %d sessions, %v; want %d", i, len(list), err, len(want))
			}
			for j := range list {
				if list[j].ID != want[j].ID {
					t.Fatalf("op %d: ListSessions #%d = %s, want %s", i, j, list[j].ID, want[j].ID)
				}
			}
		case 7: // revocations
			since := now.Add(-time.Duration(rng.IntN(30)) * time.Minute)
			revs, err := s.RevokedSince(ctx, since, now)
			var want []string
			for k, r := range model {
				if live(r, now) && !r.v.RevokedAt.IsZero() && !r.v.RevokedAt.Before(since) {
					want = append(want, k)
				}
			}
			var got []string
			for _, rv := range revs {
				got = append(got, rv.SessionID)
			}
			slices.Sort(want)
			slices.Sort(got)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("op %d: RevokedSince = %v, %v; want %v", i, got, err, want)
			}
		}
		if n := s.Sizes().Sessions; n > limit {
			t.Fatalf("op %d: %d sessions held, over the bound %d", i, n, limit)
		}
	}
}

// BenchmarkStore runs the stores' shared benchmarks (storetest.Benchmark).
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store {
		s := memstore.New()
		b.Cleanup(func() { s.Close() })
		return s
	})
}

func ExampleNew() {
	ctx := context.Background()
	s := memstore.New(memstore.WithMaxNonces(10_000))
	defer s.Close()

	now := time.Date(2030, time.January, 1, 12, 0, 0, 0, time.UTC)
	n := store.Nonce{Value: "k7Qm2xPz9a", ChainID: 1, IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	if err := s.CreateNonce(ctx, n, now); err != nil {
		fmt.Println(err)
		return
	}

	got, err := s.ConsumeNonce(ctx, "k7Qm2xPz9a", now.Add(10*time.Second))
	fmt.Println(got.Value, got.ChainID, err)

	// A nonce is used once.
	_, err = s.ConsumeNonce(ctx, "k7Qm2xPz9a", now.Add(11*time.Second))
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// k7Qm2xPz9a 1 <nil>
	// true
}
