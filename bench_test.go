package walletauth_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
	"github.com/walletauth/walletauth/store/sqlitestore"
	"github.com/walletauth/walletauth/web3auth"
)

// benchConfig is walletauth on st (and fast, where given), logging through a real handler (so
// that formatting the security events is counted) into nowhere. The rate limit counts every
// request in the store, as it does by default, but its budget is never spent: every request of a
// benchmark comes from one client.
func benchConfig(st store.Store, fast store.FastStore) walletauth.Config {
	return walletauth.Config{
		Origin: "https://example.com", Store: st, Fast: fast, RateLimit: math.MaxInt,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// benchAuth is walletauth (benchConfig) on the memory store. The store may hold more sessions
// than memstore's default 100 000, which a long -benchtime of the sign-in benchmarks would fill
// (every sign-in is a session): they would then get 503s.
func benchAuth(b *testing.B) (*walletauth.Auth, *memstore.Store) {
	st := memstore.New(memstore.WithMaxSessions(1 << 24))
	b.Cleanup(func() { st.Close() })
	auth, err := walletauth.New(context.Background(), benchConfig(st, nil))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { auth.Close() })
	return auth, st
}

// poster sends POST /auth/verify requests through a handler, as a server hands them to it: the
// request is built once (a real server has parsed it before the handler runs) and each post gets
// a fresh copy of it with the body to send, and a fresh response writer. Everything the handler
// does is timed; building a request from a URL and a recorder per post, which are not the
// handler's work, are not.
type poster struct {
	h   http.Handler
	req *http.Request
	rd  bytes.Reader
	w   benchWriter
}

func newPoster(h http.Handler) *poster {
	req, _ := http.NewRequest("POST", "https://example.com/auth/verify", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	req.Header.Set("Content-Type", "application/json")
	return &poster{h: h, req: req, w: benchWriter{hdr: http.Header{}}}
}

// post sends body and fails the benchmark unless the answer is 200.
func (p *poster) post(b *testing.B, body []byte) {
	if err := p.send(body); err != nil {
		b.Fatal(err)
	}
}

// send sends body and returns an error unless the answer is 200. A poster serves one goroutine.
func (p *poster) send(body []byte) error {
	p.rd.Reset(body)
	r := *p.req // the handler may replace the body (MaxBytesReader) or the context
	r.Body = io.NopCloser(&p.rd)
	r.ContentLength = int64(len(body))
	p.w.reset()
	p.h.ServeHTTP(&p.w, &r)
	if p.w.code != http.StatusOK {
		return fmt.Errorf("%d %s", p.w.code, p.w.body.Bytes())
	}
	return nil
}

// benchWriter is a ResponseWriter that keeps the status, headers and body of one response.
type benchWriter struct {
	hdr  http.Header
	code int
	body bytes.Buffer
}

func (w *benchWriter) reset() {
	clear(w.hdr)
	w.code = 0
	w.body.Reset()
}

func (w *benchWriter) Header() http.Header { return w.hdr }

func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// BenchmarkSignIn: the whole POST /auth/verify through the handler with the memory store —
// parse, validate, nonce look-up and consumption, signature, user, new session, access token,
// cookies, JSON, log line — for one signed message whose nonce is issued anew before every
// request (that store write is timed too). Repeating the message makes the signature check
// comparable with the reference crypto.SigToPub benchmark, which also repeats one signature.
// The wallet has signed in before, so its key is known and its signature verified against it
// (web3auth.KeyCache); BenchmarkSignInNewWallet measures first sign-ins, whose key is recovered,
// and BenchmarkSignInFresh a new message every time.
func BenchmarkSignIn(b *testing.B) {
	auth, st := benchAuth(b)
	key, _ := crypto.GenerateKey()
	body, nonce := signedBody(b, auth.Web3(), key)
	ctx := context.Background()
	if err := st.DeleteNonce(ctx, nonce.Value); err != nil { // the loop issues it again
		b.Fatal(err)
	}
	p := newPoster(auth.Handler())
	b.ReportAllocs()
	for b.Loop() {
		now := time.Now()
		if err := st.CreateNonce(ctx, store.Nonce{Value: nonce.Value, Address: nonce.Address, ChainID: nonce.ChainID,
			IssuedAt: nonce.IssuedAt, ExpiresAt: now.Add(time.Minute)}, now); err != nil {
			b.Fatal(err)
		}
		p.post(b, body)
	}
}

// BenchmarkSignInFresh: as BenchmarkSignIn, with a new nonce and message, signed beforehand, for
// every request.
func BenchmarkSignInFresh(b *testing.B) {
	auth, _ := benchAuth(b)
	key, _ := crypto.GenerateKey()
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i], _ = signedBody(b, auth.Web3(), key)
	}
	p := newPoster(auth.Handler())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.post(b, bodies[i])
	}
}

// BenchmarkSignInNewWallet: as BenchmarkSignInFresh, with a new wallet every time: its key is
// recovered from the signature (not known yet) and its user created.
func BenchmarkSignInNewWallet(b *testing.B) {
	auth, _ := benchAuth(b)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		key, _ := crypto.GenerateKey()
		bodies[i], _ = signedBody(b, auth.Web3(), key)
	}
	p := newPoster(auth.Handler())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.post(b, bodies[i])
	}
}

// signedBody issues a challenge for key's address and returns the verify body with the signed
// message, and the nonce as stored.
func signedBody(b *testing.B, svc *web3auth.Service, key *ecdsa.PrivateKey) ([]byte, store.Nonce) {
	addr := crypto.PubkeyToAddress(key.PublicKey)
	c, err := svc.Challenge(context.Background(), web3auth.ChallengeRequest{Address: addr})
	if err != nil {
		b.Fatal(err)
	}
	msg := c.Message.String()
	sig, _ := crypto.Sign(accounts.TextHash([]byte(msg)), key)
	sig[64] += 27
	body, _ := json.Marshal(map[string]string{"message": msg, "signature": "0x" + hex.EncodeToString(sig)})
	return body, store.Nonce{Value: c.Nonce, Address: common.Address(addr).Hex(), ChainID: c.Message.ChainID,
		IssuedAt: c.Message.IssuedAt.Time()}
}

// BenchmarkRequireSession: a request through the middleware with a valid bearer token (seen
// before, so verified from the cache), to an empty handler; compare BenchmarkUnprotected.
func BenchmarkRequireSession(b *testing.B) {
	auth, _ := benchAuth(b)
	key, _ := crypto.GenerateKey()
	body, _ := signedBody(b, auth.Web3(), key)
	rec := httptest.NewRecorder()
	req, _ := http.NewRequest("POST", "https://example.com/auth/verify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	auth.Handler().ServeHTTP(rec, req)
	var out struct{ AccessToken string }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.AccessToken == "" {
		b.Fatalf("sign-in: %s", rec.Body)
	}
	h := auth.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r, _ := http.NewRequest("GET", "https://example.com/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+out.AccessToken)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	if w.Code != 200 {
		b.Fatal(w.Code)
	}
}

// BenchmarkSignInStore: sign-in throughput on each store — POST /auth/verify through the handler,
// a new message each time (signed beforehand), from 16 goroutines per GOMAXPROCS, as a busy server
// sees it (the network stores' round trips and commits overlap), each request counted against a
// rate limit that is never reached (benchConfig). The sub-benchmarks on PostgreSQL and Redis
// need the servers (they skip without them); "sqlite" is a file in a temporary directory.
// Reported: sign-ins per second.
//
//	go test -run '^$' -bench BenchmarkSignInStore -benchtime 2000x .
func BenchmarkSignInStore(b *testing.B) {
	stores := append([]backend{{name: "sqlite", open: func(t testing.TB, _, _ string) [2]storeSet {
		s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "bench.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return [2]storeSet{{store: s}}
	}}}, backends...)
	for _, be := range stores {
		b.Run(be.name, func(b *testing.B) {
			set := be.open(b, testutil.PostgresURL(), testutil.RedisURL())[0]
			auth, err := walletauth.New(context.Background(), benchConfig(set.store, set.fast))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { auth.Close() })
			key, _ := crypto.GenerateKey()
			bodies := make([][]byte, b.N)
			for i := range bodies {
				bodies[i], _ = signedBody(b, auth.Web3(), key)
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				p := newPoster(auth.Handler())
				for pb.Next() {
					if err := p.send(bodies[next.Add(1)-1]); err != nil {
						b.Error(err) // not Fatal: another goroutine
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signins/s")
		})
	}
}
