package walletauth_test

import (
	"context"
	"log"
	"net/http"

	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/store/pgstore"
	"github.com/walletauth/walletauth/store/redisstore"
)

// One of several instances behind a load balancer: PostgreSQL keeps users, keys and second
// factors; Redis keeps nonces, rate-limit counters, refresh sessions and codes. Every instance
// runs the same code with the same Origin; a sign-out on one reaches the others within a second.
// (Not run: it needs the servers.)
func Example_severalInstances() {
	ctx := context.Background()
	pg, err := pgstore.Open(ctx, "postgres://app@db.internal:5432/app?pool_max_conns=16", pgstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer pg.Close()
	rd, err := redisstore.Open("redis://cache.internal:6379/0", redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer rd.Close()

	auth, err := walletauth.New(ctx, walletauth.Config{
		Origin: "https://example.com", // the load balancer's origin, the same on every instance
		Store:  pg,
		Fast:   rd,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	log.Fatal(http.ListenAndServe(":8080", mux))
}
