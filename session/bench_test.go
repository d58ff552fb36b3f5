package session_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store/memstore"
)

var (
	sink  any
	quiet = slog.New(slog.DiscardHandler)
)

// benchManager returns a Manager on a memory store and the access token of a new session. The
// clock is real: the benchmarks run for seconds, far within the token's hour.
func benchManager(b *testing.B, edit func(*session.Config)) (*session.Manager, *session.Tokens) {
	b.Helper()
	st := memstore.New()
	cfg := session.Config{Issuer: "https://example.com", Keys: st, Sessions: st, AccessTTL: time.Hour, Logger: quiet}
	if edit != nil {
		edit(&cfg)
	}
	m, err := session.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := m.Create(context.Background(), alice)
	if err != nil {
		b.Fatal(err)
	}
	return m, tok
}

// BenchmarkSessionVerify: an EdDSA access token seen for the first time (the cache is off, so
// every iteration does the full verification). Target: within 1.3× of ed25519.Verify.
func BenchmarkSessionVerify(b *testing.B) {
	m, tok := benchManager(b, func(c *session.Config) { c.CacheSize = -1 })
	b.ReportAllocs()
	for b.Loop() {
		c, err := m.Verify(tok.AccessToken)
		if err != nil {
			b.Fatal(err)
		}
		sink = c
	}
}

// BenchmarkSessionVerifyCached: the same token again, from the cache (expiry, revocation and key
// still checked). Target: under 2 µs.
func BenchmarkSessionVerifyCached(b *testing.B) {
	m, tok := benchManager(b, nil)
	if _, err := m.Verify(tok.AccessToken); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := m.Verify(tok.AccessToken)
		if err != nil {
			b.Fatal(err)
		}
		sink = c
	}
}

// BenchmarkSessionVerifyES256 and BenchmarkSessionVerifyHS256: the other algorithms, uncached.
func BenchmarkSessionVerifyES256(b *testing.B) {
	m, tok := benchManager(b, func(c *session.Config) { c.CacheSize, c.Algorithm = -1, "ES256" })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(tok.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionVerifyHS256(b *testing.B) {
	m, tok := benchManager(b, func(c *session.Config) { c.CacheSize, c.Algorithm = -1, "HS256" })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(tok.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionMint: signing a token (EdDSA), no store access.
func BenchmarkSessionMint(b *testing.B) {
	m, _ := benchManager(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		tok, _, err := m.MintPending(alice, 5*time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		sink = tok
	}
}

// BenchmarkSessionCreate: a sign-in's session: a store write and an access token.
func BenchmarkSessionCreate(b *testing.B) {
	st := memstore.New(memstore.WithMaxSessions(1 << 30))
	m, err := session.New(context.Background(), session.Config{Issuer: "https://example.com", Keys: st, Sessions: st, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		tok, err := m.Create(context.Background(), alice)
		if err != nil {
			b.Fatal(err)
		}
		sink = tok
	}
}

// BenchmarkSessionRefresh: one rotation: a store read, a compare-and-set and an access token.
func BenchmarkSessionRefresh(b *testing.B) {
	m, tok := benchManager(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		next, err := m.Refresh(context.Background(), tok.RefreshToken)
		if err != nil {
			b.Fatal(err)
		}
		tok = next
	}
}
