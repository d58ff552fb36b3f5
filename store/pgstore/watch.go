package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/walletauth/walletauth/store"
)

// The payloads of the notifications on a schema's channel: the name of the change.
const (
	payloadRevoked = "revoked"
	payloadKeys    = "keys"
)

// closeTimeout bounds the goodbye of a watch's connection to the server.
const closeTimeout = 5 * time.Second

// decodeChange returns the change that a notification's payload names, or false for a payload
// this version does not know (which a newer version may send).
func decodeChange(payload string) (store.Change, bool) {
	switch payload {
	case payloadRevoked:
		return store.ChangeRevoked, true
	case payloadKeys:
		return store.ChangeKeys, true
	}
	return 0, false
}

// Watch implements [store.Watcher] with PostgreSQL's LISTEN/NOTIFY. It takes a connection of
// the pool for itself (the pool opens another when it needs one), runs LISTEN on the schema's
// channel, calls fn with [store.ChangeSubscribed] once the LISTEN is in force, and then with each
// change that a store of the same schema (on any pool, in any process) commits: RevokeSession and
// RevokeUserSessions send [store.ChangeRevoked] when they revoke a session, CreateKey and
// DeleteKey send [store.ChangeKeys] when they create or delete a key, in the statement that makes
// the change, so that PostgreSQL delivers it at the commit and never for a change rolled back.
// Payloads it does not know are skipped. A pool whose ConnConfig.OnNotification is set takes
// the notifications to that function, which leaves Watch none to read: it then reports each
// notification as both [store.ChangeRevoked] and [store.ChangeKeys].
//
// Watch returns nil when ctx is done, an error wrapping [ErrClosed] when the store is closed
// (at once when it is already, and promptly when [Store.Close] is called during the watch), and
// another error when the connection fails; its connection is closed in every case. fn runs on
// Watch's goroutine and must return quickly, and must not call Close.
func (s *Store) Watch(ctx context.Context, fn func(store.Change)) error {
	if fn == nil {
		return errors.New("pgstore: watch: nil function")
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if ctx.Err() != nil {
		return nil
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.mu.Lock()
	if s.closed.Load() { // Close has passed the watches already
		s.mu.Unlock()
		return ErrClosed
	}
	s.nextWatch++
	id := s.nextWatch
	s.watches[id] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watches, id)
		s.mu.Unlock()
	}()

	conn, err := s.listen(wctx)
	if err != nil {
		return s.watchEnded(ctx, "listen", err)
	}
	defer closeConn(conn)
	fn(store.ChangeSubscribed)
	for {
		n, err := conn.WaitForNotification(wctx)
		if err != nil {
			return s.watchEnded(ctx, "wait for notifications", err)
		}
		if n == nil {
			// The pool's ConnConfig.OnNotification took the notification (pgx then keeps none for
			// WaitForNotification): its channel and payload are unknown, so report every change
			// rather than miss one.
			fn(store.ChangeRevoked)
			fn(store.ChangeKeys)
			continue
		}
		if n.Channel != s.channel {
			continue
		}
		if c, ok := decodeChange(n.Payload); ok {
			fn(c)
		}
	}
}

// listen takes a connection out of the pool (Hijack: it is the watch's, to close) and runs LISTEN
// on it.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	conn := pc.Hijack()
	if _, err := conn.Exec(ctx, s.q.listen); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

// watchEnded returns what Watch returns when err ended it: nil when the caller's ctx is done,
// ErrClosed when the store is closed, else err.
func (s *Store) watchEnded(ctx context.Context, op string, err error) error {
	switch {
	case ctx.Err() != nil:
		return nil
	case s.closed.Load():
		return ErrClosed
	}
	return fmt.Errorf("pgstore: watch: %s: %w", op, err)
}

// closeConn closes a watch's connection, waiting a while at most for the server.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = conn.Close(ctx)
}
