package walletauth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/mfa"
	"github.com/walletauth/walletauth/store/memstore"
)

var testMFAKey = bytes.Repeat([]byte{7}, 32)

// mfaServer is a test server with MFA on and two extra routes: /api/aal2 (RequireAAL2) and
// /api/sensitive (RequireFreshFactor 5 min).
func mfaServer(t *testing.T) *server {
	t.Helper()
	s := newServer(t, func(c *walletauth.Config) {
		c.MFA = mfa.Config{EncryptionKeys: map[string][]byte{"k1": testMFAKey}, CurrentKeyID: "k1"}
		c.AppName = "Example"
	})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	s.mux.Handle("/api/aal2", s.auth.RequireAAL2(ok))
	s.mux.Handle("/api/sensitive", s.auth.RequireFreshFactor(5*time.Minute, ok))
	return s
}

// enrol turns TOTP on for the client's (signed-in) user and returns the secret and codes.
func (c *client) enrol() (secret string, recovery []string) {
	c.t.Helper()
	r := c.do("POST", "/auth/mfa/totp", nil, nil)
	if r.status != 200 {
		c.t.Fatalf("enrol: %d %s", r.status, r.raw)
	}
	secret = r.body["secret"].(string)
	r = c.do("POST", "/auth/mfa/totp/confirm", map[string]string{"code": c.code(secret)}, nil)
	if r.status != 200 {
		c.t.Fatalf("confirm: %d %s", r.status, r.raw)
	}
	for _, code := range r.body["recoveryCodes"].([]any) {
		recovery = append(recovery, code.(string))
	}
	return secret, recovery
}

// code is the TOTP code at the server's clock.
func (c *client) code(secret string) string {
	c.t.Helper()
	code, err := totp.GenerateCode(secret, c.s.clock.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	return code
}

// pending signs in with the wallet and expects the second-factor step.
func (c *client) pending() *response {
	c.t.Helper()
	msg := c.challenge()
	r := c.do("POST", "/auth/verify", map[string]any{"message": msg, "signature": c.sign(msg)}, nil)
	if r.status != 200 || r.body["status"] != "needs_second_factor" {
		c.t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	return r
}

func TestMFAEnrolAndSignIn(t *testing.T) {
	s := mfaServer(t)
	c := s.client(t)
	c.signIn()
	if r := c.do("GET", "/auth/mfa", nil, nil); r.status != 200 || r.body["totp"] != false {
		t.Fatalf("status: %d %s", r.status, r.raw)
	}
	r := c.do("POST", "/auth/mfa/totp", nil, nil)
	if r.status != 200 || !strings.HasPrefix(r.body["otpauthUrl"].(string), "otpauth://totp/Example:") {
		t.Fatalf("enrol: %d %s", r.status, r.raw)
	}
	qr, err := base64.StdEncoding.DecodeString(r.body["qrPng"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(qr)); err != nil {
		t.Errorf("qrPng is not a PNG: %v", err)
	}
	secret := r.body["secret"].(string)
	// Until confirmed, the factor protects nothing: a sign-in completes with the wallet alone.
	other := s.client(t)
	other.key = c.key
	if r := other.signIn(); r.body["status"] != "complete" {
		t.Fatal("unconfirmed factor asked for")
	}
	if r := c.do("POST", "/auth/mfa/totp/confirm", map[string]string{"code": "000000"}, nil); r.status != 401 || r.errCode() != "invalid_code" {
		t.Fatalf("confirm with a wrong code: %d %s", r.status, r.raw)
	}
	confirmCode := c.code(secret)
	r = c.do("POST", "/auth/mfa/totp/confirm", map[string]string{"code": confirmCode}, nil)
	codes, _ := r.body["recoveryCodes"].([]any)
	if r.status != 200 || len(codes) != 10 {
		t.Fatalf("confirm: %d %s", r.status, r.raw)
	}
	if r := c.do("POST", "/auth/mfa/totp", nil, nil); r.status != 409 || r.errCode() != "mfa_already_enabled" {
		t.Errorf("enrol again: %d %s", r.status, r.raw)
	}

	// A new sign-in now needs the second factor; the pending credential unlocks nothing else.
	c2 := s.client(t)
	c2.key = c.key
	r = c2.pending()
	if r.body["accessToken"] != nil || c2.cookie("walletauth-access") != nil || c2.cookie("walletauth-refresh") != nil {
		t.Fatalf("pending sign-in carries a session: %s", r.raw)
	}
	if f := r.body["factors"].([]any); len(f) != 2 || f[0] != "totp" {
		t.Errorf("factors %v", f)
	}
	var pendingCookie string
	for _, sc := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "walletauth-pending=") {
			pendingCookie = sc
		}
	}
	if !strings.Contains(pendingCookie, "Path=/auth/mfa") || !strings.Contains(pendingCookie, "HttpOnly") {
		t.Errorf("pending cookie %q", pendingCookie)
	}
	if r := c2.do("GET", "/api/me", nil, nil); r.status != 401 {
		t.Errorf("/api/me while pending: %d", r.status)
	}
	if r := c2.do("GET", "/auth/session", nil, nil); r.status != 401 {
		t.Errorf("/auth/session while pending: %d", r.status)
	}
	// The confirming code spent its step.
	if r := c2.do("POST", "/auth/mfa/verify", map[string]string{"code": confirmCode}, nil); r.status != 401 || r.errCode() != "invalid_code" {
		t.Fatalf("the confirming code again: %d %s", r.status, r.raw)
	}
	s.clock.Advance(30 * time.Second)
	code := c2.code(secret)
	r = c2.do("POST", "/auth/mfa/verify", map[string]string{"code": code}, nil)
	if r.status != 200 || r.body["status"] != "complete" || r.body["user"] == nil {
		t.Fatalf("mfa/verify: %d %s", r.status, r.raw)
	}
	me := c2.do("GET", "/api/me", nil, nil)
	if me.status != 200 || me.body["aal"] != "aal2" {
		t.Fatalf("/api/me after the second factor: %d %s", me.status, me.raw)
	}
	sess := c2.do("GET", "/auth/session", nil, nil).body["session"].(map[string]any)
	if amr := sess["amr"].([]any); len(amr) != 2 || amr[0] != "siwe" || amr[1] != "otp" {
		t.Errorf("amr %v", amr)
	}
	if r := c2.do("GET", "/api/aal2", nil, nil); r.status != 200 {
		t.Errorf("/api/aal2 at aal2: %d", r.status)
	}
	// The same code (its step is spent) cannot complete another sign-in.
	c3 := s.client(t)
	c3.key = c.key
	c3.pending()
	if r := c3.do("POST", "/auth/mfa/verify", map[string]string{"code": code}, nil); r.errCode() != "invalid_code" {
		t.Errorf("replayed code: %d %s", r.status, r.raw)
	}
}

func TestMFAPendingMisuse(t *testing.T) {
	s := mfaServer(t)
	c := s.client(t)
	c.signIn()
	secret, _ := c.enrol()

	// The second step without the first.
	stranger := s.client(t)
	if r := stranger.do("POST", "/auth/mfa/verify", map[string]string{"code": "123456"}, nil); r.status != 401 || r.errCode() != "unauthenticated" {
		t.Errorf("mfa/verify without a pending sign-in: %d %s", r.status, r.raw)
	}
	// A non-browser client gets the pending token in the body; it is no access token.
	c2 := s.client(t)
	c2.key = c.key
	msg := c2.challenge()
	r := c2.do("POST", "/auth/verify", map[string]any{"message": msg, "signature": c2.sign(msg), "refreshTokenInBody": true}, nil)
	pt, _ := r.body["pendingToken"].(string)
	if r.status != 200 || pt == "" || c2.cookie("walletauth-pending") != nil {
		t.Fatalf("pending in body: %d %s", r.status, r.raw)
	}
	if r := stranger.do("GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + pt}); r.status != 401 || r.errCode() != "token_invalid" {
		t.Errorf("pending token as an access token: %d %s", r.status, r.raw)
	}
	if r := stranger.do("POST", "/auth/mfa/verify", map[string]string{"code": "123456", "pendingToken": "x.y.z"}, nil); r.status != 401 {
		t.Errorf("forged pending token: %d", r.status)
	}
	// An access token is no pending token.
	at := c.do("POST", "/auth/refresh", nil, nil).body["accessToken"].(string)
	if r := stranger.do("POST", "/auth/mfa/verify", map[string]string{"code": "123456", "pendingToken": at}, nil); r.status != 401 || r.errCode() != "token_invalid" {
		t.Errorf("access token as a pending token: %d %s", r.status, r.raw)
	}
	s.clock.Advance(30 * time.Second)
	r = stranger.do("POST", "/auth/mfa/verify", map[string]any{"code": c2.code(secret), "pendingToken": pt, "refreshTokenInBody": true}, nil)
	if r.status != 200 || r.body["refreshToken"] == nil {
		t.Fatalf("completing with the body token: %d %s", r.status, r.raw)
	}
	// The pending credential is spent.
	s.clock.Advance(30 * time.Second)
	if r := stranger.do("POST", "/auth/mfa/verify", map[string]any{"code": c2.code(secret), "pendingToken": pt}, nil); r.status != 401 || r.errCode() != "token_invalid" {
		t.Errorf("pending token reused: %d %s", r.status, r.raw)
	}
	// And it expires.
	c3 := s.client(t)
	c3.key = c.key
	c3.pending()
	s.clock.Advance(walletauth.DefaultPendingTTL + 10*time.Second)
	if r := c3.do("POST", "/auth/mfa/verify", map[string]string{"code": c3.code(secret)}, nil); r.status != 401 {
		t.Errorf("expired pending: %d %s", r.status, r.raw)
	}
}

func TestMFARecoveryCodes(t *testing.T) {
	s := mfaServer(t)
	c := s.client(t)
	c.signIn()
	_, recovery := c.enrol()
	c2 := s.client(t)
	c2.key = c.key
	c2.pending()
	r := c2.do("POST", "/auth/mfa/verify", map[string]string{"recoveryCode": strings.ToUpper(recovery[0])}, nil)
	if r.status != 200 {
		t.Fatalf("recovery code: %d %s", r.status, r.raw)
	}
	if amr := c2.do("GET", "/auth/session", nil, nil).body["session"].(map[string]any)["amr"].([]any); amr[1] != "recovery_code" {
		t.Errorf("amr %v", amr)
	}
	if r := c2.do("GET", "/auth/mfa", nil, nil); r.body["recoveryCodesLeft"] != float64(9) {
		t.Errorf("codes left: %s", r.raw)
	}
	c3 := s.client(t)
	c3.key = c.key
	c3.pending()
	if r := c3.do("POST", "/auth/mfa/verify", map[string]string{"recoveryCode": recovery[0]}, nil); r.status != 401 || r.errCode() != "invalid_code" {
		t.Errorf("used recovery code: %d %s", r.status, r.raw)
	}
	if r := c3.do("POST", "/auth/mfa/verify", map[string]string{"recoveryCode": recovery[1], "code": "123456"}, nil); r.status != 400 {
		t.Errorf("both factors: %d", r.status)
	}
	// Regenerating (with a fresh second factor) voids the old set.
	r = c2.do("POST", "/auth/mfa/recovery-codes", nil, nil)
	fresh, _ := r.body["recoveryCodes"].([]any)
	if r.status != 200 || len(fresh) != 10 {
		t.Fatalf("regenerate: %d %s", r.status, r.raw)
	}
	if r := c3.do("POST", "/auth/mfa/verify", map[string]string{"recoveryCode": recovery[1]}, nil); r.errCode() != "invalid_code" {
		t.Errorf("old set after regeneration: %d %s", r.status, r.raw)
	}
	if r := c3.do("POST", "/auth/mfa/verify", map[string]string{"recoveryCode": fresh[0].(string)}, nil); r.status != 200 {
		t.Errorf("new set: %d %s", r.status, r.raw)
	}
}

func TestMFALockout(t *testing.T) {
	s := mfaServer(t)
	c := s.client(t)
	c.signIn()
	secret, _ := c.enrol()
	c2 := s.client(t)
	c2.key = c.key
	c2.pending()
	s.clock.Advance(30 * time.Second)
	for i := range 5 {
		if r := c2.do("POST", "/auth/mfa/verify", map[string]string{"code": "000000"}, nil); r.errCode() != "invalid_code" {
			t.Fatalf("wrong code %d: %d %s", i, r.status, r.raw)
		}
	}
	r := c2.do("POST", "/auth/mfa/verify", map[string]string{"code": c2.code(secret)}, nil)
	if r.status != 429 || r.errCode() != "mfa_locked" || r.header.Get("Retry-After") == "" {
		t.Fatalf("locked: %d %s", r.status, r.raw)
	}
	s.clock.Advance(5 * time.Minute)
	c3 := s.client(t)
	c3.key = c.key
	c3.pending()
	if r := c3.do("POST", "/auth/mfa/verify", map[string]string{"code": c3.code(secret)}, nil); r.status != 200 {
		t.Fatalf("after the lockout: %d %s", r.status, r.raw)
	}
}

// Turning MFA off and regenerating codes need a second factor within FreshFactor; step-up gives
// one; signing out the other sessions is offered.
func TestMFAFreshFactorAndStepUp(t *testing.T) {
	s := mfaServer(t)
	c := s.client(t)
	c.signIn()
	secret, _ := c.enrol()
	// The enrolling session is still aal1.
	if r := c.do("POST", "/auth/mfa/disable", nil, nil); r.status != 403 || r.errCode() != "insufficient_assurance" {
		t.Fatalf("disable at aal1: %d %s", r.status, r.raw)
	}
	if r := c.do("GET", "/api/aal2", nil, nil); r.status != 403 || r.errCode() != "insufficient_assurance" {
		t.Errorf("/api/aal2 at aal1: %d %s", r.status, r.raw)
	}
	s.clock.Advance(30 * time.Second)
	r := c.do("POST", "/auth/mfa/step-up", map[string]string{"code": c.code(secret)}, nil)
	if r.status != 200 || r.body["accessToken"] == nil {
		t.Fatalf("step-up: %d %s", r.status, r.raw)
	}
	if r := c.do("GET", "/api/sensitive", nil, nil); r.status != 200 {
		t.Errorf("/api/sensitive after step-up: %d %s", r.status, r.raw)
	}
	// Later the factor is no longer fresh (the session refreshes, the factor's time stays).
	s.clock.Advance(11 * time.Minute)
	if r := c.do("POST", "/auth/refresh", nil, nil); r.status != 200 {
		t.Fatalf("refresh: %d", r.status)
	}
	if r := c.do("GET", "/api/sensitive", nil, nil); r.status != 403 {
		t.Errorf("/api/sensitive with a stale factor: %d", r.status)
	}
	if r := c.do("POST", "/auth/mfa/disable", nil, nil); r.status != 403 {
		t.Errorf("disable with a stale factor: %d", r.status)
	}
	// Another device of the user.
	phone := s.client(t)
	phone.key = c.key
	phone.pending()
	r = phone.do("POST", "/auth/mfa/verify", map[string]string{"code": phone.code(secret)}, nil)
	if r.status != 200 {
		t.Fatalf("phone: %d %s", r.status, r.raw)
	}
	s.clock.Advance(30 * time.Second)
	if r := c.do("POST", "/auth/mfa/step-up", map[string]string{"code": c.code(secret)}, nil); r.status != 200 {
		t.Fatalf("step-up again: %d %s", r.status, r.raw)
	}
	r = c.do("POST", "/auth/mfa/disable", map[string]bool{"signOutOthers": true}, nil)
	if r.status != 200 || r.body["signedOut"] != float64(1) {
		t.Fatalf("disable: %d %s", r.status, r.raw)
	}
	if r := phone.do("GET", "/api/me", nil, nil); r.status != 401 {
		t.Errorf("phone after disable with sign-out: %d", r.status)
	}
	// MFA is off: the wallet alone signs in again.
	again := s.client(t)
	again.key = c.key
	if r := again.signIn(); r.body["status"] != "complete" {
		t.Error("still asks for a second factor")
	}
}

// Without MFA configured, the MFA routes do not exist.
func TestMFAOff(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	c.signIn()
	if r := c.do("POST", "/auth/mfa/totp", nil, nil); r.status != 404 {
		t.Errorf("enrol without MFA: %d", r.status)
	}
}

// Two confirmations of one code at once (a double click): one wins, and the recovery codes it
// answers with are the ones that work.
func TestMFAConfirmRace(t *testing.T) {
	for range 20 {
		s := mfaServer(t)
		c := s.client(t)
		c.signIn()
		secret := c.do("POST", "/auth/mfa/totp", nil, nil).body["secret"].(string)
		code := c.code(secret)
		results := make(chan *response, 2)
		for range 2 {
			go func() { results <- c.do("POST", "/auth/mfa/totp/confirm", map[string]string{"code": code}, nil) }()
		}
		var won []any
		for range 2 {
			if r := <-results; r.status == 200 {
				if won != nil {
					t.Fatal("both confirmations succeeded")
				}
				won = r.body["recoveryCodes"].([]any)
			}
		}
		if won == nil {
			t.Fatal("no confirmation succeeded")
		}
		c2 := s.client(t)
		c2.key = c.key
		c2.pending()
		if r := c2.do("POST", "/auth/mfa/verify", map[string]any{"recoveryCode": won[0]}, nil); r.status != 200 {
			t.Fatalf("the winner's recovery code: %d %s", r.status, r.raw)
		}
	}
}

// revokeFails is a memory store whose RevokeUserSessions fails while fail is set.
type revokeFails struct {
	*memstore.Store
	fail atomic.Bool
}

func (f *revokeFails) RevokeUserSessions(ctx context.Context, userID, exceptID string, now time.Time) (int, error) {
	if f.fail.Load() {
		return 0, errors.New("store down")
	}
	return f.Store.RevokeUserSessions(ctx, userID, exceptID, now)
}

// TestMFAChangeWhenSignOutFails: when signing out the other devices fails, regenerating the
// recovery codes and turning MFA off answer an error and change nothing — the old codes still
// work, the factor is still on — rather than make new codes the user never sees, or turn it off
// behind an error.
func TestMFAChangeWhenSignOutFails(t *testing.T) {
	st := &revokeFails{Store: memstore.New()}
	t.Cleanup(func() { st.Close() })
	s := newServer(t, func(c *walletauth.Config) {
		c.Store = st
		c.MFA = mfa.Config{EncryptionKeys: map[string][]byte{"k1": testMFAKey}, CurrentKeyID: "k1"}
		c.AppName = "Example"
	})
	c := s.client(t)
	c.signIn()
	secret, oldCodes := c.enrol()
	s.clock.Advance(30 * time.Second)
	if r := c.do("POST", "/auth/mfa/step-up", map[string]string{"code": c.code(secret)}, nil); r.status != 200 {
		t.Fatalf("step-up: %d %s", r.status, r.raw)
	}
	st.fail.Store(true)
	if r := c.do("POST", "/auth/mfa/recovery-codes", map[string]bool{"signOutOthers": true}, nil); r.status != 503 {
		t.Errorf("regenerate while signing out fails: %d %s", r.status, r.raw)
	}
	if r := c.do("POST", "/auth/mfa/disable", map[string]bool{"signOutOthers": true}, nil); r.status != 503 {
		t.Errorf("disable while signing out fails: %d %s", r.status, r.raw)
	}
	st.fail.Store(false)
	if r := c.do("GET", "/auth/mfa", nil, nil); r.body["totp"] != true {
		t.Errorf("MFA after the failed disable: %s", r.raw)
	}
	other := s.client(t)
	other.key = c.key
	other.pending()
	if r := other.do("POST", "/auth/mfa/verify", map[string]string{"recoveryCode": oldCodes[0]}, nil); r.status != 200 {
		t.Errorf("an old recovery code after the failed regenerate: %d %s", r.status, r.raw)
	}
}
