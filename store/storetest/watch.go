package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

// pushBound is how soon a watcher must hear of a change made through another handle: the
// revocation bound across instances that walletauth promises.
const pushBound = time.Second

// RunWatcher runs the conformance suite for [store.Watcher]. newPair returns two handles of one
// fresh, empty store, as two instances would open it (two connection pools, two clients), both
// implementing store.Watcher; it registers their cleanup, which must tolerate a handle that is
// already closed.
//
// It checks that a watch reports [store.ChangeSubscribed] first; that a revocation
// (RevokeSession, RevokeUserSessions) and a key change (CreateKey, DeleteKey) made through one
// handle reach a watch on the other, and on the same handle, within a second; that Watch returns
// nil soon after its context ends; and that closing a handle ends its watch with an error
// instead of hanging.
func RunWatcher(t *testing.T, newPair func(t *testing.T) (a, b store.Store)) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, a, b store.Store)
	}{
		{"Revocations", testWatchRevocations},
		{"Keys", testWatchKeys},
		{"SameHandle", testWatchSameHandle},
		{"Cancel", testWatchCancel},
		{"Close", testWatchClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPair(t)
			tc.fn(t, a, b)
		})
	}
}

// watching is a running watch: its changes arrive on c, its result on done.
type watching struct {
	c      chan store.Change
	done   chan error
	cancel context.CancelFunc
}

// startWatch starts a watch on s and waits for it to be live.
func startWatch(t *testing.T, s store.Store) *watching {
	t.Helper()
	w, ok := s.(store.Watcher)
	if !ok {
		t.Fatalf("%T does not implement store.Watcher", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wt := &watching{c: make(chan store.Change, 1024), done: make(chan error, 1), cancel: cancel}
	go func() {
		wt.done <- w.Watch(ctx, func(c store.Change) {
			select {
			case wt.c <- c:
			default: // a test that floods the watch only needs to see some of it
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-wt.done:
		case <-time.After(10 * time.Second):
			t.Errorf("Watch did not return within 10s of its context's end")
		}
	})
	select {
	case c := <-wt.c:
		if c != store.ChangeSubscribed {
			t.Fatalf("first change = %v, want %v", c, store.ChangeSubscribed)
		}
	case err := <-wt.done:
		t.Fatalf("Watch returned before it was live: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("Watch did not report %v within 10s", store.ChangeSubscribed)
	}
	return wt
}

// expect waits up to pushBound for the change want, skipping others.
func (wt *watching) expect(t *testing.T, what string, want store.Change) {
	t.Helper()
	deadline := time.After(pushBound)
	for {
		select {
		case c := <-wt.c:
			if c == want {
				return
			}
		case err := <-wt.done:
			t.Fatalf("%s: Watch returned (%v) before reporting %v", what, err, want)
		case <-deadline:
			t.Fatalf("%s: no %v within %v", what, want, pushBound)
		}
	}
}

// drain discards the changes reported so far.
func (wt *watching) drain() {
	for {
		select {
		case <-wt.c:
		default:
			return
		}
	}
}

func testWatchRevocations(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	for _, id := range []string{"sess-w1", "sess-w2", "sess-w3"} {
		if err := a.CreateSession(ctx, newSession(id, "user-w")); err != nil {
			t.Fatalf("CreateSession(%s): %v", id, err)
		}
	}
	wt := startWatch(t, b)
	if err := a.RevokeSession(ctx, "sess-w1", base); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	wt.expect(t, "after RevokeSession on the other handle", store.ChangeRevoked)
	wt.drain()
	n, err := a.RevokeUserSessions(ctx, "user-w", "sess-w2", base)
	if err != nil || n != 1 {
		t.Fatalf("RevokeUserSessions = %d, %v; want 1, nil", n, err)
	}
	wt.expect(t, "after RevokeUserSessions on the other handle", store.ChangeRevoked)
}

func testWatchKeys(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	wt := startWatch(t, b)
	if err := a.CreateKey(ctx, newKey("kid-watch", base)); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	wt.expect(t, "after CreateKey on the other handle", store.ChangeKeys)
	wt.drain()
	if err := a.DeleteKey(ctx, "kid-watch"); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	wt.expect(t, "after DeleteKey on the other handle", store.ChangeKeys)
}

func testWatchSameHandle(t *testing.T, a, _ store.Store) {
	ctx := context.Background()
	if err := a.CreateSession(ctx, newSession("sess-self", "user-self")); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	wt := startWatch(t, a)
	if err := a.RevokeSession(ctx, "sess-self", base); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	wt.expect(t, "after RevokeSession on the same handle", store.ChangeRevoked)
	if err := a.CreateKey(ctx, newKey("kid-self", base)); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	wt.expect(t, "after CreateKey on the same handle", store.ChangeKeys)
}

func testWatchCancel(t *testing.T, _, b store.Store) {
	wt := startWatch(t, b)
	wt.cancel()
	select {
	case err := <-wt.done:
		if err != nil {
			t.Errorf("Watch after its context ended = %v, want nil", err)
		}
		wt.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatalf("Watch did not return within 5s of its context's end")
	}
}

func testWatchClose(t *testing.T, _, b store.Store) {
	wt := startWatch(t, b)
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-wt.done:
		if err == nil {
			t.Errorf("Watch on a closed store returned nil, want an error")
		} else if !errors.Is(err, store.ErrClosed) {
			t.Errorf("Watch on a closed store returned %v, want an error wrapping store.ErrClosed", err)
		}
		wt.done <- err
	case <-time.After(10 * time.Second):
		t.Fatalf("Watch did not return within 10s of the store's Close")
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("Close did not return within 10s while a watch ran")
	}
}
