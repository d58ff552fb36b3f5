package web3auth

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// MaxSignatureLength is the longest signature, in bytes, that [DecodeSignatureHex] accepts. An
// externally owned account signs with 64 or 65 bytes; contract wallets (EIP-1271, and EIP-6492
// wrappers around them) may need more, so the bound is generous but finite.
const MaxSignatureLength = 4096

// secp256k1 group order n and n/2, big-endian, for the range and low-s checks, and p − n (field
// order minus group order): r below it may stand for the x-coordinate r + n.
var secpN, secpHalfN, secpPMinusN = func() (n, half, pMinusN [32]byte) {
	N, P := crypto.S256().Params().N, crypto.S256().Params().P
	N.FillBytes(n[:])
	new(big.Int).Rsh(N, 1).FillBytes(half[:])
	new(big.Int).Sub(P, N).FillBytes(pMinusN[:])
	return
}()

// HashMessage returns the EIP-191 version 0x45 ("personal_sign") hash of msg:
// keccak256("\x19Ethereum Signed Message:\n" + decimal length of msg in bytes + msg).
// msg must be the exact bytes the wallet signed.
func HashMessage(msg []byte) [32]byte {
	var lenBuf [20]byte
	var h [32]byte
	keccak256(&h, []byte("\x19Ethereum Signed Message:\n"), strconv.AppendInt(lenBuf[:0], int64(len(msg)), 10), msg)
	return h
}

// DecodeSignatureHex decodes a 0x-prefixed hexadecimal signature of at most [MaxSignatureLength]
// bytes. It checks only the encoding; what the bytes must be depends on the verifier (see
// [NormalizeSignature] for accounts' own signatures).
func DecodeSignatureHex(s string) ([]byte, error) {
	switch {
	case len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'):
		return nil, &SignatureFormatError{Reason: `not "0x"-prefixed hexadecimal`}
	case len(s)%2 != 0:
		return nil, &SignatureFormatError{Reason: "odd number of hexadecimal digits"}
	case (len(s)-2)/2 > MaxSignatureLength:
		return nil, &SignatureFormatError{Reason: "longer than " + strconv.Itoa(MaxSignatureLength) + " bytes"}
	}
	if !validChars(s[2:], &hexDigits, false) {
		return nil, &SignatureFormatError{Reason: "not hexadecimal"}
	}
	sig := make([]byte, (len(s)-2)/2)
	for i := range sig {
		sig[i] = unhex(s[2+2*i])<<4 | unhex(s[3+2*i])
	}
	return sig, nil
}

// NormalizeSignature checks an externally owned account's secp256k1 signature and returns it as
// 65 bytes r ‖ s ‖ v with v ∈ {0, 1}, the form go-ethereum's crypto package recovers from.
//
// It accepts 65 bytes with v ∈ {0, 1, 27, 28} and the EIP-2098 64-byte compact form (r ‖ yParity·2²⁵⁵
// + s). It refuses every other length and v, r or s of zero or not below the group order, and a
// high s (above n/2, the malleable twin of a valid signature, refused since EIP-2), each with a
// [*SignatureFormatError].
func NormalizeSignature(sig []byte) ([65]byte, error) {
	var out [65]byte
	switch len(sig) {
	case 65:
		copy(out[:], sig)
		switch v := sig[64]; v {
		case 0, 1:
		case 27, 28:
			out[64] = v - 27
		default:
			return [65]byte{}, &SignatureFormatError{Reason: "recovery byte v is " + strconv.Itoa(int(v)) + ", not 0, 1, 27 or 28"}
		}
	case 64: // EIP-2098: the top bit of the second word is the y parity.
		copy(out[:64], sig)
		out[64] = out[32] >> 7
		out[32] &= 0x7f
	default:
		return [65]byte{}, &SignatureFormatError{Reason: "length is " + strconv.Itoa(len(sig)) + " bytes, not 65 (or 64 in EIP-2098 compact form)"}
	}
	r, s := out[:32], out[32:64]
	var zero [32]byte
	switch {
	case bytes.Equal(r, zero[:]) || bytes.Compare(r, secpN[:]) >= 0:
		return [65]byte{}, &SignatureFormatError{Reason: "r is out of range"}
	case bytes.Equal(s, zero[:]) || bytes.Compare(s, secpN[:]) >= 0:
		return [65]byte{}, &SignatureFormatError{Reason: "s is out of range"}
	case bytes.Compare(s, secpHalfN[:]) > 0:
		return [65]byte{}, &SignatureFormatError{Reason: "s is in the upper half of the range (malleable signature)"}
	}
	return out, nil
}

// RecoverAddress returns the account whose key made sig over the EIP-191 hash of msg. sig is
// checked with [NormalizeSignature] first.
func RecoverAddress(msg, sig []byte) (common.Address, error) {
	norm, err := NormalizeSignature(sig)
	if err != nil {
		return common.Address{}, err
	}
	h := HashMessage(msg)
	return recoverAddress(&h, &norm)
}

// recoverAddress returns the account whose key made the normalised signature sig over hash h.
func recoverAddress(h *[32]byte, sig *[65]byte) (common.Address, error) {
	pub, err := recoverKey(h, sig)
	if err != nil {
		return common.Address{}, err
	}
	return keyAddress(pub), nil
}

// recoverKey returns the public key that made the normalised signature sig over hash h.
func recoverKey(h *[32]byte, sig *[65]byte) (*pubKey, error) {
	pub, err := ecrecover(h[:], sig[:])
	if err != nil || len(pub) != len(pubKey{}) {
		// A well-formed signature that no public key matches.
		return nil, ErrSignatureMismatch
	}
	return (*pubKey)(pub), nil
}

// VerifyRequest is what a [Verifier] checks: that Signature is Address's signature, valid on
// ChainID, over exactly the bytes of Message.
type VerifyRequest struct {
	ChainID   uint64
	Address   common.Address
	Message   []byte
	Signature []byte
}

// Verifier checks signatures. It returns nil when the signature is valid, an error wrapping
// [ErrSignatureMismatch] when it is well-formed but not valid, one wrapping
// [ErrInvalidSignatureFormat] when it cannot be a signature for this verifier, and any other error
// (say, a failed RPC call) when it could not decide — which callers must treat as a failure, never
// as a pass.
type Verifier interface {
	Verify(ctx context.Context, req VerifyRequest) error
}

// VerifierFunc adapts a function to [Verifier].
type VerifierFunc func(ctx context.Context, req VerifyRequest) error

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, req VerifyRequest) error { return f(ctx, req) }

// EOAVerifier verifies signatures of externally owned accounts: EIP-191 personal_sign signatures
// by the account's own secp256k1 key, checked locally without I/O. Its zero value is ready: it
// recovers the key from every signature. With Keys set, it verifies the signature of an account
// whose key it has recovered before against that key (see [KeyCache]).
//
// Recovery needs the signature's recovery byte v, which picks one of the two keys (r, s) could
// belong to; verification against a known key does not. So a signature whose v was flipped is
// refused while the account's key is unknown and accepted once it is known: it is still a
// signature by the account's key over exactly this message, which only the key's holder can make.
type EOAVerifier struct {
	// Keys remembers recovered keys. Nil means none: every signature's key is recovered.
	Keys *KeyCache
}

// Verify checks req.Signature with [NormalizeSignature], then verifies it against the known key of
// req.Address or else recovers its signer and compares it with req.Address as 20 bytes.
//
// With Keys set, a refusal costs a recovery and a verification whether the account's key is
// known or not, so that how long it takes does not tell whether the account signed in lately.
func (v EOAVerifier) Verify(_ context.Context, req VerifyRequest) error {
	norm, err := NormalizeSignature(req.Signature)
	if err != nil {
		return err
	}
	h := HashMessage(req.Message)
	if v.Keys == nil {
		got, err := recoverAddress(&h, &norm)
		if err != nil {
			return err
		}
		if got != req.Address {
			return ErrSignatureMismatch
		}
		return nil
	}
	// Verification takes R's x-coordinate to be r or r + n, recovery (v ∈ {0, 1}) only r: for
	// r < p − n, which no honest signer meets (odds 2⁻¹²⁷), the known key is not used, so that both
	// ways decide alike.
	if bytes.Compare(norm[:32], secpPMinusN[:]) >= 0 {
		if pub, ok := v.Keys.get(&req.Address); ok {
			// norm is in low-s form, which verification requires; and as the key that recovery
			// would have to find is this one, failing here means recovery fails too.
			if verifySignature(pub[:], h[:], norm[:64]) {
				return nil
			}
			// The refusal's time: the work of the refusal below, a recovery and (when it finds
			// a key) the key's address — which is not the account's, so putIf files nothing.
			if pub, err := recoverKey(&h, &norm); err == nil {
				_ = v.Keys.putIf(pub, &req.Address)
			}
			return ErrSignatureMismatch
		}
	}
	pub, err := recoverKey(&h, &norm)
	if err == nil && v.Keys.putIf(pub, &req.Address) {
		return nil
	}
	if pub == nil {
		pub = &generatorKey
	}
	_ = verifySignature(pub[:], h[:], norm[:64]) // the refusal's time: the verification above
	return ErrSignatureMismatch
}

// ecrecover and verifySignature are go-ethereum's; tests count the calls.
var (
	ecrecover       = crypto.Ecrecover
	verifySignature = crypto.VerifySignature
)

// generatorKey is a valid public key, the generator G: refusals without a key at hand verify
// against it to take the time of a verification.
var generatorKey = func() (k pubKey) {
	k[0] = 4
	crypto.S256().Params().Gx.FillBytes(k[1:33])
	crypto.S256().Params().Gy.FillBytes(k[33:])
	return
}()

// ChainVerifier tries the local, cheap [EOAVerifier] first and, only where that fails, the
// verifier registered for the request's chain — typically an EIP-1271/EIP-6492 contract-wallet
// verifier that makes an RPC call. Chains without an entry get the EOA check alone.
type ChainVerifier struct {
	// Contracts maps a chain id to the verifier for contract accounts on that chain.
	Contracts map[uint64]Verifier
	// Keys is given to the [EOAVerifier]: nil means no key cache.
	Keys *KeyCache
}

// Verify implements [Verifier].
func (v ChainVerifier) Verify(ctx context.Context, req VerifyRequest) error {
	err := EOAVerifier{Keys: v.Keys}.Verify(ctx, req)
	if err == nil {
		return nil
	}
	c, ok := v.Contracts[req.ChainID]
	if !ok || !(errors.Is(err, ErrSignatureMismatch) || errors.Is(err, ErrInvalidSignatureFormat)) {
		return err
	}
	return c.Verify(ctx, req)
}
