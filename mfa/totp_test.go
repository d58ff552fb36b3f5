package mfa_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletauth/walletauth/mfa"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

func TestNewConfig(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	good := func() mfa.Config {
		return mfa.Config{Store: st, Issuer: "Example", EncryptionKeys: map[string][]byte{"k1": testKey(1)}, CurrentKeyID: "k1"}
	}
	if _, err := mfa.New(good()); err != nil {
		t.Fatalf("New with a good config: %v", err)
	}
	bad := map[string]func(*mfa.Config){
		"no store":           func(c *mfa.Config) { c.Store = nil },
		"no issuer":          func(c *mfa.Config) { c.Issuer = "" },
		"issuer with colon":  func(c *mfa.Config) { c.Issuer = "Acme:Corp" },
		"issuer control":     func(c *mfa.Config) { c.Issuer = "Acme\n" },
		"long issuer":        func(c *mfa.Config) { c.Issuer = strings.Repeat("a", 129) },
		"no keys":            func(c *mfa.Config) { c.EncryptionKeys = nil },
		"short key":          func(c *mfa.Config) { c.EncryptionKeys["k1"] = make([]byte, 16) },
		"long key":           func(c *mfa.Config) { c.EncryptionKeys["k1"] = make([]byte, 33) },
		"empty key id":       func(c *mfa.Config) { c.EncryptionKeys[""] = testKey(2) },
		"key id with space":  func(c *mfa.Config) { c.EncryptionKeys["k 2"] = testKey(2) },
		"long key id":        func(c *mfa.Config) { c.EncryptionKeys[strings.Repeat("k", 65)] = testKey(2) },
		"no current key":     func(c *mfa.Config) { c.CurrentKeyID = "" },
		"unknown current":    func(c *mfa.Config) { c.CurrentKeyID = "k9" },
		"negative attempts":  func(c *mfa.Config) { c.MaxAttempts = -1 },
		"negative window":    func(c *mfa.Config) { c.AttemptWindow = -time.Second },
		"negative codes":     func(c *mfa.Config) { c.RecoveryCodes = -1 },
		"too many codes":     func(c *mfa.Config) { c.RecoveryCodes = 65 },
		"unknown current v2": func(c *mfa.Config) { c.EncryptionKeys = map[string][]byte{"k2": testKey(2)} },
	}
	for name, mod := range bad {
		cfg := good()
		mod(&cfg)
		if _, err := mfa.New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestEnrollConfirmVerify(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	if on, err := e.svc.Enabled(ctx, "alice"); err != nil || on {
		t.Fatalf("Enabled before enrolment = %v, %v", on, err)
	}
	enr, err := e.svc.Enroll(ctx, "alice", "0x1234…abcd")
	if err != nil {
		t.Fatal(err)
	}
	// The secret: ≥ 160 bits, base32.
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
	if err != nil || len(raw) < 20 {
		t.Fatalf("secret %d bytes (%v); want ≥ 20", len(raw), err)
	}
	// The otpauth URL.
	u, err := url.Parse(enr.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Example:0x1234…abcd" ||
		q.Get("secret") != enr.Secret || q.Get("issuer") != "Example" || q.Get("algorithm") != "SHA1" ||
		q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Errorf("otpauth URL %s", enr.URL)
	}
	// The QR code.
	img, err := png.DecodeConfig(bytes.NewReader(enr.QRPNG))
	if err != nil || img.Width != mfa.QRSize || img.Height != mfa.QRSize {
		t.Errorf("QR PNG: %+v, %v", img, err)
	}

	// Not active before confirmation.
	code := e.code(t, enr.Secret, 0)
	if err := e.svc.Verify(ctx, "alice", code); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Verify before Confirm: %v; want ErrNotEnrolled", err)
	}
	if on, _ := e.svc.Enabled(ctx, "alice"); on {
		t.Fatal("Enabled before Confirm")
	}
	if _, err := e.svc.Confirm(ctx, "alice", "000000x"); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("Confirm with a malformed code: %v", err)
	}
	codes, err := e.svc.Confirm(ctx, "alice", code)
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if len(codes) != mfa.DefaultRecoveryCodes {
		t.Errorf("%d recovery codes; want %d", len(codes), mfa.DefaultRecoveryCodes)
	}
	if n, err := e.svc.RecoveryCodesLeft(ctx, "alice"); err != nil || n != len(codes) {
		t.Errorf("RecoveryCodesLeft = %d, %v", n, err)
	}
	if on, err := e.svc.Enabled(ctx, "alice"); err != nil || !on {
		t.Fatalf("Enabled after Confirm = %v, %v", on, err)
	}
	// The confirming code spent its step.
	if err := e.svc.Verify(ctx, "alice", code); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("Verify with the confirming code: %v; want ErrInvalidCode", err)
	}
	if _, err := e.svc.Confirm(ctx, "alice", code); !errors.Is(err, mfa.ErrAlreadyEnabled) {
		t.Fatalf("Confirm again: %v; want ErrAlreadyEnabled", err)
	}
	// A later step verifies; spaces are ignored.
	e.clk.Advance(30 * time.Second)
	next := e.code(t, enr.Secret, 0)
	if err := e.svc.Verify(ctx, "alice", next[:3]+" "+next[3:]); err != nil {
		t.Fatalf("Verify at the next step: %v", err)
	}
	f, err := e.st.GetTOTP(ctx, "alice")
	if err != nil || f.LastStep != e.clk.Now().Unix()/30 || !f.ConfirmedAt.Equal(t0) {
		t.Errorf("stored factor %+v, %v", f, err)
	}
}

func TestConfirmNeedsPendingEnrolment(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.svc.Confirm(context.Background(), "nobody", "123456"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Confirm without enrolment: %v; want ErrNotEnrolled", err)
	}
}

func TestEnrollAccountName(t *testing.T) {
	e := newEnv(t, nil)
	for _, name := range []string{"", "eip155:1:0xabc", "a\x00b", strings.Repeat("a", 257)} {
		if _, err := e.svc.Enroll(context.Background(), "alice", name); err == nil || isSentinel(err) {
			t.Errorf("Enroll with account name %q: %v", name, err)
		}
	}
	if _, err := e.svc.Enroll(context.Background(), "", "alice"); err == nil {
		t.Error("Enroll without a user id succeeded")
	}
}

func TestEnrollTwiceReplaces(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	first := e.enroll(t, "alice")
	f1, _ := e.st.GetTOTP(ctx, "alice")
	second := e.enroll(t, "alice")
	f2, _ := e.st.GetTOTP(ctx, "alice")
	if first.Secret == second.Secret || bytes.Equal(f1.Secret, f2.Secret) {
		t.Fatal("a second enrolment kept the secret")
	}
	if _, err := e.svc.Confirm(ctx, "alice", e.code(t, first.Secret, 0)); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("Confirm with the replaced secret's code: %v; want ErrInvalidCode", err)
	}
	if _, err := e.svc.Confirm(ctx, "alice", e.code(t, second.Secret, 0)); err != nil {
		t.Fatalf("Confirm with the new secret's code: %v", err)
	}
	if _, err := e.svc.Enroll(ctx, "alice", "alice"); !errors.Is(err, mfa.ErrAlreadyEnabled) {
		t.Fatalf("Enroll after Confirm: %v; want ErrAlreadyEnabled", err)
	}
	if f, _ := e.st.GetTOTP(ctx, "alice"); f.ConfirmedAt.IsZero() {
		t.Fatal("the confirmed factor was replaced")
	}
}

func TestReplay(t *testing.T) {
	ctx := context.Background()

	t.Run("same code again", func(t *testing.T) {
		e := newEnv(t, nil)
		secret, _ := e.enable(t, "alice")
		code := e.code(t, secret, 0)
		if err := e.svc.Verify(ctx, "alice", code); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Verify(ctx, "alice", code); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("replayed code: %v; want ErrInvalidCode", err)
		}
		// Still refused while it is within the skew of the clock.
		e.clk.Advance(30 * time.Second)
		if err := e.svc.Verify(ctx, "alice", code); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("replayed code one step later: %v; want ErrInvalidCode", err)
		}
	})

	t.Run("earlier step after a later one", func(t *testing.T) {
		e := newEnv(t, nil)
		secret, _ := e.enable(t, "alice")
		later, current := e.code(t, secret, 30*time.Second), e.code(t, secret, 0)
		if later == current {
			t.Skip("two steps share a code (one chance in a million)")
		}
		if err := e.svc.Verify(ctx, "alice", later); err != nil {
			t.Fatalf("code of the next step: %v", err)
		}
		if err := e.svc.Verify(ctx, "alice", current); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("code of an earlier step: %v; want ErrInvalidCode", err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		e := newEnv(t, func(c *mfa.Config) { c.MaxAttempts = 100 })
		secret, _ := e.enable(t, "alice")
		code := e.code(t, secret, 0)
		const n = 20
		errs := make(chan error, n)
		var start, done sync.WaitGroup
		start.Add(1)
		for range n {
			done.Go(func() {
				start.Wait()
				errs <- e.svc.Verify(ctx, "alice", code)
			})
		}
		start.Done()
		done.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, mfa.ErrInvalidCode):
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d concurrent uses of one code succeeded; want 1", ok, n)
		}
	})
}

func TestSkew(t *testing.T) {
	ctx := context.Background()
	for _, at := range []time.Duration{0, 14 * time.Second, -15 * time.Second} { // mid-step, last second, first second
		for steps, ok := range map[int]bool{-2: false, -1: true, 0: true, 1: true, 2: false} {
			e := newEnv(t, nil)
			secret, _ := e.enable(t, "alice")
			e.clk.Advance(2*30*time.Second + at) // the confirming step is 3 steps back
			code := e.code(t, secret, time.Duration(steps)*30*time.Second)
			if !ok {
				// A code of a refused step that happens to equal an accepted step's code would
				// verify; skip that one-in-a-million case.
				collide := false
				for d := -1; d <= 1; d++ {
					collide = collide || code == e.code(t, secret, time.Duration(d)*30*time.Second)
				}
				if collide {
					continue
				}
			}
			err := e.svc.Verify(ctx, "alice", code)
			if ok && err != nil {
				t.Errorf("clock %+v, code %+d steps: %v; want accepted", at, steps, err)
			}
			if !ok && !errors.Is(err, mfa.ErrInvalidCode) {
				t.Errorf("clock %+v, code %+d steps: %v; want ErrInvalidCode", at, steps, err)
			}
		}
	}
}

func TestMalformedCodes(t *testing.T) {
	e := newEnv(t, func(c *mfa.Config) { c.MaxAttempts = 100 })
	secret, _ := e.enable(t, "alice")
	good := e.code(t, secret, 0)
	for _, c := range []string{"", good[:5], good + "0", "abcdef", "12345a", "١٢٣٤٥٦", "-" + good, good + "\n",
		"+12345", strings.Repeat(" ", 100) + good} {
		if err := e.svc.Verify(context.Background(), "alice", c); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Errorf("Verify(%q): %v; want ErrInvalidCode", c, err)
		}
	}
	if err := e.svc.Verify(context.Background(), "alice", " "+good+" "); err != nil {
		t.Errorf("Verify with spaces around the code: %v", err)
	}
}

func TestLockout(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil) // 5 attempts per 5 minutes
	secret, _ := e.enable(t, "alice")
	right := e.code(t, secret, 0)
	wrong := "000000"
	if wrong == right {
		wrong = "111111"
	}
	start := e.clk.Now()
	for i := range mfa.DefaultMaxAttempts {
		if err := e.svc.Verify(ctx, "alice", wrong); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("wrong code %d: %v; want ErrInvalidCode", i+1, err)
		}
		e.clk.Advance(time.Second)
	}
	// Locked: even the right code (of the current step) is refused, without being checked.
	until := start.Add(mfa.DefaultAttemptWindow)
	for _, c := range []string{e.code(t, secret, 0), wrong} {
		err := e.svc.Verify(ctx, "alice", c)
		var locked *mfa.LockedError
		if !errors.Is(err, mfa.ErrLocked) || !errors.As(err, &locked) || !locked.Until.Equal(until) {
			t.Fatalf("attempt over the limit: %v; want a LockedError until %v", err, until)
		}
	}
	// The lock covers recovery codes and confirmation too (one counter per user).
	if err := e.svc.UseRecoveryCode(ctx, "alice", "0000-0000-0000-0000"); !errors.Is(err, mfa.ErrLocked) {
		t.Fatalf("recovery code while locked: %v; want ErrLocked", err)
	}
	// One second before the window ends: still locked.
	e.clk.Set(until.Add(-time.Second))
	if err := e.svc.Verify(ctx, "alice", e.code(t, secret, 0)); !errors.Is(err, mfa.ErrLocked) {
		t.Fatalf("just before the window's end: %v; want ErrLocked", err)
	}
	// At its end the right code works again.
	e.clk.Set(until)
	if err := e.svc.Verify(ctx, "alice", e.code(t, secret, 0)); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// and the success reset the counter: MaxAttempts fresh attempts, then the lock.
	for i := range mfa.DefaultMaxAttempts {
		if err := e.svc.Verify(ctx, "alice", wrong); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("wrong code %d after the reset: %v; want ErrInvalidCode", i+1, err)
		}
	}
	if err := e.svc.Verify(ctx, "alice", wrong); !errors.Is(err, mfa.ErrLocked) {
		t.Fatalf("attempt %d after the reset: %v; want ErrLocked", mfa.DefaultMaxAttempts+1, err)
	}
	if !strings.Contains(e.logs.String(), `"event":"mfa_locked"`) {
		t.Error("the lockout was not logged")
	}
}

func TestLockoutConfirm(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *mfa.Config) { c.MaxAttempts = 2; c.AttemptWindow = time.Minute })
	enr := e.enroll(t, "alice")
	for range 2 {
		if _, err := e.svc.Confirm(ctx, "alice", "12345x"); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Confirm(ctx, "alice", e.code(t, enr.Secret, 0)); !errors.Is(err, mfa.ErrLocked) {
		t.Fatalf("Confirm over the limit: %v; want ErrLocked", err)
	}
	e.clk.Advance(time.Minute)
	if _, err := e.svc.Confirm(ctx, "alice", e.code(t, enr.Secret, 0)); err != nil {
		t.Fatalf("Confirm after the window: %v", err)
	}
}

func TestDisable(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	secret, codes := e.enable(t, "alice")
	if err := e.svc.Disable(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Verify(ctx, "alice", e.code(t, secret, 0)); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Verify after Disable: %v; want ErrNotEnrolled", err)
	}
	if err := e.svc.UseRecoveryCode(ctx, "alice", codes[0]); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("UseRecoveryCode after Disable: %v; want ErrNotEnrolled", err)
	}
	if n, err := e.svc.RecoveryCodesLeft(ctx, "alice"); err != nil || n != 0 {
		t.Fatalf("RecoveryCodesLeft after Disable = %d, %v", n, err)
	}
	if on, err := e.svc.Enabled(ctx, "alice"); err != nil || on {
		t.Fatalf("Enabled after Disable = %v, %v", on, err)
	}
	if _, err := e.svc.RegenerateRecoveryCodes(ctx, "alice"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("RegenerateRecoveryCodes after Disable: %v; want ErrNotEnrolled", err)
	}
	if err := e.svc.Disable(ctx, "alice"); err != nil {
		t.Fatalf("Disable again: %v", err)
	}
	// A new enrolment starts afresh.
	e.enable(t, "alice")
}

// failingStore fails the calls named in fail with errBroken, and runs beforeUseStep (when set)
// before UseTOTPStep and beforeReseal before ResealTOTP: between the service's read of the
// factor and its write.
type failingStore struct {
	*memstore.Store
	mu            sync.Mutex
	fail          map[string]bool
	beforeUseStep func()
	beforeReseal  func()
}

var errBroken = errors.New("database on fire")

func (f *failingStore) failing(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail[name]
}

func (f *failingStore) IncrementCounter(ctx context.Context, key string, w time.Duration, now time.Time) (int64, time.Time, error) {
	if f.failing("IncrementCounter") {
		return 0, time.Time{}, errBroken
	}
	return f.Store.IncrementCounter(ctx, key, w, now)
}

func (f *failingStore) GetTOTP(ctx context.Context, userID string) (store.TOTP, error) {
	if f.failing("GetTOTP") {
		return store.TOTP{}, errBroken
	}
	return f.Store.GetTOTP(ctx, userID)
}

func (f *failingStore) UseTOTPStep(ctx context.Context, userID string, secret []byte, step int64, now time.Time) (store.TOTP, error) {
	if f.beforeUseStep != nil {
		f.beforeUseStep()
	}
	if f.failing("UseTOTPStep") {
		return store.TOTP{}, errBroken
	}
	return f.Store.UseTOTPStep(ctx, userID, secret, step, now)
}

func (f *failingStore) ResealTOTP(ctx context.Context, userID string, oldSecret, newSecret []byte, keyID string) error {
	if f.beforeReseal != nil {
		f.beforeReseal()
	}
	if f.failing("ResealTOTP") {
		return errBroken
	}
	return f.Store.ResealTOTP(ctx, userID, oldSecret, newSecret, keyID)
}

func (f *failingStore) UseRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	if f.failing("UseRecoveryCode") {
		return errBroken
	}
	return f.Store.UseRecoveryCode(ctx, userID, hash)
}

func (f *failingStore) ResetCounter(ctx context.Context, key string) error {
	if f.failing("ResetCounter") {
		return errBroken
	}
	return f.Store.ResetCounter(ctx, key)
}

// TestStoreFailuresFailClosed checks that a store error refuses the attempt and is returned
// wrapped, as none of the sentinels.
func TestStoreFailuresFailClosed(t *testing.T) {
	ctx := context.Background()
	type op func(e *env, secret string, codes []string) error
	verify := func(e *env, secret string, _ []string) error { return e.svc.Verify(ctx, "alice", e.code(t, secret, 0)) }
	recovery := func(e *env, _ string, codes []string) error { return e.svc.UseRecoveryCode(ctx, "alice", codes[0]) }
	enabled := func(e *env, _ string, _ []string) error { _, err := e.svc.Enabled(ctx, "alice"); return err }
	for call, ops := range map[string][]op{
		"IncrementCounter": {verify, recovery},
		"GetTOTP":          {verify, recovery, enabled},
		"UseTOTPStep":      {verify},
		"UseRecoveryCode":  {recovery},
	} {
		for i, o := range ops {
			fs := &failingStore{Store: memstore.New()}
			e := newEnv(t, func(c *mfa.Config) { c.Store = fs })
			secret, codes := e.enable(t, "alice")
			fs.mu.Lock()
			fs.fail = map[string]bool{call: true}
			fs.mu.Unlock()
			if err := o(e, secret, codes); !errors.Is(err, errBroken) || isSentinel(err) {
				t.Errorf("%s failing, operation %d: %v; want the store's error, wrapped, and no sentinel", call, i, err)
			}
		}
	}
	// A counter that cannot be reset does not undo a success.
	fs := &failingStore{Store: memstore.New()}
	e := newEnv(t, func(c *mfa.Config) { c.Store = fs })
	secret, _ := e.enable(t, "alice")
	fs.mu.Lock()
	fs.fail = map[string]bool{"ResetCounter": true}
	fs.mu.Unlock()
	if err := e.svc.Verify(ctx, "alice", e.code(t, secret, 0)); err != nil {
		t.Fatalf("Verify with a failing ResetCounter: %v", err)
	}
}

// wantPending checks that the user's factor is stored unconfirmed, with no step spent.
func wantPending(t *testing.T, st store.MFAStore, user string) {
	t.Helper()
	f, err := st.GetTOTP(context.Background(), user)
	if err != nil {
		t.Fatalf("GetTOTP(%s): %v", user, err)
	}
	if !f.ConfirmedAt.IsZero() || f.LastStep != 0 {
		t.Fatalf("%s's new enrolment: ConfirmedAt %v, LastStep %d; want unconfirmed, no step spent", user, f.ConfirmedAt, f.LastStep)
	}
}

// TestFactorReplacedDuringCheck: a code checked against one secret must not spend a step of a
// factor that replaced it meanwhile, nor confirm it.
func TestFactorReplacedDuringCheck(t *testing.T) {
	ctx := context.Background()
	fs := &failingStore{Store: memstore.New()}
	e := newEnv(t, func(c *mfa.Config) { c.Store = fs })
	first := e.enroll(t, "alice")
	var second *mfa.Enrollment
	fs.beforeUseStep = func() {
		fs.beforeUseStep = nil
		second = e.enroll(t, "alice") // between Confirm's GetTOTP and its UseTOTPStep
	}
	if _, err := e.svc.Confirm(ctx, "alice", e.code(t, first.Secret, 0)); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("Confirm of a replaced enrolment: %v; want ErrInvalidCode", err)
	}
	wantPending(t, fs, "alice")
	if on, err := e.svc.Enabled(ctx, "alice"); err != nil || on {
		t.Fatalf("Enabled after the refused Confirm = %v, %v; want false", on, err)
	}
	// The new enrolment confirms with its own code, of the very same step.
	if _, err := e.svc.Confirm(ctx, "alice", e.code(t, second.Secret, 0)); err != nil {
		t.Fatalf("Confirm of the new enrolment: %v", err)
	}
	if !strings.Contains(e.logs.String(), `"reason":"replayed_or_changed"`) {
		t.Error("the refused Confirm was not logged with its reason")
	}
}

// TestFactorReenrolledDuringVerify: a code of a confirmed factor, checked while the user disables
// it and enrols again, must not confirm the new enrolment.
func TestFactorReenrolledDuringVerify(t *testing.T) {
	ctx := context.Background()
	fs := &failingStore{Store: memstore.New()}
	e := newEnv(t, func(c *mfa.Config) { c.Store = fs })
	secret, _ := e.enable(t, "alice")
	var second *mfa.Enrollment
	fs.beforeUseStep = func() {
		fs.beforeUseStep = nil
		if err := e.svc.Disable(ctx, "alice"); err != nil {
			t.Errorf("Disable: %v", err)
		}
		second = e.enroll(t, "alice")
	}
	if err := e.svc.Verify(ctx, "alice", e.code(t, secret, 0)); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("Verify against a replaced factor: %v; want ErrInvalidCode", err)
	}
	wantPending(t, fs, "alice")
	if err := e.svc.Verify(ctx, "alice", e.code(t, secret, 0)); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Verify with the new enrolment pending: %v; want ErrNotEnrolled", err)
	}
	if _, err := e.svc.Confirm(ctx, "alice", e.code(t, second.Secret, 0)); err != nil {
		t.Fatalf("Confirm of the new enrolment: %v", err)
	}
}
