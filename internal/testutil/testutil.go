// Package testutil holds what the tests of several walletauth packages share: a settable clock,
// so that no test sleeps to wait for expiry, and a log buffer that goroutines may write at once.
package testutil

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Clock is a settable clock, safe for concurrent use. Pass its Now method where a package takes
// a clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock that reads t until it is moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d (which may be negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// LogBuffer collects log output written by many goroutines.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// PostgresURL is the PostgreSQL server the tests use: $WALLETAUTH_POSTGRES_URL, or the machine's
// own server (127.0.0.1:5432, trust authentication, database test).
func PostgresURL() string {
	if u := os.Getenv("WALLETAUTH_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// RedisURL is the Redis server the tests use: $WALLETAUTH_REDIS_URL, or the machine's own server
// (127.0.0.1:6379, database 0).
func RedisURL() string {
	if u := os.Getenv("WALLETAUTH_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// ServicesRequired reports whether WALLETAUTH_REQUIRE_SERVICES=1 (as CI sets): tests that need
// PostgreSQL, Redis, Node or Chromium then fail instead of skipping when it is missing.
func ServicesRequired() bool { return os.Getenv("WALLETAUTH_REQUIRE_SERVICES") == "1" }

// Need ends the test when something it needs is missing (ok is false; what says what is
// missing): it skips with a message, or fails when [ServicesRequired].
func Need(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if ServicesRequired() {
		t.Fatalf("%s, and WALLETAUTH_REQUIRE_SERVICES=1 requires this test", what)
	}
	t.Skipf("skipping: %s; set WALLETAUTH_REQUIRE_SERVICES=1 to make this a failure", what)
}

// NeedService is [Need] for a server the test needs, which err says is unreachable (when not nil).
func NeedService(t testing.TB, service string, err error) {
	t.Helper()
	if err != nil {
		Need(t, false, fmt.Sprintf("%s is unreachable (%v)", service, err))
	}
}
