package mfa_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/mfa"
	"github.com/walletauth/walletauth/store/memstore"
)

// t0 is the start time of the tests' clocks: 15 s into a time step.
var t0 = time.Unix(1_700_000_025, 0).UTC()

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, mfa.KeySize) }

// env is a service over a memory store with an injected clock and a captured log.
type env struct {
	cfg  mfa.Config
	svc  *mfa.Service
	st   *memstore.Store
	clk  *testutil.Clock
	logs *testutil.LogBuffer
}

func newEnv(t testing.TB, mod func(*mfa.Config)) *env {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { _ = st.Close() })
	e := &env{st: st, clk: testutil.NewClock(t0), logs: &testutil.LogBuffer{}}
	e.cfg = mfa.Config{
		Store:          st,
		Issuer:         "Example",
		EncryptionKeys: map[string][]byte{"k1": testKey(1)},
		CurrentKeyID:   "k1",
		Clock:          e.clk.Now,
		// JSON, without the record's own (real) time: the only digits left are the test's.
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}})),
	}
	if mod != nil {
		mod(&e.cfg)
	}
	e.svc = e.newService(t, e.cfg)
	return e
}

func (e *env) newService(t testing.TB, cfg mfa.Config) *mfa.Service {
	t.Helper()
	svc, err := mfa.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return svc
}

// code computes the code of secret at the clock's time plus d, independently of the service.
func (e *env) code(t testing.TB, secret string, d time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, e.clk.Now().Add(d))
	if err != nil {
		t.Fatalf("GenerateCode: %v", err)
	}
	return c
}

// enroll starts an enrolment.
func (e *env) enroll(t testing.TB, user string) *mfa.Enrollment {
	t.Helper()
	enr, err := e.svc.Enroll(context.Background(), user, user+"@example.com")
	if err != nil {
		t.Fatalf("Enroll(%s): %v", user, err)
	}
	return enr
}

// enable enrols and confirms a factor for user and moves the clock to the next time step, so
// that a fresh code verifies. It returns the secret and the recovery codes.
func (e *env) enable(t testing.TB, user string) (string, []string) {
	t.Helper()
	enr := e.enroll(t, user)
	codes, err := e.svc.Confirm(context.Background(), user, e.code(t, enr.Secret, 0))
	if err != nil {
		t.Fatalf("Confirm(%s): %v", user, err)
	}
	e.clk.Advance(mfa.Period * time.Second)
	return enr.Secret, codes
}

// isSentinel reports whether err is one of the package's sentinels.
func isSentinel(err error) bool {
	for _, s := range []error{mfa.ErrInvalidCode, mfa.ErrLocked, mfa.ErrNotEnrolled, mfa.ErrAlreadyEnabled} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
