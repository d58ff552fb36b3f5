package mfa_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/walletauth/walletauth/mfa"
	"github.com/walletauth/walletauth/store/memstore"
)

// A user enrols, confirms with the first code of the authenticator app, and signs in later
// with another code. A code works once.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
	svc, err := mfa.New(mfa.Config{
		Store:  memstore.New(),
		Issuer: "Example",
		// In production: 32 random bytes per key, from a secret store.
		EncryptionKeys: map[string][]byte{"2026-03": []byte("0123456789abcdef0123456789abcdef")},
		CurrentKeyID:   "2026-03",
		Clock:          func() time.Time { return now },
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}

	enr, err := svc.Enroll(ctx, "user-1", "alice@example.com")
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(enr.URL)
	fmt.Println(u.Scheme, u.Host, u.Path, u.Query().Get("issuer"))

	// The user scans enr.QRPNG (or types enr.Secret); the app shows the current code.
	code, _ := totp.GenerateCode(enr.Secret, now)
	recovery, err := svc.Confirm(ctx, "user-1", code)
	fmt.Println(len(recovery), "recovery codes,", err)

	now = now.Add(30 * time.Second)
	code, _ = totp.GenerateCode(enr.Secret, now)
	fmt.Println(svc.Verify(ctx, "user-1", code))
	fmt.Println(svc.Verify(ctx, "user-1", code))
	// Output:
	// otpauth totp /Example:alice@example.com Example
	// 10 recovery codes, <nil>
	// <nil>
	// mfa: invalid code
}

// Too many wrong codes lock the user out until the attempt window ends.
func ExampleLockedError() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
	svc, _ := mfa.New(mfa.Config{
		Store:          memstore.New(),
		Issuer:         "Example",
		EncryptionKeys: map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")},
		CurrentKeyID:   "k1",
		MaxAttempts:    3,
		AttemptWindow:  10 * time.Minute,
		Clock:          func() time.Time { return now },
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	enr, _ := svc.Enroll(ctx, "user-1", "alice")
	code, _ := totp.GenerateCode(enr.Secret, now)
	_, _ = svc.Confirm(ctx, "user-1", code)

	for range 4 {
		err := svc.Verify(ctx, "user-1", "not a code")
		var locked *mfa.LockedError
		if errors.As(err, &locked) {
			fmt.Println("locked for", locked.Until.Sub(now))
		} else {
			fmt.Println(err)
		}
	}
	// Output:
	// mfa: invalid code
	// mfa: invalid code
	// mfa: invalid code
	// locked for 10m0s
}
