package memstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

func contact(user, value string) store.Contact {
	return store.Contact{UserID: user, Kind: "email", Value: value, AddedAt: base}
}

func TestContactCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxContacts(3))
	defer s.Close()
	for _, c := range []store.Contact{contact("a", "1@x"), contact("a", "2@x"), contact("b", "1@x")} {
		if _, err := s.AddContact(ctx, c); err != nil {
			t.Fatalf("AddContact(%s, %s) = %v", c.UserID, c.Value, err)
		}
	}
	if _, err := s.AddContact(ctx, contact("c", "1@x")); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("AddContact when full = %v, want ErrCapacity", err)
	}
	// Held contacts keep working when the store is full: added again, verified, made primary.
	if got, err := s.AddContact(ctx, contact("a", "1@x")); err != nil || got.Value != "1@x" {
		t.Errorf("AddContact of a held contact when full = %+v, %v; want it, nil", got, err)
	}
	if _, err := s.VerifyContact(ctx, "a", "email", "2@x", base); err != nil {
		t.Errorf("VerifyContact when full = %v", err)
	}
	if err := s.SetPrimaryContact(ctx, "a", "email", "2@x"); err != nil {
		t.Errorf("SetPrimaryContact when full = %v", err)
	}
	if got := s.Sizes().Contacts; got != 3 {
		t.Errorf("Sizes().Contacts = %d, want 3", got)
	}
	// A deletion makes room.
	if err := s.DeleteContact(ctx, "b", "email", "1@x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddContact(ctx, contact("c", "1@x")); err != nil {
		t.Errorf("AddContact after a deletion = %v, want nil", err)
	}
	// Out-of-range times are refused, as in a store that keeps them.
	far := time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.VerifyContact(ctx, "c", "email", "1@x", far); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("VerifyContact at a now after 2262 = %v, want ErrInvalid", err)
	}
	c := contact("d", "1@x")
	c.AddedAt = far
	if _, err := s.AddContact(ctx, c); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddContact added after 2262 = %v, want ErrInvalid", err)
	}
}

func verificationCode(key string, expires time.Time) store.VerificationCode {
	return store.VerificationCode{Key: key, Hash: []byte("hash/" + key), ExpiresAt: expires}
}

func TestVerificationCodeCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxVerificationCodes(3))
	defer s.Close()
	short := verificationCode("short", base.Add(time.Minute))
	for _, c := range []store.VerificationCode{short, verificationCode("long1", base.Add(time.Hour)), verificationCode("long2", base.Add(time.Hour))} {
		if err := s.PutCode(ctx, c, base); err != nil {
			t.Fatalf("PutCode(%s) = %v", c.Key, err)
		}
	}
	extra := verificationCode("extra", base.Add(time.Hour))
	if err := s.PutCode(ctx, extra, base.Add(time.Minute-1)); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("PutCode when full = %v, want ErrCapacity", err)
	}
	// Held codes keep working when the store is full: replaced (a resend), failed, read.
	if err := s.PutCode(ctx, verificationCode("long1", base.Add(2*time.Hour)), base); err != nil {
		t.Errorf("PutCode replacing a held code when full = %v, want nil", err)
	}
	if n, err := s.AddCodeFailure(ctx, "long2", 5, base); err != nil || n != 1 {
		t.Errorf("AddCodeFailure when full = %d, %v; want 1, nil", n, err)
	}
	// Once one has expired, it makes room; the purge takes the expired code.
	if err := s.PutCode(ctx, extra, short.ExpiresAt); err != nil {
		t.Fatalf("PutCode after one expired = %v, want nil", err)
	}
	if got := s.Sizes().VerificationCodes; got != 3 {
		t.Errorf("Sizes().VerificationCodes = %d, want 3", got)
	}
	// Consuming one, or killing it with failures, makes room too.
	if err := s.ConsumeCode(ctx, "extra", extra.Hash, base); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCode(ctx, verificationCode("extra2", base.Add(time.Hour)), base); err != nil {
		t.Fatalf("PutCode after a consume = %v, want nil", err)
	}
	if n, err := s.AddCodeFailure(ctx, "extra2", 1, base); err != nil || n != 1 {
		t.Fatalf("AddCodeFailure(max 1) = %d, %v", n, err)
	}
	if got := s.Sizes().VerificationCodes; got != 2 {
		t.Errorf("Sizes().VerificationCodes after a code died = %d, want 2", got)
	}
	if n, err := s.AddCodeFailure(ctx, "long2", 0, base); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddCodeFailure(max 0) = %d, %v; want ErrInvalid", n, err)
	}
}

// TestVerificationCodeFloodBounded puts codes nobody uses, and checks that the store never holds
// more than its bound and drops expired codes as new ones come.
func TestVerificationCodeFloodBounded(t *testing.T) {
	ctx := t.Context()
	const limit, total = 1000, 20_000
	s := memstore.New(memstore.WithMaxVerificationCodes(limit))
	defer s.Close()
	for i := range total {
		now := base.Add(time.Duration(i) * time.Second)
		if err := s.PutCode(ctx, verificationCode(fmt.Sprint("flood", i), now.Add(500*time.Second)), now); err != nil {
			t.Fatalf("PutCode #%d = %v", i, err)
		}
		if n := s.Sizes().VerificationCodes; n > 501 {
			t.Fatalf("after %d codes the store holds %d, 500 live", i+1, n)
		}
	}
}
