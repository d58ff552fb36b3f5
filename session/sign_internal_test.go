package session

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/walletauth/walletauth/store/memstore"
)

var signConfigs = []struct {
	name string
	edit func(*Config)
}{
	{"EdDSA", func(*Config) {}},
	{"ES256", func(c *Config) { c.Algorithm = "ES256" }},
	{"HS256", func(c *Config) { c.Algorithm = "HS256" }},
	{"HS256-secret", func(c *Config) {
		c.Algorithm, c.HMACSecret = "HS256", []byte("0123456789abcdef0123456789abcdef")
	}},
}

func signTestManager(t *testing.T, edit func(*Config)) *Manager {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { _ = st.Close() })
	cfg := Config{Issuer: "https://example.com", Keys: st, Sessions: st, Logger: slog.New(slog.DiscardHandler)}
	edit(&cfg)
	m, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestSignedTokensThroughJWX: the tokens signToken writes by hand (a precomputed header, then
// jwsbb) are what jws.Sign writes, jwx's full pipelines (jwt.Parse, jws.Verify, a JWKS) accept
// them, and their headers are the ones the verifier's fast path knows.
func TestSignedTokensThroughJWX(t *testing.T) {
	subject := Subject{UserID: "user-<alice>&", Address: "0x71C7656EC7ab88b098defB751B7401B5f6d8976F", ChainID: 10,
		AAL: "aal2", AMR: []string{"siwe", "totp"}}
	for _, a := range signConfigs {
		t.Run(a.name, func(t *testing.T) {
			m := signTestManager(t, a.edit)
			tok, err := m.Create(context.Background(), subject)
			if err != nil {
				t.Fatal(err)
			}
			pending, _, err := m.MintPending(subject, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				kind  *tokenKind
				token string
			}{{accessKind, tok.AccessToken}, {pendingKind, pending}} {
				hdr, payloadB64, _, err := jwsbb.SplitCompactString(c.token)
				if err != nil {
					t.Fatal(err)
				}
				ks := m.keys.Load()
				k := m.signer(m.now(), 0)
				if k == nil {
					t.Fatal("no signing key")
				}

				// The header is the key's precomputed one, which the verifier maps to the key and
				// kind, and holds alg, kid and typ and nothing else.
				if string(hdr) != k.headers[c.kind] {
					t.Errorf("%s: header %s, want %s", c.kind.typ, hdr, k.headers[c.kind])
				}
				if hk, ok := ks.byHeader[string(hdr)]; !ok || hk.key != k || hk.kind != c.kind {
					t.Errorf("%s: the verifier's fast path does not know the header", c.kind.typ)
				}
				var h map[string]any
				raw, _ := base64.RawURLEncoding.DecodeString(string(hdr))
				if err := json.Unmarshal(raw, &h); err != nil {
					t.Fatal(err)
				}
				if want := map[string]any{"alg": k.algName, "kid": k.id, "typ": c.kind.header}; !reflect.DeepEqual(h, want) {
					t.Errorf("%s: header %v, want %v", c.kind.typ, h, want)
				}

				// jws.Sign writes the same header; and, for the deterministic algorithms, the
				// same token.
				payload, err := base64.RawURLEncoding.DecodeString(string(payloadB64))
				if err != nil {
					t.Fatal(err)
				}
				jh := jws.NewHeaders()
				_ = jh.Set(jws.KeyIDKey, k.id)
				_ = jh.Set(jws.TypeKey, c.kind.header)
				ref, err := jws.Sign(payload, jws.WithKey(k.alg, k.sign, jws.WithProtectedHeaders(jh)))
				if err != nil {
					t.Fatal(err)
				}
				if refHdr, _, _ := strings.Cut(string(ref), "."); refHdr != string(hdr) {
					t.Errorf("%s: jws.Sign writes the header %s, signToken %s", c.kind.typ, refHdr, hdr)
				}
				if k.algName != "ES256" && string(ref) != c.token {
					t.Errorf("%s: jws.Sign writes\n%s\nsignToken\n%s", c.kind.typ, ref, c.token)
				}

				// jwx's own pipelines accept the token with the public key (or the secret).
				got, err := jws.Verify([]byte(c.token), jws.WithKey(k.alg, k.verify))
				if err != nil {
					t.Fatalf("%s: jws.Verify: %v", c.kind.typ, err)
				}
				if !bytes.Equal(got, payload) {
					t.Errorf("%s: jws.Verify payload %s", c.kind.typ, got)
				}
				jt, err := jwt.Parse([]byte(c.token), jwt.WithKey(k.alg, k.verify), jwt.WithIssuer("https://example.com"),
					jwt.WithAudience("https://example.com"), jwt.WithClaimValue("typ", c.kind.typ))
				if err != nil {
					t.Fatalf("%s: jwt.Parse: %v", c.kind.typ, err)
				}
				if sub, _ := jt.Subject(); sub != subject.UserID {
					t.Errorf("%s: jwt.Parse: sub %q", c.kind.typ, sub)
				}
				if k.public != nil {
					set, err := jwk.Parse(ks.jwks)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := jwt.Parse([]byte(c.token), jwt.WithKeySet(set)); err != nil {
						t.Errorf("%s: jwt.Parse with the JWKS: %v", c.kind.typ, err)
					}
				}
				if _, err := jws.Verify([]byte(flipSignature(c.token)), jws.WithKey(k.alg, k.verify)); err == nil {
					t.Errorf("%s: a changed signature verifies", c.kind.typ)
				}

				// And this package verifies it, through the fast paths.
				var err2 error
				if c.kind == accessKind {
					_, err2 = m.Verify(c.token)
				} else {
					_, err2 = m.VerifyPending(c.token)
				}
				if err2 != nil {
					t.Errorf("%s: %v", c.kind.typ, err2)
				}
			}
		})
	}
}

// flipSignature changes a bit of the token's signature.
func flipSignature(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		panic(err)
	}
	sig[0] ^= 1
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// TestVerifyFallsBackToEncodingJSON: a payload signed with a key of the Manager but not in the
// form this package writes (whitespace, escapes, other members, names in other cases) is
// decoded by encoding/json, with the same result.
func TestVerifyFallsBackToEncodingJSON(t *testing.T) {
	m := signTestManager(t, func(*Config) {})
	now := m.now()
	k := m.signer(now, 0)
	for _, c := range []struct {
		fast    bool
		payload string
	}{
		{true, `{"iss":"https://example.com","aud":"https://example.com","sub":"u1","iat":%d,"exp":%d,"jti":"j","typ":"mfa_pending","aal":"aal1","amr":["siwe"]}`},
		{false, ` {"iss": "https://example.com", "aud": ["x", "https://example.com"], "sub": "u1", "iat": %d, "exp": %d, "jti": "j", "typ": "mfa_pending", "aal": "aal1", "amr": ["siwe"]}`},
		{false, `{"iss":"https:\/\/example.com","aud":"https://example.com","sub":"u\u0031","iat":%d,"exp":%d,"jti":"j","typ":"mfa_pending","aal":"aal1","amr":["siwe"],"x":{"y":[1,2]}}`},
		{false, `{"ISS":"https://example.com","aud":"https://example.com","sub":"u0","Sub":"u1","iat":%d,"exp":%d,"jti":"j","typ":"mfa_pending","aal":"aal1","amr":["siwe"]}`},
		{false, `{"iss":"https://example.com","aud":"https://example.com","sub":"u0","sub":"u1","iat":%d,"exp":%d,"jti":"j","typ":"mfa_pending","aal":"aal1","amr":["siwe"]}`},
	} {
		p := []byte(fmt.Sprintf(c.payload, now.Unix(), now.Add(time.Minute).Unix()))
		var fast tokenClaims
		if parseClaims(p, &fast) != c.fast {
			t.Errorf("parseClaims(%s) = %v", p, !c.fast)
		}
		tok, err := k.signToken(nil, pendingKind, p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.VerifyPending(string(tok))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if got.UserID != "u1" || got.AAL != "aal1" || len(got.AMR) != 1 || got.AMR[0] != "siwe" {
			t.Errorf("%s: claims %+v", p, got)
		}
	}
}
