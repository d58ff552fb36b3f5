package mfa_test

import (
	"context"
	"errors"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/walletauth/walletauth/mfa"
)

// recoveryAlphabet is the alphabet recovery codes are documented to use: Crockford's base32 in
// lower case.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

var recoveryFormat = regexp.MustCompile(`^[` + recoveryAlphabet + `]{4}(-[` + recoveryAlphabet + `]{4}){3}$`)

func TestRecoveryCodes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *mfa.Config) { c.MaxAttempts = 100 })
	_, codes := e.enable(t, "alice")
	seen := map[string]bool{}
	for _, c := range codes {
		if !recoveryFormat.MatchString(c) {
			t.Errorf("recovery code %q is not xxxx-xxxx-xxxx-xxxx of the alphabet", c)
		}
		if seen[c] {
			t.Errorf("recovery code %q twice", c)
		}
		seen[c] = true
	}

	// Single use.
	if err := e.svc.UseRecoveryCode(ctx, "alice", codes[0]); err != nil {
		t.Fatalf("UseRecoveryCode: %v", err)
	}
	if err := e.svc.UseRecoveryCode(ctx, "alice", codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("a used recovery code again: %v; want ErrInvalidCode", err)
	}
	if n, err := e.svc.RecoveryCodesLeft(ctx, "alice"); err != nil || n != len(codes)-1 {
		t.Fatalf("RecoveryCodesLeft = %d, %v; want %d", n, err, len(codes)-1)
	}
	if !strings.Contains(e.logs.String(), `"msg":"mfa: recovery code used"`) ||
		!strings.Contains(e.logs.String(), `"codes_left":9`) || !strings.Contains(e.logs.String(), `"level":"WARN"`) {
		t.Errorf("the use of a recovery code was not logged at Warn with the codes left:\n%s", e.logs)
	}

	// Another user's code does not work.
	_, other := e.enable(t, "bob")
	if err := e.svc.UseRecoveryCode(ctx, "alice", other[0]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("bob's code for alice: %v; want ErrInvalidCode", err)
	}

	// Normalisation: case, spaces and hyphens are ignored.
	for i, form := range []func(string) string{
		strings.ToUpper,
		func(c string) string { return strings.ReplaceAll(c, "-", "") },
		func(c string) string { return strings.ReplaceAll(c, "-", " ") },
		func(c string) string {
			return " " + strings.ToUpper(strings.ReplaceAll(c, "-", "")[:8]) + " - " + c[10:] + " "
		},
	} {
		c := form(codes[i+1])
		if err := e.svc.UseRecoveryCode(ctx, "alice", c); err != nil {
			t.Errorf("UseRecoveryCode(%q) (from %q): %v", c, codes[i+1], err)
		}
	}
	// Malformed codes.
	for _, c := range []string{"", codes[5][:18], codes[5] + "a", strings.ReplaceAll(codes[5], "-", "_"), "uuuu-uuuu-uuuu-uuuu"} {
		if err := e.svc.UseRecoveryCode(ctx, "alice", c); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Errorf("UseRecoveryCode(%q): %v; want ErrInvalidCode", c, err)
		}
	}

	// Regeneration voids the old set.
	fresh, err := e.svc.RegenerateRecoveryCodes(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != mfa.DefaultRecoveryCodes {
		t.Fatalf("%d codes regenerated", len(fresh))
	}
	if err := e.svc.UseRecoveryCode(ctx, "alice", codes[6]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("an old code after regeneration: %v; want ErrInvalidCode", err)
	}
	if err := e.svc.UseRecoveryCode(ctx, "alice", fresh[0]); err != nil {
		t.Fatalf("a new code: %v", err)
	}
	if n, _ := e.svc.RecoveryCodesLeft(ctx, "alice"); n != len(fresh)-1 {
		t.Fatalf("RecoveryCodesLeft = %d; want %d", n, len(fresh)-1)
	}
}

// TestRecoveryCodeAmbiguousLetters: o reads as 0, i and l as 1.
func TestRecoveryCodeAmbiguousLetters(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *mfa.Config) { c.RecoveryCodes = 64; c.MaxAttempts = 100 })
	_, codes := e.enable(t, "alice")
	tried := 0
	for _, c := range codes {
		if strings.ContainsAny(c, "01") {
			typed := strings.NewReplacer("0", "O", "1", "l").Replace(c)
			if err := e.svc.UseRecoveryCode(ctx, "alice", typed); err != nil {
				t.Errorf("UseRecoveryCode(%q) (from %q): %v", typed, c, err)
			}
			tried++
		}
	}
	if tried == 0 {
		t.Skip("no code with a 0 or 1")
	}
}

func TestRecoveryCodeConcurrentUse(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *mfa.Config) { c.MaxAttempts = 100 })
	_, codes := e.enable(t, "alice")
	const n = 20
	errs := make(chan error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for range n {
		done.Go(func() {
			start.Wait()
			errs <- e.svc.UseRecoveryCode(ctx, "alice", codes[3])
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
		t.Fatalf("%d of %d concurrent uses of one recovery code succeeded; want 1", ok, n)
	}
}

// TestRecoveryCodeEntropy checks that each code carries at least 64 bits: its length times
// log2 of the alphabet's size, with every character drawn from the whole alphabet.
func TestRecoveryCodeEntropy(t *testing.T) {
	e := newEnv(t, func(c *mfa.Config) { c.RecoveryCodes = 64 })
	_, first := e.enable(t, "alice")
	used := map[rune]bool{}
	all := map[string]bool{}
	length := -1
	for i := range 10 {
		codes := first
		if i > 0 {
			var err error
			if codes, err = e.svc.RegenerateRecoveryCodes(context.Background(), "alice"); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range codes {
			if all[c] {
				t.Fatalf("code %q issued twice", c)
			}
			all[c] = true
			plain := strings.ReplaceAll(c, "-", "")
			if length >= 0 && len(plain) != length {
				t.Fatalf("codes of %d and %d characters", length, len(plain))
			}
			length = len(plain)
			for _, r := range plain {
				if !strings.ContainsRune(recoveryAlphabet, r) {
					t.Fatalf("code %q has %q, outside the alphabet", c, r)
				}
				used[r] = true
			}
		}
	}
	// 640 codes × 16 characters: all 32 characters appear unless the draw is badly skewed.
	if len(used) != len(recoveryAlphabet) {
		t.Errorf("only %d of the %d characters appear in %d codes", len(used), len(recoveryAlphabet), len(all))
	}
	bits := float64(length) * math.Log2(float64(len(recoveryAlphabet)))
	if bits < 64 {
		t.Fatalf("a code carries %.0f bits; want ≥ 64", bits)
	}
	t.Logf("%d characters of a %d-character alphabet: %.0f bits per code", length, len(recoveryAlphabet), bits)
}
