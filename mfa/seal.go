package mfa

import (
	"crypto/rand"
	"fmt"

	"github.com/walletauth/walletauth/store"
)

// A sealed secret is
//
//	version (1 byte, sealVersion) ‖ nonce (12 bytes, random) ‖ AES-256-GCM ciphertext and tag
//
// with the additional data sealLabel ‖ user id, stored with the id of its key in
// store.TOTP.KeyID. The label keeps a sealed TOTP secret from opening anywhere else that might
// use the same key with a user id as additional data.
const (
	sealVersion = 1
	nonceSize   = 12 // 96 bits, the GCM standard nonce
	sealLabel   = "walletauth/mfa/totp-secret/v1\x00"
)

func additionalData(userID string) []byte {
	return append([]byte(sealLabel), userID...)
}

// seal encrypts a user's secret under the current key and returns it with the key's id.
func (s *Service) seal(userID string, secret []byte) ([]byte, string) {
	aead := s.keys[s.currentKey]
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(secret)+aead.Overhead())
	out[0] = sealVersion
	_, _ = rand.Read(out[1:]) // never fails (crypto/rand.Read crashes the program rather than return an error)
	return aead.Seal(out, out[1:1+nonceSize], secret, additionalData(userID)), s.currentKey
}

// open decrypts the secret of a user's factor. Every failure wraps ErrSecretUnreadable.
func (s *Service) open(userID string, f store.TOTP) ([]byte, error) {
	aead, ok := s.keys[f.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: sealed with key id %q, which is not in Config.EncryptionKeys", ErrSecretUnreadable, f.KeyID)
	}
	if len(f.Secret) < 1+nonceSize+aead.Overhead() || f.Secret[0] != sealVersion {
		return nil, fmt.Errorf("%w: not a sealed secret of a known format", ErrSecretUnreadable)
	}
	secret, err := aead.Open(nil, f.Secret[1:1+nonceSize], f.Secret[1+nonceSize:], additionalData(userID))
	if err != nil {
		return nil, fmt.Errorf("%w: it does not authenticate with key %q for this user (altered, or copied from another user)", ErrSecretUnreadable, f.KeyID)
	}
	return secret, nil
}
