package profile

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// CodeDigits is the length of a verification code.
const CodeDigits = 6

// Purposes of codes: part of what a code is bound to.
const (
	PurposeVerify = "verify" // proves that a user receives messages at a new contact
	PurposeMFA    = "mfa"    // a second factor at sign-in
)

// newCode returns a uniformly random code of CodeDigits decimal digits, leading zeros
// included, read from r (crypto/rand.Reader in production). It draws 20 bits at a time and
// rejects draws of 10⁶ and more (rejection sampling, about 4.6% of draws), so that every code
// from "000000" to "999999" is equally likely: no modulo bias.
func newCode(r io.Reader) (string, error) {
	var b [3]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", fmt.Errorf("profile: reading randomness: %w", err)
		}
		v := (uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])) & (1<<20 - 1)
		if v < 1_000_000 {
			return fmt.Sprintf("%06d", v), nil
		}
	}
}

// codeKey is the store key of a code: it binds the code to its purpose, kind, user and target.
// Kinds and purposes are fixed words and parsed values have no colon, so the key is
// unambiguous even when a user id has colons.
func codeKey(purpose, kind, userID, value string) string {
	return purpose + ":" + kind + ":" + userID + ":" + value
}

// codeHash is what the store keeps of a code: SHA-256 over the length of the key, the key and
// the code. See "Codes" in the package documentation for why a fast hash is acceptable here.
func codeHash(key, code string) []byte {
	h := sha256.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(key)))
	h.Write(n[:])
	h.Write([]byte(key))
	h.Write([]byte(code))
	return h.Sum(nil)
}

// cleanCode removes the spaces and hyphens that people type into codes ("123 456") and
// reports whether what is left is CodeDigits ASCII digits.
func cleanCode(s string) (string, bool) {
	if len(s) > 32 {
		return "", false
	}
	b := make([]byte, 0, CodeDigits)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '-':
		case c >= '0' && c <= '9' && len(b) < CodeDigits:
			b = append(b, c)
		default:
			return "", false
		}
	}
	return string(b), len(b) == CodeDigits
}
