package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	other := e.manager()
	oldTok := e.create(m, alice)
	oldKid := kidOf(t, oldTok.AccessToken)
	if kidOf(t, e.create(other, alice).AccessToken) != oldKid {
		t.Fatal("the second instance signs with another key")
	}

	if err := m.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	keys := e.keys()
	if len(keys) != 2 || keys[0].ID == oldKid {
		t.Fatalf("keys after RotateKeys: %v", keys)
	}
	newKid := keys[0].ID
	if !keys[0].NotBefore.Equal(e.clock.Now().Add(4 * time.Second)) {
		t.Errorf("new key signs from %v; want after KeyPublishDelay", keys[0].NotBefore)
	}
	// Published at once, not signing yet.
	if kid := kidOf(t, e.create(m, alice).AccessToken); kid != oldKid {
		t.Errorf("signed with %s during the publish delay", kid)
	}
	e.sync(other)
	e.clock.Advance(4 * time.Second)
	mid := e.create(m, alice)
	if kid := kidOf(t, mid.AccessToken); kid != newKid {
		t.Errorf("signed with %s after the publish delay; want the new key", kid)
	}
	// Every instance switches at the same time, having known the key beforehand.
	if kid := kidOf(t, e.create(other, alice).AccessToken); kid != newKid {
		t.Errorf("the other instance signs with %s", kid)
	}
	if _, err := other.Verify(mid.AccessToken); err != nil {
		t.Errorf("the other instance refuses the new key: %v", err)
	}
	// The old key keeps verifying its tokens.
	for _, mm := range []*session.Manager{m, other} {
		if _, err := mm.Verify(oldTok.AccessToken); err != nil {
			t.Errorf("old token during the overlap: %v", err)
		}
	}
	// A manager started now knows both.
	late := e.manager()
	for _, tok := range []string{oldTok.AccessToken, mid.AccessToken} {
		if _, err := late.Verify(tok); err != nil {
			t.Errorf("new instance: %v", err)
		}
	}
}

func TestAutomaticRotationAndExpiry(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) { c.KeyRotation = time.Hour })
	first := e.keys()
	if len(first) != 1 {
		t.Fatalf("%d keys at start", len(first))
	}
	// The first key signs at once and lives for its rotation, the publication of its successor
	// (plus a sync interval), then as long as a token can live (the pending tokens' 15 min +
	// skew) plus a margin.
	k := first[0]
	if !k.NotBefore.Equal(t0) || !k.CreatedAt.Equal(t0) || k.Algorithm != "EdDSA" {
		t.Errorf("first key %+v", k)
	}
	if want := t0.Add(time.Hour + 2*time.Second + 4*time.Second + 15*time.Minute + 5*time.Second + time.Minute); !k.ExpiresAt.Equal(want) {
		t.Errorf("first key expires %v, want %v", k.ExpiresAt, want)
	}
	if !strings.Contains(string(k.Private), `"d"`) || len(k.ID) != 22 {
		t.Errorf("stored key: id %q", k.ID)
	}
	_, oldPriv := e.storedKey(k.ID)

	e.clock.Advance(59 * time.Minute)
	e.sync(m)
	if n := len(e.keys()); n != 1 {
		t.Fatalf("rotated early: %d keys", n)
	}
	e.clock.Advance(time.Minute)
	e.sync(m)
	keys := e.keys()
	if len(keys) != 2 || !keys[0].NotBefore.Equal(e.clock.Now().Add(4*time.Second)) {
		t.Fatalf("after KeyRotation: %+v", keys)
	}
	e.sync(m) // no second rotation while the new key waits
	if n := len(e.keys()); n != 2 {
		t.Fatalf("%d keys", n)
	}
	last := e.create(m, alice) // the old key's last token
	if kidOf(t, last.AccessToken) != k.ID {
		t.Fatal("the new key signs early")
	}
	e.clock.Advance(4 * time.Second)
	if kidOf(t, e.create(m, alice).AccessToken) != keys[0].ID {
		t.Fatal("the new key does not sign")
	}
	if _, err := m.Verify(last.AccessToken); err != nil {
		t.Errorf("the old key's last token: %v", err)
	}
	// Past its expiry, the old key is gone from the store and from every instance.
	e.clock.Advance(k.ExpiresAt.Sub(e.clock.Now()))
	e.sync(m)
	if keys := e.keys(); len(keys) != 1 || keys[0].ID == k.ID {
		t.Fatalf("keys after the old one expired: %v", keys)
	}
	forged := craft(map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": k.ID}, claimsFor(last.SessionID, e.clock.Now()), "EdDSA", oldPriv)
	if _, err := m.Verify(forged); !errors.Is(err, session.ErrTokenInvalid) {
		t.Errorf("token of an expired key: %v", err)
	}
}

func TestDeletedKeyStopsVerifying(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	tok := e.create(m, alice)
	if _, err := m.Verify(tok.AccessToken); err != nil { // now cached
		t.Fatal(err)
	}
	if err := m.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	// An operator deletes the (compromised) old key from the store.
	if err := e.st.DeleteKey(ctx, kidOf(t, tok.AccessToken)); err != nil {
		t.Fatal(err)
	}
	e.sync(m)
	if _, err := m.Verify(tok.AccessToken); !errors.Is(err, session.ErrTokenInvalid) {
		t.Errorf("cached token of a deleted key: %v", err)
	}
	// Nothing is left that can sign now: the next mint makes a key that signs at once.
	if _, err := m.Create(ctx, alice); err != nil {
		t.Errorf("Create with the signing key deleted: %v", err)
	}
}

func TestConcurrentFirstStart(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "HS256"} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t)
			cfg := e.config()
			cfg.Algorithm = alg
			var ms [2]*session.Manager
			var errs [2]error
			var wg sync.WaitGroup
			for i := range ms {
				wg.Go(func() { ms[i], errs[i] = session.New(ctx, cfg) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			e.sync(ms[0], ms[1])
			a, b := e.create(ms[0], alice), e.create(ms[1], alice)
			for _, m := range ms {
				for _, tok := range []*session.Tokens{a, b} {
					if _, err := m.Verify(tok.AccessToken); err != nil {
						t.Errorf("after Sync: %v", err)
					}
				}
			}
			if kidOf(t, a.AccessToken) != kidOf(t, b.AccessToken) {
				t.Error("the instances sign with different keys after Sync")
			}
		})
	}
}

func TestStartAndClose(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) { c.SyncInterval = 10 * time.Millisecond })
	other := e.manager()
	tok := e.create(m, alice)
	loopCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.Start(loopCtx)
	m.Start(loopCtx) // again: nothing
	if err := other.Revoke(ctx, tok.SessionID); err != nil {
		t.Fatal(err)
	}
	// The background loop polls in real time; wait for it, bounded.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := m.Verify(tok.AccessToken)
		if errors.Is(err, session.ErrSessionRevoked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the loop never learnt of the revocation: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m.Start(loopCtx) // after Close: nothing
}

func TestRotateKeysWithFixedSecret(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) {
		c.Algorithm, c.HMACSecret, c.Keys = "HS256", []byte("0123456789abcdef0123456789abcdef"), nil
	})
	if err := m.RotateKeys(ctx); !errors.Is(err, session.ErrConfig) {
		t.Errorf("RotateKeys = %v", err)
	}
	if n := len(e.keys()); n != 0 {
		t.Errorf("%d keys stored with a fixed secret", n)
	}
	tok := e.create(m, alice)
	if kid := kidOf(t, tok.AccessToken); !strings.HasPrefix(kid, "hs256-") || strings.Contains(kid, "0123") {
		t.Errorf("kid %q", kid)
	}
	other := e.manager(func(c *session.Config) {
		c.Algorithm, c.HMACSecret = "HS256", []byte("another secret, also 32 bytes ok")
	})
	if _, err := other.Verify(tok.AccessToken); !errors.Is(err, session.ErrTokenInvalid) {
		t.Errorf("another secret: %v", err)
	}
	e.sync(m)
}

func TestUnusableStoredKeyIsSkipped(t *testing.T) {
	e := newEnv(t)
	m0 := e.manager()
	k := e.keys()[0]
	// Newer keys that must not be used: a P-256 JWK labelled EdDSA, an Ed25519 JWK labelled
	// HS256 (using it as an HMAC secret would be a confusion), and a JWK that does not parse.
	p256, err := jwk.Import(mustECDSA())
	if err != nil {
		t.Fatal(err)
	}
	p256JSON, _ := json.Marshal(p256)
	for _, bad := range []store.SigningKey{
		{ID: "p256-as-eddsa", Algorithm: "EdDSA", Private: p256JSON},
		{ID: "ed25519-as-hs256", Algorithm: "HS256", Private: k.Private},
	} {
		bad.CreatedAt, bad.NotBefore, bad.ExpiresAt = t0, t0.Add(time.Second), t0.Add(time.Hour)
		if err := e.st.CreateKey(ctx, bad); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.CreateKey(ctx, store.SigningKey{ID: "garbage", Algorithm: "EdDSA", Private: []byte("{"), CreatedAt: t0, NotBefore: t0.Add(time.Second), ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	m := e.manager()
	e.sync(m0)
	for _, mm := range []*session.Manager{m, m0} {
		tok := e.create(mm, alice)
		if kid := kidOf(t, tok.AccessToken); kid != k.ID {
			t.Errorf("signs with %q", kid)
		}
	}
	if !strings.Contains(e.logs.String(), "unusable signing key") || strings.Contains(e.logs.String(), `"d":`) {
		t.Error("unusable key not logged, or logged with its material")
	}
}

func TestConfigValidation(t *testing.T) {
	st := memstore.New()
	base := session.Config{Issuer: issuer, Keys: st, Sessions: st, Logger: slog.New(slog.DiscardHandler)}
	tests := []struct {
		name string
		edit func(*session.Config)
	}{
		{"no issuer", func(c *session.Config) { c.Issuer = "" }},
		{"no sessions", func(c *session.Config) { c.Sessions = nil }},
		{"no keys", func(c *session.Config) { c.Keys = nil }},
		{"RS256", func(c *session.Config) { c.Algorithm = "RS256" }},
		{"none", func(c *session.Config) { c.Algorithm = "none" }},
		{"secret with EdDSA", func(c *session.Config) { c.HMACSecret = make([]byte, 32) }},
		{"short secret", func(c *session.Config) { c.Algorithm, c.HMACSecret = "HS256", make([]byte, 31) }},
		{"empty secret", func(c *session.Config) { c.Algorithm, c.HMACSecret = "HS256", []byte{} }},
		{"grace over 10s", func(c *session.Config) { c.RefreshGrace = 11 * time.Second }},
		{"skew over 60s", func(c *session.Config) { c.ClockSkew = 61 * time.Second }},
		{"sync over 60s", func(c *session.Config) { c.SyncInterval = 61 * time.Second }},
		{"access TTL over a day", func(c *session.Config) { c.AccessTTL = 25 * time.Hour }},
		{"negative TTL", func(c *session.Config) { c.AccessTTL = -1 }},
		{"negative idle", func(c *session.Config) { c.RefreshIdleTimeout = -1 }},
		{"negative rotation", func(c *session.Config) { c.KeyRotation = -1 }},
		{"negative publish delay", func(c *session.Config) { c.KeyPublishDelay = -1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			if _, err := session.New(ctx, cfg); !errors.Is(err, session.ErrConfig) {
				t.Errorf("New = %v; want ErrConfig", err)
			}
		})
	}
	for _, ok := range []func(*session.Config){
		func(c *session.Config) {
			c.ClockSkew, c.SyncInterval, c.RefreshGrace = 60*time.Second, 60*time.Second, 10*time.Second
		},
		func(c *session.Config) { c.Keys, c.Algorithm, c.HMACSecret = nil, "HS256", make([]byte, 32) },
		func(c *session.Config) { c.CacheSize = -1 },
	} {
		cfg := base
		ok(&cfg)
		if _, err := session.New(ctx, cfg); err != nil {
			t.Errorf("New: %v", err)
		}
	}
}

// TestLateRotationMakesNoUnpublishedKey: a rotation whose Sync comes a few seconds late (failed
// Syncs, busy instances) publishes the successor as usual and makes no key that signs at once:
// the old key, within its margin of the end, still signs until the successor takes over, and
// tokens of either instance verify on the other throughout.
func TestLateRotationMakesNoUnpublishedKey(t *testing.T) {
	e := newEnv(t)
	a, b := e.manager(), e.manager()
	e.clock.Advance(session.DefaultKeyRotation + 5*time.Second)
	e.sync(a, b) // a makes the successor, published in KeyPublishDelay; b learns of it
	for range 5 {
		e.clock.Advance(time.Second)
		e.sync(a, b)
		if n := len(e.keys()); n != 2 {
			t.Fatalf("%d keys in the store after the rotation, want 2: the old and its published successor", n)
		}
		for _, pair := range [][2]*session.Manager{{a, b}, {b, a}} {
			tok := e.create(pair[0], alice)
			if _, err := pair[1].Verify(tok.AccessToken); err != nil {
				t.Fatalf("a token of one instance refused by the other: %v", err)
			}
		}
	}
}
