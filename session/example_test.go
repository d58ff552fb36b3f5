package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store/memstore"
)

// A sign-in creates a session; the access token is verified on every request without a store
// read; the refresh token is rotated on use; signing out revokes the session at once.
func Example() {
	st := memstore.New()
	defer st.Close()
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := session.New(ctx, session.Config{
		Issuer:   "https://example.com",
		Keys:     st,
		Sessions: st,
		Clock:    func() time.Time { return now },
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	// A server also runs m.Start(ctx) (and m.Close at shutdown) to keep keys and revocations in
	// step with the other instances sharing the store.

	// After the wallet signed in (package web3auth):
	tok, err := m.Create(ctx, session.Subject{
		UserID:  "user-1",
		Address: "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
		ChainID: 1,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("access token expires", tok.AccessExpiresAt.Format(time.RFC3339))

	// On each request:
	c, err := m.Verify(tok.AccessToken)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.UserID, c.Address, c.ChainID, c.AAL, c.AMR)

	// When the access token nears its expiry:
	now = now.Add(50 * time.Second)
	next, err := m.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		panic(err)
	}
	fmt.Println("rotated:", next.RefreshToken != tok.RefreshToken)

	// Sign out:
	if err := m.Revoke(ctx, next.SessionID); err != nil {
		panic(err)
	}
	_, err = m.Verify(next.AccessToken)
	fmt.Println(errors.Is(err, session.ErrSessionRevoked))
	// Output:
	// access token expires 2030-01-02T03:05:05Z
	// user-1 0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2 1 aal1 [siwe]
	// rotated: true
	// true
}

// Serve the public keys for other services that verify the access tokens.
func ExampleManager_JWKS() {
	st := memstore.New()
	defer st.Close()
	m, err := session.New(context.Background(), session.Config{
		Issuer: "https://example.com", Keys: st, Sessions: st, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/jwks.json", m.JWKS())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/auth/jwks.json", nil))
	var set struct {
		Keys []struct{ Kty, Crv, Alg, Use string } `json:"keys"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &set)
	fmt.Println(rec.Code, rec.Header().Get("Cache-Control"))
	fmt.Printf("%+v\n", set.Keys)
	// Output:
	// 200 public, max-age=2
	// [{Kty:OKP Crv:Ed25519 Alg:EdDSA Use:sig}]
}
