package walletauth_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletauth/walletauth"
)

// eventLog collects events from the callback.
type eventLog struct {
	mu  sync.Mutex
	got []walletauth.Event
}

func (l *eventLog) add(_ context.Context, e walletauth.Event) {
	l.mu.Lock()
	l.got = append(l.got, e)
	l.mu.Unlock()
}

// waitFor waits (polling, bounded) until n events arrived: delivery is asynchronous by design.
func (l *eventLog) waitFor(t *testing.T, n int) []walletauth.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		got := append([]walletauth.Event(nil), l.got...)
		l.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEvents(t *testing.T) {
	var log eventLog
	s := newServer(t, func(c *walletauth.Config) { c.OnEvent = log.add })
	c := s.client(t)
	userID := c.signIn().body["user"].(map[string]any)["id"].(string)
	second := s.client(t)
	if r := c.do("POST", "/auth/wallets", c.linkBody(second), nil); r.status != 200 {
		t.Fatal(r.status)
	}
	if r := c.do("PUT", "/auth/user/metadata", map[string]any{"unsafeMetadata": map[string]any{"a": 1}}, nil); r.status != 200 {
		t.Fatal(r.status)
	}
	if r := c.do("POST", "/auth/logout", nil, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	want := []walletauth.EventType{walletauth.EventUserCreated, walletauth.EventSessionCreated, walletauth.EventWalletLinked,
		walletauth.EventUserUpdated, walletauth.EventSessionRevoked}
	got := log.waitFor(t, len(want))
	if len(got) != len(want) {
		t.Fatalf("events %+v", got)
	}
	for i, e := range got {
		if e.Type != want[i] || e.UserID != userID || e.Time.IsZero() {
			t.Errorf("event %d: %+v, want %s of %s", i, e, want[i], userID)
		}
	}
	if got[2].Address != second.addr().Hex() || got[1].SessionID == "" || got[4].SessionID != got[1].SessionID {
		t.Errorf("event details: %+v", got)
	}
}

// A callback that blocks for ever or panics neither delays nor breaks sign-ins.
func TestEventsNeverBlock(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	blocking := newServer(t, func(c *walletauth.Config) {
		c.OnEvent = func(context.Context, walletauth.Event) { <-release }
		c.RateLimit = walletauth.NoRateLimit
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range walletauth.EventQueueSize/2 + 5 { // more events than the queue holds
			blocking.client(t).signIn()
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("sign-ins blocked behind the event callback")
	}

	panicking := newServer(t, func(c *walletauth.Config) {
		c.OnEvent = func(context.Context, walletauth.Event) { panic("app bug") }
	})
	for range 3 {
		if r := panicking.client(t).signIn(); r.body["status"] != "complete" {
			t.Fatal("sign-in broken by a panicking callback")
		}
	}
}

// TestEventsAfterClose: a request still running at Close, or arriving after it, signs in as
// usual (its events are dropped), rather than panic on the closed queue.
func TestEventsAfterClose(t *testing.T) {
	var log eventLog
	s := newServer(t, func(c *walletauth.Config) { c.OnEvent = log.add })
	c := s.client(t)
	if err := s.auth.Close(); err != nil {
		t.Fatal(err)
	}
	if r := c.signIn(); r.body["status"] != "complete" {
		t.Fatalf("sign-in after Close: %d %s", r.status, r.raw)
	}
	if got := log.waitFor(t, 0); len(got) != 0 {
		t.Errorf("%d events delivered after Close", len(got))
	}
}

// TestLogoutEventOnlyForRealSignOut: a logout carrying a made-up refresh token that names a live
// session (its id is in any of its access tokens) revokes nothing and tells the app nothing; a
// logout with the session's own refresh token, and no access token, does tell.
func TestLogoutEventOnlyForRealSignOut(t *testing.T) {
	var log eventLog
	s := newServer(t, func(c *walletauth.Config) { c.OnEvent = log.add })
	victim := s.client(t)
	msg := victim.challenge()
	r := victim.do("POST", "/auth/verify", map[string]any{"message": msg, "signature": victim.sign(msg), "refreshTokenInBody": true}, nil)
	rt, _ := r.body["refreshToken"].(string)
	if r.status != 200 || rt == "" {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	created := log.waitFor(t, 2)[1] // user created, session created
	sid, _, _ := strings.Cut(rt, ".")
	if created.Type != walletauth.EventSessionCreated || created.SessionID != sid {
		t.Fatalf("events %+v", log.waitFor(t, 2))
	}
	if r := s.client(t).do("POST", "/auth/logout", map[string]string{"refreshToken": sid + ".bm90LXRoZS1zZWNyZXQ"}, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	if r := victim.do("GET", "/api/me", nil, nil); r.status != 200 {
		t.Fatalf("the session after a forged logout: %d", r.status)
	}
	if r := s.client(t).do("POST", "/auth/logout", map[string]string{"refreshToken": rt}, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	got := log.waitFor(t, 3)
	if len(got) != 3 || got[2].Type != walletauth.EventSessionRevoked || got[2].SessionID != sid {
		t.Fatalf("events %+v, want one session.revoked of %s, for the real sign-out", got, sid)
	}
	if err := s.auth.Close(); err != nil { // delivers what is queued: nothing else may come
		t.Fatal(err)
	}
	if got := log.waitFor(t, 0); len(got) != 3 {
		t.Errorf("events %+v", got)
	}
}
