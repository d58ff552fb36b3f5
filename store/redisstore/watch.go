package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/store"
)

// Watch implements [store.Watcher] with Redis pub/sub. It subscribes to the store's channel
// ("{Prefix}:changes"), on which the scripts of RevokeSession and RevokeUserSessions publish
// "revoked" and those of CreateKey and DeleteKey "keys", in the same script as the change, so that
// a watch hears of every change made while it is live and of none that was not made.
//
// Watch calls fn with [store.ChangeSubscribed] once the server confirms the subscription, then with
// each change announced, from the calling goroutine; messages it does not know are ignored. It
// returns nil when ctx is done (at once, even while it connects), an error wrapping [ErrClosed] when
// the store is closed (at once too), and any other error (a lost connection, a server that answers
// no ping for a minute) as soon as the subscription fails: it never resubscribes itself, which
// would hide the changes made in between. The caller may call Watch again, and reads the store
// when the new watch reports ChangeSubscribed.
//
// The subscription is read by a goroutine of its own, so that neither ctx nor Close waits for a
// connection attempt that go-redis does not interrupt (a server that accepts connections but does
// not answer holds one for its read timeout); that goroutine ends soon after Watch returns, and
// never calls fn after it.
func (s *Store) Watch(ctx context.Context, fn func(store.Change)) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if ctx.Err() != nil {
		return nil
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the reader
	events := make(chan watchEvent)
	go s.readWatch(rctx, events)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return fmt.Errorf("%w: watch ended", ErrClosed)
		case ev := <-events:
			if ev.err != nil {
				return s.watchFailed(ctx, ev.err)
			}
			if s.closed.Load() {
				return fmt.Errorf("%w: watch ended", ErrClosed)
			}
			fn(ev.change)
		}
	}
}

// watchEvent is what the reader of a watch passes on: a change, or the error that ended it.
type watchEvent struct {
	change store.Change
	err    error
}

// readWatch subscribes to the store's channel and passes what it hears on to events until ctx is
// done or the subscription fails (it passes the error on then). The store's Close cancels ctx by
// ending the watch.
func (s *Store) readWatch(ctx context.Context, events chan<- watchEvent) {
	send := func(ev watchEvent) bool {
		select {
		case events <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	ps := s.client.Subscribe(ctx, s.channel)
	// Closing the PubSub interrupts a Receive that waits. AfterFunc closes it from a goroutine of
	// its own, as Close waits for a connection attempt to end.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer func() {
		if stop() {
			_ = ps.Close()
		}
	}()

	subscribed, pinged := false, false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.watchIdle)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if subscribed && !pinged && isTimeout(err) {
				// Nothing for a while: ask the server whether the connection still works.
				if err := ps.Ping(ctx); err != nil {
					send(watchEvent{err: err})
					return
				}
				pinged = true
				continue
			}
			send(watchEvent{err: err})
			return
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != s.channel {
				continue
			}
			if subscribed {
				// go-redis subscribed again on a new connection: changes may have been lost
				// in between, which only a new watch (and a read of the store) makes good.
				send(watchEvent{err: errors.New("the subscription was renewed on a new connection")})
				return
			}
			subscribed = true
			if !send(watchEvent{change: store.ChangeSubscribed}) {
				return
			}
		case *redis.Message:
			if m.Channel != s.channel {
				continue
			}
			var c store.Change
			switch m.Payload {
			case msgRevoked:
				c = store.ChangeRevoked
			case msgKeys:
				c = store.ChangeKeys
			default:
				continue
			}
			if !send(watchEvent{change: c}) {
				return
			}
		}
	}
}

// watchFailed returns the error that ends a watch whose subscription failed.
func (s *Store) watchFailed(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return nil
	case s.closed.Load():
		return fmt.Errorf("%w: watch ended", ErrClosed)
	}
	return fmt.Errorf("redisstore: watch: %w", err)
}

// isTimeout reports whether err is a read that timed out.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
