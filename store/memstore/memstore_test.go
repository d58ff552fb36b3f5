package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
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

func TestConformanceSmallBounds(t *testing.T) {
	// The suite holds at most 100 records of a kind per store; bounds just above must not show.
	storetest.Run(t, func(t *testing.T) store.Store {
		s := memstore.New(memstore.WithMaxNonces(101), memstore.WithMaxCounters(101))
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

func BenchmarkNonceIssueConsume(b *testing.B) {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()
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

func BenchmarkIncrementCounter(b *testing.B) {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.IncrementCounter(ctx, "rate:ip:192.0.2.1", time.Minute, base); err != nil {
			b.Fatal(err)
		}
	}
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
