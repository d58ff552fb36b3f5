package store

import (
	"context"
	"errors"
	"reflect"
	"sync"
)

// FastStore is the part of a [Store] that holds short-lived records read or written on every
// sign-in and refresh: nonces, counters (rate limits, attempt limits), refresh sessions and
// verification codes. A store built for speed (redisstore) can hold it beside a durable store
// that keeps the rest (users, signing keys, second factors, contacts, linked accounts): see
// [Pair].
type FastStore interface {
	NonceStore
	CounterStore
	SessionStore
	CodeStore
}

// Pair returns a Store that keeps nonces, counters, refresh sessions and verification codes in
// fast, and users, wallets, metadata, signing keys, second factors, contacts and linked accounts
// in durable. Closing it closes both.
//
// What the fast store loses (a restart of a Redis that does not persist, say) signs users out
// and voids the nonces and codes in flight, and nothing else: no account, key or second factor
// lives there, so no loss can let anyone in. A revocation that a restart loses still holds on the
// instances that have seen it, and the session it revoked is gone from the store with it.
//
// When either store implements [Watcher], so does the pair: its watch reports the revocations of
// the fast store and the key changes of the durable one (see [Watcher]).
func Pair(durable Store, fast FastStore) Store {
	p := &pair{
		NonceStore: fast, CounterStore: fast, SessionStore: fast, CodeStore: fast,
		KeyStore: durable, UserStore: durable, MetadataStore: durable, MFAStore: durable,
		ContactStore: durable, OAuthStore: durable,
		durable: durable, fast: fast,
	}
	var ws []Watcher
	if w, ok := fast.(Watcher); ok {
		ws = append(ws, w)
	}
	if w, ok := durable.(Watcher); ok && !sameValue(durable, fast) {
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		return p
	}
	return &watchedPair{pair: p, watchers: ws}
}

// pair routes each role to its store; every method name belongs to one role, so the embedded
// interfaces do not collide.
type pair struct {
	NonceStore
	CounterStore
	SessionStore
	CodeStore
	KeyStore
	UserStore
	MetadataStore
	MFAStore
	ContactStore
	OAuthStore

	durable Store
	fast    FastStore
}

// Close closes both stores (the fast one only when it has a Close method), joining their errors.
func (p *pair) Close() error {
	errs := []error{p.durable.Close()}
	if c, ok := p.fast.(interface{ Close() error }); ok && !sameValue(p.durable, p.fast) {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

type watchedPair struct {
	*pair
	watchers []Watcher
}

// Watch implements [Watcher]: it watches each store that can be watched, reports
// [ChangeSubscribed] once all of them are live, and ends every watch when one ends, returning
// its error.
func (p *watchedPair) Watch(ctx context.Context, fn func(Change)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex // serialises fn
		live    int
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for _, w := range p.watchers {
		wg.Go(func() {
			err := w.Watch(ctx, func(c Change) {
				mu.Lock()
				defer mu.Unlock()
				if c == ChangeSubscribed {
					if live++; live < len(p.watchers) {
						return
					}
				} else if live < len(p.watchers) {
					return // the pair's watch is not live yet: its ChangeSubscribed covers this
				}
				fn(c)
			})
			errOnce.Do(func() { first = err })
			cancel()
		})
	}
	wg.Wait()
	return first
}

// sameValue reports whether a and b are one value, comparing them only where their type allows.
func sameValue(a, b any) bool {
	ta := reflect.TypeOf(a)
	return ta != nil && ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}
