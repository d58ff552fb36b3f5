// Command minimal is the smallest embedding of walletauth into an existing net/http server:
// mount the handler, wrap the routes that need a signed-in user, and add one script tag and one
// button to a page. Run it with `go run ./examples/minimal` and open http://localhost:8080.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/store/memstore"
)

func main() {
	auth, err := walletauth.New(context.Background(), walletauth.Config{
		Origin: "http://localhost:8080", // the public origin: SIWE domain and URI, cookie scope
		Store:  memstore.New(),          // or sqlitestore.Open(ctx, "walletauth.db") to survive restarts
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler()) // nonce, verify, refresh, logout, session, jwks.json, client.js
	mux.Handle("GET /private", auth.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := walletauth.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s (user %s)\n", id.Address, id.UserID)
	})))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<script src="/auth/client.js"></script><button data-walletauth>Sign in with Ethereum</button> <a href="/private">/private</a>`)
	})
	log.Fatal(http.ListenAndServe(":8080", mux))
}
