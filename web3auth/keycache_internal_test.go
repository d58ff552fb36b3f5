package web3auth

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// countHashes counts Keccak-256 hashes until the test ends: the pool is drained, and its New
// makes states too large to be put back, so that every hash takes a new one.
func countHashes(t *testing.T) *int {
	n, old := new(int), keccakPool.New
	empty := false
	keccakPool.New = func() any { empty = true; return nil }
	for !empty {
		keccakPool.Get()
	}
	keccakPool.New = func() any {
		*n++
		return &keccakBuf{h: crypto.NewKeccakState(), in: make([]byte, 0, 2*MaxMessageLength+1)}
	}
	t.Cleanup(func() { keccakPool.New = old })
	return n
}

// countCrypto counts the recoveries and verifications made until the test ends.
func countCrypto(t *testing.T) (recoveries, verifications *int) {
	recoveries, verifications = new(int), new(int)
	rec, ver := ecrecover, verifySignature
	ecrecover = func(h, sig []byte) ([]byte, error) { *recoveries++; return rec(h, sig) }
	verifySignature = func(pub, h, sig []byte) bool { *verifications++; return ver(pub, h, sig) }
	t.Cleanup(func() { ecrecover, verifySignature = rec, ver })
	return
}

// TestKeyCacheRefusalCost: with a KeyCache, every refusal of a well-formed signature costs one
// recovery and one verification, and as many Keccak-256 hashes, whether the claimed account's
// key is known or not (the time of a refusal must not tell whether an account signed in lately);
// a pass costs one of either.
func TestKeyCacheRefusalCost(t *testing.T) {
	ctx := context.Background()
	key, _ := crypto.GenerateKey()
	addr := crypto.PubkeyToAddress(key.PublicKey)
	other, _ := crypto.GenerateKey()
	third, _ := crypto.GenerateKey()
	unknown := crypto.PubkeyToAddress(third.PublicKey)
	msg := []byte("sign in")
	sign := func(k *ecdsa.PrivateKey) []byte {
		sig, err := crypto.Sign(accounts.TextHash(msg), k)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	good, bad := sign(key), sign(other)
	// r ≥ p − n of no point's x-coordinate: recovery finds no key (and the known key is used).
	noKey := append([]byte(nil), good...)
	r := new(big.Int).SetBytes(good[:32])
	for isX(r) {
		r.Add(r, big.NewInt(1))
	}
	r.FillBytes(noKey[:32])
	v := EOAVerifier{Keys: NewKeyCache(10)}
	rec, ver := countCrypto(t)
	hashes := countHashes(t)
	// Hashes: the message's, and the address of a recovered key.
	for _, c := range []struct {
		name             string
		addr             common.Address
		sig              []byte
		pass             bool
		rec, ver, hashes int
	}{
		{"unknown key, pass", addr, good, true, 1, 0, 2},
		{"known key, pass", addr, good, true, 0, 1, 1},
		{"known key, another key's signature", addr, bad, false, 1, 1, 2},
		{"known key, no key recovers", addr, noKey, false, 1, 1, 1},
		{"unknown key, another key's signature", unknown, bad, false, 1, 1, 2},
		{"unknown key, the signature of a known one", unknown, good, false, 1, 1, 2},
		{"unknown key, no key recovers", unknown, noKey, false, 1, 1, 1},
	} {
		*rec, *ver, *hashes = 0, 0, 0
		err := v.Verify(ctx, VerifyRequest{Address: c.addr, Message: msg, Signature: c.sig})
		if (err == nil) != c.pass || err != nil && !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("%s: %v", c.name, err)
		}
		if *rec != c.rec || *ver != c.ver || *hashes != c.hashes {
			t.Errorf("%s: %d recoveries, %d verifications, %d hashes; want %d, %d, %d", c.name, *rec, *ver, *hashes, c.rec, c.ver, c.hashes)
		}
	}
}

// TestKeyCacheRPlusN: verification accepts a signature whose R has x-coordinate r + n, which
// recovery with v ∈ {0, 1} never finds. With r < p − n the known key is not used, so the two ways
// agree: such a signature (whose key no one holds; an honest one has odds of 2⁻¹²⁷) is refused
// with the key known too.
func TestKeyCacheRPlusN(t *testing.T) {
	curve := crypto.S256().Params()
	msg := []byte("r + n")
	h := HashMessage(msg)
	var sig [65]byte
	for r := int64(1); ; r++ { // the least r with r + n an x-coordinate
		if isX(new(big.Int).Add(big.NewInt(r), curve.N)) {
			big.NewInt(r).FillBytes(sig[:32])
			break
		}
	}
	sig[63] = 1 // s = 1
	sig[64] = 2 // recovery id 2: x = r + n
	raw, err := crypto.Ecrecover(h[:], sig[:])
	if err != nil {
		t.Fatal(err)
	}
	pub := (*pubKey)(raw)
	addr := keyAddress(pub)
	if !crypto.VerifySignature(raw, h[:], sig[:64]) {
		t.Fatal("the r + n signature does not verify: the test proves nothing")
	}
	keys := NewKeyCache(4)
	if !keys.putIf(pub, &addr) {
		t.Fatal("putIf refused the key of its own address")
	}
	for _, v := range []byte{27, 28} {
		s := append(sig[:64:64], v)
		for name, ver := range map[string]EOAVerifier{"recovery": {}, "known key": {Keys: keys}} {
			if err := ver.Verify(context.Background(), VerifyRequest{Address: addr, Message: msg, Signature: s}); !errors.Is(err, ErrSignatureMismatch) {
				t.Errorf("%s, v=%d: %v, want ErrSignatureMismatch", name, v, err)
			}
		}
	}
}

// isX reports whether x is the x-coordinate of a point of secp256k1: x³ + 7 a square mod p.
func isX(x *big.Int) bool {
	p := crypto.S256().Params().P
	y2 := new(big.Int).Exp(x, big.NewInt(3), p)
	y2.Add(y2, big.NewInt(7)).Mod(y2, p)
	return new(big.Int).ModSqrt(y2, p) != nil
}

// notX returns the least positive integer that is no point's x-coordinate.
func notX(t *testing.T) int64 {
	for x := int64(1); x < 1000; x++ {
		if !isX(big.NewInt(x)) {
			return x
		}
	}
	t.Fatal("no such x below 1000")
	return 0
}
