package profile_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/profile"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

var ctx = context.Background()

func TestNewConfig(t *testing.T) {
	st := memstore.New()
	ls := profile.LogSender{}
	for name, cfg := range map[string]profile.Config{
		"no store":         {Email: ls, AppName: "X"},
		"no sender":        {Store: st, AppName: "X"},
		"no app name":      {Store: st, Email: ls},
		"app name CRLF":    {Store: st, Email: ls, AppName: "X\r\nBcc: y"},
		"app name long":    {Store: st, Email: ls, AppName: strings.Repeat("x", 65)},
		"ttl too long":     {Store: st, Email: ls, AppName: "X", CodeTTL: 11 * time.Minute},
		"ttl negative":     {Store: st, Email: ls, AppName: "X", CodeTTL: -time.Second},
		"failures < 0":     {Store: st, Email: ls, AppName: "X", MaxFailures: -1},
		"failures > limit": {Store: st, Email: ls, AppName: "X", MaxFailures: profile.MaxFailuresLimit + 1},
		"failures max int": {Store: st, Email: ls, AppName: "X", MaxFailures: math.MaxInt},
		"sends < 0":        {Store: st, Email: ls, AppName: "X", SendsPerTarget: -1},
		"send window < 0":  {Store: st, Email: ls, AppName: "X", SendsPerTargetWindow: -time.Second},
	} {
		if _, err := profile.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := profile.New(profile.Config{Store: st, SMS: ls, AppName: "X", CodeTTL: 10 * time.Minute, MaxFailures: profile.MaxFailuresLimit}); err != nil {
		t.Error(err)
	}
}

func TestAddAndVerifyEmail(t *testing.T) {
	e := newEnv(t, nil)
	c, err := e.svc.AddContact(ctx, "u1", profile.KindEmail, "  Alice@Example.COM ")
	if err != nil {
		t.Fatal(err)
	}
	if c.UserID != "u1" || c.Kind != "email" || c.Value != "alice@example.com" || !c.VerifiedAt.IsZero() || c.Primary {
		t.Fatalf("added %+v", c)
	}
	m := e.out.emails[0]
	if m.To != "alice@example.com" || m.Subject != "Your Example verification code" || !strings.Contains(m.Text, "expires in 10 minutes") {
		t.Fatalf("message %+v", m)
	}
	code := e.out.code(t, "alice@example.com")

	// The value is normalised on verification too.
	v, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "ALICE@example.com", code)
	if err != nil {
		t.Fatal(err)
	}
	if v.VerifiedAt != e.clock.now() || !v.Primary {
		t.Fatalf("verified %+v", v)
	}
	// Single use.
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "alice@example.com", code); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("reused code: %v", err)
	}
	// Adding a verified contact again sends nothing and returns it.
	n := e.out.count()
	again, err := e.svc.AddContact(ctx, "u1", profile.KindEmail, "alice@example.com")
	if err != nil || again.VerifiedAt.IsZero() || e.out.count() != n {
		t.Fatalf("re-add: %+v, %v, %d sent", again, err, e.out.count()-n)
	}
	// Resend of a verified contact does nothing.
	if err := e.svc.Resend(ctx, "u1", profile.KindEmail, "alice@example.com"); err != nil || e.out.count() != n {
		t.Fatalf("resend of verified: %v", err)
	}
	cs, err := e.svc.Contacts(ctx, "u1")
	if err != nil || len(cs) != 1 || cs[0].Value != "alice@example.com" {
		t.Fatalf("contacts %+v, %v", cs, err)
	}
}

func TestAddAndVerifyPhone(t *testing.T) {
	e := newEnv(t, nil)
	c, err := e.svc.AddContact(ctx, "u1", profile.KindPhone, "+1 (415) 555-0100")
	if err != nil || c.Value != "+14155550100" {
		t.Fatalf("%+v, %v", c, err)
	}
	if len(e.out.sms) != 1 || !strings.HasPrefix(e.out.sms[0].Text, "Example: your verification code is ") {
		t.Fatalf("sms %+v", e.out.sms)
	}
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindPhone, "+14155550100", " "+e.out.code(t, "+14155550100")[:3]+" "+e.out.code(t, "+14155550100")[3:]); err != nil {
		t.Fatal(err) // spaces in a typed code are fine
	}
}

func TestInputErrors(t *testing.T) {
	e := newEnv(t, func(c *profile.Config) { c.SMS = nil })
	if _, err := e.svc.AddContact(ctx, "u1", profile.KindEmail, "not an email"); !errors.Is(err, profile.ErrInvalidEmail) {
		t.Errorf("bad email: %v", err)
	}
	if _, err := e.svc.AddContact(ctx, "u1", "fax", "+14155550100"); !errors.Is(err, profile.ErrInvalidKind) {
		t.Errorf("bad kind: %v", err)
	}
	if _, err := e.svc.AddContact(ctx, "", profile.KindEmail, "a@example.com"); err == nil {
		t.Error("empty user accepted")
	}
	// SMS disabled.
	if _, err := e.svc.AddContact(ctx, "u1", profile.KindPhone, "+14155550100"); !errors.Is(err, profile.ErrSenderMissing) {
		t.Errorf("phone without SMS sender: %v", err)
	}
	if err := e.svc.SendSecondFactor(ctx, "u1", profile.KindPhone); !errors.Is(err, profile.ErrSenderMissing) {
		t.Errorf("phone second factor without SMS sender: %v", err)
	}
	if cs, _ := e.svc.Contacts(ctx, "u1"); len(cs) != 0 || e.out.count() != 0 {
		t.Errorf("stored %+v, sent %d", cs, e.out.count())
	}
	e2 := newEnv(t, nil)
	if _, err := e2.svc.AddContact(ctx, "u1", profile.KindPhone, "0415 555 0100"); !errors.Is(err, profile.ErrInvalidPhone) {
		t.Errorf("bad phone: %v", err)
	}
	if err := e2.svc.Resend(ctx, "u1", profile.KindEmail, "nobody@example.com"); !errors.Is(err, profile.ErrNoContact) {
		t.Errorf("resend without contact: %v", err)
	}
	// Malformed codes.
	e2.svc.AddContact(ctx, "u1", profile.KindEmail, "a@example.com")
	for _, code := range []string{"", "12345", "1234567", "12345a", "١٢٣٤٥٦", "123456\n", strings.Repeat("1", 100)} {
		if _, err := e2.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", code); !errors.Is(err, profile.ErrInvalidCode) {
			t.Errorf("code %q: %v", code, err)
		}
	}
	// Malformed codes do not count as failures: the right code still works.
	if _, err := e2.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", e2.out.code(t, "a@example.com")); err != nil {
		t.Errorf("right code after malformed ones: %v", err)
	}
}

// A code works only for the purpose, kind, user and target it was sent for.
func TestCodeBinding(t *testing.T) {
	e := newEnv(t, nil)
	e.svc.AddContact(ctx, "u1", profile.KindEmail, "a@example.com")
	e.svc.AddContact(ctx, "u1", profile.KindEmail, "b@example.com")
	e.svc.AddContact(ctx, "u1", profile.KindPhone, "+14155550100")
	e.svc.AddContact(ctx, "u2", profile.KindEmail, "c@example.com")
	codeA, codeB := e.out.code(t, "a@example.com"), e.out.code(t, "b@example.com")
	codePhone, codeC := e.out.code(t, "+14155550100"), e.out.code(t, "c@example.com")
	distinct := map[string]bool{codeA: true, codeB: true, codePhone: true, codeC: true}
	if len(distinct) != 4 {
		t.Skip("two random codes coincide (p ≈ 6·10⁻⁶)")
	}
	for name, try := range map[string]func() error{
		"a's code for b": func() error {
			_, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "b@example.com", codeA)
			return err
		},
		"email code for the phone": func() error {
			_, err := e.svc.VerifyContact(ctx, "u1", profile.KindPhone, "+14155550100", codeA)
			return err
		},
		"another user's code": func() error {
			_, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", codeC)
			return err
		},
		"u1's code used by u2 for the same address": func() error {
			e.svc.AddContact(ctx, "u2", profile.KindEmail, "b@example.com") // a code of its own for u2
			_, err := e.svc.VerifyContact(ctx, "u2", profile.KindEmail, "b@example.com", codeB)
			return err
		},
	} {
		if err := try(); !errors.Is(err, profile.ErrInvalidCode) {
			t.Errorf("%s: %v, want ErrInvalidCode", name, err)
		}
	}

	// A verify code is not a second factor code, and the other way round.
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", codeA); err != nil {
		t.Fatal(err)
	}
	e.svc.AddContact(ctx, "u1", profile.KindEmail, "b@example.com") // a fresh verify code for b
	codeB = e.out.code(t, "b@example.com")
	// a@ is the primary email now: its second factor code and b@'s verify code are both live.
	if err := e.svc.SendSecondFactor(ctx, "u1", profile.KindEmail); err != nil {
		t.Fatal(err)
	}
	mfaA := e.out.code(t, "a@example.com")
	if mfaA == codeB {
		t.Skip("two random codes coincide")
	}
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindEmail, codeB); !errors.Is(err, profile.ErrInvalidCode) {
		t.Errorf("verify code as second factor: %v", err)
	}
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "b@example.com", mfaA); !errors.Is(err, profile.ErrInvalidCode) {
		t.Errorf("second factor code as verify code: %v", err)
	}
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindPhone, mfaA); !errors.Is(err, profile.ErrNoContact) {
		t.Errorf("email second factor for phone (no verified phone): %v", err)
	}
	if err := e.svc.CheckSecondFactor(ctx, "u2", profile.KindEmail, mfaA); !errors.Is(err, profile.ErrNoContact) {
		t.Errorf("u1's second factor for u2: %v", err)
	}
	// Both still work for their own purpose.
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindEmail, mfaA); err != nil {
		t.Errorf("second factor: %v", err)
	}
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "b@example.com", codeB); err != nil {
		t.Errorf("verify: %v", err)
	}
}

// A second factor code is not a verification code for its own target: with purpose-bound keys
// it is not even looked at (and stays valid for its purpose).
func TestPurposeBinding(t *testing.T) {
	e := newEnv(t, nil)
	e.verified(t, "u1", profile.KindPhone, "+14155550100")
	if err := e.svc.SendSecondFactor(ctx, "u1", profile.KindPhone); err != nil {
		t.Fatal(err)
	}
	m := e.out.code(t, "+14155550100")
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindPhone, "+14155550100", m); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("second factor code as verification code: %v", err)
	}
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindPhone, m); err != nil {
		t.Fatalf("second factor code after a misuse: %v", err)
	}
}

func TestExpiredCode(t *testing.T) {
	e := newEnv(t, func(c *profile.Config) { c.CodeTTL = 5 * time.Minute })
	e.svc.AddContact(ctx, "u1", profile.KindEmail, "a@example.com")
	code := e.out.code(t, "a@example.com")
	if !strings.Contains(e.out.emails[0].Text, "expires in 5 minutes") {
		t.Errorf("text %q", e.out.emails[0].Text)
	}
	e.clock.advance(5 * time.Minute)
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", code); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("expired code: %v", err)
	}
	e.svc.Resend(ctx, "u1", profile.KindEmail, "a@example.com")
	code = e.out.code(t, "a@example.com")
	e.clock.advance(5*time.Minute - time.Second)
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", code); err != nil {
		t.Fatalf("code a second before expiry: %v", err)
	}

	// The second factor code expires too.
	e.svc.SendSecondFactor(ctx, "u1", profile.KindEmail)
	code = e.out.code(t, "a@example.com")
	e.clock.advance(5 * time.Minute)
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindEmail, code); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("expired second factor code: %v", err)
	}
}

func TestBruteForce(t *testing.T) {
	e := newEnv(t, func(c *profile.Config) { c.MaxFailures = 3 })
	e.svc.AddContact(ctx, "u1", profile.KindEmail, "a@example.com")
	code := e.out.code(t, "a@example.com")
	for i := range 3 {
		if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", other(code)); !errors.Is(err, profile.ErrInvalidCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", code); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("right code after MaxFailures wrong ones: %v", err)
	}
	// A new code works.
	e.svc.Resend(ctx, "u1", profile.KindEmail, "a@example.com")
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", e.out.code(t, "a@example.com")); err != nil {
		t.Fatal(err)
	}

	// The same for second factor codes, with the default of 5.
	e = newEnv(t, nil)
	e.verified(t, "u1", profile.KindPhone, "+14155550100")
	e.svc.SendSecondFactor(ctx, "u1", profile.KindPhone)
	code = e.out.code(t, "+14155550100")
	for range profile.DefaultMaxFailures - 1 {
		e.svc.CheckSecondFactor(ctx, "u1", profile.KindPhone, other(code))
	}
	// Four wrong: the code is alive still.
	e2code := code
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindPhone, e2code); err != nil {
		t.Fatalf("right code after %d wrong ones: %v", profile.DefaultMaxFailures-1, err)
	}
	e.svc.SendSecondFactor(ctx, "u1", profile.KindPhone)
	code = e.out.code(t, "+14155550100")
	for range profile.DefaultMaxFailures {
		e.svc.CheckSecondFactor(ctx, "u1", profile.KindPhone, other(code))
	}
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindPhone, code); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("right second factor code after MaxFailures wrong ones: %v", err)
	}
}

func TestResendVoidsOldCode(t *testing.T) {
	e := newEnv(t, nil)
	e.svc.AddContact(ctx, "u1", profile.KindEmail, "a@example.com")
	old := e.out.code(t, "a@example.com")
	if err := e.svc.Resend(ctx, "u1", profile.KindEmail, "A@EXAMPLE.COM"); err != nil {
		t.Fatal(err)
	}
	fresh := e.out.code(t, "a@example.com")
	if fresh == old {
		t.Skip("two random codes coincide (p = 10⁻⁶)")
	}
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", old); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("old code after resend: %v", err)
	}
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", fresh); err != nil {
		t.Fatal(err)
	}

	// Re-adding an unverified contact is a resend too; a second SendSecondFactor voids the first.
	e.verified(t, "u1", profile.KindPhone, "+14155550100")
	e.svc.SendSecondFactor(ctx, "u1", profile.KindPhone)
	old = e.out.code(t, "+14155550100")
	e.svc.SendSecondFactor(ctx, "u1", profile.KindPhone)
	fresh = e.out.code(t, "+14155550100")
	if fresh == old {
		t.Skip("two random codes coincide")
	}
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindPhone, old); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("old second factor code: %v", err)
	}
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindPhone, fresh); err != nil {
		t.Fatal(err)
	}
}

func TestSendLimits(t *testing.T) {
	e := newEnv(t, func(c *profile.Config) { c.SendsPerTarget = 3; c.SendsPerTargetWindow = 30 * time.Minute })
	if _, err := e.svc.AddContact(ctx, "u1", profile.KindEmail, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	e.svc.Resend(ctx, "u1", profile.KindEmail, "a@example.com")
	// A different user sending to the same target counts too.
	if _, err := e.svc.AddContact(ctx, "u2", profile.KindEmail, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	lastGood := e.out.code(t, "a@example.com")
	e.clock.advance(5 * time.Minute)
	err := e.svc.Resend(ctx, "u1", profile.KindEmail, "a@example.com")
	var rl *profile.RateLimitError
	if !errors.Is(err, profile.ErrRateLimited) || !errors.As(err, &rl) || rl.RetryAfter != 25*time.Minute {
		t.Fatalf("4th send: %v (%+v)", err, rl)
	}
	c, err := e.svc.AddContact(ctx, "u3", profile.KindEmail, "a@example.com")
	if !errors.Is(err, profile.ErrRateLimited) || c.Value != "a@example.com" {
		t.Fatalf("5th send (add): %+v, %v", c, err)
	}
	if e.out.count() != 3 {
		t.Fatalf("%d sent, want 3", e.out.count())
	}
	// Refused sends did not void the last code.
	if _, err := e.svc.VerifyContact(ctx, "u2", profile.KindEmail, "a@example.com", lastGood); err != nil {
		t.Fatal(err)
	}
	// Another target is not limited; the window's end lifts the limit.
	if _, err := e.svc.AddContact(ctx, "u1", profile.KindEmail, "b@example.com"); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(25 * time.Minute)
	if err := e.svc.Resend(ctx, "u1", profile.KindEmail, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	// Second factor sends count against the target as well.
	e = newEnv(t, func(c *profile.Config) { c.SendsPerTarget = 2 })
	e.verified(t, "u1", profile.KindPhone, "+14155550100")                       // 1
	if err := e.svc.SendSecondFactor(ctx, "u1", profile.KindPhone); err != nil { // 2
		t.Fatal(err)
	}
	if err := e.svc.SendSecondFactor(ctx, "u1", profile.KindPhone); !errors.As(err, &rl) || rl.RetryAfter != time.Hour {
		t.Fatalf("3rd send: %v", err)
	}
	if !strings.Contains(rl.Error(), "3600s") {
		t.Errorf("Error() = %q", rl.Error())
	}
}

func TestConcurrentVerification(t *testing.T) {
	e := newEnv(t, func(c *profile.Config) { c.MaxFailures = 100 })
	e.svc.AddContact(ctx, "u1", profile.KindEmail, "a@example.com")
	code := e.out.code(t, "a@example.com")
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", code)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, profile.ErrInvalidCode):
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d verifications succeeded, want exactly 1", ok)
	}

	e.svc.SendSecondFactor(ctx, "u1", profile.KindEmail)
	code = e.out.code(t, "a@example.com")
	var mu sync.Mutex
	ok = 0
	for range n {
		wg.Go(func() {
			if e.svc.CheckSecondFactor(ctx, "u1", profile.KindEmail, code) == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d second factor checks succeeded, want exactly 1", ok)
	}
}

// Adding an address that another user has verified looks exactly like adding a new one; the
// code then fails like a wrong code.
func TestContactOfAnotherUser(t *testing.T) {
	e := newEnv(t, nil)
	e.verified(t, "owner", profile.KindEmail, "a@example.com")

	fresh, err1 := e.svc.AddContact(ctx, "u1", profile.KindEmail, "new@example.com")
	taken, err2 := e.svc.AddContact(ctx, "u2", profile.KindEmail, "a@example.com")
	if err1 != nil || err2 != nil || !taken.VerifiedAt.IsZero() || taken.Primary != fresh.Primary || taken.AddedAt != fresh.AddedAt {
		t.Fatalf("new: %+v %v; taken: %+v %v", fresh, err1, taken, err2)
	}
	code := e.out.code(t, "a@example.com")
	if _, err := e.svc.VerifyContact(ctx, "u2", profile.KindEmail, "a@example.com", code); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("verifying another user's address: %v, want ErrInvalidCode", err)
	}
	if err := e.svc.Resend(ctx, "u2", profile.KindEmail, "a@example.com"); err != nil {
		t.Fatalf("resend: %v", err)
	}
	cs, _ := e.svc.Contacts(ctx, "u2")
	if len(cs) != 1 || !cs[0].VerifiedAt.IsZero() {
		t.Fatalf("u2 contacts %+v", cs)
	}
	cs, _ = e.svc.Contacts(ctx, "owner")
	if len(cs) != 1 || cs[0].VerifiedAt.IsZero() || !cs[0].Primary {
		t.Fatalf("owner contacts %+v", cs)
	}
	if !strings.Contains(e.logs.String(), "contact_conflict") {
		t.Error("conflict not logged")
	}
}

func TestSecondFactor(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.svc.SendSecondFactor(ctx, "u1", profile.KindEmail); !errors.Is(err, profile.ErrNoContact) {
		t.Fatalf("no contact: %v", err)
	}
	e.svc.AddContact(ctx, "u1", profile.KindEmail, "a@example.com")
	if err := e.svc.SendSecondFactor(ctx, "u1", profile.KindEmail); !errors.Is(err, profile.ErrNoContact) {
		t.Fatalf("unverified contact only: %v", err)
	}
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindEmail, "123456"); !errors.Is(err, profile.ErrNoContact) {
		t.Fatalf("check without contact: %v", err)
	}
	e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", e.out.code(t, "a@example.com"))
	if err := e.svc.SendSecondFactor(ctx, "u1", profile.KindEmail); err != nil {
		t.Fatal(err)
	}
	m := e.out.emails[len(e.out.emails)-1]
	if m.To != "a@example.com" || m.Subject != "Your Example sign-in code" {
		t.Fatalf("message %+v", m)
	}
	code := e.out.code(t, "a@example.com")
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindEmail, other(code)); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindEmail, code); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindEmail, code); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("reused code: %v", err)
	}
}

func TestPrimaryAndRemove(t *testing.T) {
	e := newEnv(t, nil)
	e.verified(t, "u1", profile.KindEmail, "a@example.com")
	e.verified(t, "u1", profile.KindEmail, "b@example.com")
	e.svc.AddContact(ctx, "u1", profile.KindEmail, "c@example.com")
	primary := func() string {
		cs, _ := e.svc.Contacts(ctx, "u1")
		p := ""
		for _, c := range cs {
			if c.Primary {
				if p != "" {
					t.Fatalf("two primaries: %+v", cs)
				}
				p = c.Value
			}
		}
		return p
	}
	if p := primary(); p != "a@example.com" {
		t.Fatalf("primary %q", p)
	}
	if err := e.svc.SetPrimary(ctx, "u1", profile.KindEmail, "c@example.com"); !errors.Is(err, profile.ErrNotVerified) {
		t.Fatalf("unverified primary: %v", err)
	}
	if err := e.svc.SetPrimary(ctx, "u1", profile.KindEmail, "zzz@example.com"); !errors.Is(err, profile.ErrNoContact) {
		t.Fatalf("unknown primary: %v", err)
	}
	if err := e.svc.SetPrimary(ctx, "u1", profile.KindEmail, "B@example.com"); err != nil {
		t.Fatal(err)
	}
	if p := primary(); p != "b@example.com" {
		t.Fatalf("primary %q", p)
	}
	// Second factor codes go to the primary one; removing it voids its code and promotes a@.
	e.svc.SendSecondFactor(ctx, "u1", profile.KindEmail)
	code := e.out.code(t, "b@example.com")
	if err := e.svc.RemoveContact(ctx, "u1", profile.KindEmail, "b@example.com"); err != nil {
		t.Fatal(err)
	}
	if p := primary(); p != "a@example.com" {
		t.Fatalf("primary after removal %q", p)
	}
	if err := e.svc.CheckSecondFactor(ctx, "u1", profile.KindEmail, code); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("code of the removed contact: %v", err)
	}
	// Removing voids a pending verify code: re-adding without a send (rate limited) cannot
	// revive it.
	cCode := e.out.code(t, "c@example.com")
	if err := e.svc.RemoveContact(ctx, "u1", profile.KindEmail, "c@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "c@example.com", cCode); !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("code of a removed contact: %v", err)
	}
	// Removing what is not there is fine; removing the last verified one leaves no primary.
	if err := e.svc.RemoveContact(ctx, "u1", profile.KindEmail, "c@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RemoveContact(ctx, "u1", profile.KindEmail, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if cs, _ := e.svc.Contacts(ctx, "u1"); len(cs) != 0 {
		t.Fatalf("left %+v", cs)
	}
	if err := e.svc.SendSecondFactor(ctx, "u1", profile.KindEmail); !errors.Is(err, profile.ErrNoContact) {
		t.Fatal(err)
	}
}

func TestSendFailure(t *testing.T) {
	e := newEnv(t, nil)
	boom := errors.New("smtp down")
	e.out.fail = boom
	c, err := e.svc.AddContact(ctx, "u1", profile.KindEmail, "a@example.com")
	if !errors.Is(err, boom) || c.Value != "a@example.com" {
		t.Fatalf("%+v, %v", c, err)
	}
	e.out.fail = nil
	if err := e.svc.Resend(ctx, "u1", profile.KindEmail, "a@example.com"); err != nil {
		t.Fatal(err)
	}
}

// A store failure is returned wrapped, never as a wrong code.
func TestStoreFailure(t *testing.T) {
	st := memstore.New()
	e := newEnv(t, func(c *profile.Config) { c.Store = st })
	e.svc.AddContact(ctx, "u1", profile.KindEmail, "a@example.com")
	st.Close()
	_, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "a@example.com", "123456")
	if !errors.Is(err, store.ErrClosed) || errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("%v", err)
	}
}

// No code reaches the log, whatever happens.
func TestCodesNeverLogged(t *testing.T) {
	e := newEnv(t, func(c *profile.Config) { c.MaxFailures = 2; c.SendsPerTarget = 4 })
	e.verified(t, "u1", profile.KindEmail, "a@example.com")
	e.svc.AddContact(ctx, "u1", profile.KindPhone, "+14155550100")
	e.svc.VerifyContact(ctx, "u1", profile.KindPhone, "+14155550100", "000000")
	e.svc.VerifyContact(ctx, "u1", profile.KindPhone, "+14155550100", "999999")
	e.svc.SendSecondFactor(ctx, "u1", profile.KindEmail)
	e.svc.CheckSecondFactor(ctx, "u1", profile.KindEmail, e.out.code(t, "a@example.com"))
	e.svc.AddContact(ctx, "u2", profile.KindEmail, "a@example.com")
	e.svc.VerifyContact(ctx, "u2", profile.KindEmail, "a@example.com", e.out.code(t, "a@example.com"))
	for range 3 {
		e.svc.SendSecondFactor(ctx, "u1", profile.KindEmail)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "code_sent") || !strings.Contains(logs, "invalid_code") || !strings.Contains(logs, "code_rate_limited") {
		t.Fatalf("events missing from the log:\n%s", logs)
	}
	e.out.mu.Lock()
	defer e.out.mu.Unlock()
	for _, m := range e.out.emails {
		if c := codeRE.FindString(m.Text); strings.Contains(logs, c) {
			t.Errorf("code %s is in the log", c)
		}
	}
	for _, m := range e.out.sms {
		if c := codeRE.FindString(m.Text); strings.Contains(logs, c) {
			t.Errorf("code %s is in the log", c)
		}
	}
}

func TestLogSender(t *testing.T) {
	buf := &testutil.LogBuffer{}
	s := profile.LogSender{Logger: slogJSON(buf)}
	if err := s.SendEmail(ctx, profile.Email{To: "a@example.com", Subject: "Hi", Text: "code 123456"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SendSMS(ctx, profile.SMS{To: "+14155550100", Text: "code 654321"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Count(out, `"level":"WARN"`) != 2 || strings.Count(out, "development sender") != 2 ||
		!strings.Contains(out, "123456") || !strings.Contains(out, "654321") {
		t.Fatalf("log:\n%s", out)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.SendSMS(cctx, profile.SMS{To: "+14155550100", Text: "x"}); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// gatedCodes is a memory store whose ConsumeCode waits at a gate until it is open: guesses
// held there are under way, as over a network, while others arrive.
type gatedCodes struct {
	*memstore.Store
	mu      sync.Mutex
	open    bool
	gate    chan struct{}
	waiting atomic.Int32
}

func (s *gatedCodes) ConsumeCode(ctx context.Context, key string, hash []byte, now time.Time) error {
	s.mu.Lock()
	open := s.open
	s.mu.Unlock()
	if !open {
		s.waiting.Add(1)
		<-s.gate
	}
	return s.Store.ConsumeCode(ctx, key, hash, now)
}

// TestConcurrentGuessesCountedFirst: wrong guesses under way at once all count against the
// code before any is compared with it, so that after MaxFailures of them even the right code is
// refused — concurrency does not buy more guesses.
func TestConcurrentGuessesCountedFirst(t *testing.T) {
	st := &gatedCodes{Store: memstore.New(), gate: make(chan struct{})}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, func(c *profile.Config) { c.Store = st })
	ctx := context.Background()
	if _, err := e.svc.AddContact(ctx, "u1", profile.KindEmail, "victim@example.com"); err != nil {
		t.Fatal(err)
	}
	right := e.out.code(t, "victim@example.com")
	n, _ := strconv.Atoi(right)
	const guesses = 50
	var returned atomic.Int32
	var wg sync.WaitGroup
	for i := range guesses {
		wg.Go(func() {
			_, _ = e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "victim@example.com", fmt.Sprintf("%06d", (n+1+i)%1_000_000))
			returned.Add(1)
		})
	}
	for returned.Load()+st.waiting.Load() < guesses { // each guess refused, or held at the gate
		time.Sleep(time.Millisecond)
	}
	st.mu.Lock()
	st.open = true
	st.mu.Unlock()
	_, err := e.svc.VerifyContact(ctx, "u1", profile.KindEmail, "victim@example.com", right)
	close(st.gate)
	wg.Wait()
	if !errors.Is(err, profile.ErrInvalidCode) {
		t.Fatalf("the right code after %d concurrent wrong guesses (MaxFailures %d): %v, want ErrInvalidCode", guesses, profile.DefaultMaxFailures, err)
	}
	if w := st.waiting.Load(); w > int32(profile.DefaultMaxFailures) {
		t.Errorf("%d guesses were compared with the live code, MaxFailures is %d", w, profile.DefaultMaxFailures)
	}
}
