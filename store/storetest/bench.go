package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

// Benchmark measures a store's hot operations — what a sign-in, a refresh, a rate limit and a
// second factor cost it — as sub-benchmarks of b, each on a fresh store from newStore (which
// registers its own cleanup):
//
//	func BenchmarkStore(b *testing.B) {
//		storetest.Benchmark(b, func(b *testing.B) store.Store { return openMyStore(b) })
//	}
func Benchmark(b *testing.B, newStore func(b *testing.B) store.Store) {
	for _, bm := range []struct {
		name string
		fn   func(*testing.B, store.Store)
	}{
		{"NonceIssueConsume", benchNonceIssueConsume},
		{"GetNonce", benchGetNonce},
		{"IncrementCounter", benchIncrementCounter},
		{"CreateSession", benchCreateSession},
		{"SessionRefresh", benchSessionRefresh},
		{"UseTOTPStep", benchUseTOTPStep},
	} {
		b.Run(bm.name, func(b *testing.B) { bm.fn(b, newStore(b)) })
	}
}

// benchNonceIssueConsume: one nonce created and consumed, as one sign-in does.
func benchNonceIssueConsume(b *testing.B, s store.Store) {
	ctx := context.Background()
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

func benchGetNonce(b *testing.B, s store.Store) {
	ctx := context.Background()
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

func benchIncrementCounter(b *testing.B, s store.Store) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.IncrementCounter(ctx, "rate:ip:192.0.2.1", time.Minute, base); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSession is a session as a sign-in creates it, live for an hour from now.
func benchSession(id, userID string, now time.Time) store.Session {
	return store.Session{ID: id, UserID: userID, Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ChainID: 1,
		AAL: "aal1", AMR: []string{"siwe"}, RefreshHash: []byte(id + "/0"), CreatedAt: now, LastUsedAt: now,
		IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour), UserAgent: "bench", IP: "192.0.2.1"}
}

func benchCreateSession(b *testing.B, s store.Store) {
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// One second apart with an idle timeout of an hour: the store keeps about 3600 live
		// sessions.
		now := base.Add(time.Duration(i) * time.Second)
		v := benchSession(fmt.Sprint("bench", i), fmt.Sprint("user", i%1000), now)
		i++
		if err := s.CreateSession(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSessionRefresh(b *testing.B, s store.Store) {
	ctx := context.Background()
	v := benchSession("benchRefresh", "user", base)
	if err := s.CreateSession(ctx, v); err != nil {
		b.Fatal(err)
	}
	hashes := [2][]byte{v.RefreshHash, []byte("benchRefresh/1")}
	// Retired hashes as the session package keeps them: here four SHA-256-sized ones.
	retired := make([][]byte, 4)
	for j := range retired {
		retired[j] = make([]byte, 32)
		retired[j][0] = byte(j)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := base.Add(time.Duration(i) * time.Millisecond)
		if _, err := s.RotateRefresh(ctx, v.ID, hashes[i%2], hashes[(i+1)%2], retired, now.Add(time.Hour), now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// benchUseTOTPStep: the once-per-step update of a TOTP check, each iteration a new step.
func benchUseTOTPStep(b *testing.B, s store.Store) {
	ctx := context.Background()
	f := store.TOTP{UserID: "benchUser", Secret: make([]byte, 60), KeyID: "mfa-key-1", CreatedAt: base}
	if err := s.PutTOTP(ctx, f); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	step := base.Unix() / 30
	for b.Loop() {
		step++
		if _, err := s.UseTOTPStep(ctx, f.UserID, f.Secret, step, base); err != nil {
			b.Fatal(err)
		}
	}
}
