package session

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"github.com/walletauth/walletauth/store"
)

// signingKey is a key ready for use: parsed once, then only read.
type signingKey struct {
	id        string
	alg       jwa.SignatureAlgorithm
	algName   string
	sign      any     // ed25519.PrivateKey, *ecdsa.PrivateKey or []byte
	verify    any     // ed25519.PublicKey, *ecdsa.PublicKey or []byte
	public    jwk.Key // the public JWK for the JWKS; nil for HMAC keys
	notBefore time.Time
	expiresAt time.Time // zero: never (the key of Config.HMACSecret)
	stored    store.SigningKey
	// headers holds the encoded protected header of each kind of token the key signs.
	headers map[*tokenKind]string
}

// withHeaders computes the key's headers: jws.Sign writes each (over an empty payload), once,
// and signToken then reuses it as it is.
func (k *signingKey) withHeaders() (*signingKey, error) {
	k.headers = make(map[*tokenKind]string, 2)
	for _, kind := range []*tokenKind{accessKind, pendingKind} {
		h := jws.NewHeaders()
		if err := h.Set(jws.KeyIDKey, k.id); err != nil {
			return nil, fmt.Errorf("session: key %s: %w", k.id, err)
		}
		if err := h.Set(jws.TypeKey, kind.header); err != nil {
			return nil, fmt.Errorf("session: key %s: %w", k.id, err)
		}
		tok, err := jws.Sign([]byte("{}"), jws.WithKey(k.alg, k.sign, jws.WithProtectedHeaders(h)))
		if err != nil {
			return nil, fmt.Errorf("session: key %s: signing: %w", k.id, err)
		}
		k.headers[kind], _, _ = strings.Cut(string(tok), ".")
	}
	return k, nil
}

// maxSignatureSize is the size of the longest signature of the algorithms supported (EdDSA and
// ES256: 64 bytes; HS256: 32).
const maxSignatureSize = 64

// signature signs input, by jwx's JWS building blocks: the typed function of the key's
// algorithm, without the lookups of jwsbb.Sign, when the key has the type loadKey gives it.
func (k *signingKey) signature(input []byte) ([]byte, error) {
	switch key := k.sign.(type) {
	case ed25519.PrivateKey:
		if k.algName == "EdDSA" {
			return jwsbb.SignEdDSA(key, input)
		}
	case *ecdsa.PrivateKey:
		if k.algName == "ES256" {
			sig, err := jwsbb.SignECDSA(key, input, crypto.SHA256, nil)
			if err != nil {
				return nil, err
			}
			return lowS(sig)
		}
	}
	sig, err := jwsbb.Sign(k.sign, k.algName, input, nil)
	if err != nil || k.algName != "ES256" {
		return sig, err
	}
	return lowS(sig)
}

// ES256 signatures are malleable: with (r, s), (r, n−s) verifies too (n is the order of P-256),
// so one token would have two texts. Tokens are minted with s ≤ n/2 only (lowS), and a
// signature with s > n/2 is refused (highS), after jwx has verified it.
var (
	p256Order     = elliptic.P256().Params().N
	p256HalfOrder [es256Size / 2]byte // n/2, rounded down, big-endian
)

// es256Size is the size of an ES256 signature: r and s, 32 bytes each, big-endian.
const es256Size = 64

func init() {
	new(big.Int).Rsh(p256Order, 1).FillBytes(p256HalfOrder[:])
}

// highS reports whether the ES256 signature sig (r‖s) has s > n/2; a signature not of the ES256
// size counts as high (it cannot be one this package minted).
func highS(sig []byte) bool {
	if len(sig) != es256Size {
		return true
	}
	return bytes.Compare(sig[es256Size/2:], p256HalfOrder[:]) > 0
}

// lowS returns the ES256 signature sig (r‖s) with s replaced by n−s when s > n/2: the same
// signature, still valid, in the one form verification accepts.
func lowS(sig []byte) ([]byte, error) {
	if len(sig) != es256Size {
		return nil, fmt.Errorf("ES256 signature of %d bytes", len(sig))
	}
	if !highS(sig) {
		return sig, nil
	}
	s := new(big.Int).SetBytes(sig[es256Size/2:])
	s.Sub(p256Order, s).FillBytes(sig[es256Size/2:])
	return sig, nil
}

// maxDecodedSignature bounds the signatures verification decodes: longer ones are refused
// unread.
const maxDecodedSignature = 128

// check verifies the signature sig of input, by jwx's JWS building blocks, as signature signs.
// An ES256 signature that jwx accepts must also be low-s (see lowS).
func (k *signingKey) check(input, sig []byte) error {
	var err error
	switch key := k.verify.(type) {
	case ed25519.PublicKey:
		if k.algName == "EdDSA" {
			return jwsbb.VerifyEdDSA(key, input, sig)
		}
		err = jwsbb.Verify(k.verify, k.algName, input, sig)
	case *ecdsa.PublicKey:
		if k.algName == "ES256" {
			err = jwsbb.VerifyECDSA(key, input, sig, crypto.SHA256)
		} else {
			err = jwsbb.Verify(k.verify, k.algName, input, sig)
		}
	default:
		err = jwsbb.Verify(k.verify, k.algName, input, sig)
	}
	if err == nil && k.algName == "ES256" && highS(sig) {
		return errHighS
	}
	return err
}

var errHighS = errors.New("ES256 signature with a high s")

// live reports whether the key verifies at now.
func (k *signingKey) live(now time.Time) bool {
	return k.expiresAt.IsZero() || now.Before(k.expiresAt)
}

// keySet is an immutable snapshot of the keys an instance knows, swapped atomically.
type keySet struct {
	byID map[string]*signingKey
	// byHeader maps the encoded protected headers this package writes to their key and kind.
	byHeader map[string]keyKind
	list     []*signingKey // the newest NotBefore first, as the store lists them
	jwks     []byte        // the JWKS document of the public keys
}

type keyKind struct {
	key  *signingKey
	kind *tokenKind
}

func newKeySet(keys []*signingKey) *keySet {
	ks := &keySet{
		byID:     make(map[string]*signingKey, len(keys)),
		byHeader: make(map[string]keyKind, 2*len(keys)),
		list:     keys,
	}
	set := jwk.NewSet()
	for _, k := range keys {
		ks.byID[k.id] = k
		for kind, hdr := range k.headers {
			ks.byHeader[hdr] = keyKind{k, kind}
		}
		if k.public != nil {
			_ = set.AddKey(k.public) // fails only for a key already added: ids are unique
		}
	}
	b, err := json.Marshal(set)
	if err != nil || set.Len() == 0 {
		b = []byte(`{"keys":[]}`)
	}
	ks.jwks = b
	return ks
}

func lookupAlgorithm(name string) (jwa.SignatureAlgorithm, bool) {
	switch name {
	case "EdDSA":
		return jwa.EdDSA(), true
	case "ES256":
		return jwa.ES256(), true
	case "HS256":
		return jwa.HS256(), true
	}
	return jwa.EmptySignatureAlgorithm(), false
}

// randomID returns n random bytes, base64url-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// staticKey makes the key of Config.HMACSecret. Its kid is a hash of the secret under a domain
// label, so instances sharing the secret agree on it without revealing anything of it.
func staticKey(secret []byte) (*signingKey, error) {
	h := sha256.New()
	h.Write([]byte("walletauth/session HS256 kid\x00"))
	h.Write(secret)
	secret = append([]byte(nil), secret...)
	k, err := (&signingKey{
		id:      "hs256-" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12]),
		alg:     jwa.HS256(),
		algName: "HS256",
		sign:    secret,
		verify:  secret,
	}).withHeaders()
	if err != nil {
		return nil, err
	}
	return k, nil
}

// loadKey parses a stored key. It refuses a key whose JWK does not match its algorithm (an
// Ed25519 key labelled HS256, say), so that a key is only ever used with its own algorithm.
func loadKey(sk store.SigningKey) (*signingKey, error) {
	alg, ok := lookupAlgorithm(sk.Algorithm)
	if !ok {
		return nil, fmt.Errorf("session: key %s: unsupported algorithm %q", sk.ID, sk.Algorithm)
	}
	jk, err := jwk.ParseKey(sk.Private)
	if err != nil {
		return nil, fmt.Errorf("session: key %s: not a JWK", sk.ID) // the cause may quote key material
	}
	if kid, ok := jk.KeyID(); ok && kid != sk.ID {
		return nil, fmt.Errorf("session: key %s: JWK kid %q differs", sk.ID, kid)
	}
	var raw any
	if err := jwk.Export(jk, &raw); err != nil {
		return nil, fmt.Errorf("session: key %s: cannot export the JWK", sk.ID)
	}
	k := &signingKey{id: sk.ID, alg: alg, algName: sk.Algorithm, notBefore: sk.NotBefore, expiresAt: sk.ExpiresAt, stored: sk}
	mismatch := fmt.Errorf("session: key %s: the JWK is not a private %s key", sk.ID, sk.Algorithm)
	switch sk.Algorithm {
	case "EdDSA":
		priv, ok := raw.(ed25519.PrivateKey)
		if !ok || len(priv) != ed25519.PrivateKeySize {
			return nil, mismatch
		}
		k.sign, k.verify = priv, priv.Public().(ed25519.PublicKey)
	case "ES256":
		priv, ok := raw.(*ecdsa.PrivateKey)
		if !ok || priv.Curve != elliptic.P256() {
			return nil, mismatch
		}
		k.sign, k.verify = priv, &priv.PublicKey
	case "HS256":
		secret, ok := raw.([]byte)
		if !ok || len(secret) < MinHMACSecret {
			return nil, mismatch
		}
		k.sign, k.verify = secret, secret
		return k.withHeaders()
	}
	pub, err := jwk.Import(k.verify) // a fresh JWK of the public key alone
	if err != nil {
		return nil, fmt.Errorf("session: key %s: %w", sk.ID, err)
	}
	for name, v := range map[string]any{jwk.KeyIDKey: sk.ID, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(name, v); err != nil {
			return nil, fmt.Errorf("session: key %s: %w", sk.ID, err)
		}
	}
	k.public = pub
	return k.withHeaders()
}

// generateKey makes a new key of the configured algorithm that signs from notBefore.
func (m *Manager) generateKey(now, notBefore time.Time) (store.SigningKey, error) {
	var raw any
	switch m.cfg.Algorithm {
	case "EdDSA":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return store.SigningKey{}, err
		}
		raw = priv
	case "ES256":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return store.SigningKey{}, err
		}
		raw = priv
	case "HS256":
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		raw = secret
	}
	id := randomID(16)
	jk, err := jwk.Import(raw)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("session: new key: %w", err)
	}
	if err := jk.Set(jwk.KeyIDKey, id); err != nil {
		return store.SigningKey{}, fmt.Errorf("session: new key: %w", err)
	}
	if err := jk.Set(jwk.AlgorithmKey, m.alg); err != nil {
		return store.SigningKey{}, fmt.Errorf("session: new key: %w", err)
	}
	private, err := json.Marshal(jk)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("session: new key: %w", err)
	}
	return store.SigningKey{
		ID:        id,
		Algorithm: m.cfg.Algorithm,
		Private:   private,
		CreatedAt: now,
		NotBefore: notBefore,
		// It signs until its successor does — nominally KeyRotation after notBefore, plus up
		// to a sync interval before an instance notices, plus the successor's publication —
		// then verifies for as long as a token it signed can live.
		ExpiresAt: notBefore.Add(m.cfg.KeyRotation + m.cfg.SyncInterval + m.cfg.KeyPublishDelay + m.keyOverlap),
	}, nil
}

// addKey creates a key in the store and reloads the key set. The caller holds syncMu.
func (m *Manager) addKey(ctx context.Context, now, notBefore time.Time) error {
	sk, err := m.generateKey(now, notBefore)
	if err != nil {
		return err
	}
	if err := m.cfg.Keys.CreateKey(ctx, sk); err != nil {
		return fmt.Errorf("session: storing a new key: %w", err)
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "session: signing key created",
		slog.String("kid", sk.ID), slog.String("alg", sk.Algorithm), slog.Time("not_before", notBefore))
	if err := m.syncKeys(ctx, now, false); err != nil {
		// The store has the key but could not list it back: use it anyway.
		m.installKeys(append(m.storedKeys(), sk))
	}
	return nil
}

// storedKeys returns the stored form of the keys known.
func (m *Manager) storedKeys() []store.SigningKey {
	ks := m.keys.Load()
	list := make([]store.SigningKey, 0, len(ks.list))
	for _, k := range ks.list {
		list = append(list, k.stored)
	}
	return list
}

// syncKeys reloads the key set from the store and, when rotate is set, creates a key when the
// newest key's signing period is over or no key can sign. The caller holds syncMu.
func (m *Manager) syncKeys(ctx context.Context, now time.Time, rotate bool) error {
	list, err := m.cfg.Keys.ListKeys(ctx, now)
	if err != nil {
		return fmt.Errorf("session: listing keys: %w", err)
	}
	m.installKeys(list)
	if !rotate {
		return nil
	}
	var newest *signingKey
	for _, k := range m.keys.Load().list {
		if k.algName == m.cfg.Algorithm {
			newest = k
			break
		}
	}
	switch {
	case newest == nil || m.signer(now, m.tokenLife) == nil:
		// Nothing can sign: the new key must sign at once (the other instances learn of it at
		// their next Sync). Not merely when a key is within its margin of the end (a rotation
		// that came late, after failed Syncs): that key still signs until its successor, already
		// published, takes over, and a key made now would sign unknown to the other instances.
		return m.addKey(ctx, now, now)
	case !now.Before(newest.notBefore.Add(m.cfg.KeyRotation)):
		return m.addKey(ctx, now, now.Add(m.cfg.KeyPublishDelay))
	}
	return nil
}

// installKeys replaces the key set with the given keys, reusing the parsed form of the keys
// already known. Keys that cannot be used are logged and left out.
func (m *Manager) installKeys(list []store.SigningKey) {
	old := m.keys.Load()
	keys := make([]*signingKey, 0, len(list))
	for _, sk := range list {
		if k := old.byID[sk.ID]; k != nil && k.notBefore.Equal(sk.NotBefore) && k.expiresAt.Equal(sk.ExpiresAt) {
			keys = append(keys, k)
			continue
		}
		k, err := loadKey(sk)
		if err != nil {
			m.log.LogAttrs(context.Background(), slog.LevelError, "session: unusable signing key in the store",
				slog.String("kid", sk.ID), slog.String("error", err.Error()))
			continue
		}
		keys = append(keys, k)
	}
	m.keys.Store(newKeySet(keys))
}

// signer returns the key to sign with at now, for a token that must verify for life: the
// newest key of the configured algorithm that has started signing and lives long enough.
func (m *Manager) signer(now time.Time, life time.Duration) *signingKey {
	if m.static != nil {
		return m.static
	}
	for _, k := range m.keys.Load().list {
		if k.algName == m.cfg.Algorithm && !k.notBefore.After(now) && k.expiresAt.Sub(now) >= life {
			return k
		}
	}
	return nil
}

// signerFor is signer, creating a key that signs at once when none can (every instance was down
// for longer than the keys' overlap, say).
func (m *Manager) signerFor(ctx context.Context, now time.Time, life time.Duration) (*signingKey, error) {
	if k := m.signer(now, life); k != nil {
		return k, nil
	}
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	if err := m.syncKeys(ctx, now, false); err != nil {
		return nil, err
	}
	if k := m.signer(now, life); k != nil {
		return k, nil
	}
	if err := m.addKey(ctx, now, now); err != nil {
		return nil, err
	}
	if k := m.signer(now, life); k != nil {
		return k, nil
	}
	return nil, errors.New("session: no signing key")
}

// RotateKeys creates a new signing key now: it is published at once (store, JWKS, and every
// instance at its next Sync) and signs from KeyPublishDelay on. The previous keys keep verifying
// the tokens they signed until they expire. Sync rotates on its own every KeyRotation; call
// RotateKeys to rotate earlier. It fails with [ErrConfig] when the key is Config.HMACSecret.
func (m *Manager) RotateKeys(ctx context.Context) error {
	if m.static != nil {
		return fmt.Errorf("%w: the key of HMACSecret does not rotate", ErrConfig)
	}
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	now := m.now()
	return m.addKey(ctx, now, now.Add(m.cfg.KeyPublishDelay))
}

// JWKS returns a handler that serves the public signing keys as a JWK Set, {"keys":[...]}: every
// live asymmetric key, including those published but not signing yet, with kid, alg and
// use "sig". Private parts and HMAC keys are never included. Responses may be cached for
// KeyPublishDelay less SyncInterval (at most a minute; 2 s by default), so that a cached set,
// even one served by an instance about to sync, knows every key before it signs.
// Methods other than GET and HEAD get 405 with a JSON error body.
func (m *Manager) JWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			h.Set("Content-Type", "application/json")
			h.Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte(`{"error":{"code":"method_not_allowed","message":"use GET"}}`))
			return
		}
		body := m.keys.Load().jwks
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", m.cacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	})
}
