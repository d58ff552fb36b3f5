package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

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
// returns nil when ctx is done, an error wrapping [ErrClosed] when the store is closed, and any
// other error (a lost connection, a server that answers no ping for a minute) as soon as the
// subscription fails: it never resubscribes itself, which would hide the changes made in between.
// The caller may call Watch again, and reads the store when the new watch reports
// ChangeSubscribed.
func (s *Store) Watch(ctx context.Context, fn func(store.Change)) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	ps := s.client.Subscribe(ctx, s.channel)
	// The PubSub is closed when the watch ends, the context is done or the store is closed, which
	// interrupts a Receive that waits.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
		case <-s.done:
		case <-stop:
		}
		_ = ps.Close()
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()

	subscribed, pinged := false, false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.watchIdle)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case s.closed.Load():
				return fmt.Errorf("%w: watch ended", ErrClosed)
			case subscribed && !pinged && isTimeout(err):
				// Nothing for a while: ask the server whether the connection still works.
				if err := ps.Ping(ctx); err != nil {
					return s.watchFailed(ctx, err)
				}
				pinged = true
				continue
			}
			return s.watchFailed(ctx, err)
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
				return errors.New("redisstore: watch: the subscription was renewed on a new connection")
			}
			subscribed = true
			fn(store.ChangeSubscribed)
		case *redis.Message:
			if m.Channel != s.channel {
				continue
			}
			switch m.Payload {
			case msgRevoked:
				fn(store.ChangeRevoked)
			case msgKeys:
				fn(store.ChangeKeys)
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
