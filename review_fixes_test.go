package walletauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/mfa"
)

// A second refresh cookie — planted by a sibling subdomain for the parent domain — makes the
// handler trust neither.
func TestDuplicateRefreshCookieRefused(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	c.signIn()
	rt := c.cookie("walletauth-refresh").Value
	r := c.do("POST", "/auth/refresh", nil, map[string]string{"Cookie": "walletauth-refresh=" + rt + "; walletauth-refresh=attacker.token"})
	if r.status != 401 {
		t.Fatalf("refresh with two refresh cookies: %d %s", r.status, r.raw)
	}
}

// The middleware refuses a cross-site state-changing request that only the cookie
// authenticates; a bearer token is not sent by browsers on their own, so it passes.
func TestMiddlewareCrossOrigin(t *testing.T) {
	s := newServer(t, nil)
	s.mux.Handle("POST /api/transfer", s.auth.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("done"))
	})))
	c := s.client(t)
	at := c.signIn().body["accessToken"].(string)
	cross := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	if r := c.do("POST", "/api/transfer", nil, cross); r.status != 403 || r.errCode() != "cross_origin" {
		t.Errorf("cross-site cookie POST: %d %s", r.status, r.raw)
	}
	if r := c.do("POST", "/api/transfer", nil, map[string]string{"Origin": s.URL, "Sec-Fetch-Site": "same-origin"}); r.status != 200 {
		t.Errorf("same-origin cookie POST: %d %s", r.status, r.raw)
	}
	bearer := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Authorization": "Bearer " + at}
	if r := s.client(t).do("POST", "/api/transfer", nil, bearer); r.status != 200 {
		t.Errorf("bearer POST: %d %s", r.status, r.raw)
	}
	if r := c.do("GET", "/api/me", nil, cross); r.status != 200 {
		t.Errorf("cross-site GET: %d", r.status)
	}
}

// A step-up on an instance that has not yet heard of a revocation asks the store first.
func TestStepUpRefusesRevokedSession(t *testing.T) {
	a := mfaServer(t)
	c := a.client(t)
	at := c.signIn().body["accessToken"].(string)
	secret, _ := c.enrol()
	// Instance B shares A's store and clock, and has synced nothing since.
	b, err := walletauth.New(context.Background(), walletauth.Config{
		Origin: a.URL, Store: a.store, ChainIDs: []uint64{1, 8453}, Clock: a.clock.Now, AppName: "Example",
		MFA: mfa.Config{EncryptionKeys: map[string][]byte{"k1": testMFAKey}, CurrentKeyID: "k1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if r := c.do("POST", "/auth/logout", nil, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	a.clock.Advance(30 * time.Second)
	code := c.code(secret)
	req := httptest.NewRequest("POST", a.URL+"/auth/mfa/step-up", strings.NewReader(`{"code":"`+code+`"}`))
	req.Header.Set("Authorization", "Bearer "+at)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("step-up from a revoked session on another instance: %d %s", rec.Code, rec.Body)
	}
}

// IPv6 clients are counted by their /64.
func TestRateLimitIPv6Prefix(t *testing.T) {
	s := newServer(t, func(c *walletauth.Config) {
		c.RateLimit = 1
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	c := s.client(t)
	if r := c.do("POST", "/auth/nonce", nil, map[string]string{"X-Forwarded-For": "2001:db8:1:2::1"}); r.status != 200 {
		t.Fatal(r.status)
	}
	if r := c.do("POST", "/auth/nonce", nil, map[string]string{"X-Forwarded-For": "2001:db8:1:2:ffff::9"}); r.status != 429 {
		t.Errorf("same /64: %d", r.status)
	}
	if r := c.do("POST", "/auth/nonce", nil, map[string]string{"X-Forwarded-For": "2001:db8:1:3::1"}); r.status != 200 {
		t.Errorf("another /64: %d", r.status)
	}
}

// MFA works on an origin with a port and no AppName (the issuer must not hold ":port").
func TestMFAOnOriginWithPort(t *testing.T) {
	s := newServer(t, func(c *walletauth.Config) {
		c.MFA = mfa.Config{EncryptionKeys: map[string][]byte{"k1": testMFAKey}, CurrentKeyID: "k1"}
	})
	c := s.client(t)
	c.signIn()
	if r := c.do("POST", "/auth/mfa/totp", nil, nil); r.status != 200 {
		t.Fatalf("enrol: %d %s", r.status, r.raw)
	}
}
