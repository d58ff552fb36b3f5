package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"github.com/walletauth/walletauth/store"
)

// tokenKind is a type of token: its typ header and typ claim. A token of one kind never
// verifies as another.
type tokenKind struct {
	header  string // the "typ" header
	typ     string // the "typ" claim
	session bool   // carries a sid, is subject to revocation, and may be cached
}

var (
	accessKind  = &tokenKind{header: "at+jwt", typ: "access", session: true}
	pendingKind = &tokenKind{header: "mfa-pending+jwt", typ: "mfa_pending"}
)

// reservedClaims are the claim names this package sets.
var reservedClaims = []string{
	"iss", "aud", "sub", "sid", "iat", "nbf", "exp", "jti", "typ",
	"addr", "chain", "aal", "amr", "auth_time",
}

// IsReservedClaim reports whether name is a claim this package sets itself, compared without
// regard to case (JSON decoders, Go's included, match field names that way): iss, aud, sub, sid,
// iat, nbf, exp, jti, typ, addr, chain, aal, amr and auth_time. A [Config.Claims] hook cannot
// set them.
func IsReservedClaim(name string) bool {
	for _, r := range reservedClaims {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}

// Subject is who a session or token is for.
type Subject struct {
	// UserID is the user's stable id (the "sub" claim). Required.
	UserID string
	// Address (EIP-55) and ChainID are the wallet and chain signed in with ("addr", "chain").
	Address string
	ChainID uint64
	// AAL is the assurance level; "" means "aal1".
	AAL string
	// AMR lists the authentication methods; nil means ["siwe"].
	AMR []string
	// UserAgent and IP describe the device for the user's list of sessions; they are cut to 512
	// and 64 bytes.
	UserAgent, IP string
}

// Tokens is what a sign-in or a refresh gives the client.
type Tokens struct {
	SessionID string
	// AccessToken is a JWS (compact) of typ "at+jwt", valid until AccessExpiresAt.
	AccessToken     string
	AccessExpiresAt time.Time
	// RefreshToken is the opaque refresh token, "<session id>.<secret>". It is empty when
	// [Manager.Refresh] honoured the previous refresh token within the grace period: the client
	// keeps the refresh token it has (see [Manager.Refresh]).
	RefreshToken string
	// RefreshExpiresAt is when the session ends unless refreshed: the earlier of the idle and
	// the absolute expiry.
	RefreshExpiresAt time.Time
}

// Claims is what a verified token says. Every call returns its own copy.
type Claims struct {
	UserID    string
	SessionID string // empty in a pending token
	Address   string
	ChainID   uint64
	AAL       string
	AMR       []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// AuthTime is when the user signed in: the session's CreatedAt.
	AuthTime time.Time
	// TokenID is the token's "jti" claim: random, unique to the token, never empty. It is the
	// key of anything that must happen once per token (the single use of a pending token).
	TokenID string
	// Extra holds the claims of the [Config.Claims] hook. It is filled only when the verifying
	// Manager has a hook, and is nil when there are none.
	Extra map[string]any
}

// audienceHas reports whether the "aud" claim raw (a string, or an array of strings in tokens of
// other issuers) names aud, whose JSON encoding is want.
func audienceHas(raw, want []byte, aud string) bool {
	if bytes.Equal(raw, want) {
		return true // the form we mint: no decoding
	}
	var list []string
	if len(raw) > 0 && raw[0] == '"' {
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return false
		}
		list = []string{one}
	} else if json.Unmarshal(raw, &list) != nil {
		return false
	}
	return slices.Contains(list, aud)
}

// tokenClaims is the payload of our tokens.
type tokenClaims struct {
	Iss      string          `json:"iss"`
	Aud      json.RawMessage `json:"aud"`
	Sub      string          `json:"sub"`
	Sid      string          `json:"sid,omitempty"`
	Iat      int64           `json:"iat"`
	Nbf      int64           `json:"nbf"`
	Exp      int64           `json:"exp"`
	Jti      string          `json:"jti"`
	Typ      string          `json:"typ"`
	Addr     string          `json:"addr,omitempty"`
	Chain    string          `json:"chain,omitempty"`
	Aal      string          `json:"aal"`
	Amr      []string        `json:"amr"`
	AuthTime int64           `json:"auth_time,omitempty"`
}

// jtiBytes is the size of a token's random id; it encodes to jtiLen characters.
const (
	jtiBytes = 16
	jtiLen   = 22
)

// mint signs a token of kind for c, adding extra claims, with a key that verifies for ttl. jti
// holds the random bytes of the token's id, or is nil for mint to read them.
func (m *Manager) mint(ctx context.Context, kind *tokenKind, c *tokenClaims, extra map[string]any, ttl time.Duration, now time.Time, jti *[jtiBytes]byte) (string, time.Time, error) {
	k, err := m.signerFor(ctx, now, ttl+m.cfg.ClockSkew)
	if err != nil {
		return "", time.Time{}, err
	}
	if jti == nil {
		jti = new([jtiBytes]byte)
		_, _ = rand.Read(jti[:]) // never fails (crypto/rand)
	}
	var jtiEnc [jtiLen]byte
	base64.RawURLEncoding.Encode(jtiEnc[:], jti[:])
	iat := now.Unix()
	c.Iss, c.Aud, c.Typ = m.cfg.Issuer, m.audienceJSON, kind.typ
	c.Iat, c.Nbf, c.Exp = iat, iat, now.Add(ttl).Unix() // whole seconds, never beyond ttl

	// The claims, then the token after them, are written into one scratch buffer: the token is
	// copied out of it once, into the string returned.
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b := (*bp)[:0]
	if len(extra) == 0 {
		b = appendClaims(b, c, jtiEnc[:])
	} else {
		c.Jti = string(jtiEnc[:])
		merged, err := mergeClaims(c, extra)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("session: encoding claims: %w", err)
		}
		b = append(b, merged...)
	}
	n := len(b)
	if b, err = k.signToken(b, kind, b); err != nil {
		return "", time.Time{}, err
	}
	if cap(b) <= 4*MaxTokenSize {
		*bp = b[:0] // keep the buffer, grown or not, unless a hook made it large
	}
	tok := b[n:]
	if len(tok) > MaxTokenSize {
		return "", time.Time{}, fmt.Errorf("session: token of %d bytes is over MaxTokenSize (too many hook claims)", len(tok))
	}
	return string(tok), time.Unix(c.Exp, 0), nil
}

// signToken appends to buf the compact JWS of payload as a token of kind: the key's
// precomputed protected header for kind (alg, kid and typ, as jws.Sign wrote it), the payload,
// and the signature by jwx over the two. payload may be buf itself.
func (k *signingKey) signToken(buf []byte, kind *tokenKind, payload []byte) ([]byte, error) {
	hdr, ok := k.headers[kind]
	if !ok {
		return nil, fmt.Errorf("session: signing: key %s has no header for %s", k.id, kind.header)
	}
	enc := base64.RawURLEncoding
	start := len(buf)
	input := len(hdr) + 1 + enc.EncodedLen(len(payload))
	buf = slices.Grow(buf, input+1+enc.EncodedLen(maxSignatureSize))
	buf = append(buf, hdr...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload) // payload, if in buf's array, is before its end
	sig, err := k.signature(buf[start:])
	if err != nil {
		return nil, fmt.Errorf("session: signing: %w", err)
	}
	buf = append(buf, '.')
	return enc.AppendEncode(buf, sig), nil
}

// mergeClaims encodes c with the extra claims beside its own.
func mergeClaims(c *tokenClaims, extra map[string]any) ([]byte, error) {
	for name := range extra {
		if IsReservedClaim(name) {
			return nil, fmt.Errorf("claims hook sets the reserved claim %q", name)
		}
	}
	own := *c // a copy escapes to encoding/json, not c itself
	b, err := json.Marshal(&own)
	if err != nil {
		return nil, err
	}
	all := make(map[string]any, len(extra)+len(reservedClaims))
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	maps.Copy(all, extra)
	return json.Marshal(all)
}

var defaultAMR = []string{"siwe"}

func subjectClaims(s Subject) tokenClaims {
	c := tokenClaims{Sub: s.UserID, Addr: s.Address, Aal: s.AAL, Amr: s.AMR}
	if s.ChainID != 0 {
		c.Chain = "eip155:" + strconv.FormatUint(s.ChainID, 10)
	}
	if c.Aal == "" {
		c.Aal = "aal1"
	}
	if c.Amr == nil {
		c.Amr = defaultAMR // only read: the claims are encoded, never handed out
	}
	return c
}

// mintAccess signs an access token for a session. jti is as for mint.
func (m *Manager) mintAccess(ctx context.Context, s *store.Session, now time.Time, jti *[jtiBytes]byte) (string, time.Time, error) {
	c := subjectClaims(Subject{UserID: s.UserID, Address: s.Address, ChainID: s.ChainID, AAL: s.AAL, AMR: s.AMR})
	c.Sid = s.ID
	c.AuthTime = s.CreatedAt.Unix()
	var extra map[string]any
	if m.cfg.Claims != nil {
		var err error
		view := *s // the hook has no business with the refresh hashes
		view.RefreshHash, view.PrevRefreshHash, view.RetiredRefreshHashes = nil, nil, nil
		view.AMR = slices.Clone(s.AMR)
		if extra, err = m.cfg.Claims(ctx, view); err != nil {
			return "", time.Time{}, fmt.Errorf("session: claims hook: %w", err)
		}
	}
	// No access token outlives its session: a token of a session that has ended is worthless,
	// and revocations are reported only for live sessions.
	ttl := min(m.cfg.AccessTTL, sessionEnd(s).Sub(now))
	if ttl < time.Second {
		return "", time.Time{}, errRefreshUnknown
	}
	return m.mint(ctx, accessKind, &c, extra, ttl, now, jti)
}

// MintPending signs a pending token for a sign-in that waits for its second factor: typ
// "mfa_pending" (header "mfa-pending+jwt"), with the subject's claims and no session, valid for
// ttl (at most [MaxPendingTTL]). It is signed with the same keys as access tokens but never
// verifies as one, nor an access token as it ([Manager.VerifyPending]).
func (m *Manager) MintPending(s Subject, ttl time.Duration) (string, time.Time, error) {
	if s.UserID == "" {
		return "", time.Time{}, errors.New("session: MintPending: Subject.UserID is required")
	}
	if ttl <= 0 || ttl > MaxPendingTTL {
		return "", time.Time{}, fmt.Errorf("session: MintPending: lifetime %v is not in (0, %v]", ttl, MaxPendingTTL)
	}
	now := m.now()
	c := subjectClaims(s)
	c.AuthTime = now.Unix()
	return m.mint(context.Background(), pendingKind, &c, nil, ttl, now, nil)
}

// VerifyPending verifies a token of [Manager.MintPending], as [Manager.Verify] does an access
// token (without revocation, which pending tokens do not have, and without the cache).
func (m *Manager) VerifyPending(token string) (*Claims, error) {
	c, _, err := m.verifyToken(token, pendingKind, m.now())
	return c, err
}

// Verify verifies an access token and returns its claims. It does no I/O: keys and revocations
// come from memory, kept up to date by [Manager.Sync].
//
// It refuses, with [ErrTokenInvalid], anything but a compact JWS of at most [MaxTokenSize]
// bytes with typ "at+jwt", a kid of a live key and that key's algorithm ("none", another
// algorithm, and keys embedded in jku, jwk, x5u or x5c are never used), no crit or b64 headers,
// a good signature, the typ claim "access", this issuer and audience, sub, sid, iat and exp, and
// nbf and iat not in the future (beyond the clock skew). It refuses an expired token with
// [ErrTokenExpired] and a token of a revoked session with [ErrSessionRevoked].
//
// A token verified before is found in a bounded cache and skips the signature check; its expiry,
// revocation and key are checked again.
func (m *Manager) Verify(token string) (*Claims, error) {
	if len(token) > MaxTokenSize {
		return nil, errTooLarge // before hashing it for the cache
	}
	now := m.now()
	if m.cache != nil {
		if e := m.cache.get(token); e != nil {
			return m.checkCached(e, now)
		}
	}
	c, k, err := m.verifyToken(token, accessKind, now)
	if err != nil {
		return nil, err
	}
	if m.cache != nil {
		m.cache.put(token, &cacheEntry{claims: *c.clone(), key: k})
	}
	return c, nil
}

func (m *Manager) checkCached(e *cacheEntry, now time.Time) (*Claims, error) {
	if k := m.keys.Load().byID[e.key.id]; k == nil || !k.live(now) {
		return nil, errUnknownKid // the key has expired or was deleted from the store since
	}
	if !now.Before(e.claims.ExpiresAt.Add(m.cfg.ClockSkew)) {
		return nil, errExpired
	}
	if m.revoked.has(e.claims.SessionID) {
		return nil, errRevoked
	}
	return e.claims.clone(), nil
}

// clone returns a copy of c that shares nothing mutable with it: the cache's copy and every
// copy handed out are independent, however deep the hook's values.
func (c *Claims) clone() *Claims {
	d := *c
	d.AMR = slices.Clone(c.AMR)
	if c.Extra != nil {
		d.Extra = cloneObject(c.Extra)
	}
	return &d
}

// cloneObject deep-copies a JSON-decoded object: nested objects and arrays are copied, the
// other values (strings, numbers, booleans, null) are immutable and shared.
func cloneObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	d := make(map[string]any, len(m))
	for k, v := range m {
		d[k] = cloneValue(v)
	}
	return d
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneObject(v)
	case []any:
		if v == nil {
			return v
		}
		d := make([]any, len(v))
		for i, e := range v {
			d[i] = cloneValue(e)
		}
		return d
	}
	return v
}

// verifyToken verifies a token of kind completely.
func (m *Manager) verifyToken(token string, kind *tokenKind, now time.Time) (*Claims, *signingKey, error) {
	if len(token) > MaxTokenSize {
		return nil, nil, errTooLarge
	}
	// The compact serialisation: exactly three segments. This refuses JWE (five), the JSON
	// serialisation, and anything else.
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := append((*bp)[:0], token...)
	*bp = buf
	hdr, payload, sig, err := jwsbb.SplitCompact(buf)
	if err != nil || len(hdr) == 0 {
		return nil, nil, errMalformed
	}
	ks := m.keys.Load()
	var k *signingKey
	if hk, ok := ks.byHeader[string(hdr)]; ok && hk.kind == kind {
		// The exact header this package writes for this key and kind: its alg, kid and typ are
		// known, nothing else is in it, and there is nothing to parse.
		k = hk.key
	} else if k, err = parseHeader(ks, hdr, kind); err != nil {
		return nil, nil, err
	}
	if !k.live(now) {
		return nil, nil, errUnknownKid
	}
	// The signature, then the payload, are decoded into the rest of the buffer, after the
	// token: decoding the JSON copies out of it.
	enc := base64.RawURLEncoding.Strict()
	if enc.DecodedLen(len(sig)) > maxDecodedSignature {
		return nil, nil, errSignature
	}
	end := len(buf)
	buf = slices.Grow(buf, enc.DecodedLen(len(sig))+enc.DecodedLen(len(payload)))
	*bp = buf
	input := buf[:len(hdr)+1+len(payload)]
	tail := buf[end:cap(buf)]
	n, err := enc.Decode(tail, sig)
	if err != nil {
		return nil, nil, errSignature
	}
	signature, tail := tail[:n:n], tail[n:]
	// The signature, by jwx, over the exact bytes received.
	if err := k.check(input, signature); err != nil {
		return nil, nil, errSignature
	}
	if n, err = enc.Decode(tail, payload); err != nil {
		return nil, nil, errPayload
	}
	payload = tail[:n]
	var tc tokenClaims
	if !parseClaims(payload, &tc) {
		// Not in the form this package writes: encoding/json decides.
		var all tokenClaims
		if err := json.Unmarshal(payload, &all); err != nil {
			return nil, nil, errPayload
		}
		tc = all
	}
	switch {
	case tc.Typ != kind.typ:
		return nil, nil, errType
	case tc.Iss != m.cfg.Issuer:
		return nil, nil, errIssuer
	case !audienceHas(tc.Aud, m.audienceJSON, m.audience):
		return nil, nil, errAudience
	case tc.Sub == "" || tc.Jti == "" || tc.Exp == 0 || tc.Iat == 0 || (kind.session && tc.Sid == ""):
		return nil, nil, errMissingClaim
	}
	skew := m.cfg.ClockSkew
	exp := time.Unix(tc.Exp, 0)
	if !now.Before(exp.Add(skew)) {
		return nil, nil, errExpired
	}
	if tc.Nbf != 0 && now.Add(skew).Before(time.Unix(tc.Nbf, 0)) {
		return nil, nil, errNotYetValid
	}
	if now.Add(skew).Before(time.Unix(tc.Iat, 0)) {
		return nil, nil, errIssuedInFuture
	}
	c := &Claims{
		UserID:    tc.Sub,
		SessionID: tc.Sid,
		Address:   tc.Addr,
		AAL:       tc.Aal,
		AMR:       tc.Amr,
		IssuedAt:  time.Unix(tc.Iat, 0),
		ExpiresAt: exp,
		TokenID:   tc.Jti,
	}
	if tc.AuthTime != 0 {
		c.AuthTime = time.Unix(tc.AuthTime, 0)
	}
	if tc.Chain != "" {
		id, ok := strings.CutPrefix(tc.Chain, "eip155:")
		if !ok {
			return nil, nil, errChain
		}
		if c.ChainID, err = strconv.ParseUint(id, 10, 64); err != nil || c.ChainID == 0 {
			return nil, nil, errChain
		}
	}
	if m.cfg.Claims != nil && kind.session {
		var all map[string]any
		if err := json.Unmarshal(payload, &all); err != nil {
			return nil, nil, errPayload
		}
		for _, r := range reservedClaims {
			delete(all, r)
		}
		if len(all) > 0 {
			c.Extra = all
		}
	}
	if kind.session && m.revoked.has(tc.Sid) {
		return nil, nil, errRevoked
	}
	return c, k, nil
}

// bufPool holds the buffers of verifyToken: the token's bytes, then its decoded payload.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 2048)
	return &b
}}

// parseHeader reads a protected header that is not one of those this package writes, and
// returns the key it names, checking everything verification needs of a header. It is parsed by
// jwx's header parser. Members not looked at (jku, jwk, x5u, x5c, ...) are ignored: keys come
// only from the in-memory key set, by kid.
func parseHeader(ks *keySet, hdr []byte, kind *tokenKind) (*signingKey, error) {
	h := jwsbb.HeaderParseCompact(hdr)
	alg, err := jwsbb.HeaderGetString(h, jws.AlgorithmKey)
	if err != nil && !errors.Is(err, jwsbb.ErrHeaderNotFound()) {
		return nil, errHeader
	}
	switch {
	case jwsbb.HeaderHas(h, jws.CriticalKey):
		return nil, errCrit
	case jwsbb.HeaderHas(h, "b64"):
		return nil, errB64
	}
	if typ, err := jwsbb.HeaderGetString(h, jws.TypeKey); err != nil || typ != kind.header {
		return nil, errHeaderType
	}
	kid, err := jwsbb.HeaderGetString(h, jws.KeyIDKey)
	if err != nil || kid == "" {
		return nil, errNoKid
	}
	k := ks.byID[kid]
	if k == nil {
		return nil, errUnknownKid
	}
	// The key's algorithm and no other: "none", and HS256 keyed with a public key, never get
	// further.
	if alg != k.algName {
		return nil, errAlgorithm
	}
	return k, nil
}

// tokenCache remembers verified access tokens, at most size, forgetting the oldest first.
type tokenCache struct {
	mu   sync.RWMutex
	m    map[string]*cacheEntry
	ring []string // tokens in order of insertion; next is the slot to reuse once full
	next int
	size int
}

type cacheEntry struct {
	claims Claims
	key    *signingKey
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{m: make(map[string]*cacheEntry, min(size, 1024)), size: size}
}

func (c *tokenCache) get(token string) *cacheEntry {
	c.mu.RLock()
	e := c.m[token]
	c.mu.RUnlock()
	return e
}

func (c *tokenCache) put(token string, e *cacheEntry) {
	token = strings.Clone(token) // do not keep the caller's larger buffer alive
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[token]; ok {
		return
	}
	if len(c.ring) < c.size {
		c.ring = append(c.ring, token)
	} else {
		delete(c.m, c.ring[c.next])
		c.ring[c.next] = token
		c.next = (c.next + 1) % c.size
	}
	c.m[token] = e
}
