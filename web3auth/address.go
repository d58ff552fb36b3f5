package web3auth

import (
	"encoding/hex"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// keccakBuf is a Keccak-256 state with room for its input and output: hashing through it lets
// no caller's buffer escape to the heap (as passing it to the state's interface methods would).
type keccakBuf struct {
	h   crypto.KeccakState
	in  []byte
	out [32]byte
}

var keccakPool = sync.Pool{New: func() any { return &keccakBuf{h: crypto.NewKeccakState()} }}

// keccak256 hashes the concatenation of parts into out, without allocating.
func keccak256(out *[32]byte, parts ...[]byte) {
	k := keccakPool.Get().(*keccakBuf)
	k.in = k.in[:0]
	for _, p := range parts {
		k.in = append(k.in, p...)
	}
	k.h.Reset()
	k.h.Write(k.in)
	k.h.Read(k.out[:])
	*out = k.out
	if cap(k.in) <= 2*MaxMessageLength {
		keccakPool.Put(k)
	}
}

// ParseAddress parses an account address in its EIP-55 mixed-case checksum form, as EIP-4361
// requires: "0x" and 40 hexadecimal digits whose letters are upper or lower case exactly as the
// checksum says. All-lower-case and all-upper-case spellings are refused too; use
// [ParseAddressAnyCase] where a checksum is not required (user input to the HTTP API).
func ParseAddress(s string) (common.Address, error) {
	a, err := decodeAddress(s)
	if err != nil {
		return a, err
	}
	if !checksumMatches(s[2:], &a) {
		return common.Address{}, &ValidationError{Err: ErrInvalidAddress, Field: "address", Got: s, Want: "its EIP-55 checksum form"}
	}
	return a, nil
}

// ParseAddressAnyCase parses "0x" and 40 hexadecimal digits in any case. A mixed-case spelling
// must still match its EIP-55 checksum: mixed case that is wrong is a typo, not a choice.
func ParseAddressAnyCase(s string) (common.Address, error) {
	a, err := decodeAddress(s)
	if err != nil {
		return a, err
	}
	lower, upper := false, false
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'f':
			lower = true
		case c >= 'A' && c <= 'F':
			upper = true
		}
	}
	if lower && upper && !checksumMatches(s[2:], &a) {
		return common.Address{}, &ValidationError{Err: ErrInvalidAddress, Field: "address", Got: s, Want: "its EIP-55 checksum form"}
	}
	return a, nil
}

// decodeAddress decodes "0x" and 40 hexadecimal digits.
func decodeAddress(s string) (common.Address, error) {
	var a common.Address
	if len(s) != 42 || s[0] != '0' || s[1] != 'x' || !validChars(s[2:], &hexDigits, false) {
		return a, &ValidationError{Err: ErrInvalidAddress, Field: "address", Want: `"0x" and 40 hex digits`, Got: clip(s)}
	}
	for i := range a {
		a[i] = unhex(s[2+2*i])<<4 | unhex(s[3+2*i])
	}
	return a, nil
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// FormatAddress returns a in its EIP-55 mixed-case checksum form, as [common.Address.Hex] does,
// but with a pooled Keccak state: one allocation (the string) instead of three.
func FormatAddress(a common.Address) string {
	var b [42]byte
	b[0], b[1] = '0', 'x'
	checksumHex((*[40]byte)(b[2:]), &a)
	return string(b[:])
}

// checksumMatches reports whether digits (40 hex characters) spell a in EIP-55 form.
func checksumMatches(digits string, a *common.Address) bool {
	var want [40]byte
	checksumHex(&want, a)
	return string(want[:]) == digits
}

// checksumHex writes the EIP-55 spelling of a (without "0x") into out.
func checksumHex(out *[40]byte, a *common.Address) {
	hex.Encode(out[:], a[:])
	var h [32]byte
	keccak256(&h, out[:])
	for i := range out {
		nibble := h[i/2] >> 4
		if i%2 == 1 {
			nibble = h[i/2] & 0x0f
		}
		if out[i] > '9' && nibble > 7 {
			out[i] -= 'a' - 'A'
		}
	}
}

// clip shortens untrusted input quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
