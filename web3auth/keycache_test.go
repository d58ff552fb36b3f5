package web3auth_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/walletauth/walletauth/web3auth"
)

// flipV returns sig with the other recovery byte: a signature only a verifier that knows the
// key accepts (recovery finds another key), which makes "is the key known" observable.
func flipV(sig []byte) []byte {
	f := append([]byte(nil), sig...)
	f[64] = 27 + 28 - f[64]
	return f
}

func TestKeyCacheVerify(t *testing.T) {
	ctx := context.Background()
	k, addr := newKey(t)
	other, otherAddr := newKey(t)
	msg := []byte(full)
	sig := personalSign(t, k, full)
	keys := web3auth.NewKeyCache(100)
	v := web3auth.EOAVerifier{Keys: keys}
	req := func(a common.Address, m []byte, s []byte) web3auth.VerifyRequest {
		return web3auth.VerifyRequest{ChainID: 1, Address: a, Message: m, Signature: s}
	}

	// Unknown key: recovery, which knows v, so a flipped v is another signer.
	if err := v.Verify(ctx, req(addr, msg, flipV(sig))); !errors.Is(err, web3auth.ErrSignatureMismatch) || keys.Len() != 0 {
		t.Fatalf("flipped v, key unknown: %v, %d keys", err, keys.Len())
	}
	if err := v.Verify(ctx, req(addr, msg, sig)); err != nil || keys.Len() != 1 {
		t.Fatalf("first signature: %v, %d keys", err, keys.Len())
	}

	// Known key: every form of the signature passes, the flipped v too (documented).
	raw := append([]byte(nil), sig...)
	raw[64] -= 27
	compact := append([]byte(nil), sig[:64]...)
	compact[32] |= (sig[64] - 27) << 7
	for name, s := range map[string][]byte{"v=27/28": sig, "v=0/1": raw, "EIP-2098": compact, "flipped v": flipV(sig)} {
		if err := v.Verify(ctx, req(addr, msg, s)); err != nil {
			t.Errorf("%s, key known: %v", name, err)
		}
	}

	// Known key, and still: other bytes, another key's signature, a signature for another account,
	// a malformed or malleable one are refused, each as recovery refuses it.
	n := crypto.S256().Params().N
	high := append([]byte(nil), sig...)
	new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:64])).FillBytes(high[32:64])
	high[64] = 27 + 28 - high[64]
	for name, c := range map[string]struct {
		req  web3auth.VerifyRequest
		want error
	}{
		"other bytes":         {req(addr, append([]byte(full), ' '), sig), web3auth.ErrSignatureMismatch},
		"another key's":       {req(addr, msg, personalSign(t, other, full)), web3auth.ErrSignatureMismatch},
		"claimed for another": {req(otherAddr, msg, sig), web3auth.ErrSignatureMismatch},
		"high s":              {req(addr, msg, high), web3auth.ErrInvalidSignatureFormat},
		"63 bytes":            {req(addr, msg, sig[:63]), web3auth.ErrInvalidSignatureFormat},
		"r = 0":               {req(addr, msg, append(make([]byte, 32), sig[32:]...)), web3auth.ErrInvalidSignatureFormat},
	} {
		if err := v.Verify(ctx, c.req); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// None of these filed a key: a valid signature by one key claimed for another account, least
	// of all.
	if keys.Len() != 1 {
		t.Errorf("%d keys after refusals, want 1", keys.Len())
	}
	if err := v.Verify(ctx, req(otherAddr, msg, flipV(personalSign(t, other, full)))); !errors.Is(err, web3auth.ErrSignatureMismatch) {
		t.Errorf("the other account's key was filed: %v", err)
	}
}

// signedBy is an account and its signature of full.
type signedBy struct {
	addr common.Address
	sig  []byte
}

func signedAccount(t *testing.T) signedBy {
	k, a := newKey(t)
	return signedBy{a, personalSign(t, k, full)}
}

// TestKeyCacheBounded: the cache keeps at most its size, keeps a key in use while new ones
// arrive, and lets go of one not used for longer.
func TestKeyCacheBounded(t *testing.T) {
	ctx := context.Background()
	keys := web3auth.NewKeyCache(4)
	v := web3auth.EOAVerifier{Keys: keys}
	verify := func(a signedBy, s []byte) error {
		return v.Verify(ctx, web3auth.VerifyRequest{ChainID: 1, Address: a.addr, Message: []byte(full), Signature: s})
	}
	known := func(a signedBy) bool { return verify(a, flipV(a.sig)) == nil }

	regular, once := signedAccount(t), signedAccount(t)
	for _, a := range []signedBy{regular, once} {
		if err := verify(a, a.sig); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		a := signedAccount(t)
		if err := verify(a, a.sig); err != nil {
			t.Fatal(err)
		}
		if !known(regular) {
			t.Fatal("a key in use was dropped")
		}
		if n := keys.Len(); n > 4 {
			t.Fatalf("%d keys in a cache of 4", n)
		}
	}
	if known(once) {
		t.Error("a key not used since 20 others arrived is still held")
	}

	if got := web3auth.NewKeyCache(0); got == nil {
		t.Fatal("NewKeyCache(0) = nil")
	}
}

// TestKeyCacheConcurrent: verifications of many accounts at once (run with -race).
func TestKeyCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	v := web3auth.EOAVerifier{Keys: web3auth.NewKeyCache(8)}
	accts := make([]signedBy, 12)
	for i := range accts {
		accts[i] = signedAccount(t)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 30 {
				a := accts[(g*7+i)%len(accts)]
				if err := v.Verify(ctx, web3auth.VerifyRequest{Address: a.addr, Message: []byte(full), Signature: a.sig}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func TestChainVerifierKeyCache(t *testing.T) {
	ctx := context.Background()
	k, addr := newKey(t)
	sig := personalSign(t, k, full)
	_, contract := newKey(t)
	rv := &recordingVerifier{}
	keys := web3auth.NewKeyCache(10)
	v := web3auth.ChainVerifier{Contracts: map[uint64]web3auth.Verifier{1: rv}, Keys: keys}
	for range 2 { // key unknown, then known
		if err := v.Verify(ctx, web3auth.VerifyRequest{ChainID: 1, Address: addr, Message: []byte(full), Signature: sig}); err != nil || rv.calls != 0 {
			t.Fatalf("EOA: %v, %d contract calls", err, rv.calls)
		}
	}
	if keys.Len() != 1 {
		t.Errorf("%d keys, want 1", keys.Len())
	}
	// A contract account's signature still reaches its verifier, and files no key.
	if err := v.Verify(ctx, web3auth.VerifyRequest{ChainID: 1, Address: contract, Message: []byte(full), Signature: sig}); err != nil || rv.calls != 1 {
		t.Errorf("contract: %v, %d calls", err, rv.calls)
	}
	if keys.Len() != 1 {
		t.Errorf("%d keys after a contract signature, want 1", keys.Len())
	}
}

// TestServiceKeyCache: a Service without a Verifier remembers the keys of accounts that signed
// in (the flipped recovery byte passes only then), and a failed attempt teaches it nothing.
func TestServiceKeyCache(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	flipped := func(sig string) string {
		b, err := web3auth.DecodeSignatureHex(sig)
		if err != nil {
			t.Fatal(err)
		}
		return "0x" + hex.EncodeToString(flipV(b))
	}
	text, sig := f.challenge(t, 0)
	if _, err := f.svc.Verify(ctx, text, flipped(sig)); !errors.Is(err, web3auth.ErrSignatureMismatch) {
		t.Fatalf("flipped v before any sign-in: %v", err)
	}
	if _, err := f.svc.Verify(ctx, text, sig); err != nil {
		t.Fatal(err)
	}
	text, sig = f.challenge(t, 0)
	if _, err := f.svc.Verify(ctx, text, flipped(sig)); err != nil {
		t.Fatalf("flipped v after a sign-in: %v", err)
	}
}

// TestKnownKeyOwnSignatures: an account's own signatures of random messages pass both ways; with
// v flipped, only against the known key.
func TestKnownKeyOwnSignatures(t *testing.T) {
	ctx := context.Background()
	k, addr := newKey(t)
	keys := web3auth.NewKeyCache(4)
	warm := web3auth.EOAVerifier{Keys: keys}
	for i := range 100 {
		msg := make([]byte, i*7)
		rand.Read(msg)
		sig, err := crypto.Sign(accounts.TextHash(msg), k)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []byte{sig[64], 1 - sig[64]} {
			req := web3auth.VerifyRequest{Address: addr, Message: msg, Signature: append(sig[:64:64], v)}
			got, cold := warm.Verify(ctx, req), (web3auth.EOAVerifier{}).Verify(ctx, req)
			if got != nil || (cold == nil) != (v == sig[64]) {
				t.Fatalf("message %d, v=%d: known key %v, recovery %v", i, v, got, cold)
			}
		}
	}
}
