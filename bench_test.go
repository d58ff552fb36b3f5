package walletauth_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/store/memstore"
	"github.com/walletauth/walletauth/web3auth"
)

// BenchmarkSignIn: the whole POST /auth/verify through the handler with the memory store: parse,
// validate, nonce, signature, user, session, access token, cookies and JSON. Each iteration signs
// in with a fresh signed message; making and signing them is not timed.
func BenchmarkSignIn(b *testing.B) {
	st := memstore.New()
	defer st.Close()
	auth, err := walletauth.New(context.Background(), walletauth.Config{
		Origin: "https://example.com", Store: st, RateLimit: walletauth.NoRateLimit,
		// A real handler, so that formatting the security events is counted; the bytes go nowhere.
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer auth.Close()
	h := auth.Handler()
	key, _ := crypto.GenerateKey()
	addr := crypto.PubkeyToAddress(key.PublicKey)
	svc := auth.Web3()

	var batch [][]byte
	refill := func() {
		b.StopTimer()
		batch = batch[:0]
		for range 64 {
			batch = append(batch, signedBody(b, svc, key, addr))
		}
		b.StartTimer()
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(batch) == 0 {
			refill()
		}
		body := batch[len(batch)-1]
		batch = batch[:len(batch)-1]
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.com/auth/verify", bytes.NewReader(body)))
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

func signedBody(b *testing.B, svc *web3auth.Service, key *ecdsa.PrivateKey, addr [20]byte) []byte {
	c, err := svc.Challenge(context.Background(), web3auth.ChallengeRequest{Address: addr})
	if err != nil {
		b.Fatal(err)
	}
	msg := c.Message.String()
	sig, _ := crypto.Sign(accounts.TextHash([]byte(msg)), key)
	sig[64] += 27
	body, _ := json.Marshal(map[string]string{"message": msg, "signature": "0x" + hex.EncodeToString(sig)})
	return body
}
