package web3auth_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/walletauth/walletauth/web3auth"
)

func newKey(t testing.TB) (*ecdsa.PrivateKey, common.Address) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k, crypto.PubkeyToAddress(k.PublicKey)
}

// personalSign signs msg as a wallet's personal_sign does: EIP-191 hash, v as 27 or 28.
func personalSign(t testing.TB, k *ecdsa.PrivateKey, msg string) []byte {
	t.Helper()
	sig, err := crypto.Sign(accounts.TextHash([]byte(msg)), k)
	if err != nil {
		t.Fatal(err)
	}
	sig[64] += 27
	return sig
}

func TestHashMessageMatchesGoEthereum(t *testing.T) {
	for _, msg := range []string{"", "hello", "ünïcödé — length counts bytes, not characters", full} {
		if got, want := web3auth.HashMessage([]byte(msg)), accounts.TextHash([]byte(msg)); !equalBytes(got[:], want) {
			t.Errorf("HashMessage(%q) = %x, want %x", msg, got, want)
		}
	}
}

func equalBytes(a, b []byte) bool { return hex.EncodeToString(a) == hex.EncodeToString(b) }

func TestRecoverAllForms(t *testing.T) {
	k, addr := newKey(t)
	msg := []byte(full)
	sig := personalSign(t, k, full)
	v := sig[64] - 27

	forms := map[string][]byte{}
	forms["v=27/28"] = sig
	raw := append([]byte(nil), sig...)
	raw[64] = v
	forms["v=0/1"] = raw
	compact := append([]byte(nil), sig[:64]...)
	compact[32] |= v << 7
	forms["EIP-2098"] = compact
	for name, s := range forms {
		got, err := web3auth.RecoverAddress(msg, s)
		if err != nil || got != addr {
			t.Errorf("%s: RecoverAddress = %s, %v; want %s", name, got.Hex(), err, addr.Hex())
		}
		if err := (web3auth.EOAVerifier{}).Verify(context.Background(), web3auth.VerifyRequest{Address: addr, Message: msg, Signature: s}); err != nil {
			t.Errorf("%s: Verify: %v", name, err)
		}
		hexSig := "0x" + hex.EncodeToString(s)
		dec, err := web3auth.DecodeSignatureHex(hexSig)
		if err != nil || !equalBytes(dec, s) {
			t.Errorf("%s: DecodeSignatureHex: %v", name, err)
		}
	}
	// The same signature over other bytes, or checked against another address, is a mismatch.
	_, other := newKey(t)
	for name, req := range map[string]web3auth.VerifyRequest{
		"other address": {Address: other, Message: msg, Signature: sig},
		"other bytes":   {Address: addr, Message: append([]byte(full), ' '), Signature: sig},
		"flipped v":     {Address: addr, Message: msg, Signature: append(append([]byte(nil), sig[:64]...), 27+(1-v))},
	} {
		if err := (web3auth.EOAVerifier{}).Verify(context.Background(), req); !errors.Is(err, web3auth.ErrSignatureMismatch) {
			t.Errorf("%s: got %v, want ErrSignatureMismatch", name, err)
		}
	}
}

func TestSignatureRejects(t *testing.T) {
	k, _ := newKey(t)
	sig := personalSign(t, k, full)
	n := crypto.S256().Params().N
	word := func(x *big.Int) []byte { return x.FillBytes(make([]byte, 32)) }
	with := func(r, s []byte, v byte) []byte { return append(append(append([]byte(nil), r...), s...), v) }

	// The malleable twin: s' = n - s with the other parity. It recovers the same key, and must be
	// refused all the same.
	s := new(big.Int).SetBytes(sig[32:64])
	high := with(sig[:32], word(new(big.Int).Sub(n, s)), 27+(28-sig[64]))
	halfPlus := new(big.Int).Add(new(big.Int).Rsh(n, 1), big.NewInt(1))

	cases := map[string][]byte{
		"empty":          {},
		"63 bytes":       sig[:63],
		"66 bytes":       append(append([]byte(nil), sig...), 0),
		"v=2":            with(sig[:32], sig[32:64], 2),
		"v=26":           with(sig[:32], sig[32:64], 26),
		"v=29":           with(sig[:32], sig[32:64], 29),
		"v=255":          with(sig[:32], sig[32:64], 255),
		"high s":         high,
		"s = n/2 + 1":    with(sig[:32], word(halfPlus), 27),
		"r = 0":          with(make([]byte, 32), sig[32:64], 27),
		"s = 0":          with(sig[:32], make([]byte, 32), 27),
		"r = n":          with(word(n), sig[32:64], 27),
		"r > n":          with(word(new(big.Int).Add(n, big.NewInt(5))), sig[32:64], 27),
		"r = 2^256-1":    with(word(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))), sig[32:64], 27),
		"compact high s": append(append([]byte(nil), sig[:32]...), word(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1)))...),
		"compact r = 0":  append(make([]byte, 32), sig[32:64]...),
		"compact s = 0":  append(append([]byte(nil), sig[:32]...), make([]byte, 32)...),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			norm, err := web3auth.NormalizeSignature(s)
			var fe *web3auth.SignatureFormatError
			if !errors.As(err, &fe) || !errors.Is(err, web3auth.ErrInvalidSignatureFormat) {
				t.Fatalf("NormalizeSignature = %v, want a *SignatureFormatError", err)
			}
			if norm != ([65]byte{}) {
				t.Error("partial result on error")
			}
			if _, err := web3auth.RecoverAddress([]byte(full), s); !errors.Is(err, web3auth.ErrInvalidSignatureFormat) {
				t.Errorf("RecoverAddress = %v", err)
			}
		})
	}
}

func TestDecodeSignatureHexRejects(t *testing.T) {
	for name, s := range map[string]string{
		"empty":     "",
		"no prefix": "ab12",
		"only 0x":   "0",
		"odd":       "0xabc",
		"non-hex":   "0xzz",
		"space":     "0x ab",
		"too long":  "0x" + string(make([]byte, 2*(web3auth.MaxSignatureLength+1))),
		"unicode":   "0xé1",
	} {
		if b, err := web3auth.DecodeSignatureHex(s); !errors.Is(err, web3auth.ErrInvalidSignatureFormat) || b != nil {
			t.Errorf("%s: got %x, %v", name, b, err)
		}
	}
	if b, err := web3auth.DecodeSignatureHex("0x"); err != nil || len(b) != 0 {
		t.Errorf("0x: %x %v (empty is well-formed hex; the verifier refuses its length)", b, err)
	}
}

func TestParseAddress(t *testing.T) {
	const good = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
	if a, err := web3auth.ParseAddress(good); err != nil || a.Hex() != good {
		t.Fatalf("ParseAddress: %v", err)
	}
	for _, s := range []string{"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "0xC02AAA39B223FE8D0A0E5C4F27EAD9083C756CC2", "0xc02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", good[:41], good + "0", "C02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0XC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"} {
		if _, err := web3auth.ParseAddress(s); !errors.Is(err, web3auth.ErrInvalidAddress) {
			t.Errorf("ParseAddress(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "0xC02AAA39B223FE8D0A0E5C4F27EAD9083C756CC2", good} {
		if a, err := web3auth.ParseAddressAnyCase(s); err != nil || a.Hex() != good {
			t.Errorf("ParseAddressAnyCase(%q) = %v", s, err)
		}
	}
	// Mixed case with a wrong checksum is a typo even where case does not matter.
	if _, err := web3auth.ParseAddressAnyCase("0xc02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"); !errors.Is(err, web3auth.ErrInvalidAddress) {
		t.Errorf("bad mixed case accepted: %v", err)
	}
}

// TestFormatAddress: FormatAddress spells addresses as go-ethereum's Address.Hex does, and
// ParseAddress takes them back, with one allocation.
func TestFormatAddress(t *testing.T) {
	addrs := []common.Address{{}, common.HexToAddress("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2")}
	for b := range 256 {
		var a common.Address
		for i := range a {
			a[i] = byte(b*31 + i*7)
		}
		addrs = append(addrs, a)
	}
	for _, a := range addrs {
		s := web3auth.FormatAddress(a)
		if s != a.Hex() {
			t.Fatalf("FormatAddress(%x) = %s, want %s", a[:], s, a.Hex())
		}
		if back, err := web3auth.ParseAddress(s); err != nil || back != a {
			t.Fatalf("ParseAddress(%s) = %x, %v", s, back[:], err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = web3auth.FormatAddress(addrs[1]) }); n > 1 && !raceEnabled {
		t.Errorf("%v allocations, want 1", n)
	}
}

type recordingVerifier struct {
	calls int
	err   error
}

func (r *recordingVerifier) Verify(context.Context, web3auth.VerifyRequest) error {
	r.calls++
	return r.err
}

func TestChainVerifier(t *testing.T) {
	k, addr := newKey(t)
	sig := personalSign(t, k, full)
	_, contract := newKey(t)
	ctx := context.Background()

	// An account's own valid signature never reaches the contract verifier.
	rv := &recordingVerifier{}
	v := web3auth.ChainVerifier{Contracts: map[uint64]web3auth.Verifier{1: rv}}
	if err := v.Verify(ctx, web3auth.VerifyRequest{ChainID: 1, Address: addr, Message: []byte(full), Signature: sig}); err != nil || rv.calls != 0 {
		t.Errorf("EOA: %v, %d contract calls", err, rv.calls)
	}
	// A signature that is not the address's goes to the chain's contract verifier, whose answer
	// stands: both a pass and a failure.
	req := web3auth.VerifyRequest{ChainID: 1, Address: contract, Message: []byte(full), Signature: append(sig, 1, 2, 3)}
	if err := v.Verify(ctx, req); err != nil || rv.calls != 1 {
		t.Errorf("contract pass: %v, %d calls", err, rv.calls)
	}
	rpcDown := errors.New("rpc down")
	rv.err = rpcDown
	if err := v.Verify(ctx, req); !errors.Is(err, rpcDown) {
		t.Errorf("contract failure: %v", err)
	}
	// No contract verifier for the chain: the EOA verdict stands.
	req.ChainID = 10
	if err := v.Verify(ctx, req); !errors.Is(err, web3auth.ErrInvalidSignatureFormat) || rv.calls != 2 {
		t.Errorf("other chain: %v, %d calls", err, rv.calls)
	}
}
