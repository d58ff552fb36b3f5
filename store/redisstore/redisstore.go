package redisstore

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/store"
)

const (
	// DefaultPrefix is the key prefix of a store whose [Options] name none.
	DefaultPrefix = "walletauth"
	// MaxPrefixLen is the most bytes of a key prefix.
	MaxPrefixLen = 64
	// TTLMargin is what the store adds to the remaining life of a record that expires when it sets
	// the record's time to live in Redis. Expiry is decided by the callers' clocks; Redis's TTLs
	// only collect garbage, and the margin keeps Redis from dropping a record that a caller whose
	// clock lags by less than it still sees live.
	TTLMargin = time.Minute
	// MaxMetadataSize is the most bytes of one metadata document (one member of a user's
	// [store.Metadata]): a [Store.SetMetadata] with a larger one returns an error wrapping
	// [store.ErrInvalid].
	MaxMetadataSize = 64 << 10
	// MaxRecoveryCodesPerUser is the most recovery codes that one user holds: a
	// [Store.ReplaceRecoveryCodes] with more returns an error wrapping [store.ErrInvalid].
	MaxRecoveryCodesPerUser = 64
)

// pruneLimit is the most index entries of expired or dropped sessions that one call examines
// besides those it reads anyway, so that the indexes stay near the size of the live sessions while
// the work of one call stays bounded.
const pruneLimit = 32

// watchIdle is how long a watch waits for a message before it pings the server, and then for the
// answer before it gives up on the connection.
const watchIdle = 30 * time.Second

// openTimeout bounds the PING with which [Open] checks the server.
const openTimeout = 10 * time.Second

// ErrClosed is returned by every call on a [Store] after [Store.Close], and by a [Store.Watch]
// that Close ended. It wraps [store.ErrClosed].
var ErrClosed = fmt.Errorf("redisstore: %w", store.ErrClosed)

// Options configure a [Store].
type Options struct {
	// Prefix starts the name of every key the store writes, within a Redis hash tag: a key is
	// "{Prefix}:kind:id", and the store's pub/sub channel "{Prefix}:changes". Stores with different
	// prefixes share a server without seeing each other's records. It is at most [MaxPrefixLen]
	// bytes of printable ASCII other than '{', '}' and space; empty means [DefaultPrefix].
	Prefix string
}

// Store is a [store.Store] and a [store.Watcher] kept in Redis. It is safe for concurrent use, and
// any number of Stores (in one process or many) may share one prefix on one server: they then hold
// the same records. The zero value is not usable; call [Open] or [New].
type Store struct {
	client redis.UniversalClient
	owned  bool   // Close closes client
	prefix string // "{Prefix}:", the start of every key
	// channel is the pub/sub channel on which changes are announced.
	channel string
	// watchIdle is how long a watch waits for a message before it pings the server.
	watchIdle time.Duration

	closed    atomic.Bool
	done      chan struct{} // closed by Close, to end running watches
	closeOnce sync.Once
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Watcher = (*Store)(nil)
)

// checkPrefix returns the prefix that opts ask for, or an error.
func checkPrefix(opts Options) (string, error) {
	p := opts.Prefix
	if p == "" {
		return DefaultPrefix, nil
	}
	if len(p) > MaxPrefixLen {
		return "", fmt.Errorf("redisstore: prefix of %d bytes is longer than %d", len(p), MaxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '{' || c == '}' {
			return "", fmt.Errorf("redisstore: prefix %q holds %q: it must be printable ASCII without '{', '}' and space", p, c)
		}
	}
	return p, nil
}

// Open connects to the Redis server that url names ("redis://[user:password@]host:port/db", or
// "rediss://" for TLS, with the options of [redis.ParseURL]) and returns a store that owns the
// connection: [Store.Close] closes it. It pings the server once, so that a bad address or an
// unreachable server fails here rather than at the first call.
func Open(url string, opts Options) (*Store, error) {
	prefix, err := checkPrefix(opts)
	if err != nil {
		return nil, err
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, urlError(url, err)
	}
	client := redis.NewClient(o)
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redisstore: cannot reach Redis at %s: %w", o.Addr, err)
	}
	s := newStore(client, prefix)
	s.owned = true
	return s, nil
}

// urlError returns the error of a Redis URL that [redis.ParseURL] refused, without a part of the
// URL that may be its password. The parse errors of net/url quote pieces of the URL (a port, an
// escape), and so do go-redis's (a path, a database number); when a password holds '/', '?' or
// '#' unescaped — as generated (base64) passwords do — the URL splits inside the password, and the
// piece quoted is the password's. Such details are left out: all of them when the URL does not
// parse, and those of go-redis when an '@' comes after the end of the URL's authority (a sign that
// it ended inside the userinfo).
func urlError(raw string, err error) error {
	if _, perr := neturl.Parse(raw); perr != nil {
		return errors.New("redisstore: invalid Redis URL: it does not parse as a URL (details left out, as they may show the password)")
	}
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+len("://"):]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 && strings.Contains(rest[i:], "@") {
		return errors.New("redisstore: invalid Redis URL (details left out, as they may show the password: is a '/', '?' or '#' in it not escaped?)")
	}
	return fmt.Errorf("redisstore: invalid Redis URL: %w", err)
}

// New returns a store on a client that the caller made (a [redis.Client], a [redis.ClusterClient],
// a failover client or any [redis.UniversalClient]) and keeps owning: [Store.Close] does not
// close it. It does not contact the server.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	prefix, err := checkPrefix(opts)
	if err != nil {
		return nil, err
	}
	return newStore(client, prefix), nil
}

func newStore(client redis.UniversalClient, prefix string) *Store {
	p := "{" + prefix + "}:"
	return &Store{
		client:    client,
		prefix:    p,
		channel:   p + "changes",
		watchIdle: watchIdle,
		done:      make(chan struct{}),
	}
}

// Close ends the store's watches and, when [Open] made the client, closes it. Later calls return
// [ErrClosed]. Closing a closed store does nothing and returns nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.done)
		if s.owned {
			if cerr := s.client.Close(); cerr != nil {
				err = fmt.Errorf("redisstore: %w", cerr)
			}
		}
	})
	return err
}

// key returns the name of the key of a kind of record with the given id.
func (s *Store) key(kind, id string) string { return s.prefix + kind + ":" + id }

// begin checks that a call may start: its context is not done and the store is open.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// fail wraps the error of a call to Redis.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("%w (%s: %w)", ErrClosed, op, err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("redisstore: %s: %w (%w)", op, ctxErr, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// corrupt reports a record in Redis that the store cannot read.
func corrupt(what string, err error) error {
	return fmt.Errorf("redisstore: corrupt %s in Redis: %w", what, err)
}

// run runs a script, and maps its errors.
func (s *Store) run(ctx context.Context, op string, sc *redis.Script, keys []string, args ...any) (any, error) {
	v, err := sc.Run(ctx, s.client, keys, args...).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return v, nil
}

// runInt runs a script that returns an integer.
func (s *Store) runInt(ctx context.Context, op string, sc *redis.Script, keys []string, args ...any) (int64, error) {
	v, err := s.run(ctx, op, sc, keys, args...)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("redisstore: %s: unexpected reply %T", op, v)
	}
	return n, nil
}

// itoa formats an int64 for a script argument.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// utoa formats a uint64 for a hash field.
func utoa(n uint64) string { return strconv.FormatUint(n, 10) }

// Status codes that scripts return.
const (
	stNotFound = 0
	stOK       = 1
	stConflict = 2
	// stTaken is a second kind of conflict, for a more precise error message.
	stTaken = 3
)
