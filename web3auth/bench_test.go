package web3auth_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/walletauth/walletauth/web3auth"
)

var sink any

// benchMessage is the message of the reference benchmarks (../shared/bench/floor): every optional
// field, issued now.
func benchMessage(b *testing.B) (msg string, sig []byte, now time.Time) {
	k, addr := newKey(b)
	now = time.Now().UTC()
	msg = fmt.Sprintf("example.com wants you to sign in with your Ethereum account:\n%s\n\nI accept the ExampleOrg Terms of Service: https://example.com/tos\n\nURI: https://example.com/login\nVersion: 1\nChain ID: 1\nNonce: 7a8Vb2nQx9LmP4tRz\nIssued At: %s\nExpiration Time: %s\nNot Before: %s\nRequest ID: req-1234\nResources:\n- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n- https://example.com/my-web2-claim.json",
		addr.Hex(), now.Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339), now.Add(-time.Minute).Format(time.RFC3339))
	return msg, personalSign(b, k, msg), now
}

// BenchmarkParseMessage: parsing a message with every optional field.
func BenchmarkParseMessage(b *testing.B) {
	msg, _, _ := benchMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		m, err := web3auth.ParseMessage(msg)
		if err != nil {
			b.Fatal(err)
		}
		sink = m
	}
}

// BenchmarkVerifySignature: EIP-191 hash, public-key recovery and comparison with the address.
func BenchmarkVerifySignature(b *testing.B) {
	msg, sig, _ := benchMessage(b)
	m, err := web3auth.ParseMessage(msg)
	if err != nil {
		b.Fatal(err)
	}
	req := web3auth.VerifyRequest{ChainID: 1, Address: m.Address, Message: []byte(msg), Signature: sig}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := (web3auth.EOAVerifier{}).Verify(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyMessage: what a sign-in does without its store: parse, validate against the
// server's expectations, decode the hex signature and verify it.
func BenchmarkVerifyMessage(b *testing.B) {
	msg, sig, now := benchMessage(b)
	sigHex := "0x" + hex.EncodeToString(sig)
	origin, err := web3auth.ParseOrigin("https://example.com")
	if err != nil {
		b.Fatal(err)
	}
	exp := web3auth.Expectations{Origin: origin, Nonce: "7a8Vb2nQx9LmP4tRz", ChainIDs: []uint64{1}, Now: now}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m, err := web3auth.ParseMessage(msg)
		if err != nil {
			b.Fatal(err)
		}
		if err := web3auth.Validate(m, exp); err != nil {
			b.Fatal(err)
		}
		s, err := web3auth.DecodeSignatureHex(sigHex)
		if err != nil {
			b.Fatal(err)
		}
		if err := (web3auth.EOAVerifier{}).Verify(ctx, web3auth.VerifyRequest{ChainID: m.ChainID, Address: m.Address, Message: []byte(msg), Signature: s}); err != nil {
			b.Fatal(err)
		}
	}
}
