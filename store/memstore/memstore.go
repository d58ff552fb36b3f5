package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/walletauth/walletauth/store"
)

// Defaults for the bounds of a [Store].
const (
	// DefaultMaxNonces is the number of nonces a store keeps unless [WithMaxNonces] says otherwise.
	DefaultMaxNonces = 100_000
	// DefaultMaxCounters is the number of counters a store keeps unless [WithMaxCounters] says
	// otherwise.
	DefaultMaxCounters = 100_000
	// DefaultMaxKeys is the number of signing keys a store keeps unless [WithMaxKeys] says
	// otherwise.
	DefaultMaxKeys = 1_000
	// DefaultMaxSessions is the number of sessions a store keeps unless [WithMaxSessions] says
	// otherwise.
	DefaultMaxSessions = 100_000
	// DefaultMaxUsers is the number of users a store keeps unless [WithMaxUsers] says otherwise.
	DefaultMaxUsers = 1_000_000
	// DefaultMaxWallets is the number of wallets, of all users together, that a store keeps unless
	// [WithMaxWallets] says otherwise: ten for each of [DefaultMaxUsers] users.
	DefaultMaxWallets = 10_000_000
	// DefaultMaxMetadata is the number of metadata documents (members of a [store.Metadata] that
	// are set), of all users together, that a store keeps unless [WithMaxMetadata] says otherwise:
	// the three members of each of [DefaultMaxUsers] users.
	DefaultMaxMetadata = 3_000_000
	// MaxMetadataSize is the most bytes of one metadata document (one member of a user's
	// [store.Metadata]): a [Store.SetMetadata] with a larger one returns an error wrapping
	// [store.ErrInvalid].
	MaxMetadataSize = 64 << 10
	// DefaultMaxTOTP is the number of TOTP factors a store keeps unless [WithMaxTOTP] says
	// otherwise.
	DefaultMaxTOTP = 1_000_000
	// DefaultMaxRecoveryCodes is the number of recovery codes, of all users together, that a store
	// keeps unless [WithMaxRecoveryCodes] says otherwise: ten for each of [DefaultMaxTOTP] users.
	DefaultMaxRecoveryCodes = 10_000_000
	// MaxRecoveryCodesPerUser is the most recovery codes that one user holds: a
	// [Store.ReplaceRecoveryCodes] with more returns an error wrapping [store.ErrInvalid].
	MaxRecoveryCodesPerUser = 64
	// DefaultMaxContacts is the number of contacts (email addresses and phone numbers), of all
	// users together, that a store keeps unless [WithMaxContacts] says otherwise: five for each of
	// [DefaultMaxUsers] users.
	DefaultMaxContacts = 5_000_000
	// DefaultMaxVerificationCodes is the number of verification codes a store keeps unless
	// [WithMaxVerificationCodes] says otherwise.
	DefaultMaxVerificationCodes = 100_000
	// DefaultMaxOAuthAccounts is the number of linked OAuth accounts, of all users together, that
	// a store keeps unless [WithMaxOAuthAccounts] says otherwise: five for each of
	// [DefaultMaxUsers] users.
	DefaultMaxOAuthAccounts = 5_000_000
)

// purgeBatch is the most expired records of one kind that one call removes. Every call that may
// add a record removes up to this many, so expired records go faster than new ones come and the
// work of a single call stays bounded however many records expire at once.
const purgeBatch = 32

// ErrClosed is returned by every call on a [Store] after [Store.Close]. It wraps
// [store.ErrClosed].
var ErrClosed = fmt.Errorf("memstore: %w", store.ErrClosed)

var (
	errNonceCapacity   = fmt.Errorf("memstore: nonce limit reached: %w", store.ErrCapacity)
	errCounterCapacity = fmt.Errorf("memstore: counter limit reached: %w", store.ErrCapacity)
	errNoValue         = fmt.Errorf("memstore: nonce has no value: %w", store.ErrInvalid)
	errNoExpiry        = fmt.Errorf("memstore: nonce has no expiry: %w", store.ErrInvalid)
	errWindow          = fmt.Errorf("memstore: counter window must be positive: %w", store.ErrInvalid)
)

// An Option configures a [Store] made by [New].
type Option func(*config)

type config struct {
	maxNonces   int
	maxCounters int
	maxKeys     int
	maxSessions int
	maxUsers    int
	maxWallets  int
	maxMetadata int
	maxTOTP     int
	maxCodes    int
	maxContacts int
	maxVerify   int
	maxOAuth    int
}

// WithMaxNonces sets how many nonces the store keeps at most; n <= 0 means [DefaultMaxNonces].
func WithMaxNonces(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxNonces = n
		}
	}
}

// WithMaxCounters sets how many counters the store keeps at most; n <= 0 means
// [DefaultMaxCounters].
func WithMaxCounters(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxCounters = n
		}
	}
}

// WithMaxKeys sets how many signing keys the store keeps at most; n <= 0 means [DefaultMaxKeys].
func WithMaxKeys(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxKeys = n
		}
	}
}

// WithMaxSessions sets how many sessions the store keeps at most; n <= 0 means
// [DefaultMaxSessions].
func WithMaxSessions(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxSessions = n
		}
	}
}

// WithMaxUsers sets how many users the store keeps at most; n <= 0 means [DefaultMaxUsers].
func WithMaxUsers(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxUsers = n
		}
	}
}

// WithMaxWallets sets how many wallets, of all users together, the store keeps at most; n <= 0
// means [DefaultMaxWallets].
func WithMaxWallets(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxWallets = n
		}
	}
}

// WithMaxMetadata sets how many metadata documents (set members of users' [store.Metadata]), of
// all users together, the store keeps at most; n <= 0 means [DefaultMaxMetadata]. One document
// holds at most [MaxMetadataSize] bytes whatever n is.
func WithMaxMetadata(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxMetadata = n
		}
	}
}

// WithMaxTOTP sets how many TOTP factors the store keeps at most; n <= 0 means [DefaultMaxTOTP].
func WithMaxTOTP(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxTOTP = n
		}
	}
}

// WithMaxRecoveryCodes sets how many recovery codes, of all users together, the store keeps at
// most; n <= 0 means [DefaultMaxRecoveryCodes]. One user holds at most [MaxRecoveryCodesPerUser]
// whatever n is.
func WithMaxRecoveryCodes(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxCodes = n
		}
	}
}

// WithMaxContacts sets how many contacts, of all users together, the store keeps at most; n <= 0
// means [DefaultMaxContacts].
func WithMaxContacts(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxContacts = n
		}
	}
}

// WithMaxVerificationCodes sets how many verification codes the store keeps at most; n <= 0 means
// [DefaultMaxVerificationCodes].
func WithMaxVerificationCodes(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxVerify = n
		}
	}
}

// WithMaxOAuthAccounts sets how many linked OAuth accounts, of all users together, the store keeps
// at most; n <= 0 means [DefaultMaxOAuthAccounts].
func WithMaxOAuthAccounts(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxOAuth = n
		}
	}
}

// Store is a [store.Store] that keeps its records in memory. It is safe for concurrent use. The
// zero value is not usable; call [New].
type Store struct {
	mu       sync.Mutex
	closed   bool
	feed     feed // the changes that [Store.Watch] reports
	nonces   table[store.Nonce]
	counters table[int64]
	keys     table[store.SigningKey]
	sessions table[store.Session]
	// byUser indexes the sessions held by user id and session id; revoked holds the revoked
	// sessions by id. Both are kept in step with sessions by dropSession.
	byUser  map[string]map[string]*entry[store.Session]
	revoked map[string]*entry[store.Session]
	// users holds the users by id; wallets the same users by folded wallet address.
	users      map[string]*store.User
	wallets    map[string]*store.User
	maxUsers   int
	maxWallets int
	// metadata holds the users' metadata by user id (a user without any has no entry), nMetadata
	// how many members are set in all.
	metadata    map[string]*store.Metadata
	nMetadata   int
	maxMetadata int
	// totp holds the TOTP factors by user id; codes the recovery code hashes by user id (a user
	// without codes has no entry), nCodes how many hashes codes holds in all.
	totp     map[string]*store.TOTP
	maxTOTP  int
	codes    map[string][][]byte
	nCodes   int
	maxCodes int
	// contacts holds the contacts by key, userContacts the same contacts by user id in the order
	// added (a user without contacts has no entry), verified the user id of each verified
	// contact by kind and value.
	contacts     map[contactKey]*store.Contact
	userContacts map[string][]*store.Contact
	verified     map[claim]string
	maxContacts  int
	// verifyCodes holds the verification codes by key.
	verifyCodes table[store.VerificationCode]
	// oauth holds the linked OAuth accounts by (provider, subject), userOAuth the same accounts by
	// user id in the order linked (a user without accounts has no entry).
	oauth     map[oauthKey]*store.OAuthAccount
	userOAuth map[string][]*store.OAuthAccount
	maxOAuth  int
}

var _ store.Store = (*Store)(nil)

// New returns an empty store. Without options it keeps at most [DefaultMaxNonces] nonces,
// [DefaultMaxCounters] counters, [DefaultMaxKeys] signing keys, [DefaultMaxSessions] sessions,
// [DefaultMaxUsers] users, [DefaultMaxWallets] wallets, [DefaultMaxMetadata] metadata documents,
// [DefaultMaxTOTP] TOTP factors, [DefaultMaxRecoveryCodes] recovery codes, [DefaultMaxContacts]
// contacts, [DefaultMaxVerificationCodes] verification codes and [DefaultMaxOAuthAccounts] linked
// OAuth accounts.
func New(opts ...Option) *Store {
	c := config{
		maxNonces:   DefaultMaxNonces,
		maxCounters: DefaultMaxCounters,
		maxKeys:     DefaultMaxKeys,
		maxSessions: DefaultMaxSessions,
		maxUsers:    DefaultMaxUsers,
		maxWallets:  DefaultMaxWallets,
		maxMetadata: DefaultMaxMetadata,
		maxTOTP:     DefaultMaxTOTP,
		maxCodes:    DefaultMaxRecoveryCodes,
		maxContacts: DefaultMaxContacts,
		maxVerify:   DefaultMaxVerificationCodes,
		maxOAuth:    DefaultMaxOAuthAccounts,
	}
	for _, o := range opts {
		o(&c)
	}
	s := &Store{
		nonces:       newTable[store.Nonce](c.maxNonces),
		counters:     newTable[int64](c.maxCounters),
		keys:         newTable[store.SigningKey](c.maxKeys),
		sessions:     newTable[store.Session](c.maxSessions),
		byUser:       make(map[string]map[string]*entry[store.Session]),
		revoked:      make(map[string]*entry[store.Session]),
		users:        make(map[string]*store.User),
		wallets:      make(map[string]*store.User),
		maxUsers:     c.maxUsers,
		maxWallets:   c.maxWallets,
		metadata:     make(map[string]*store.Metadata),
		maxMetadata:  c.maxMetadata,
		totp:         make(map[string]*store.TOTP),
		maxTOTP:      c.maxTOTP,
		codes:        make(map[string][][]byte),
		maxCodes:     c.maxCodes,
		contacts:     make(map[contactKey]*store.Contact),
		userContacts: make(map[string][]*store.Contact),
		verified:     make(map[claim]string),
		maxContacts:  c.maxContacts,
		verifyCodes:  newTable[store.VerificationCode](c.maxVerify),
		oauth:        make(map[oauthKey]*store.OAuthAccount),
		userOAuth:    make(map[string][]*store.OAuthAccount),
		maxOAuth:     c.maxOAuth,
	}
	s.feed.init()
	s.sessions.onRemove = s.dropSession
	return s
}

// lock checks ctx, then locks the store unless it is closed. On a nil error the caller must
// unlock s.mu.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// CreateNonce implements [store.NonceStore.CreateNonce]. When the store holds its maximum of
// nonces and none of them has expired at now, it returns an error wrapping [store.ErrCapacity].
func (s *Store) CreateNonce(ctx context.Context, n store.Nonce, now time.Time) error {
	if n.Value == "" {
		return errNoValue
	}
	if n.ExpiresAt.IsZero() {
		return errNoExpiry
	}
	// Keep wall clock readings only, so that expiry compares the same way whatever clock the
	// times came from.
	n.IssuedAt = n.IssuedAt.Round(0)
	n.ExpiresAt = n.ExpiresAt.Round(0)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t := &s.nonces
	t.purge(now, purgeBatch)
	if e, ok := t.m[n.Value]; ok {
		if e.expires.After(now) {
			return store.ErrConflict
		}
		// An expired record not yet purged: the new one takes its place.
		t.update(e, n, n.ExpiresAt)
		return nil
	}
	if t.insert(n.Value, n, n.ExpiresAt) == nil {
		return errNonceCapacity
	}
	return nil
}

// GetNonce implements [store.NonceStore.GetNonce].
func (s *Store) GetNonce(ctx context.Context, value string, now time.Time) (store.Nonce, error) {
	if err := s.lock(ctx); err != nil {
		return store.Nonce{}, err
	}
	defer s.mu.Unlock()
	e := s.nonces.live(value, now)
	if e == nil {
		return store.Nonce{}, store.ErrNotFound
	}
	return e.val, nil
}

// ConsumeNonce implements [store.NonceStore.ConsumeNonce].
func (s *Store) ConsumeNonce(ctx context.Context, value string, now time.Time) (store.Nonce, error) {
	if err := s.lock(ctx); err != nil {
		return store.Nonce{}, err
	}
	defer s.mu.Unlock()
	e := s.nonces.live(value, now)
	if e == nil {
		return store.Nonce{}, store.ErrNotFound
	}
	n := e.val
	s.nonces.remove(e)
	return n, nil
}

// AddNonceFailure implements [store.NonceStore.AddNonceFailure].
func (s *Store) AddNonceFailure(ctx context.Context, value string, now time.Time) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	e := s.nonces.live(value, now)
	if e == nil {
		return 0, store.ErrNotFound
	}
	e.val.Failures++
	return e.val.Failures, nil
}

// DeleteNonce implements [store.NonceStore.DeleteNonce].
func (s *Store) DeleteNonce(ctx context.Context, value string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e, ok := s.nonces.m[value]; ok {
		s.nonces.remove(e)
	}
	return nil
}

// IncrementCounter implements [store.CounterStore.IncrementCounter]. When the store holds its
// maximum of counters, none of whose windows has ended at now, a new key gets an error wrapping
// [store.ErrCapacity]; existing keys still count.
func (s *Store) IncrementCounter(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if window <= 0 {
		return 0, time.Time{}, errWindow
	}
	if err := s.lock(ctx); err != nil {
		return 0, time.Time{}, err
	}
	defer s.mu.Unlock()
	t := &s.counters
	t.purge(now, purgeBatch)
	if e, ok := t.m[key]; ok {
		if e.expires.After(now) {
			e.val++
			return e.val, e.expires, nil
		}
		resetAt := now.Round(0).Add(window)
		t.update(e, 1, resetAt)
		return 1, resetAt, nil
	}
	resetAt := now.Round(0).Add(window)
	if t.insert(key, 1, resetAt) == nil {
		return 0, time.Time{}, errCounterCapacity
	}
	return 1, resetAt, nil
}

// ResetCounter implements [store.CounterStore.ResetCounter].
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e, ok := s.counters.m[key]; ok {
		s.counters.remove(e)
	}
	return nil
}

// Len reports how many nonces and counters the store holds, including expired ones that it has
// not purged yet. Neither exceeds its maximum. [Store.Sizes] reports every kind of record.
func (s *Store) Len() (nonces, counters int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.nonces.m), len(s.counters.m)
}

// Sizes is how many records of each kind a [Store] holds.
type Sizes struct {
	// Nonces, Counters, Keys and Sessions include expired records not purged yet; Sessions
	// includes revoked ones. None exceeds its maximum.
	Nonces, Counters, Keys, Sessions int
	// Users is the number of users, Wallets the number of their wallets; both are bounded.
	Users, Wallets int
	// Metadata is the number of metadata documents (set members of users' metadata), bounded.
	Metadata int
	// TOTP is the number of TOTP factors, RecoveryCodes the number of unused recovery codes of all
	// users together; both are bounded.
	TOTP, RecoveryCodes int
	// Contacts is the number of contacts of all users together, bounded. VerificationCodes
	// includes expired codes not purged yet, and does not exceed its maximum.
	Contacts, VerificationCodes int
	// OAuthAccounts is the number of linked OAuth accounts of all users together, bounded.
	OAuthAccounts int
}

// Sizes reports how many records of each kind the store holds.
func (s *Store) Sizes() Sizes {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Sizes{
		Nonces:            len(s.nonces.m),
		Counters:          len(s.counters.m),
		Keys:              len(s.keys.m),
		Sessions:          len(s.sessions.m),
		Users:             len(s.users),
		Wallets:           len(s.wallets),
		Metadata:          s.nMetadata,
		TOTP:              len(s.totp),
		RecoveryCodes:     s.nCodes,
		Contacts:          len(s.contacts),
		VerificationCodes: len(s.verifyCodes.m),
		OAuthAccounts:     len(s.oauth),
	}
}

// Close drops every record; later calls return [ErrClosed]. Closing a closed store does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.feed.close()
	s.nonces = table[store.Nonce]{}
	s.counters = table[int64]{}
	s.keys = table[store.SigningKey]{}
	s.sessions = table[store.Session]{}
	s.byUser, s.revoked = nil, nil
	s.users, s.wallets = nil, nil
	s.metadata, s.nMetadata = nil, 0
	s.totp, s.codes, s.nCodes = nil, nil, 0
	s.contacts, s.userContacts, s.verified = nil, nil, nil
	s.verifyCodes = table[store.VerificationCode]{}
	s.oauth, s.userOAuth = nil, nil
	return nil
}

// entry is one record of a table.
type entry[T any] struct {
	key     string
	expires time.Time // the record does not exist at and after this instant
	index   int       // position in table.heap
	val     T
}

// table is a bounded map of records indexed by expiry: a min-heap on entry.expires finds the
// expired records without a scan, so that purging costs O(log n) per record.
type table[T any] struct {
	m     map[string]*entry[T]
	heap  []*entry[T]
	limit int // most records held
	// onRemove, when set, is called with each record that remove takes out, so that indexes kept
	// beside the table follow it.
	onRemove func(*entry[T])
}

func newTable[T any](limit int) table[T] {
	return table[T]{m: make(map[string]*entry[T]), limit: limit}
}

// live returns the record with the given key if it exists at now; an expired one is removed.
func (t *table[T]) live(key string, now time.Time) *entry[T] {
	e, ok := t.m[key]
	if !ok {
		return nil
	}
	if !e.expires.After(now) {
		t.remove(e)
		return nil
	}
	return e
}

// purge removes up to limit records that have expired at now, earliest first.
func (t *table[T]) purge(now time.Time, limit int) {
	for ; limit > 0 && len(t.heap) > 0 && !t.heap[0].expires.After(now); limit-- {
		t.remove(t.heap[0])
	}
}

// insert adds a record with a key that t does not hold and returns it, or nil when t is full.
func (t *table[T]) insert(key string, val T, expires time.Time) *entry[T] {
	if len(t.m) >= t.limit {
		return nil
	}
	e := &entry[T]{key: key, expires: expires, index: len(t.heap), val: val}
	t.m[key] = e
	t.heap = append(t.heap, e)
	t.up(e.index)
	return e
}

// update replaces the value and expiry of a record that t holds.
func (t *table[T]) update(e *entry[T], val T, expires time.Time) {
	e.val = val
	e.expires = expires
	if !t.down(e.index) {
		t.up(e.index)
	}
}

// remove deletes a record that t holds.
func (t *table[T]) remove(e *entry[T]) {
	if t.onRemove != nil {
		t.onRemove(e)
	}
	delete(t.m, e.key)
	i, last := e.index, len(t.heap)-1
	if i != last {
		t.swap(i, last)
	}
	t.heap[last] = nil
	t.heap = t.heap[:last]
	if i != last && !t.down(i) {
		t.up(i)
	}
}

func (t *table[T]) less(i, j int) bool { return t.heap[i].expires.Before(t.heap[j].expires) }

func (t *table[T]) swap(i, j int) {
	h := t.heap
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (t *table[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			return
		}
		t.swap(i, p)
		i = p
	}
}

// down moves the entry at i towards the leaves and reports whether it moved.
func (t *table[T]) down(i int) bool {
	start, n := i, len(t.heap)
	for {
		c := 2*i + 1
		if c >= n || c < 0 {
			break
		}
		if r := c + 1; r < n && t.less(r, c) {
			c = r
		}
		if !t.less(c, i) {
			break
		}
		t.swap(i, c)
		i = c
	}
	return i > start
}
