package mfa_test

import (
	"encoding/base32"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TestRFC6238Vectors checks the test vectors of RFC 6238 Appendix B (8 digits, 30-second steps)
// through pquerna/otp, which the package computes every code with. Each algorithm has its own
// seed, as the RFC's reference code has it: the ASCII "1234567890" repeated to the hash's
// length (20 bytes for SHA-1, 32 for SHA-256, 64 for SHA-512) — the errata to Appendix B's
// table, which names the 20-byte seed for all three.
func TestRFC6238Vectors(t *testing.T) {
	seeds := map[otp.Algorithm]string{
		otp.AlgorithmSHA1:   "12345678901234567890",
		otp.AlgorithmSHA256: "12345678901234567890123456789012",
		otp.AlgorithmSHA512: "1234567890123456789012345678901234567890123456789012345678901234",
	}
	for alg, seed := range seeds {
		if want := alg.Hash().Size(); len(seed) != want {
			t.Fatalf("%v seed has %d bytes; want %d", alg, len(seed), want)
		}
	}
	vectors := []struct {
		unix int64
		alg  otp.Algorithm
		code string
	}{
		{59, otp.AlgorithmSHA1, "94287082"},
		{59, otp.AlgorithmSHA256, "46119246"},
		{59, otp.AlgorithmSHA512, "90693936"},
		{1111111109, otp.AlgorithmSHA1, "07081804"},
		{1111111109, otp.AlgorithmSHA256, "68084774"},
		{1111111109, otp.AlgorithmSHA512, "25091201"},
		{1111111111, otp.AlgorithmSHA1, "14050471"},
		{1111111111, otp.AlgorithmSHA256, "67062674"},
		{1111111111, otp.AlgorithmSHA512, "99943326"},
		{1234567890, otp.AlgorithmSHA1, "89005924"},
		{1234567890, otp.AlgorithmSHA256, "91819424"},
		{1234567890, otp.AlgorithmSHA512, "93441116"},
		{2000000000, otp.AlgorithmSHA1, "69279037"},
		{2000000000, otp.AlgorithmSHA256, "90698825"},
		{2000000000, otp.AlgorithmSHA512, "38618901"},
		{20000000000, otp.AlgorithmSHA1, "65353130"},
		{20000000000, otp.AlgorithmSHA256, "77737706"},
		{20000000000, otp.AlgorithmSHA512, "47863826"},
	}
	for _, v := range vectors {
		secret := base32.StdEncoding.EncodeToString([]byte(seeds[v.alg]))
		at := time.Unix(v.unix, 0).UTC()
		opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: v.alg}
		got, err := totp.GenerateCodeCustom(secret, at, opts)
		if err != nil {
			t.Fatalf("%v at %d: %v", v.alg, v.unix, err)
		}
		if got != v.code {
			t.Errorf("%v at %d (%s): got %s, want %s", v.alg, v.unix, at.Format(time.RFC3339), got, v.code)
		}
		// The same value truncated to the 6 digits that the package uses (mod 10⁶).
		opts.Digits = otp.DigitsSix
		if got6, err := totp.GenerateCodeCustom(secret, at, opts); err != nil || got6 != v.code[2:] {
			t.Errorf("%v at %d, 6 digits: got %s (%v), want %s", v.alg, v.unix, got6, err, v.code[2:])
		}
	}
}
