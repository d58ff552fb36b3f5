package walletauth_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/mfa"
	"github.com/walletauth/walletauth/profile"
)

// outbox is an EmailSender and SMSSender that keeps what it sends.
type outbox struct {
	mu   sync.Mutex
	sent []profile.Email
	sms  []profile.SMS
}

func (o *outbox) SendEmail(_ context.Context, m profile.Email) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

func (o *outbox) SendSMS(_ context.Context, m profile.SMS) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sms = append(o.sms, m)
	return nil
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// lastCode returns the code of the last email sent to to, and how many went there.
func (o *outbox) lastCode(t *testing.T, to string) (string, int) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	code, n := "", 0
	for _, m := range o.sent {
		if m.To == to {
			code, n = sixDigits.FindString(m.Text), n+1
		}
	}
	return code, n
}

func contactServer(t *testing.T) (*server, *outbox) {
	box := &outbox{}
	s := newServer(t, func(c *walletauth.Config) {
		c.Email, c.SMS = box, box
		c.AppName = "Example"
		c.MFA = mfa.Config{EncryptionKeys: map[string][]byte{"k1": testMFAKey}, CurrentKeyID: "k1"}
	})
	return s, box
}

func TestContacts(t *testing.T) {
	s, box := contactServer(t)
	c := s.client(t)
	c.signIn()
	if r := c.do("POST", "/auth/contacts", map[string]string{"kind": "email", "value": "Ada@Example.COM"}, nil); r.status != 202 {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	code, n := box.lastCode(t, "ada@example.com")
	if n != 1 || code == "" {
		t.Fatalf("sent %d, code %q", n, code)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if r := c.do("POST", "/auth/contacts/verify", map[string]string{"kind": "email", "value": "ada@example.com", "code": wrong}, nil); r.status != 401 || r.errCode() != "invalid_code" {
		t.Errorf("wrong code: %d %s", r.status, r.raw)
	}
	// A code for the same address cannot verify a phone number.
	if r := c.do("POST", "/auth/contacts/verify", map[string]string{"kind": "phone", "value": "+14155550100", "code": code}, nil); r.status != 401 {
		t.Errorf("code for another target: %d %s", r.status, r.raw)
	}
	r := c.do("POST", "/auth/contacts/verify", map[string]string{"kind": "email", "value": "ada@example.com", "code": code}, nil)
	if r.status != 200 || r.body["contact"].(map[string]any)["verified"] != true || r.body["contact"].(map[string]any)["primary"] != true {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	if r := c.do("GET", "/auth/contacts", nil, nil); r.status != 200 || len(r.body["contacts"].([]any)) != 1 {
		t.Errorf("list: %d %s", r.status, r.raw)
	}
	// Someone else adding the same address gets the same answer, and no message is sent.
	other := s.client(t)
	other.signIn()
	if r := other.do("POST", "/auth/contacts", map[string]string{"kind": "email", "value": "ada@example.com"}, nil); r.status != 202 || r.body["status"] != "code_sent" {
		t.Errorf("taken address: %d %s", r.status, r.raw)
	}
	// A code goes out as for any address (so that neither the answer nor its timing tells), but
	// even the right code cannot verify an address that another user has verified.
	theirs, n := box.lastCode(t, "ada@example.com")
	if n != 2 {
		t.Fatalf("%d messages", n)
	}
	if r := other.do("POST", "/auth/contacts/verify", map[string]string{"kind": "email", "value": "ada@example.com", "code": theirs}, nil); r.errCode() != "invalid_code" {
		t.Errorf("verifying a taken address: %d %s", r.status, r.raw)
	}
	for name, body := range map[string]map[string]string{
		"bad email": {"kind": "email", "value": "not an email"},
		"bad phone": {"kind": "phone", "value": "12345"},
		"bad kind":  {"kind": "fax", "value": "x"},
	} {
		if r := c.do("POST", "/auth/contacts", body, nil); r.status != 400 {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	// Client mistakes are 4xx, never the 503 of a store failure.
	if r := c.do("DELETE", "/auth/contacts/fax/123", nil, nil); r.status != 400 || r.errCode() != "invalid_request" {
		t.Errorf("delete of an unknown kind: %d %s", r.status, r.raw)
	}
	if r := c.do("POST", "/auth/contacts", map[string]string{"kind": "email", "value": "second@example.com"}, nil); r.status != 202 {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	if r := c.do("POST", "/auth/contacts/primary", map[string]string{"kind": "email", "value": "second@example.com"}, nil); r.status != 409 || r.errCode() != "contact_not_verified" {
		t.Errorf("primary of an unverified contact: %d %s", r.status, r.raw)
	}
	if r := c.do("DELETE", "/auth/contacts/email/second@example.com", nil, nil); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.raw)
	}
	if r := c.do("DELETE", "/auth/contacts/email/ada@example.com", nil, nil); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.raw)
	}
	if r := c.do("GET", "/auth/contacts", nil, nil); len(r.body["contacts"].([]any)) != 0 {
		t.Errorf("after delete: %s", r.raw)
	}
}

func TestContactSendLimit(t *testing.T) {
	s, _ := contactServer(t)
	c := s.client(t)
	c.signIn()
	c.do("POST", "/auth/contacts", map[string]string{"kind": "phone", "value": "+1 (415) 555-0100"}, nil)
	var last *response
	for range 10 {
		last = c.do("POST", "/auth/contacts/resend", map[string]string{"kind": "phone", "value": "+14155550100"}, nil)
		if last.status == 429 {
			break
		}
	}
	if last.status != 429 || last.errCode() != "rate_limited" || last.header.Get("Retry-After") == "" {
		t.Fatalf("resends never limited: %d %s", last.status, last.raw)
	}
}

// A user with MFA on and a verified email address may complete a sign-in with an emailed code.
func TestEmailCodeSecondFactor(t *testing.T) {
	s, box := contactServer(t)
	c := s.client(t)
	c.signIn()
	secret, _ := c.enrol()
	c.do("POST", "/auth/contacts", map[string]string{"kind": "email", "value": "ada@example.com"}, nil)
	code, _ := box.lastCode(t, "ada@example.com")
	// With MFA on, where its codes may go is changed with a fresh factor only: this session
	// never passed it (it predates the factor), so it must step up first.
	if r := c.do("POST", "/auth/contacts/verify", map[string]string{"kind": "email", "value": "ada@example.com", "code": code}, nil); r.status != 403 || r.errCode() != "insufficient_assurance" {
		t.Fatalf("verify at aal1 with MFA on: %d %s", r.status, r.raw)
	}
	for _, r := range []*response{
		c.do("POST", "/auth/contacts/primary", map[string]string{"kind": "email", "value": "ada@example.com"}, nil),
		c.do("DELETE", "/auth/contacts/email/ada@example.com", nil, nil),
	} {
		if r.status != 403 || r.errCode() != "insufficient_assurance" {
			t.Errorf("a factor change at aal1 with MFA on: %d %s", r.status, r.raw)
		}
	}
	s.clock.Advance(30 * time.Second)
	if r := c.do("POST", "/auth/mfa/step-up", map[string]string{"code": c.code(secret)}, nil); r.status != 200 {
		t.Fatalf("step-up: %d %s", r.status, r.raw)
	}
	if r := c.do("POST", "/auth/contacts/verify", map[string]string{"kind": "email", "value": "ada@example.com", "code": code}, nil); r.status != 200 {
		t.Fatalf("verify after step-up: %d %s", r.status, r.raw)
	}
	c2 := s.client(t)
	c2.key = c.key
	r := c2.pending()
	if f := r.body["factors"].([]any); len(f) != 3 || f[2] != "email_code" {
		t.Fatalf("factors %v", f)
	}
	if r := c2.do("POST", "/auth/mfa/send", map[string]string{"factor": "email_code"}, nil); r.status != 202 {
		t.Fatalf("send: %d %s", r.status, r.raw)
	}
	mfaCode, n := box.lastCode(t, "ada@example.com")
	if n != 2 { // the verification code and the second-factor code
		t.Fatalf("%d emails", n)
	}
	r = c2.do("POST", "/auth/mfa/verify", map[string]string{"emailCode": mfaCode}, nil)
	if r.status != 200 {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	sess := c2.do("GET", "/auth/session", nil, nil).body["session"].(map[string]any)
	if sess["aal"] != "aal2" || sess["amr"].([]any)[1] != "email" {
		t.Errorf("session %v", sess)
	}
	// The code is spent; wrong codes lock the factor like TOTP's.
	c3 := s.client(t)
	c3.key = c.key
	c3.pending()
	if r := c3.do("POST", "/auth/mfa/verify", map[string]string{"emailCode": mfaCode}, nil); r.errCode() != "invalid_code" {
		t.Errorf("spent email code: %d %s", r.status, r.raw)
	}
	for range 5 {
		c3.do("POST", "/auth/mfa/verify", map[string]string{"emailCode": "000000"}, nil)
	}
	if r := c3.do("POST", "/auth/mfa/verify", map[string]string{"emailCode": "000000"}, nil); r.status != 429 || r.errCode() != "mfa_locked" {
		t.Errorf("after many wrong codes: %d %s", r.status, r.raw)
	}
	s.clock.Advance(6 * time.Minute)
	// Without a pending sign-in nothing is sent.
	if r := s.client(t).do("POST", "/auth/mfa/send", map[string]string{"factor": "email_code"}, nil); r.status != 401 {
		t.Errorf("send without a pending sign-in: %d", r.status)
	}
}
