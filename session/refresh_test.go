package session_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

var ctx = context.Background()

func TestRefreshRotates(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	first := e.create(m, alice)
	if !strings.HasPrefix(first.RefreshToken, first.SessionID+".") || len(first.RefreshToken) != 22+1+43 {
		t.Fatalf("refresh token format: %q", first.RefreshToken)
	}
	e.clock.Advance(time.Hour)
	second, err := m.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.SessionID != first.SessionID || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("second = %+v", second)
	}
	if second.AccessToken == first.AccessToken {
		t.Error("same access token")
	}
	now := e.clock.Now()
	if !second.RefreshExpiresAt.Equal(now.Add(7*24*time.Hour)) || !second.AccessExpiresAt.Equal(now.Add(time.Minute)) {
		t.Errorf("expiries %v %v", second.RefreshExpiresAt, second.AccessExpiresAt)
	}
	c, err := m.Verify(second.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionID != first.SessionID || !c.AuthTime.Equal(t0) || !c.IssuedAt.Equal(now) {
		t.Errorf("claims after refresh: %+v", c)
	}
	// The store holds only hashes.
	s, err := e.st.GetSession(ctx, first.SessionID, now)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.SplitN(second.RefreshToken, ".", 2)[1]
	if len(s.RefreshHash) != 32 || strings.Contains(string(s.RefreshHash), secret) {
		t.Errorf("stored refresh hash: %x", s.RefreshHash)
	}
	third, err := m.Refresh(ctx, second.RefreshToken)
	if err != nil || third.RefreshToken == "" {
		t.Fatalf("third: %v", err)
	}
}

func TestRefreshGraceAndReuse(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration // after the rotation
		present func(t *testing.T, m *session.Manager, first, second *session.Tokens) string
		want    error // nil: grace
	}{
		{"previous token at once", 0, prev, nil},
		{"previous token at the end of the grace", 10 * time.Second, prev, nil},
		{"previous token after the grace", 10*time.Second + time.Millisecond, prev, session.ErrRefreshReused},
		{"older token", 0, older, session.ErrRefreshReused},
		{"the oldest token remembered", 0, func(t *testing.T, m *session.Manager, first, second *session.Tokens) string {
			rotateN(t, m, second, session.MaxRetiredRefreshTokens)
			return first.RefreshToken // prev of the last rotation, then MaxRetired-… retired behind it
		}, session.ErrRefreshReused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			m := e.manager()
			other := e.manager() // another instance
			first := e.create(m, alice)
			second, err := m.Refresh(ctx, first.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(tc.advance)
			got, err := m.Refresh(ctx, tc.present(t, m, first, second))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("grace: %v", err)
				}
				// Grace: a fresh access token, no new refresh token, the session not rotated.
				if got.RefreshToken != "" || got.AccessToken == "" || got.SessionID != first.SessionID {
					t.Fatalf("grace tokens: %+v", got)
				}
				if _, err := m.Verify(got.AccessToken); err != nil {
					t.Fatal(err)
				}
				if _, err := m.Refresh(ctx, second.RefreshToken); err != nil {
					t.Fatalf("the current token after a grace refresh: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("Refresh = %v, %v; want %v", got, err, tc.want)
			}
			// The whole session is revoked: on this instance at once, ...
			if _, err := m.Verify(second.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
				t.Errorf("access token after reuse: %v", err)
			}
			if _, err := m.Refresh(ctx, second.RefreshToken); !errors.Is(err, session.ErrSessionRevoked) {
				t.Errorf("current refresh token after reuse: %v", err)
			}
			// ... on another after a Sync.
			e.sync(other)
			if _, err := other.Verify(second.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
				t.Errorf("other instance after reuse: %v", err)
			}
			if !strings.Contains(e.logs.String(), "refresh token reuse") {
				t.Error("reuse not logged")
			}
		})
	}
}

func prev(_ *testing.T, _ *session.Manager, first, _ *session.Tokens) string {
	return first.RefreshToken
}

// older rotates once more, so that the first token is two rotations back (and still within
// 10 s of its own rotation).
func older(t *testing.T, m *session.Manager, first, second *session.Tokens) string {
	if _, err := m.Refresh(ctx, second.RefreshToken); err != nil {
		t.Fatal(err)
	}
	return first.RefreshToken
}

func forged(first *session.Tokens) string {
	return first.SessionID + "." + strings.Repeat("A", 43)
}

// rotateN refreshes n times from t and returns the last tokens.
func rotateN(tb testing.TB, m *session.Manager, t *session.Tokens, n int) *session.Tokens {
	tb.Helper()
	for range n {
		next, err := m.Refresh(ctx, t.RefreshToken)
		if err != nil {
			tb.Fatal(err)
		}
		t = next
	}
	return t
}

// A refresh token the session never had — a guess or a forgery by someone who learnt the session
// id — is refused, and the session goes on: otherwise anyone who saw a session id could sign its
// owner out. So does a genuine token older than the session remembers.
func TestRefreshForgedDoesNotRevoke(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	first := e.create(m, alice)
	second, err := m.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Refresh(ctx, forged(first)); !errors.Is(err, session.ErrRefreshInvalid) || errors.Is(err, session.ErrRefreshReused) {
		t.Fatalf("forged token on a rotated session: %v", err)
	}
	if _, err := m.Verify(second.AccessToken); err != nil {
		t.Fatalf("session after a forged token: %v", err)
	}
	// first is now 1 + MaxRetired rotations back: beyond what the session remembers.
	last := rotateN(t, m, second, session.MaxRetiredRefreshTokens+1)
	if _, err := m.Refresh(ctx, first.RefreshToken); !errors.Is(err, session.ErrRefreshInvalid) || errors.Is(err, session.ErrRefreshReused) {
		t.Fatalf("a token older than the session remembers: %v", err)
	}
	if _, err := m.Refresh(ctx, last.RefreshToken); err != nil {
		t.Fatalf("current token after the refusals: %v", err)
	}
	if strings.Contains(e.logs.String(), "refresh token reuse") {
		t.Error("reuse logged for tokens that were not reused")
	}
}

// An access token never outlives its session.
func TestAccessTokenCappedAtSessionEnd(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) { c.RefreshLifetime = 30 * time.Second; c.RefreshIdleTimeout = 30 * time.Second })
	tok := e.create(m, alice)
	if want := e.clock.Now().Add(30 * time.Second); tok.AccessExpiresAt.After(want) {
		t.Fatalf("access token expires at %v, after its session (%v)", tok.AccessExpiresAt, want)
	}
}

func TestRefreshRefusals(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	tok := e.create(m, alice)
	for _, bad := range []string{
		"", "garbage", tok.SessionID, tok.SessionID + ".", "." + strings.Repeat("A", 43),
		tok.RefreshToken + "A", tok.RefreshToken[:len(tok.RefreshToken)-1],
		strings.Repeat("A", 22) + "." + strings.Repeat("A", 43), // unknown session
		tok.SessionID + "." + strings.Repeat("!", 43),
		tok.SessionID + ":" + tok.RefreshToken[23:],
		tok.AccessToken,
		strings.Repeat("x", 1<<20),
	} {
		if _, err := m.Refresh(ctx, bad); !errors.Is(err, session.ErrRefreshInvalid) {
			t.Errorf("Refresh(%.40q) = %v", bad, err)
		}
		if err := m.RevokeByRefreshToken(ctx, bad); err != nil {
			t.Errorf("RevokeByRefreshToken(%.40q) = %v", bad, err)
		}
	}
	// A well-formed but wrong secret on a session never rotated cannot be an older token: it
	// is refused without revoking (knowing a session id is not enough to end the session).
	if _, err := m.Refresh(ctx, forged(tok)); !errors.Is(err, session.ErrRefreshInvalid) {
		t.Errorf("forged secret: %v", err)
	}
	if _, err := m.Verify(tok.AccessToken); err != nil {
		t.Errorf("session hurt by the refusals: %v", err)
	}
	if _, err := m.Refresh(ctx, tok.RefreshToken); err != nil {
		t.Errorf("the real token after the refusals: %v", err)
	}
}

func TestRefreshConcurrent(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	m2 := e.manager()
	tok := e.create(m, alice)
	const n = 8
	var wg sync.WaitGroup
	results := make([]*session.Tokens, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			mm := m
			if i%2 == 1 {
				mm = m2
			}
			results[i], errs[i] = mm.Refresh(ctx, tok.RefreshToken)
		})
	}
	wg.Wait()
	rotated := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("refresh %d: %v", i, errs[i])
		}
		if results[i].RefreshToken != "" {
			rotated++
		}
	}
	if rotated != 1 {
		t.Fatalf("%d refreshes rotated; want exactly 1", rotated)
	}
}

func TestIdleTimeoutAndLifetime(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) {
		c.RefreshIdleTimeout = time.Hour
		c.RefreshLifetime = 3 * time.Hour
	})
	// Idle: unused for an hour, the session is gone.
	idle := e.create(m, alice)
	if !idle.RefreshExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("RefreshExpiresAt = %v", idle.RefreshExpiresAt)
	}
	active := e.create(m, alice)
	e.clock.Advance(59 * time.Minute)
	active, err := m.Refresh(ctx, active.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := m.Refresh(ctx, idle.RefreshToken); !errors.Is(err, session.ErrRefreshInvalid) {
		t.Errorf("idle session: %v", err)
	}
	// Absolute: refreshed every 50 minutes, the session still ends 3 hours after sign-in.
	for e.clock.Now().Before(t0.Add(3*time.Hour - 50*time.Minute)) {
		e.clock.Advance(50 * time.Minute)
		if active, err = m.Refresh(ctx, active.RefreshToken); err != nil {
			t.Fatalf("at %v: %v", e.clock.Now().Sub(t0), err)
		}
	}
	if !active.RefreshExpiresAt.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("RefreshExpiresAt = %v, want the absolute expiry", active.RefreshExpiresAt)
	}
	e.clock.Advance(t0.Add(3 * time.Hour).Sub(e.clock.Now()))
	if _, err := m.Refresh(ctx, active.RefreshToken); !errors.Is(err, session.ErrRefreshInvalid) {
		t.Errorf("past the lifetime: %v", err)
	}
}

func TestRevoke(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	other := e.manager()
	tok := e.create(m, alice)
	keep := e.create(m, alice)
	e.sync(other)
	if _, err := other.Verify(tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(tok.AccessToken); err != nil { // cached
		t.Fatal(err)
	}
	if err := m.Revoke(ctx, tok.SessionID); err != nil {
		t.Fatal(err)
	}
	// Immediate on this instance, cache hit or not.
	if _, err := m.Verify(tok.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("revoking instance: %v", err)
	}
	// The other instance accepts until its Sync, then refuses.
	if _, err := other.Verify(tok.AccessToken); err != nil {
		t.Errorf("other instance before Sync: %v", err)
	}
	e.sync(other)
	if _, err := other.Verify(tok.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("other instance after Sync: %v", err)
	}
	if _, err := other.Verify(keep.AccessToken); err != nil {
		t.Errorf("another session: %v", err)
	}
	// A revoked session cannot refresh, on either instance.
	for _, mm := range []*session.Manager{m, other} {
		if _, err := mm.Refresh(ctx, tok.RefreshToken); !errors.Is(err, session.ErrSessionRevoked) {
			t.Errorf("refresh after revoke: %v", err)
		}
	}
	// Idempotent.
	if err := m.Revoke(ctx, tok.SessionID); err != nil {
		t.Error(err)
	}
	if err := m.Revoke(ctx, "no-such-session"); err != nil {
		t.Error(err)
	}
	if err := m.Revoke(ctx, ""); err == nil {
		t.Error("Revoke of an empty id succeeded")
	}
	// A Manager started after the revocation loads it.
	late := e.manager()
	if _, err := late.Verify(tok.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("new instance: %v", err)
	}
}

func TestRevokeByRefreshToken(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	tok := e.create(m, alice)
	if err := m.RevokeByRefreshToken(ctx, tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(tok.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("after logout: %v", err)
	}
	if err := m.RevokeByRefreshToken(ctx, tok.RefreshToken); err != nil {
		t.Errorf("logout again: %v", err)
	}
	// A wrong secret for a live session does not end it.
	other := e.create(m, alice)
	if err := m.RevokeByRefreshToken(ctx, forged(other)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(other.AccessToken); err != nil {
		t.Errorf("session ended by a wrong secret: %v", err)
	}
	// The previous token (after a rotation) also signs out.
	next, err := m.Refresh(ctx, other.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeByRefreshToken(ctx, other.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(next.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("after logout with the previous token: %v", err)
	}
}

// TestSignOut: SignOut names the session it revoked only when the token was the session's own.
func TestSignOut(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	tok := e.create(m, alice)
	for name, bad := range map[string]string{"forged": forged(tok), "malformed": "not a token", "empty": ""} {
		if id, err := m.SignOut(ctx, bad); id != "" || err != nil {
			t.Errorf("%s: SignOut = %q, %v", name, id, err)
		}
	}
	if id, err := m.SignOut(ctx, tok.RefreshToken); id != tok.SessionID || err != nil {
		t.Errorf("SignOut = %q, %v; want %q", id, err, tok.SessionID)
	}
	if id, err := m.SignOut(ctx, tok.RefreshToken); id != "" || err != nil {
		t.Errorf("SignOut again = %q, %v; want nothing", id, err)
	}
	// A token rotated out since (a copy of it, say) still names its session, and signs it out.
	other := e.create(m, alice)
	next := other
	for range 2 {
		e.clock.Advance(time.Hour)
		n, err := m.Refresh(ctx, next.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		next = n
	}
	if id, err := m.SignOut(ctx, other.RefreshToken); id != other.SessionID || err != nil {
		t.Errorf("SignOut with a retired token = %q, %v; want %q", id, err, other.SessionID)
	}
	if _, err := m.Refresh(ctx, next.RefreshToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("refresh after the sign-out: %v", err)
	}
}

func TestRevokeOthersAndList(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	other := e.manager()
	var toks []*session.Tokens
	for i := range 3 {
		s := alice
		s.UserAgent = fmt.Sprintf("device %d %s", i, strings.Repeat("é", 400))
		toks = append(toks, e.create(m, s))
		e.clock.Advance(time.Second)
	}
	for range 2 { // the first session's rotated-out refresh hashes are kept, and must not show
		t0, err := m.Refresh(ctx, toks[0].RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		toks[0] = t0
	}
	bob := e.create(m, session.Subject{UserID: "user-bob"})
	list, err := m.List(ctx, alice.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != toks[2].SessionID {
		t.Fatalf("List = %d sessions", len(list))
	}
	for _, s := range list {
		if s.RefreshHash != nil || s.PrevRefreshHash != nil || s.RetiredRefreshHashes != nil {
			t.Error("List returns refresh hashes")
		}
		if len(s.UserAgent) > 512 || !strings.HasPrefix(s.UserAgent, "device") || strings.ToValidUTF8(s.UserAgent, "?") != s.UserAgent {
			t.Errorf("UserAgent of %d bytes, valid UTF-8: %v", len(s.UserAgent), strings.ToValidUTF8(s.UserAgent, "?") == s.UserAgent)
		}
		if s.IP != alice.IP || s.Address != alice.Address || s.AAL != "aal1" {
			t.Errorf("session %+v", s)
		}
	}
	n, err := m.RevokeOthers(ctx, alice.UserID, toks[1].SessionID)
	if err != nil || n != 2 {
		t.Fatalf("RevokeOthers = %d, %v", n, err)
	}
	e.sync(other)
	for i, tok := range toks {
		for _, mm := range []*session.Manager{m, other} {
			_, err := mm.Verify(tok.AccessToken)
			if i == 1 && err != nil {
				t.Errorf("kept session: %v", err)
			}
			if i != 1 && !errors.Is(err, session.ErrSessionRevoked) {
				t.Errorf("session %d: %v", i, err)
			}
		}
	}
	if _, err := m.Verify(bob.AccessToken); err != nil {
		t.Errorf("another user's session: %v", err)
	}
	if list, _ := m.List(ctx, alice.UserID); len(list) != 1 {
		t.Errorf("List after RevokeOthers: %d", len(list))
	}
}

func TestRevokedSetForgets(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	tok := e.create(m, alice)
	if err := m.Revoke(ctx, tok.SessionID); err != nil {
		t.Fatal(err)
	}
	if n := session.RevokedLen(m); n != 1 {
		t.Fatalf("revoked set holds %d", n)
	}
	// Kept while a token of the session may be valid (TTL + skew, plus a margin) ...
	e.clock.Advance(65 * time.Second)
	e.sync(m)
	if n := session.RevokedLen(m); n != 1 {
		t.Fatalf("revoked set forgot too early: %d", n)
	}
	// ... then forgotten; the token has long expired.
	e.clock.Advance(2 * time.Minute)
	e.sync(m)
	if n := session.RevokedLen(m); n != 0 {
		t.Errorf("revoked set holds %d", n)
	}
	if _, err := m.Verify(tok.AccessToken); !errors.Is(err, session.ErrTokenExpired) {
		t.Errorf("old token: %v", err)
	}
}

// failing is a store whose session and key methods fail on demand.
type failing struct {
	*memstore.Store
	mu   sync.Mutex
	fail bool
}

var errDown = errors.New("store down")

func (f *failing) down() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail
}

func (f *failing) set(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

func (f *failing) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	if f.down() {
		return store.Session{}, errDown
	}
	return f.Store.GetSession(ctx, id, now)
}

func (f *failing) CreateSession(ctx context.Context, s store.Session) error {
	if f.down() {
		return errDown
	}
	return f.Store.CreateSession(ctx, s)
}

func (f *failing) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if f.down() {
		return errDown
	}
	return f.Store.RevokeSession(ctx, id, now)
}

func (f *failing) RevokedSince(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	if f.down() {
		return nil, errDown
	}
	return f.Store.RevokedSince(ctx, since, now)
}

func (f *failing) ListKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	if f.down() {
		return nil, errDown
	}
	return f.Store.ListKeys(ctx, now)
}

func TestStoreFailuresFailClosed(t *testing.T) {
	e := newEnv(t)
	f := &failing{Store: e.st}
	m := e.manager(func(c *session.Config) { c.Sessions, c.Keys = f, f })
	tok := e.create(m, alice)
	f.set(true)
	sentinels := []error{session.ErrTokenInvalid, session.ErrTokenExpired, session.ErrSessionRevoked,
		session.ErrRefreshInvalid, session.ErrRefreshReused}
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, errDown) {
			t.Errorf("%s: %v does not wrap the store's error", what, err)
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				t.Errorf("%s: %v is %v", what, err, s)
			}
		}
	}
	_, err := m.Refresh(ctx, tok.RefreshToken)
	check("Refresh", err)
	_, err = m.Create(ctx, alice)
	check("Create", err)
	check("RevokeByRefreshToken", m.RevokeByRefreshToken(ctx, tok.RefreshToken))
	check("Sync", m.Sync(ctx))
	// Revoke fails in the store but holds on this instance at once.
	check("Revoke", m.Revoke(ctx, tok.SessionID))
	if _, err := m.Verify(tok.AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("Verify after a failed Revoke: %v", err)
	}
	// ... and the session cannot be refreshed here either.
	f.set(false)
	if _, err := m.Refresh(ctx, tok.RefreshToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("Refresh after a failed Revoke: %v", err)
	}
	// New fails on a failing store.
	f.set(true)
	if _, err := session.New(ctx, session.Config{Issuer: issuer, Keys: f, Sessions: f}); !errors.Is(err, errDown) {
		t.Errorf("New: %v", err)
	}
}

func TestLogsNeverHoldSecrets(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	first := e.create(m, alice)
	second, err := m.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	grace, err := m.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := m.Refresh(ctx, first.RefreshToken); !errors.Is(err, session.ErrRefreshReused) {
		t.Fatal(err)
	}
	other := e.create(m, alice)
	if err := m.Revoke(ctx, other.SessionID); err != nil {
		t.Fatal(err)
	}
	logs := e.logs.String()
	for _, event := range []string{"session: created", "session: refreshed", "refresh token reuse", "session: revoked", "signing key created"} {
		if !strings.Contains(logs, event) {
			t.Errorf("no %q in the logs", event)
		}
	}
	if !strings.Contains(logs, first.SessionID) || !strings.Contains(logs, alice.UserID) {
		t.Error("logs lack the session or user id")
	}
	secrets := []string{first.AccessToken, second.AccessToken, grace.AccessToken, other.AccessToken}
	for _, tok := range []string{first.RefreshToken, second.RefreshToken, other.RefreshToken} {
		secrets = append(secrets, strings.SplitN(tok, ".", 2)[1])
	}
	for _, k := range e.keys() {
		secrets = append(secrets, string(k.Private))
		for _, part := range strings.Split(string(k.Private), `"`) {
			if len(part) >= 32 && !strings.Contains(part, k.ID) && part != k.ID {
				secrets = append(secrets, part) // "d", "x": key material
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs hold a secret %.12q…", s)
		}
	}
}
