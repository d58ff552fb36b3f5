package session_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/walletauth/walletauth/internal/testutil"

	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
)

var algorithms = []struct {
	name string
	edit func(*session.Config)
}{
	{"EdDSA", func(*session.Config) {}},
	{"ES256", func(c *session.Config) { c.Algorithm = "ES256" }},
	{"HS256", func(c *session.Config) { c.Algorithm = "HS256" }},
	{"HS256-secret", func(c *session.Config) {
		c.Algorithm = "HS256"
		c.HMACSecret = []byte("0123456789abcdef0123456789abcdef")
	}},
}

func TestMintVerifyRoundTrip(t *testing.T) {
	for _, a := range algorithms {
		t.Run(a.name, func(t *testing.T) {
			e := newEnv(t)
			m := e.manager(a.edit)
			s := alice
			s.AAL, s.AMR = "aal2", []string{"siwe", "totp"}
			tok := e.create(m, s)

			h, p := segments(t, tok.AccessToken)
			wantAlg := strings.TrimSuffix(a.name, "-secret")
			if h["alg"] != wantAlg || h["typ"] != "at+jwt" || h["kid"] == "" {
				t.Errorf("header = %v", h)
			}
			if p["typ"] != "access" || p["chain"] != "eip155:1" || p["jti"] == "" || p["aud"] != issuer {
				t.Errorf("payload = %v", p)
			}

			c, err := m.Verify(tok.AccessToken)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			now := e.clock.Now()
			want := session.Claims{
				UserID: "user-alice", SessionID: tok.SessionID, Address: alice.Address, ChainID: 1,
				AAL: "aal2", AMR: []string{"siwe", "totp"},
				IssuedAt: now, ExpiresAt: now.Add(time.Minute), AuthTime: now,
			}
			if !claimsEqual(*c, want) {
				t.Errorf("claims = %+v, want %+v", *c, want)
			}
			if !tok.AccessExpiresAt.Equal(now.Add(time.Minute)) {
				t.Errorf("AccessExpiresAt = %v", tok.AccessExpiresAt)
			}
			if !tok.RefreshExpiresAt.Equal(now.Add(7 * 24 * time.Hour)) {
				t.Errorf("RefreshExpiresAt = %v", tok.RefreshExpiresAt)
			}
			// A second instance on the same store verifies it too (HS256 with a fixed secret:
			// the same secret).
			m2 := e.manager(a.edit)
			if _, err := m2.Verify(tok.AccessToken); err != nil {
				t.Errorf("second manager: %v", err)
			}
		})
	}
}

func claimsEqual(a, b session.Claims) bool {
	return a.UserID == b.UserID && a.SessionID == b.SessionID && a.Address == b.Address &&
		a.ChainID == b.ChainID && a.AAL == b.AAL && slices.Equal(a.AMR, b.AMR) &&
		a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.AuthTime.Equal(b.AuthTime)
}

func TestDefaultsOfSubject(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	tok := e.create(m, session.Subject{UserID: "u1"})
	c, err := m.Verify(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.AAL != "aal1" || !slices.Equal(c.AMR, []string{"siwe"}) || c.Address != "" || c.ChainID != 0 {
		t.Errorf("claims = %+v", c)
	}
	if _, err := m.Create(context.Background(), session.Subject{}); err == nil {
		t.Error("Create without a user id succeeded")
	}
}

// TestVerifyRefuses crafts tokens that must all be refused with ErrTokenInvalid.
func TestVerifyRefuses(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	tok := e.create(m, alice)
	kid := kidOf(t, tok.AccessToken)
	alg, priv := e.storedKey(kid)
	if alg != "EdDSA" {
		t.Fatal(alg)
	}
	ours := priv.(ed25519.PrivateKey)
	pub := ours.Public().(ed25519.PublicKey)
	_, attacker, _ := ed25519.GenerateKey(rand.Reader)
	attackerJWK, _ := jwk.Import(attacker.Public())
	pubJWK, _ := jwk.Import(pub)
	pubJWKJSON, _ := json.Marshal(pubJWK)

	now := e.clock.Now()
	good := claimsFor(tok.SessionID, now)
	hdr := map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
	parts := strings.Split(tok.AccessToken, ".")

	// A control: our own crafting with our key verifies, so the refusals below are for the
	// reason each names.
	if _, err := m.Verify(craft(hdr, good, "EdDSA", ours)); err != nil {
		t.Fatalf("control token refused: %v", err)
	}

	jsonSerialised, err := jws.Sign([]byte(`{"sub":"x"}`), jws.WithJSON(), jws.WithKey(jwa.EdDSA(), ours))
	if err != nil {
		t.Fatal(err)
	}
	big := craft(hdr, with(good, "pad", strings.Repeat("a", session.MaxTokenSize)), "EdDSA", ours)

	cases := []struct {
		name, token string
		reason      string // the refusal's detail: each case is refused for its own reason
	}{
		{"empty", "", "not a compact JWS"},
		{"garbage", "not a token", "not a compact JWS"},
		{"dots only", "..", "not a compact JWS"},
		{"two segments", parts[0] + "." + parts[1], "not a compact JWS"},
		{"extra segment", tok.AccessToken + ".AAAA", "not a compact JWS"},
		{"JWE five segments", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d", "not a compact JWS"},
		{"JSON serialisation", string(jsonSerialised), "not a compact JWS"},
		{"oversized", big, "token too large"},
		{"header not base64", "!!!." + parts[1] + "." + parts[2], "malformed header"},
		{"header with padding", parts[0] + "=." + parts[1] + "." + parts[2], "malformed header"},
		{"header not JSON", b64("nope") + "." + parts[1] + "." + parts[2], "malformed header"},
		{"payload not base64", parts[0] + ".!!!." + parts[2], "signature verification failed"},
		{"alg none", craft(map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}, good, "", nil), "algorithm is not the key's"},
		{"alg none with a signature", craft(map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}, good, "EdDSA", ours), "algorithm is not the key's"},
		{"no alg", craft(map[string]any{"typ": "at+jwt", "kid": kid}, good, "EdDSA", ours), "algorithm is not the key's"},
		{"HS256 keyed with the EdDSA public key", craft(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": kid}, good, "HS256", []byte(pub)), "algorithm is not the key's"},
		{"HS256 keyed with the public JWK", craft(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": kid}, good, "HS256", pubJWKJSON), "algorithm is not the key's"},
		{"ES256 header on an EdDSA key", craft(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kid}, good, "EdDSA", ours), "algorithm is not the key's"},
		{"unknown kid", craft(with(hdr, "kid", "nosuchkey"), good, "EdDSA", attacker), "unknown kid"},
		{"no kid", craft(with(hdr, "kid", nil), good, "EdDSA", ours), "no kid"},
		{"b64 false", craft(with(hdr, "b64", false, "crit", []string{"b64"}), good, "EdDSA", ours), "crit header not supported"},
		{"b64 false without crit", craft(with(hdr, "b64", false), good, "EdDSA", ours), "b64 header not supported"},
		{"crit", craft(with(hdr, "crit", []string{"exp"}, "exp", 1), good, "EdDSA", ours), "crit header not supported"},
		{"embedded jwk of the attacker", craft(with(hdr, "jwk", attackerJWK), good, "EdDSA", attacker), "signature verification failed"},
		{"embedded jwk, unknown kid", craft(with(hdr, "jwk", attackerJWK, "kid", "attacker"), good, "EdDSA", attacker), "unknown kid"},
		{"jku of the attacker", craft(with(hdr, "jku", "https://evil.example/jwks.json"), good, "EdDSA", attacker), "signature verification failed"},
		{"x5u of the attacker", craft(with(hdr, "x5u", "https://evil.example/cert.pem"), good, "EdDSA", attacker), "signature verification failed"},
		{"typ header JWT", craft(with(hdr, "typ", "JWT"), good, "EdDSA", ours), "wrong token type (typ header)"},
		{"no typ header", craft(with(hdr, "typ", nil), good, "EdDSA", ours), "wrong token type (typ header)"},
		{"pending typ header", craft(with(hdr, "typ", "mfa-pending+jwt"), good, "EdDSA", ours), "wrong token type (typ header)"},
		{"typ claim refresh", craft(hdr, with(good, "typ", "refresh"), "EdDSA", ours), "wrong token type (typ claim)"},
		{"typ claim pending", craft(hdr, with(good, "typ", "mfa_pending"), "EdDSA", ours), "wrong token type (typ claim)"},
		{"no typ claim", craft(hdr, with(good, "typ", nil), "EdDSA", ours), "wrong token type (typ claim)"},
		{"wrong issuer", craft(hdr, with(good, "iss", "https://evil.example"), "EdDSA", ours), "wrong issuer"},
		{"no issuer", craft(hdr, with(good, "iss", nil), "EdDSA", ours), "wrong issuer"},
		{"wrong audience", craft(hdr, with(good, "aud", "https://other.example"), "EdDSA", ours), "wrong audience"},
		{"wrong audience array", craft(hdr, with(good, "aud", []string{"a", "b"}), "EdDSA", ours), "wrong audience"},
		{"no audience", craft(hdr, with(good, "aud", nil), "EdDSA", ours), "wrong audience"},
		{"no sub", craft(hdr, with(good, "sub", nil), "EdDSA", ours), "required claim missing"},
		{"no sid", craft(hdr, with(good, "sid", nil), "EdDSA", ours), "required claim missing"},
		{"no iat", craft(hdr, with(good, "iat", nil), "EdDSA", ours), "required claim missing"},
		{"no exp", craft(hdr, with(good, "exp", nil), "EdDSA", ours), "required claim missing"},
		{"exp not a number", craft(hdr, with(good, "exp", "tomorrow"), "EdDSA", ours), "malformed claims"},
		{"exp fractional", craft(hdr, with(good, "exp", float64(now.Unix())+60.5), "EdDSA", ours), "malformed claims"},
		{"not yet valid", craft(hdr, with(good, "nbf", now.Add(time.Minute).Unix()), "EdDSA", ours), "not yet valid"},
		{"issued in the future", craft(hdr, with(good, "iat", now.Add(time.Minute).Unix()), "EdDSA", ours), "issued in the future"},
		{"bad chain", craft(hdr, with(good, "chain", "cosmos:1"), "EdDSA", ours), "malformed chain claim"},
		{"payload an array", craft(hdr, []int{1}, "EdDSA", ours), "malformed claims"},
		{"tampered payload", parts[0] + "." + b64(with(good, "sub", "user-mallory")) + "." + parts[2], "signature verification failed"},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2]), "signature verification failed"},
		{"signature truncated", parts[0] + "." + parts[1] + "." + parts[2][:20], "signature verification failed"},
		{"no signature", parts[0] + "." + parts[1] + ".", "signature verification failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			claims, err := m.Verify(c.token)
			if !errors.Is(err, session.ErrTokenInvalid) || !strings.HasSuffix(err.Error(), c.reason) {
				t.Fatalf("Verify = %v, %v; want ErrTokenInvalid: %s", claims, err, c.reason)
			}
			if claims != nil {
				t.Fatal("claims returned with an error")
			}
			if _, err := m.VerifyPending(c.token); err == nil {
				t.Fatal("VerifyPending accepted it")
			}
		})
	}

	// Headers that carry keys are ignored, not refused: the key comes from the kid alone.
	for _, name := range []string{"jku", "x5u", "jwk"} {
		var v any = "https://evil.example/keys"
		if name == "jwk" {
			v = attackerJWK
		}
		if _, err := m.Verify(craft(with(hdr, name, v), good, "EdDSA", ours)); err != nil {
			t.Errorf("our token with a %s header refused: %v", name, err)
		}
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	return string(b)
}

func TestVerifyES256AndHS256Confusion(t *testing.T) {
	// An ES256 deployment: a token signed HS256 with the public key's bytes is refused.
	e := newEnv(t)
	m := e.manager(func(c *session.Config) { c.Algorithm = "ES256" })
	tok := e.create(m, alice)
	kid := kidOf(t, tok.AccessToken)
	_, priv := e.storedKey(kid)
	pub := &priv.(*ecdsa.PrivateKey).PublicKey
	pubBytes, _ := pub.Bytes()
	good := claimsFor(tok.SessionID, e.clock.Now())
	for name, token := range map[string]string{
		"HS256 with the public key":    craft(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": kid}, good, "HS256", pubBytes),
		"EdDSA header on an ES256 key": craft(map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": kid}, good, "ES256", priv),
		"ES256 by another key":         craft(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kid}, good, "ES256", mustECDSA()),
	} {
		if _, err := m.Verify(token); !errors.Is(err, session.ErrTokenInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := m.Verify(craft(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kid}, good, "ES256", priv)); err != nil {
		t.Errorf("control: %v", err)
	}
}

func mustECDSA() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func TestExpiryAndSkew(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) { c.CacheSize = -1 })
	cached := e.manager() // with the cache: the checks hold on hits too
	tok := e.create(m, alice)
	if _, err := cached.Verify(tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	// exp is 60 s away; the skew is 5 s.
	e.clock.Advance(64 * time.Second)
	for _, mm := range []*session.Manager{m, cached} {
		if _, err := mm.Verify(tok.AccessToken); err != nil {
			t.Errorf("within the skew: %v", err)
		}
	}
	e.clock.Advance(time.Second)
	for _, mm := range []*session.Manager{m, cached} {
		if _, err := mm.Verify(tok.AccessToken); !errors.Is(err, session.ErrTokenExpired) {
			t.Errorf("past exp+skew: %v", err)
		}
	}
}

func TestNotYetValid(t *testing.T) {
	e := newEnv(t)
	ahead := testutil.NewClock(t0.Add(10 * time.Second))
	early := e.manager(func(c *session.Config) { c.Clock = ahead.Now })
	m := e.manager()
	e.sync(m)
	tok := e.create(early, alice) // issued 10 s ahead of m's clock
	if _, err := m.Verify(tok.AccessToken); !errors.Is(err, session.ErrTokenInvalid) {
		t.Errorf("10 s ahead: %v", err)
	}
	e.clock.Advance(5 * time.Second) // now within the skew
	if _, err := m.Verify(tok.AccessToken); err != nil {
		t.Errorf("5 s ahead: %v", err)
	}
}

func TestIssuerAndAudience(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) { c.Audience = "api" })
	tok := e.create(m, alice)
	if _, p := segments(t, tok.AccessToken); p["aud"] != "api" || p["iss"] != issuer {
		t.Errorf("payload = %v", p)
	}
	other := e.manager(func(c *session.Config) { c.Issuer = "https://other.example" })
	if _, err := other.Verify(tok.AccessToken); !errors.Is(err, session.ErrTokenInvalid) {
		t.Errorf("other issuer: %v", err)
	}
	otherAud := e.manager(func(c *session.Config) { c.Audience = "web" })
	if _, err := otherAud.Verify(tok.AccessToken); !errors.Is(err, session.ErrTokenInvalid) {
		t.Errorf("other audience: %v", err)
	}
	same := e.manager(func(c *session.Config) { c.Audience = "api" })
	if _, err := same.Verify(tok.AccessToken); err != nil {
		t.Errorf("same audience: %v", err)
	}
}

func TestPendingVersusAccess(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	pending, exp, err := m.MintPending(alice, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(e.clock.Now().Add(5 * time.Minute)) {
		t.Errorf("exp = %v", exp)
	}
	h, p := segments(t, pending)
	if h["typ"] != "mfa-pending+jwt" || p["typ"] != "mfa_pending" || p["sid"] != nil {
		t.Errorf("pending token: %v %v", h, p)
	}
	c, err := m.VerifyPending(pending)
	if err != nil {
		t.Fatalf("VerifyPending: %v", err)
	}
	if c.UserID != alice.UserID || c.Address != alice.Address || c.ChainID != 1 || c.SessionID != "" || c.AAL != "aal1" {
		t.Errorf("claims = %+v", c)
	}
	if _, err := m.Verify(pending); !errors.Is(err, session.ErrTokenInvalid) {
		t.Errorf("pending token verified as an access token: %v", err)
	}
	access := e.create(m, alice).AccessToken
	if _, err := m.VerifyPending(access); !errors.Is(err, session.ErrTokenInvalid) {
		t.Errorf("access token verified as a pending token: %v", err)
	}
	// A refresh token is not a JWS at all.
	if _, err := m.Verify(e.create(m, alice).RefreshToken); !errors.Is(err, session.ErrTokenInvalid) {
		t.Errorf("refresh token: %v", err)
	}

	for _, ttl := range []time.Duration{0, -time.Second, session.MaxPendingTTL + time.Second} {
		if _, _, err := m.MintPending(alice, ttl); err == nil {
			t.Errorf("MintPending(%v) succeeded", ttl)
		}
	}
	if _, _, err := m.MintPending(session.Subject{}, time.Minute); err == nil {
		t.Error("MintPending without a user id succeeded")
	}
	e.clock.Advance(5*time.Minute + 5*time.Second)
	if _, err := m.VerifyPending(pending); !errors.Is(err, session.ErrTokenExpired) {
		t.Errorf("expired pending token: %v", err)
	}
}

func TestJWKS(t *testing.T) {
	for _, a := range algorithms {
		t.Run(a.name, func(t *testing.T) {
			e := newEnv(t)
			m := e.manager(a.edit)
			tok := e.create(m, alice)
			if err := m.RotateKeys(context.Background()); err != nil && a.name != "HS256-secret" {
				t.Fatal(err)
			}

			rec := httptest.NewRecorder()
			m.JWKS().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/auth/jwks.json", nil))
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("GET: %d %v", rec.Code, rec.Header())
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=2" {
				t.Errorf("Cache-Control = %q", cc)
			}
			body := rec.Body.Bytes()
			var doc struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if strings.HasPrefix(a.name, "HS256") {
				if len(doc.Keys) != 0 {
					t.Fatalf("HMAC keys published: %s", body)
				}
				return
			}
			if len(doc.Keys) != 2 { // the signing key and the one just rotated in
				t.Fatalf("%d keys: %s", len(doc.Keys), body)
			}
			for _, k := range doc.Keys {
				for _, private := range []string{"d", "k", "p", "q", "dp", "dq", "qi"} {
					if _, ok := k[private]; ok {
						t.Errorf("key has private member %q: %v", private, k)
					}
				}
				if k["alg"] != a.name || k["use"] != "sig" || k["kid"] == "" {
					t.Errorf("key = %v", k)
				}
			}
			set, err := jwk.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify([]byte(tok.AccessToken), jws.WithKeySet(set, jws.WithRequireKid(true))); err != nil {
				t.Errorf("jwx cannot verify a token with the JWKS: %v", err)
			}

			rec = httptest.NewRecorder()
			m.JWKS().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/auth/jwks.json", nil))
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
				t.Errorf("POST: %d", rec.Code)
			}
			var e405 struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e405); err != nil || e405.Error.Code != "method_not_allowed" || e405.Error.Message == "" {
				t.Errorf("405 body %s: %v", rec.Body, err)
			}
		})
	}
}

func TestClaimsHook(t *testing.T) {
	e := newEnv(t)
	var extra map[string]any
	var hookErr error
	m := e.manager(func(c *session.Config) {
		c.Claims = func(ctx context.Context, s store.Session) (map[string]any, error) {
			if s.UserID != alice.UserID || s.ID == "" || s.RefreshHash != nil || s.PrevRefreshHash != nil {
				t.Errorf("hook got %+v", s)
			}
			return extra, hookErr
		}
	})
	extra = map[string]any{"tenant": "acme", "roles": []string{"admin"}}
	tok := e.create(m, alice)
	c, err := m.Verify(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.Extra["tenant"] != "acme" || len(c.Extra) != 2 {
		t.Errorf("Extra = %v", c.Extra)
	}
	// Mutating the returned claims does not touch the cached ones.
	c.Extra["tenant"] = "mallory"
	c.AMR[0] = "mallory"
	c2, err := m.Verify(tok.AccessToken)
	if err != nil || c2.Extra["tenant"] != "acme" || c2.AMR[0] != "siwe" {
		t.Errorf("cached claims changed: %+v, %v", c2, err)
	}

	for _, name := range []string{"sub", "sid", "iss", "aud", "exp", "typ", "aal", "amr", "auth_time", "SUB", "Typ", "ſub"} {
		extra = map[string]any{"tenant": "acme", name: "evil"}
		if _, err := m.Create(context.Background(), alice); err == nil {
			t.Errorf("hook overwrote %q", name)
		}
		if !session.IsReservedClaim(name) {
			t.Errorf("IsReservedClaim(%q) = false", name)
		}
	}
	if session.IsReservedClaim("tenant") {
		t.Error("tenant reserved")
	}
	// Refresh runs the hook too; a failing hook fails it and leaves the refresh token usable.
	extra = map[string]any{"tenant": "acme"}
	hookErr = errors.New("hook down")
	if _, err := m.Refresh(context.Background(), tok.RefreshToken); err == nil || !strings.Contains(err.Error(), "hook down") {
		t.Fatalf("Refresh with a failing hook: %v", err)
	}
	hookErr = nil
	e.clock.Advance(time.Minute) // past any grace: the token must still be current
	next, err := m.Refresh(context.Background(), tok.RefreshToken)
	if err != nil || next.RefreshToken == "" {
		t.Fatalf("Refresh after the hook recovered: %v", err)
	}
	// Too much from the hook: the token would be over MaxTokenSize.
	extra = map[string]any{"blob": strings.Repeat("x", session.MaxTokenSize)}
	if _, err := m.Create(context.Background(), alice); err == nil {
		t.Error("oversized token minted")
	}
	// Not JSON.
	extra = map[string]any{"ch": make(chan int)}
	if _, err := m.Create(context.Background(), alice); err == nil {
		t.Error("non-JSON claim minted")
	}
	n, _ := m.List(context.Background(), alice.UserID)
	if len(n) != 1 {
		t.Errorf("%d sessions; failed Creates left sessions behind", len(n))
	}
}

func TestCacheEviction(t *testing.T) {
	e := newEnv(t)
	m := e.manager(func(c *session.Config) { c.CacheSize = 2 })
	var toks []*session.Tokens
	for range 5 {
		toks = append(toks, e.create(m, alice))
	}
	for range 3 {
		for _, tok := range toks {
			if _, err := m.Verify(tok.AccessToken); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := m.Revoke(context.Background(), toks[4].SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(toks[4].AccessToken); !errors.Is(err, session.ErrSessionRevoked) {
		t.Errorf("cached token of a revoked session: %v", err)
	}
	if _, err := m.Verify(toks[3].AccessToken); err != nil {
		t.Errorf("other session: %v", err)
	}
}
