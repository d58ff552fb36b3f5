package web3auth_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/walletauth/walletauth/web3auth"
)

// FuzzParseMessage: no input panics; an error comes with no result; a result formats back to
// exactly the input (parsing is strict enough that text and Message map one to one) and passes
// Check.
func FuzzParseMessage(f *testing.F) {
	type positive struct {
		Message string `json:"message"`
	}
	for _, v := range loadVectors[positive](f, "parsing_positive.json") {
		f.Add(v.Message)
	}
	for _, text := range loadVectors[string](f, "parsing_negative.json") {
		f.Add(text)
	}
	f.Add(full)
	f.Fuzz(func(t *testing.T, text string) {
		m, err := web3auth.ParseMessage(text)
		if err != nil {
			if m != nil {
				t.Fatalf("result %#v with error %v", m, err)
			}
			var pe *web3auth.ParseError
			if !errors.As(err, &pe) || !errors.Is(err, web3auth.ErrInvalidMessage) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		if got := m.String(); got != text {
			t.Fatalf("format(parse(text)) != text:\n%q\n%q", got, text)
		}
		if err := m.Check(); err != nil {
			t.Fatalf("parsed message fails Check: %v", err)
		}
	})
}

// FuzzSignature: decoding and normalising arbitrary signatures never panics; errors come with no
// result; a normalised signature has v in {0,1} and a low s, and keeps r and s.
func FuzzSignature(f *testing.F) {
	for _, v := range loadVectors[map[string]any](f, "verification_positive.json") {
		f.Add(v["signature"].(string))
	}
	for _, v := range loadVectors[map[string]any](f, "verification_negative.json") {
		f.Add(v["signature"].(string))
	}
	f.Add("0x")
	f.Add("0x" + hex.EncodeToString(make([]byte, 64)))
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := web3auth.DecodeSignatureHex(s)
		if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && len(s)%2 == 0 && len(s)/2-1 <= web3auth.MaxSignatureLength {
			// The encoding's checks passed: the digits decode exactly as encoding/hex decodes them.
			want, herr := hex.DecodeString(s[2:])
			if (herr == nil) != (err == nil) || herr == nil && !bytes.Equal(sig, want) {
				t.Fatalf("DecodeSignatureHex(%q) = %x, %v; encoding/hex: %x, %v", s, sig, err, want, herr)
			}
		}
		if err != nil {
			if sig != nil || !errors.Is(err, web3auth.ErrInvalidSignatureFormat) {
				t.Fatalf("DecodeSignatureHex(%q) = %x, %v", s, sig, err)
			}
			sig = []byte(s) // normalise the raw bytes too
		}
		norm, err := web3auth.NormalizeSignature(sig)
		if err != nil {
			if norm != ([65]byte{}) || !errors.Is(err, web3auth.ErrInvalidSignatureFormat) {
				t.Fatalf("NormalizeSignature(%x) = %x, %v", sig, norm, err)
			}
			return
		}
		if norm[64] > 1 || norm[32]&0x80 != 0 || !bytes.Equal(norm[:32], sig[:32]) {
			t.Fatalf("NormalizeSignature(%x) = %x", sig, norm)
		}
		if _, err := web3auth.RecoverAddress([]byte("m"), sig); err != nil && !errors.Is(err, web3auth.ErrSignatureMismatch) {
			t.Fatalf("RecoverAddress of a normalised signature: %v", err)
		}
	})
}

// FuzzKnownKeyVerify: verifying against a known key (KeyCache) decides exactly as recovering the
// key does, except that it accepts the flipped recovery byte of a valid signature: for any bytes
// and signature, the known-key verifier passes if and only if recovery passes with the
// signature's v or with the other one; format errors are the same. (Random signatures all but
// never pass: TestKnownKeyOwnSignatures checks valid ones.)
func FuzzKnownKeyVerify(f *testing.F) {
	k, err := crypto.GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(k.PublicKey)
	sig, err := crypto.Sign(accounts.TextHash([]byte(full)), k)
	if err != nil {
		f.Fatal(err)
	}
	keys := web3auth.NewKeyCache(4)
	warm := web3auth.EOAVerifier{Keys: keys}
	ctx := context.Background()
	if err := warm.Verify(ctx, web3auth.VerifyRequest{Address: addr, Message: []byte(full), Signature: sig}); err != nil || keys.Len() != 1 {
		f.Fatal(err)
	}
	f.Add([]byte(full), sig)
	f.Add([]byte(full), sig[:64])
	f.Add([]byte(full), append(sig[:64:64], 1-sig[64]))
	f.Add([]byte(full+"x"), sig)
	f.Add([]byte("hello"), []byte{})
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		req := web3auth.VerifyRequest{Address: addr, Message: msg, Signature: sig}
		got := warm.Verify(ctx, req)
		cold := (web3auth.EOAVerifier{}).Verify(ctx, req)
		if errors.Is(cold, web3auth.ErrInvalidSignatureFormat) || errors.Is(got, web3auth.ErrInvalidSignatureFormat) {
			if got == nil || cold == nil || got.Error() != cold.Error() {
				t.Fatalf("format: known key %v, recovery %v", got, cold)
			}
			return
		}
		if cold == nil && got != nil {
			t.Fatalf("recovery passes, known key: %v", got)
		}
		if got != nil && !errors.Is(got, web3auth.ErrSignatureMismatch) {
			t.Fatalf("known key: %v", got)
		}
		if got == nil && cold != nil {
			norm, _ := web3auth.NormalizeSignature(sig)
			norm[64] ^= 1
			if err := (web3auth.EOAVerifier{}).Verify(ctx, web3auth.VerifyRequest{Address: addr, Message: msg, Signature: norm[:]}); err != nil {
				t.Fatalf("known key passes a signature recovery refuses with either v: %x", sig)
			}
		}
		if keys.Len() != 1 {
			t.Fatalf("%d keys", keys.Len())
		}
	})
}
