package memstore

import (
	"context"
	"sync"

	"github.com/walletauth/walletauth/store"
)

// feed broadcasts a store's changes to its watches. A watch's changes are kept as a set of kinds
// pending since it last looked (a change carries no data, so two of one kind say no more than
// one), so publishing never blocks and nothing is lost however slow a watch is.
type feed struct {
	mu      sync.Mutex
	closed  bool
	done    chan struct{} // closed by close
	watches map[*watch]struct{}
}

type watch struct {
	pending uint32        // bit 1<<change, guarded by feed.mu
	signal  chan struct{} // capacity 1: something is pending
}

func (f *feed) init() {
	f.done = make(chan struct{})
	f.watches = make(map[*watch]struct{})
}

// publish reports c to every watch.
func (f *feed) publish(c store.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range f.watches {
		w.pending |= 1 << c
		select {
		case w.signal <- struct{}{}:
		default:
		}
	}
}

// close ends every watch.
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.done)
	}
}

// Watch implements [store.Watcher] for the goroutines of one process: it reports the revocations
// and key changes made through s. It returns nil when ctx is done and an error wrapping
// [ErrClosed] when the store is closed.
func (s *Store) Watch(ctx context.Context, fn func(store.Change)) error {
	f := &s.feed
	w := &watch{signal: make(chan struct{}, 1)}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	f.watches[w] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.watches, w)
		f.mu.Unlock()
	}()
	fn(store.ChangeSubscribed)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.done:
			return ErrClosed
		case <-w.signal:
		}
		f.mu.Lock()
		pending := w.pending
		w.pending = 0
		f.mu.Unlock()
		for _, c := range []store.Change{store.ChangeRevoked, store.ChangeKeys} {
			if pending&(1<<c) != 0 {
				fn(c)
			}
		}
	}
}
