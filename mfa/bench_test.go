package mfa_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/walletauth/walletauth/mfa"
)

// BenchmarkTOTPVerify measures [mfa.Service.Verify] on the memory store: the attempt counter,
// reading and opening the sealed secret, computing and comparing the codes of three time steps,
// and the store's atomic once-per-step update. Every iteration uses a new time step (the clock
// moves 30 s) with a code computed before the timer starts. Log records are discarded, so the
// figure is the package's own work.
func BenchmarkTOTPVerify(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, func(c *mfa.Config) { c.MaxAttempts = 1 << 30; c.Logger = slog.New(slog.DiscardHandler) })
	secret, _ := e.enable(b, "alice")
	start := e.clk.Now()
	codes := make([]string, b.N)
	for i := range codes {
		c, err := totp.GenerateCode(secret, start.Add(time.Duration(i)*30*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		codes[i] = c
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.clk.Set(start.Add(time.Duration(i) * 30 * time.Second))
		if err := e.svc.Verify(ctx, "alice", codes[i]); err != nil {
			b.Fatalf("iteration %d: %v", i, err)
		}
	}
}

// BenchmarkPquernaValidateCustom is the reference: pquerna/otp's ValidateCustom with a skew of
// one step and a code of the current step (one code computed), no store.
func BenchmarkPquernaValidateCustom(b *testing.B) {
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	now := time.Unix(1_700_000_025, 0)
	code, _ := totp.GenerateCode(secret, now)
	opts := totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := totp.ValidateCustom(code, secret, now, opts); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
