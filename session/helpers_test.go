package session_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

const issuer = "https://example.com"

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newClock() *testutil.Clock { return testutil.NewClock(t0) }

type env struct {
	t     testing.TB
	st    *memstore.Store
	clock *testutil.Clock
	logs  *testutil.LogBuffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { _ = st.Close() })
	return &env{t: t, st: st, clock: newClock(), logs: &testutil.LogBuffer{}}
}

// config returns the base configuration of the env's Managers.
func (e *env) config() session.Config {
	return session.Config{
		Issuer:   issuer,
		Keys:     e.st,
		Sessions: e.st,
		Clock:    e.clock.Now,
		Logger:   slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// manager returns a new Manager on the env's store, with the changes of edit.
func (e *env) manager(edit ...func(*session.Config)) *session.Manager {
	e.t.Helper()
	cfg := e.config()
	for _, f := range edit {
		f(&cfg)
	}
	m, err := session.New(context.Background(), cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.t.Cleanup(func() { _ = m.Close() })
	return m
}

var alice = session.Subject{
	UserID:    "user-alice",
	Address:   "0x71C7656EC7ab88b098defB751B7401B5f6d8976F",
	ChainID:   1,
	UserAgent: "test-agent",
	IP:        "192.0.2.1",
}

func (e *env) create(m *session.Manager, s session.Subject) *session.Tokens {
	e.t.Helper()
	tok, err := m.Create(context.Background(), s)
	if err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return tok
}

func (e *env) sync(ms ...*session.Manager) {
	e.t.Helper()
	for _, m := range ms {
		if err := m.Sync(context.Background()); err != nil {
			e.t.Fatalf("Sync: %v", err)
		}
	}
}

// storedKey returns the private key of a kid as kept in the store.
func (e *env) storedKey(kid string) (alg string, raw any) {
	e.t.Helper()
	keys, err := e.st.ListKeys(context.Background(), e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == kid {
			jk, err := jwk.ParseKey(k.Private)
			if err != nil {
				e.t.Fatal(err)
			}
			if err := jwk.Export(jk, &raw); err != nil {
				e.t.Fatal(err)
			}
			return k.Algorithm, raw
		}
	}
	e.t.Fatalf("no key %s in the store", kid)
	return "", nil
}

func (e *env) keys() []store.SigningKey {
	e.t.Helper()
	keys, err := e.st.ListKeys(context.Background(), e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// segments decodes the header and payload of a compact JWS.
func segments(t *testing.T, token string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	h, _ := segments(t, token)
	kid, _ := h["kid"].(string)
	return kid
}

func b64(v any) string {
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			panic(err)
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// craft builds a compact JWS by hand from a header and claims, signed with key under alg (the
// header's alg is whatever the header says: tests lie with it on purpose). An alg of "" leaves
// the signature empty.
func craft(header, claims any, alg string, key any) string {
	input := b64(header) + "." + b64(claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(rawSign(alg, key, []byte(input)))
}

func rawSign(alg string, key any, input []byte) []byte {
	switch alg {
	case "":
		return nil
	case "EdDSA":
		return ed25519.Sign(key.(ed25519.PrivateKey), input)
	case "ES256":
		sum := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			panic(err)
		}
		// The low-s form, the only one verification accepts (see TestES256HighSRefused).
		if n := elliptic.P256().Params().N; s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
			s.Sub(n, s)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	case "HS256":
		mac := hmac.New(crypto.SHA256.New, key.([]byte))
		mac.Write(input)
		return mac.Sum(nil)
	}
	panic("alg " + alg)
}

// claimsFor returns a valid claim set for an access token of session sid at now.
func claimsFor(sid string, now time.Time) map[string]any {
	return map[string]any{
		"iss": issuer, "aud": issuer, "sub": "user-alice", "sid": sid,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"jti": "j1", "typ": "access", "addr": alice.Address, "chain": "eip155:1",
		"aal": "aal1", "amr": []string{"siwe"}, "auth_time": now.Unix(),
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}
