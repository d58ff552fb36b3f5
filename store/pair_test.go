package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
	"github.com/walletauth/walletauth/store/storetest"
)

func TestPairConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		p := store.Pair(memstore.New(), memstore.New())
		t.Cleanup(func() { _ = p.Close() })
		return p
	})
}

func TestPairWatcher(t *testing.T) {
	storetest.RunWatcher(t, func(t *testing.T) (store.Store, store.Store) {
		durable, fast := memstore.New(), memstore.New()
		a, b := store.Pair(durable, fast), store.Pair(durable, fast)
		t.Cleanup(func() { _ = a.Close() })
		return a, b
	})
}

func TestPairRoutes(t *testing.T) {
	ctx := context.Background()
	durable, fast := memstore.New(), memstore.New()
	p := store.Pair(durable, fast)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := p.CreateNonce(ctx, store.Nonce{Value: "abcdefgh12", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := fast.GetNonce(ctx, "abcdefgh12", now); err != nil {
		t.Errorf("the nonce is not in the fast store: %v", err)
	}
	if _, err := durable.GetNonce(ctx, "abcdefgh12", now); err == nil {
		t.Errorf("the nonce is in the durable store")
	}
	u := store.User{ID: "usr_1", CreatedAt: now, Wallets: []store.Wallet{{Address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ChainID: 1, LinkedAt: now}}}
	if err := p.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := durable.GetUser(ctx, "usr_1"); err != nil {
		t.Errorf("the user is not in the durable store: %v", err)
	}
	if _, err := fast.GetUser(ctx, "usr_1"); err == nil {
		t.Errorf("the user is in the fast store")
	}
	if _, _, err := p.IncrementCounter(ctx, "k", time.Minute, now); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := fast.IncrementCounter(ctx, "k", time.Minute, now); n != 2 {
		t.Errorf("the counter is not in the fast store (count %d after a second increment)", n)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fast.GetNonce(ctx, "x", now); err == nil {
		t.Errorf("the fast store is open after the pair's Close")
	}
	if _, err := durable.GetUser(ctx, "usr_1"); err == nil {
		t.Errorf("the durable store is open after the pair's Close")
	}
}

// unwatched hides a store's Watch method.
type unwatched struct{ store.Store }

func TestPairWithoutWatchers(t *testing.T) {
	p := store.Pair(unwatched{memstore.New()}, unwatched{memstore.New()})
	if _, ok := p.(store.Watcher); ok {
		t.Errorf("a pair of stores that cannot be watched implements store.Watcher")
	}
}
