package profile_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"regexp"
	"testing"

	"github.com/walletauth/walletauth/profile"
)

// The generator draws 20 bits (the low 20 of 3 bytes) and rejects draws of 10⁶ and more.
func TestNewCodeRange(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{[]byte{0, 0, 0}, "000000"},
		{[]byte{0, 0, 7}, "000007"},
		{[]byte{0x00, 0x30, 0x39}, "012345"},
		{[]byte{0x0F, 0x42, 0x3F}, "999999"},                   // 999999, the largest
		{[]byte{0xF0, 0x00, 0x2A}, "000042"},                   // the top 4 bits are dropped
		{[]byte{0x0F, 0x42, 0x40, 0x00, 0x00, 0x01}, "000001"}, // 10⁶ rejected, next draw
		{[]byte{0xFF, 0xFF, 0xFF, 0x0F, 0x42, 0x3E}, "999998"}, // 2²⁰−1 rejected, next draw
	} {
		got, err := profile.NewCode(bytes.NewReader(c.in))
		if err != nil || got != c.want {
			t.Errorf("NewCode(% x) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	// Only rejected draws, then the end of the randomness: an error, no code.
	if got, err := profile.NewCode(bytes.NewReader([]byte{0x0F, 0x42, 0x40, 0xFF})); err == nil || got != "" {
		t.Errorf("short randomness: %q, %v", got, err)
	}
	re := regexp.MustCompile(`^[0-9]{6}$`)
	seen := map[string]bool{}
	for range 2000 {
		c, err := profile.NewCode(rand.Reader)
		if err != nil || !re.MatchString(c) {
			t.Fatalf("NewCode(rand.Reader) = %q, %v", c, err)
		}
		seen[c] = true
	}
	if len(seen) < 1990 { // ≈2 collisions expected among 2000 draws from 10⁶
		t.Errorf("only %d distinct codes in 2000", len(seen))
	}
}

func TestNewCodeError(t *testing.T) {
	if _, err := profile.NewCode(errReader{}); err == nil {
		t.Fatal("no error")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }
