package session_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

// TestTokenID: Verify, a cache hit and VerifyPending give the token's jti, unique per token; a
// token without one is refused.
func TestTokenID(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	seen := map[string]bool{}
	for range 3 {
		tok := e.create(m, alice)
		_, p := segments(t, tok.AccessToken)
		jti, _ := p["jti"].(string)
		if jti == "" || seen[jti] {
			t.Fatalf("jti %q", jti)
		}
		seen[jti] = true
		for i := range 2 { // a miss, then a cache hit
			c, err := m.Verify(tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if c.TokenID != jti {
				t.Errorf("Verify #%d: TokenID %q, want %q", i, c.TokenID, jti)
			}
		}
	}
	pending, _, err := m.MintPending(alice, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, p := segments(t, pending)
	c, err := m.VerifyPending(pending)
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenID == "" || c.TokenID != p["jti"] || seen[c.TokenID] {
		t.Errorf("VerifyPending: TokenID %q, jti %v", c.TokenID, p["jti"])
	}

	// Signed by the Manager's own key but without a jti: refused.
	tok := e.create(m, alice)
	kid := kidOf(t, tok.AccessToken)
	_, priv := e.storedKey(kid)
	hdr := map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
	good := claimsFor(tok.SessionID, e.clock.Now())
	if _, err := m.Verify(craft(hdr, good, "EdDSA", priv)); err != nil {
		t.Fatalf("control: %v", err)
	}
	for _, jti := range []any{nil, ""} {
		if _, err := m.Verify(craft(hdr, with(good, "jti", jti), "EdDSA", priv)); !errors.Is(err, session.ErrTokenInvalid) {
			t.Errorf("jti %v: %v", jti, err)
		}
	}
}

var (
	p256N    = elliptic.P256().Params().N
	p256Half = new(big.Int).Rsh(p256N, 1)
)

// sigS returns the s of a token's ES256 signature.
func sigS(t *testing.T, token string) *big.Int {
	t.Helper()
	sig, err := base64.RawURLEncoding.DecodeString(token[strings.LastIndexByte(token, '.')+1:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature of %d bytes: %v", len(sig), err)
	}
	return new(big.Int).SetBytes(sig[32:])
}

// malleate returns the token with its ES256 signature (r, s) replaced by (r, n−s).
func malleate(t *testing.T, token string) string {
	t.Helper()
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature of %d bytes: %v", len(sig), err)
	}
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(p256N, s).FillBytes(sig[32:])
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// TestES256HighSRefused: the twin (r, n−s) of a minted ES256 token, which jwx accepts, is
// refused, cached twin or not, access or pending token.
func TestES256HighSRefused(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) { c.Algorithm = "ES256" })
	tok := e.create(m, alice)
	_, priv := e.storedKey(kidOf(t, tok.AccessToken))
	pub := &priv.(*ecdsa.PrivateKey).PublicKey
	pending, _, err := m.MintPending(alice, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		token  string
		verify func(string) (*session.Claims, error)
	}{{"access", tok.AccessToken, m.Verify}, {"pending", pending, m.VerifyPending}} {
		twin := malleate(t, c.token)
		if sigS(t, twin).Cmp(p256Half) <= 0 {
			t.Fatalf("%s: the twin is low-s", c.name)
		}
		// jwx alone accepts both texts: the refusal is this package's.
		for _, text := range []string{c.token, twin} {
			if _, err := jws.Verify([]byte(text), jws.WithKey(jwa.ES256(), pub)); err != nil {
				t.Fatalf("%s: jws.Verify: %v", c.name, err)
			}
		}
		if _, err := c.verify(twin); !errors.Is(err, session.ErrTokenInvalid) {
			t.Errorf("%s: high-s twin before the original: %v", c.name, err)
		}
		if _, err := c.verify(c.token); err != nil { // cached, for the access token
			t.Fatalf("%s: original: %v", c.name, err)
		}
		if _, err := c.verify(twin); !errors.Is(err, session.ErrTokenInvalid) {
			t.Errorf("%s: high-s twin after the original: %v", c.name, err)
		}
	}
	// A token crafted with the key and s above n/2 is refused too; its low-s form verifies.
	good := claimsFor(tok.SessionID, e.clock.Now())
	crafted := craft(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kidOf(t, tok.AccessToken)}, good, "ES256", priv)
	if _, err := m.Verify(crafted); err != nil {
		t.Fatalf("crafted low-s: %v", err)
	}
	if _, err := m.Verify(malleate(t, crafted)); !errors.Is(err, session.ErrTokenInvalid) {
		t.Errorf("crafted high-s: %v", err)
	}
}

// TestES256MintsLowS: every ES256 token minted has s ≤ n/2 (about half would not, unnormalised).
func TestES256MintsLowS(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) { c.Algorithm = "ES256" })
	for i := range 200 {
		var token string
		if i%2 == 0 {
			p, _, err := m.MintPending(alice, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			token = p
		} else {
			token = e.create(m, alice).AccessToken
		}
		if s := sigS(t, token); s.Sign() == 0 || s.Cmp(p256Half) > 0 {
			t.Fatalf("token %d: s = %x is not in [1, n/2]", i, s)
		}
		verify := m.Verify
		if i%2 == 0 {
			verify = m.VerifyPending
		}
		if _, err := verify(token); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
}

// TestClaimsCloneIsDeep: nested objects and arrays of the hook's claims are not shared between
// the claims handed out and the cache.
func TestClaimsCloneIsDeep(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) {
		c.Claims = func(context.Context, store.Session) (map[string]any, error) {
			return map[string]any{"public_metadata": map[string]any{
				"plan": "pro", "tags": []any{"a", map[string]any{"k": "v"}},
			}}, nil
		}
	})
	tok := e.create(m, alice)
	check := func(what string, c *session.Claims) {
		t.Helper()
		pm, _ := c.Extra["public_metadata"].(map[string]any)
		tags, _ := pm["tags"].([]any)
		if pm["plan"] != "pro" || len(tags) != 2 || tags[0] != "a" {
			t.Fatalf("%s: Extra = %v", what, c.Extra)
		}
		if inner, _ := tags[1].(map[string]any); inner["k"] != "v" {
			t.Fatalf("%s: Extra = %v", what, c.Extra)
		}
	}
	mutate := func(c *session.Claims) {
		pm := c.Extra["public_metadata"].(map[string]any)
		tags := pm["tags"].([]any)
		tags[1].(map[string]any)["k"] = "mallory"
		tags[0] = "mallory"
		pm["plan"] = "mallory"
		pm["new"] = true
	}
	for i := range 3 { // the miss that fills the cache, then hits
		c, err := m.Verify(tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("Verify #%d", i), c)
		mutate(c)
	}
}

// flaky is a store whose RevokeSession, GetSession and RevokeUserSessions fail on demand, and
// which counts the calls of RevokeSession.
type flaky struct {
	*memstore.Store
	mu                             sync.Mutex
	failRevoke, failGet, failUsers bool
	revokeCalls                    int
}

func (f *flaky) set(revoke, get bool) {
	f.mu.Lock()
	f.failRevoke, f.failGet, f.failUsers = revoke, get, revoke
	f.mu.Unlock()
}

func (f *flaky) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.revokeCalls
}

func (f *flaky) RevokeSession(ctx context.Context, id string, now time.Time) error {
	f.mu.Lock()
	f.revokeCalls++
	fail := f.failRevoke
	f.mu.Unlock()
	if fail {
		return errDown
	}
	return f.Store.RevokeSession(ctx, id, now)
}

func (f *flaky) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	f.mu.Lock()
	fail := f.failGet
	f.mu.Unlock()
	if fail {
		return store.Session{}, errDown
	}
	return f.Store.GetSession(ctx, id, now)
}

func (f *flaky) RevokeUserSessions(ctx context.Context, userID, exceptID string, now time.Time) (int, error) {
	f.mu.Lock()
	fail := f.failUsers
	f.mu.Unlock()
	if fail {
		return 0, errDown
	}
	return f.Store.RevokeUserSessions(ctx, userID, exceptID, now)
}

func flakyEnv(t *testing.T) (*env, *flaky, *session.Manager) {
	e := newEnv(t)
	f := &flaky{Store: e.st}
	return e, f, e.manager(func(c *session.Config) { c.Sessions = f })
}

// pastAccessMarks is beyond what a revocation used to be remembered for: AccessTTL, skew and the
// one-minute margin.
const pastAccessMarks = session.DefaultAccessTTL + session.DefaultClockSkew + time.Minute + time.Second

// TestRevocationOutage: sign-outs made while the store cannot record them hold on the instance
// beyond the life of the session's access tokens, and become durable at the first Sync after the
// store is back: then no instance can refresh the session.
func TestRevocationOutage(t *testing.T) {
	logouts := []struct {
		name     string
		get      bool // GetSession fails too
		logout   func(m *session.Manager, tok *session.Tokens) error
		forgetAt func(tok *session.Tokens, now time.Time) time.Time // when the mark may go, at the earliest
	}{
		{"Revoke", false, func(m *session.Manager, tok *session.Tokens) error { return m.Revoke(ctx, tok.SessionID) },
			func(_ *session.Tokens, now time.Time) time.Time { return now.Add(session.DefaultRefreshLifetime) }},
		{"RevokeByRefreshToken", false, func(m *session.Manager, tok *session.Tokens) error {
			return m.RevokeByRefreshToken(ctx, tok.RefreshToken)
		}, func(_ *session.Tokens, now time.Time) time.Time { return t0.Add(session.DefaultRefreshLifetime) }},
		{"RevokeByRefreshToken, store unreadable", true, func(m *session.Manager, tok *session.Tokens) error {
			return m.RevokeByRefreshToken(ctx, tok.RefreshToken)
		}, func(_ *session.Tokens, now time.Time) time.Time { return now.Add(session.DefaultRefreshLifetime) }},
		{"RevokeOthers", false, func(m *session.Manager, tok *session.Tokens) error {
			_, err := m.RevokeOthers(ctx, alice.UserID, "")
			return err
		}, func(_ *session.Tokens, now time.Time) time.Time { return t0.Add(session.DefaultRefreshLifetime) }},
	}
	for _, tc := range logouts {
		t.Run(tc.name, func(t *testing.T) {
			e, f, m := flakyEnv(t)
			other := e.manager() // an instance on the healthy store
			tok := e.create(m, alice)
			e.clock.Advance(time.Second)

			f.set(true, tc.get)
			if err := tc.logout(m, tok); !errors.Is(err, errDown) {
				t.Fatalf("logout during the outage: %v", err)
			}
			if n := session.RetriesLen(m); n != 1 {
				t.Fatalf("%d revocations queued", n)
			}
			if until := session.RevokedUntil(m, tok.SessionID); until.Before(tc.forgetAt(tok, e.clock.Now())) {
				t.Errorf("the mark goes at %v, before the session can end", until)
			}
			if !strings.Contains(e.logs.String(), `"level":"ERROR","msg":"session: revocation not yet durable`) {
				t.Errorf("no error logged: %s", e.logs.String())
			}
			if _, err := m.Verify(tok.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
				t.Errorf("Verify after the logout: %v", err)
			}

			// Long past the access token's life, the outage goes on: Syncs fail, the mark holds.
			e.clock.Advance(pastAccessMarks)
			if err := m.Sync(ctx); !errors.Is(err, errDown) {
				t.Errorf("Sync during the outage: %v", err)
			}
			if session.RetriesLen(m) != 1 || session.RevokedUntil(m, tok.SessionID).IsZero() {
				t.Fatal("the revocation was dropped during the outage")
			}
			f.set(false, false)
			if _, err := m.Refresh(ctx, tok.RefreshToken); !errors.Is(err, session.ErrSessionRevoked) {
				t.Errorf("Refresh here, store back, before Sync: %v", err)
			}
			if s, err := e.st.GetSession(ctx, tok.SessionID, e.clock.Now()); err != nil || !s.RevokedAt.IsZero() {
				t.Fatalf("the store has the revocation before the retry: %v, %v", s.RevokedAt, err)
			}

			// The store is back: the next Sync makes it durable.
			e.sync(m)
			if n := session.RetriesLen(m); n != 0 {
				t.Errorf("%d revocations still queued", n)
			}
			s, err := e.st.GetSession(ctx, tok.SessionID, e.clock.Now())
			if err != nil || s.RevokedAt.IsZero() {
				t.Fatalf("the store lacks the revocation after Sync: %v, %v", s.RevokedAt, err)
			}
			if !strings.Contains(e.logs.String(), `"level":"INFO","msg":"session: revocation now durable"`) {
				t.Error("durability not logged")
			}
			for name, mm := range map[string]*session.Manager{"this instance": m, "another instance": other} {
				if _, err := mm.Refresh(ctx, tok.RefreshToken); !errors.Is(err, session.ErrSessionRevoked) {
					t.Errorf("Refresh on %s after Sync: %v", name, err)
				}
			}
			// Durable, the mark need only outlive the access tokens minted up to now.
			if until, want := session.RevokedUntil(m, tok.SessionID), e.clock.Now().Add(pastAccessMarks-time.Second); !until.Equal(want) {
				t.Errorf("mark until %v, want %v", until, want)
			}
			e.sync(m) // nothing left to retry
		})
	}
}

// TestRevocationOutageReuse: a refresh-token reuse detected while the store cannot record the
// revocation holds, and is retried.
func TestRevocationOutageReuse(t *testing.T) {
	e, f, m := flakyEnv(t)
	first := e.create(m, alice)
	second, err := m.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	f.set(true, false)
	if _, err := m.Refresh(ctx, first.RefreshToken); !errors.Is(err, errDown) {
		t.Fatalf("reuse during the outage: %v", err)
	}
	e.clock.Advance(pastAccessMarks)
	f.set(false, false)
	if _, err := m.Refresh(ctx, second.RefreshToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("the current token before Sync: %v", err)
	}
	e.sync(m)
	if s, err := e.st.GetSession(ctx, first.SessionID, e.clock.Now()); err != nil || s.RevokedAt.IsZero() {
		t.Fatalf("the store lacks the revocation: %v, %v", s.RevokedAt, err)
	}
}

// TestForgedLogoutNeverRevokes: a refresh token that the store shows is not the session's does
// not revoke it, even when the store could not have recorded the revocation.
func TestForgedLogoutNeverRevokes(t *testing.T) {
	e, f, m := flakyEnv(t)
	tok := e.create(m, alice)
	f.set(true, false)
	if err := m.RevokeByRefreshToken(ctx, forged(tok)); err != nil {
		t.Fatal(err)
	}
	if session.RetriesLen(m) != 0 || f.calls() != 0 {
		t.Error("a forged token queued or tried a revocation")
	}
	if _, err := m.Verify(tok.AccessToken); err != nil {
		t.Errorf("session ended by a forged token: %v", err)
	}
}

// TestRevocationRetries: the queue is bounded (keeping the oldest), a Sync gives up after a few
// failures in a row, and a revocation whose session has expired leaves the queue.
func TestRevocationRetries(t *testing.T) {
	e, f, m := flakyEnv(t)
	f.set(true, false)
	const max = 10_000
	id := func(i int) string { return fmt.Sprintf("sid-%05d", i) }
	for i := range max + 2 {
		if err := m.Revoke(ctx, id(i)); !errors.Is(err, errDown) {
			t.Fatal(err)
		}
	}
	if n := session.RetriesLen(m); n != max {
		t.Fatalf("%d queued, want %d", n, max)
	}
	if !strings.Contains(e.logs.String(), "retry queue is full") {
		t.Error("a full queue is not logged")
	}
	if session.RevokedUntil(m, id(max+1)).IsZero() {
		t.Error("a revocation beyond the queue is not held on the instance")
	}
	// The store is still down: a Sync tries a few, not ten thousand.
	before := f.calls()
	if err := m.Sync(ctx); !errors.Is(err, errDown) || !strings.Contains(err.Error(), fmt.Sprint(max)) {
		t.Errorf("Sync: %v", err)
	}
	if n := f.calls() - before; n > 3 {
		t.Errorf("Sync tried %d revocations on a failing store", n)
	}
	// Back: one Sync empties the queue.
	f.set(false, false)
	e.sync(m)
	if n := session.RetriesLen(m); n != 0 {
		t.Errorf("%d still queued", n)
	}

	// Queued, then the session expires before the store comes back: dropped.
	f.set(true, false)
	if err := m.Revoke(ctx, "sid-late"); !errors.Is(err, errDown) {
		t.Fatal(err)
	}
	e.clock.Advance(session.DefaultRefreshLifetime)
	_ = m.Sync(ctx)
	if n := session.RetriesLen(m); n != 0 {
		t.Errorf("%d queued after the session expired", n)
	}
	f.set(false, false)
	e.clock.Advance(session.DefaultClockSkew + time.Minute)
	e.sync(m)
	if n := session.RevokedLen(m); n != 0 {
		t.Errorf("revoked set holds %d after every session expired", n)
	}
}

// TestOutageSignOutFloodIsBounded: during a store outage a sign-out revokes, by id, a session
// nobody could check; a flood of them naming made-up sessions keeps the held revocations bounded
// (the retry queue, then short holds while access tokens live), and the short holds end soon
// after the store is back.
// recoverStore brings the store back and lets the managers retry, a second later.
func recoverStore(e *env, f *flaky, ms ...*session.Manager) {
	f.set(false, false)
	e.clock.Advance(time.Second)
	for _, m := range ms {
		_ = m.Sync(ctx)
	}
}

// outlastHolds brings the store back, then lets the short holds of unchecked sign-outs pass.
func outlastHolds(e *env, f *flaky, m *session.Manager) {
	recoverStore(e, f, m)
	e.clock.Advance(pastAccessMarks)
	_ = m.Sync(ctx)
}

// fillUncheckedShare signs out, while the store cannot be read, with a made-up token naming the
// victim's session, then with made-up tokens of no session until the unchecked share of the
// retry queue is full.
func fillUncheckedShare(m *session.Manager, victim *session.Tokens) {
	_ = m.RevokeByRefreshToken(ctx, forged(victim))
	for range session.MaxRetries/2 - 1 {
		_ = m.RevokeByRefreshToken(ctx, madeUpRefresh())
	}
}

func TestOutageSignOutFloodIsBounded(t *testing.T) {
	e, f, m := flakyEnv(t)
	tok := e.create(m, alice)                                          // a real session, signed out first: held for its whole life
	f.set(true, true)                                                  // the store can neither be read nor written
	_ = m.RevokeByRefreshToken(context.Background(), tok.RefreshToken) // fails: held, and retried
	const n = session.MaxHeld + 2*session.MaxRetries
	for range n {
		var raw [16 + 32]byte
		_, _ = rand.Read(raw[:])
		made := base64.RawURLEncoding.EncodeToString(raw[:16]) + "." + base64.RawURLEncoding.EncodeToString(raw[16:])
		_ = m.RevokeByRefreshToken(context.Background(), made)
	}
	if got := session.RevokedLen(m); got > session.MaxHeld {
		t.Fatalf("revoked set of %d after %d sign-outs, want at most %d", got, n, session.MaxHeld)
	}
	if _, err := m.Verify(tok.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Fatalf("the real session's token after its sign-out: %v", err)
	}
	f.set(false, false)
	e.clock.Advance(session.DefaultAccessTTL + session.DefaultClockSkew + 2*time.Minute)
	_ = m.Sync(context.Background())
	if got := session.RevokedLen(m); got > session.MaxRetries {
		t.Fatalf("revoked set of %d once the short holds have ended, want at most the retry queue's %d", got, session.MaxRetries)
	}
	if _, err := m.Verify(tok.AccessToken); !errors.Is(err, session.ErrSessionRevoked) && !errors.Is(err, session.ErrTokenExpired) {
		t.Fatalf("the real session's token after the outage: %v", err)
	}
}

// slowRevoke is a memory store whose RevokeSession runs during before it writes: a write that
// becomes visible long after the revocation's time (a lock wait, a retried statement).
type slowRevoke struct {
	*memstore.Store
	during func()
}

func (s *slowRevoke) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if s.during != nil {
		s.during()
	}
	return s.Store.RevokeSession(ctx, id, now)
}

// TestLateVisibleRevocationReachesOthers: a revocation whose store write becomes visible 16 s
// after its time (later than a regular poll looks back) still reaches the other instances,
// through the wide poll, within widePollEvery and a sync interval.
func TestLateVisibleRevocationReachesOthers(t *testing.T) {
	e := newEnv(t)
	slow := &slowRevoke{Store: e.st}
	a := e.manager(func(c *session.Config) { c.Sessions = slow })
	b := e.manager()
	tok := e.create(a, alice)
	if _, err := b.Verify(tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	slow.during = func() {
		for range 8 { // b polls while the write is under way
			e.clock.Advance(session.DefaultSyncInterval)
			e.sync(b)
		}
	}
	if err := a.Revoke(context.Background(), tok.SessionID); err != nil {
		t.Fatal(err)
	}
	slow.during = nil
	for waited := time.Duration(0); ; waited += session.DefaultSyncInterval {
		if _, err := b.Verify(tok.AccessToken); errors.Is(err, session.ErrSessionRevoked) {
			break
		} else if waited > 30*time.Second+session.DefaultSyncInterval {
			t.Fatalf("instance b still takes the token %v after the revocation became visible: %v", waited, err)
		}
		e.clock.Advance(session.DefaultSyncInterval)
		e.sync(b)
	}
}

// TestOutageFloodThenCheckedSignOut: a flood of unchecked sign-outs (made-up refresh tokens
// while the store cannot be read) takes at most its share of the retry queue, so a checked
// revocation after it (a sign-out with the session's access token) is still queued and held for
// the session's life: once the store is back and the access tokens have expired, the signed-out
// refresh token does not renew the session.
func TestOutageFloodThenCheckedSignOut(t *testing.T) {
	e, f, m := flakyEnv(t)
	tok := e.create(m, alice)
	f.set(true, true)
	for range session.MaxRetries {
		var raw [16 + 32]byte
		_, _ = rand.Read(raw[:])
		made := base64.RawURLEncoding.EncodeToString(raw[:16]) + "." + base64.RawURLEncoding.EncodeToString(raw[16:])
		_ = m.RevokeByRefreshToken(context.Background(), made)
	}
	_ = m.Revoke(context.Background(), tok.SessionID) // the user signs out, with their access token
	f.set(false, false)
	e.clock.Advance(session.DefaultAccessTTL + session.DefaultClockSkew + 2*time.Minute)
	_ = m.Sync(context.Background())
	if _, err := m.Refresh(context.Background(), tok.RefreshToken); err == nil {
		t.Fatal("a session signed out during the outage renews after it")
	}
}

// TestOutageUncheckedSignOutCheckedOnRetry: a sign-out during an outage revokes by the id its
// token names, unchecked; once the store answers, the retry checks the token: a made-up one (the
// right session id, a wrong secret) revokes nothing and its hold ends, the session's own token
// revokes for good.
func TestOutageUncheckedSignOutCheckedOnRetry(t *testing.T) {
	e, f, m := flakyEnv(t)
	victim, owner := e.create(m, alice), e.create(m, alice)
	f.set(true, true)
	_ = m.RevokeByRefreshToken(context.Background(), forged(victim)) // someone who knows the id
	_ = m.RevokeByRefreshToken(context.Background(), owner.RefreshToken)
	if _, err := m.Verify(victim.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Fatalf("during the outage the unchecked sign-out holds: %v", err)
	}
	f.set(false, false)
	e.clock.Advance(time.Second)
	if err := m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(victim.AccessToken); err != nil {
		t.Errorf("the session named by a made-up token, once checked: %v", err)
	}
	if _, err := m.Refresh(context.Background(), victim.RefreshToken); err != nil {
		t.Errorf("its refresh: %v", err)
	}
	if _, err := m.Refresh(context.Background(), owner.RefreshToken); err == nil {
		t.Error("the session signed out with its own token refreshes after the outage")
	}
}

// madeUpRefresh is a well-formed refresh token of a session that does not exist.
func madeUpRefresh() string {
	var raw [16 + 32]byte
	_, _ = rand.Read(raw[:])
	return base64.RawURLEncoding.EncodeToString(raw[:16]) + "." + base64.RawURLEncoding.EncodeToString(raw[16:])
}

// TestOutageForgedThenOwnerSignOut: a made-up token naming a session, then the session's own
// token, both during the outage: the retry finds the owner's among them and revokes.
func TestOutageForgedThenOwnerSignOut(t *testing.T) {
	e, f, m := flakyEnv(t)
	victim := e.create(m, alice)
	f.set(true, true)
	_ = m.RevokeByRefreshToken(ctx, forged(victim))
	_ = m.RevokeByRefreshToken(ctx, victim.RefreshToken)
	outlastHolds(e, f, m)
	if _, err := m.Refresh(ctx, victim.RefreshToken); err == nil {
		t.Fatal("the owner's sign-out during the outage was lost: its refresh token still renews")
	}
}

// TestOutageForgedKeepsCheckedHold: a checked revocation held on this instance only (the retry
// queue was full), then a made-up sign-out of the same session in a later outage: the retry
// drops nothing of the checked hold.
func TestOutageForgedKeepsCheckedHold(t *testing.T) {
	e, f, m := flakyEnv(t)
	victim := e.create(m, alice)
	f.set(true, true)
	for range session.MaxRetries {
		_ = m.Revoke(ctx, madeUpRefresh()[:22])
	}
	_ = m.Revoke(ctx, victim.SessionID) // the queue is full: held on this instance only
	recoverStore(e, f, m)
	f.set(true, true)
	_ = m.RevokeByRefreshToken(ctx, forged(victim))
	recoverStore(e, f, m)
	if _, err := m.Verify(victim.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("a revoked session verifies again after a made-up sign-out: %v", err)
	}
	if _, err := m.Refresh(ctx, victim.RefreshToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("… and refreshes: %v", err)
	}
}

// TestOutageMadeUpIdsForgotten: sign-outs naming sessions that do not exist leave no hold once
// the retry has found so, outage after outage.
func TestOutageMadeUpIdsForgotten(t *testing.T) {
	e, f, m := flakyEnv(t)
	for range 3 {
		f.set(true, true)
		for range 1000 {
			_ = m.RevokeByRefreshToken(ctx, madeUpRefresh())
		}
		f.set(false, false)
		e.clock.Advance(time.Second)
		_ = m.Sync(ctx)
	}
	if n := session.RevokedLen(m); n != 0 {
		t.Errorf("%d holds of sessions that do not exist", n)
	}
}

// hookedGet is a flaky store whose GetSession runs hook once, after a successful read.
type hookedGet struct {
	*flaky
	hook func()
}

func (h *hookedGet) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	s, err := h.flaky.GetSession(ctx, id, now)
	if err == nil && h.hook != nil {
		fn := h.hook
		h.hook = nil
		fn()
	}
	return s, err
}

// TestRevokeDuringUncheckedRetry: a checked revocation of a session that comes while the retry
// of a made-up sign-out of it is checking the token is neither lost nor dropped.
func TestRevokeDuringUncheckedRetry(t *testing.T) {
	e := newEnv(t)
	f := &flaky{Store: e.st}
	h := &hookedGet{flaky: f}
	m := e.manager(func(c *session.Config) { c.Sessions = h })
	victim := e.create(m, alice)
	f.set(true, true)
	_ = m.RevokeByRefreshToken(ctx, forged(victim))
	f.set(true, false) // reads work again, writes still fail
	h.hook = func() { _ = m.Revoke(ctx, victim.SessionID) }
	e.clock.Advance(time.Second)
	_ = m.Sync(ctx)
	f.set(false, false)
	e.clock.Advance(pastAccessMarks)
	_ = m.Sync(ctx)
	if _, err := m.Refresh(ctx, victim.RefreshToken); err == nil {
		t.Error("a session revoked with Revoke refreshes again: the revocation was lost")
	}
}

// TestOutageOwnerHoldOutlastsMadeUpToken: a made-up token naming the session, a flood that
// fills the unchecked share, then the owner's own sign-out (refresh token only), which fits no
// more and holds here while its access tokens live: finding out the made-up token does not end
// that hold.
func TestOutageOwnerHoldOutlastsMadeUpToken(t *testing.T) {
	e, f, m := flakyEnv(t)
	victim := e.create(m, alice)
	f.set(true, true)
	fillUncheckedShare(m, victim)
	_ = m.RevokeByRefreshToken(ctx, victim.RefreshToken) // the owner's: the share is full
	f.set(false, false)
	e.clock.Advance(time.Second) // the access token (60 s) still lives
	_ = m.Sync(ctx)
	if _, err := m.Verify(victim.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("the owner's access token verifies again a second after the outage: %v", err)
	}
}

// TestOutageMadeUpTokensCannotEndSession: someone who knows only a session id sends, while the
// store cannot be read, a made-up token for it, a flood that fills the unchecked share, and a
// second made-up token for it, which fits no more: once the store answers and the short holds
// have passed, the owner's session goes on.
func TestOutageMadeUpTokensCannotEndSession(t *testing.T) {
	e, f, m := flakyEnv(t)
	victim := e.create(m, alice)
	f.set(true, true)
	fillUncheckedShare(m, victim)
	_ = m.RevokeByRefreshToken(ctx, victim.SessionID+madeUpRefresh()[22:]) // no room left
	outlastHolds(e, f, m)
	if _, err := m.Refresh(ctx, victim.RefreshToken); err != nil {
		t.Fatalf("made-up tokens (the session id only) ended the session on this instance: %v", err)
	}
}

// TestOutageSignOutWithRotatedToken: a sign-out during an outage (on instance A, which cannot
// read the store) with a token the session had before it was rotated out — by refreshes before
// the sign-out (the retry finds it among the retired hashes and revokes), or by whoever else
// holds it refreshing on instance B so often afterwards that it falls out of the session's
// memory (the session has rotated since the sign-out, so the retry cannot tell, and the
// sign-out holds).
func TestOutageSignOutWithRotatedToken(t *testing.T) {
	for _, tc := range []struct{ before, after int }{{2, 0}, {0, session.MaxRetiredRefreshTokens + 2}} {
		e := newEnv(t)
		f := &flaky{Store: e.st}
		a := e.manager(func(c *session.Config) { c.Sessions = f })
		b := e.manager()
		victim := e.create(b, alice)
		next := victim
		rotate := func(n int) {
			for range n {
				e.clock.Advance(time.Second)
				r, err := b.Refresh(ctx, next.RefreshToken)
				if err != nil {
					t.Fatal(err)
				}
				next = r
			}
		}
		rotate(tc.before)
		e.clock.Advance(time.Second)
		f.set(true, true)
		_ = a.RevokeByRefreshToken(ctx, victim.RefreshToken)
		rotate(tc.after)
		recoverStore(e, f, a)
		if _, err := b.Refresh(ctx, next.RefreshToken); err == nil {
			t.Errorf("%+v rotations: after the sign-out during the outage the session still renews", tc)
		}
	}
}

// TestOutageMadeUpTokenAfterRecentRefresh: the owner refreshed a moment before the store went
// down, then someone who knows only the session id signs out with a made-up token: nothing has
// rotated since the sign-out, so the retry finds it made up, and the session goes on.
func TestOutageMadeUpTokenAfterRecentRefresh(t *testing.T) {
	for _, skew := range []time.Duration{0, session.MaxClockSkew} {
		e := newEnv(t)
		f := &flaky{Store: e.st}
		m := e.manager(func(c *session.Config) {
			c.Sessions = f
			if skew > 0 {
				c.ClockSkew = skew
			}
		})
		victim := e.create(m, alice)
		e.clock.Advance(30 * time.Second)
		cur, err := m.Refresh(ctx, victim.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Second)
		f.set(true, true)
		_ = m.RevokeByRefreshToken(ctx, forged(victim))
		f.set(false, false)
		e.clock.Advance(time.Second)
		_ = m.Sync(ctx)
		e.clock.Advance(session.DefaultAccessTTL + session.MaxClockSkew + time.Minute + time.Second)
		_ = m.Sync(ctx)
		if _, err := m.Refresh(ctx, cur.RefreshToken); err != nil {
			t.Errorf("skew %v: a made-up token ended a session refreshed just before it: %v", skew, err)
		}
	}
}

// TestOutageFlappingMadeUpTokens: made-up tokens for a session over two outages in a row, one
// of them finding no room in the queue: the session is held here no longer than the short holds.
func TestOutageFlappingMadeUpTokens(t *testing.T) {
	e, f, m := flakyEnv(t)
	victim := e.create(m, alice)
	f.set(true, true)
	fillUncheckedShare(m, victim)
	_ = m.RevokeByRefreshToken(ctx, victim.SessionID+madeUpRefresh()[22:]) // no room left
	recoverStore(e, f, m)
	e.clock.Advance(10 * time.Second)
	f.set(true, true) // down again, within the short hold
	_ = m.RevokeByRefreshToken(ctx, victim.SessionID+madeUpRefresh()[22:])
	outlastHolds(e, f, m)
	if u := session.RevokedUntil(m, victim.SessionID); !u.IsZero() {
		t.Errorf("made-up tokens hold the session here until %v from now", u.Sub(e.clock.Now()))
	}
	if _, err := m.Refresh(ctx, victim.RefreshToken); err != nil {
		t.Fatalf("made-up tokens ended the session on this instance: %v", err)
	}
}

// TestReadOutageMadeUpTokenNotWritten: the store cannot be read but takes writes (a read replica
// down, a read timeout): a sign-out with a made-up token naming a session is not written to the
// store unchecked, and once reads are back the retry finds it made up.
func TestReadOutageMadeUpTokenNotWritten(t *testing.T) {
	e, f, m := flakyEnv(t)
	victim := e.create(m, alice)
	f.set(false, true) // reads fail, writes work
	_ = m.RevokeByRefreshToken(ctx, forged(victim))
	if s, err := e.st.GetSession(ctx, victim.SessionID, e.clock.Now()); err != nil || !s.RevokedAt.IsZero() {
		t.Fatalf("an unchecked sign-out was written to the store: %v, %v", s.RevokedAt, err)
	}
	outlastHolds(e, f, m)
	if _, err := m.Refresh(ctx, victim.RefreshToken); err != nil {
		t.Fatalf("a made-up token ended the session: %v", err)
	}
}
