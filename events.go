package walletauth

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// EventType names what happened.
type EventType string

// The events apps can subscribe to with Config.OnEvent.
const (
	EventUserCreated     EventType = "user.created"
	EventUserUpdated     EventType = "user.updated" // metadata written by the user or the server
	EventWalletLinked    EventType = "wallet.linked"
	EventWalletUnlinked  EventType = "wallet.unlinked"
	EventSessionCreated  EventType = "session.created"
	EventSessionRevoked  EventType = "session.revoked"
	EventMFAEnabled      EventType = "mfa.enabled"
	EventMFADisabled     EventType = "mfa.disabled"
	EventContactVerified EventType = "contact.verified"
	EventOAuthLinked     EventType = "oauth.linked"
	EventOAuthUnlinked   EventType = "oauth.unlinked"
)

// Event is something that happened to a user. Fields that do not apply are empty.
type Event struct {
	Type   EventType
	Time   time.Time
	UserID string
	// SessionID is the session created or revoked (or in which the change was made).
	SessionID string
	// Address and ChainID are the wallet concerned (sign-in, link, unlink).
	Address string
	ChainID uint64
	// Contact is the email address or phone number verified; ContactKind "email" or "phone".
	Contact     string
	ContactKind string
	// Provider is the OAuth provider of an account linked or unlinked.
	Provider string
}

// EventQueueSize is how many events may wait for Config.OnEvent; beyond it new events are
// dropped (and logged), never waited for.
const EventQueueSize = 1024

// events delivers events to the app's callback from one goroutine, so that a slow, blocking or
// panicking callback cannot delay or break the request that caused the event.
type events struct {
	fn   func(context.Context, Event)
	log  *slog.Logger
	ch   chan Event
	done chan struct{}
	once sync.Once
	// mu guards closed against emit: a request still running at Close (or arriving after it)
	// must find the queue closed, not send on a closed channel.
	mu     sync.RWMutex
	closed bool
}

func newEvents(fn func(context.Context, Event), log *slog.Logger) *events {
	if fn == nil {
		return nil
	}
	e := &events{fn: fn, log: log, ch: make(chan Event, EventQueueSize), done: make(chan struct{})}
	go e.run()
	return e
}

// emit queues an event without ever blocking.
func (e *events) emit(ev Event) {
	if e == nil {
		return
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		e.log.Warn("walletauth: event after Close; event dropped", "event_type", string(ev.Type), "user", ev.UserID)
		return
	}
	select {
	case e.ch <- ev:
	default:
		e.log.Warn("walletauth: event queue full; event dropped", "event_type", string(ev.Type), "user", ev.UserID)
	}
}

func (e *events) run() {
	defer close(e.done)
	for ev := range e.ch {
		e.deliver(ev)
	}
}

func (e *events) deliver(ev Event) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("walletauth: event callback panicked", "event_type", string(ev.Type), "panic", p)
		}
	}()
	e.fn(context.Background(), ev)
}

// close stops accepting events and waits up to wait for the queued ones to be delivered.
func (e *events) close(wait time.Duration) {
	if e == nil {
		return
	}
	e.once.Do(func() {
		e.mu.Lock()
		e.closed = true
		close(e.ch)
		e.mu.Unlock()
		select {
		case <-e.done:
		case <-time.After(wait):
			e.log.Warn("walletauth: event callback still running at Close")
		}
	})
}

// emit records an event of the Auth.
func (a *Auth) emit(ev Event) {
	if a.events == nil {
		return
	}
	ev.Time = a.cfg.Clock()
	a.events.emit(ev)
}
