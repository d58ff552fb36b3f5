package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/walletauth/walletauth/store"
)

// Defaults and bounds of [Config].
const (
	DefaultAlgorithm          = "EdDSA"
	DefaultAccessTTL          = 60 * time.Second
	MaxAccessTTL              = 24 * time.Hour
	DefaultRefreshIdleTimeout = 7 * 24 * time.Hour
	DefaultRefreshLifetime    = 30 * 24 * time.Hour
	DefaultRefreshGrace       = 10 * time.Second
	MaxRefreshGrace           = 10 * time.Second
	DefaultClockSkew          = 5 * time.Second
	MaxClockSkew              = 60 * time.Second
	DefaultKeyRotation        = 30 * 24 * time.Hour
	DefaultSyncInterval       = 2 * time.Second
	MaxSyncInterval           = 60 * time.Second
	DefaultCacheSize          = 10_000
	// MinHMACSecret is the shortest [Config.HMACSecret] accepted, in bytes.
	MinHMACSecret = 32
	// MaxPendingTTL is the longest lifetime [Manager.MintPending] accepts.
	MaxPendingTTL = 15 * time.Minute
	// MaxTokenSize is the longest token, in bytes, that verification looks at; longer ones are
	// refused at once, and minting refuses to make one (a [Config.Claims] hook adding too much).
	MaxTokenSize = 8 << 10
)

// Margins that absorb clock differences between instances and the latency of the store.
const (
	// keyMargin is added to how long a key keeps verifying after it could last have signed.
	keyMargin = time.Minute
	// revokeMargin is added to how long a revocation is remembered after the last access token
	// of its session could have expired.
	revokeMargin = time.Minute
	// pollOverlap (plus the sync interval and the clock skew) is how far back each poll of
	// revocations reaches before the previous poll.
	pollOverlap = 5 * time.Second
	// widePollEvery is how often a poll reaches back over every revocation that can still
	// matter (as New does): a revocation whose store write became visible later than the
	// overlap after its time (a long lock wait, a retried write) is then seen within this.
	widePollEvery = 30 * time.Second
)

// Config configures a [Manager]. Zero values mean the documented defaults.
type Config struct {
	// Issuer is the "iss" claim of every token, and the only issuer accepted, for example
	// "https://example.com". Required.
	Issuer string
	// Audience is the "aud" claim, and the only audience accepted. Empty means Issuer.
	Audience string

	// Keys keeps the signing keys that the instances sharing it use. Required, unless
	// HMACSecret is set (the keys then come from the secret and the store is not used).
	Keys store.KeyStore
	// Sessions keeps the refresh sessions and their revocations. Required.
	Sessions store.SessionStore

	// Algorithm is the JWS algorithm of new signing keys: "EdDSA" (Ed25519, the default),
	// "ES256" (ECDSA P-256 with SHA-256) or "HS256" (HMAC-SHA256; tokens can then be verified
	// only by holders of the secret, and the JWKS is empty). Live keys of the other algorithms
	// in the store keep verifying, so the algorithm can be changed on a running deployment.
	Algorithm string
	// HMACSecret, only with Algorithm "HS256", is a fixed key of at least [MinHMACSecret] bytes.
	// Its kid is derived from a hash of it; it never rotates ([Manager.RotateKeys] fails) and
	// the key store is not used. When nil, HS256 keys are made of 32 random bytes and kept in
	// the store like the others.
	HMACSecret []byte

	// AccessTTL is the lifetime of an access token. Default [DefaultAccessTTL] (60 s), at most
	// [MaxAccessTTL]. It bounds how long a token outlives a revocation that an instance has not
	// seen, together with SyncInterval.
	AccessTTL time.Duration
	// RefreshIdleTimeout ends a refresh session that has not been refreshed for that long.
	// Default [DefaultRefreshIdleTimeout] (7 days).
	RefreshIdleTimeout time.Duration
	// RefreshLifetime ends a refresh session that long after sign-in, however active.
	// Default [DefaultRefreshLifetime] (30 days).
	RefreshLifetime time.Duration
	// RefreshGrace is how long after a rotation the immediately previous refresh token is still
	// honoured (two tabs refreshing at once; see [Manager.Refresh]). Default and maximum
	// [MaxRefreshGrace] (10 s).
	RefreshGrace time.Duration
	// ClockSkew is the tolerance of the exp, nbf and iat checks. Default [DefaultClockSkew]
	// (5 s), at most [MaxClockSkew].
	ClockSkew time.Duration

	// KeyRotation is how long a key signs before a new one takes over. Default
	// [DefaultKeyRotation] (30 days). A key keeps verifying after its last signature for as long
	// as a token it signed can live (the longer of AccessTTL and [MaxPendingTTL], plus
	// ClockSkew), plus a margin.
	KeyRotation time.Duration
	// KeyPublishDelay is how long a new key is published (in the store, the JWKS and, after
	// their next Sync, every instance) before it signs. Default 2×SyncInterval.
	KeyPublishDelay time.Duration
	// SyncInterval is how often [Manager.Start] polls the store for revocations and keys.
	// Default [DefaultSyncInterval] (2 s), at most [MaxSyncInterval].
	SyncInterval time.Duration

	// CacheSize is how many verified access tokens are remembered, so that verifying the same
	// token again skips the signature check (expiry, revocation and the key are still checked
	// on every hit). Default [DefaultCacheSize]; negative disables the cache.
	CacheSize int

	// Claims, when set, is called for every access token minted (with the session, its refresh
	// hashes left out) and returns extra claims to put in it, which [Manager.Verify] returns in [Claims.Extra]. The reserved names can never
	// be set by it: iss, aud, sub, sid, iat, nbf, exp, jti, typ, addr, chain, aal, amr and
	// auth_time (see [IsReservedClaim]; compared without regard to case). A result that holds
	// one, or that is not JSON, fails the Create or Refresh. Values come back from JSON
	// (numbers as float64, objects as map[string]any).
	Claims func(ctx context.Context, s store.Session) (map[string]any, error)

	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Logger receives the security events (session created, refreshed, revoked, refresh-token
	// reuse, signing key created). Records carry session, user and key ids, never a token, a
	// hash or key material. Default slog.Default().
	Logger *slog.Logger
}

// Manager issues, refreshes, verifies and revokes sessions. It is safe for concurrent use.
type Manager struct {
	cfg          Config
	alg          jwa.SignatureAlgorithm
	audience     string
	audienceJSON []byte // audience as a JSON string
	now          func() time.Time
	log          *slog.Logger
	// keyOverlap is the longest life of any token (plus skew and margin): a key must live that
	// long after it signs. tokenLife is the same without the margin: a key that has that long
	// left can still sign any token, which is what decides that a key must be made at once.
	keyOverlap   time.Duration
	tokenLife    time.Duration
	cacheControl string

	keys    atomic.Pointer[keySet]
	static  *signingKey // the key from Config.HMACSecret, or nil
	revoked revokedSet
	retries retryQueue  // revocations the store has not accepted yet
	cache   *tokenCache // nil when disabled

	// syncMu serialises Sync, key creation, lastPoll and lastWidePoll.
	syncMu       sync.Mutex
	lastPoll     time.Time
	lastWidePoll time.Time

	loopMu sync.Mutex
	closed bool
	cancel context.CancelFunc
	done   chan struct{}
}

// New validates cfg, loads the signing keys from the store (creating the first one when none can
// sign) and the revocations recent enough to matter, and returns a Manager. Call
// [Manager.Start] to keep them up to date, or [Manager.Sync] yourself.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:      cfg,
		audience: cfg.Audience,
		now:      cfg.Clock,
		log:      cfg.Logger,
	}
	m.alg, _ = lookupAlgorithm(cfg.Algorithm)
	m.audienceJSON, _ = json.Marshal(cfg.Audience) // a string always encodes
	m.tokenLife = max(cfg.AccessTTL, MaxPendingTTL) + cfg.ClockSkew
	m.keyOverlap = m.tokenLife + keyMargin
	m.revoked.m = make(map[string]time.Time)
	m.retries.m = make(map[string]time.Time)
	if cfg.CacheSize > 0 {
		m.cache = newTokenCache(cfg.CacheSize)
	}
	// A copy of the JWKS cached for max-age, even when served by an instance that has not yet
	// synced, knows every key before it signs.
	if age := min(cfg.KeyPublishDelay-cfg.SyncInterval, time.Minute) / time.Second; age > 0 {
		m.cacheControl = "public, max-age=" + strconv.Itoa(int(age))
	} else {
		m.cacheControl = "no-cache"
	}

	now := m.now()
	if cfg.HMACSecret != nil {
		k, err := staticKey(cfg.HMACSecret)
		if err != nil {
			return nil, err
		}
		m.static = k
		m.keys.Store(newKeySet([]*signingKey{k}))
	} else {
		m.keys.Store(newKeySet(nil))
		m.syncMu.Lock()
		err := m.syncKeys(ctx, now, false)
		if err == nil && m.signer(now, m.tokenLife) == nil {
			err = m.addKey(ctx, now, now)
		}
		m.syncMu.Unlock()
		if err != nil {
			return nil, err
		}
	}

	revs, err := cfg.Sessions.RevokedSince(ctx, m.relevantSince(now), now)
	if err != nil {
		return nil, fmt.Errorf("session: loading revocations: %w", err)
	}
	m.addRevocations(revs, now)
	m.lastPoll, m.lastWidePoll = now, now
	return m, nil
}

func (c *Config) setDefaults() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	if c.Issuer == "" {
		return bad("Issuer is required")
	}
	if c.Audience == "" {
		c.Audience = c.Issuer
	}
	if c.Sessions == nil {
		return bad("Sessions is required")
	}
	if c.Algorithm == "" {
		c.Algorithm = DefaultAlgorithm
	}
	if _, ok := lookupAlgorithm(c.Algorithm); !ok {
		return bad("Algorithm %q is not EdDSA, ES256 or HS256", c.Algorithm)
	}
	if c.HMACSecret != nil {
		if c.Algorithm != "HS256" {
			return bad("HMACSecret needs Algorithm HS256")
		}
		if len(c.HMACSecret) < MinHMACSecret {
			return bad("HMACSecret must be at least %d bytes", MinHMACSecret)
		}
	} else if c.Keys == nil {
		return bad("Keys is required")
	}
	durations := []struct {
		name     string
		v        *time.Duration
		def, max time.Duration
	}{
		{"AccessTTL", &c.AccessTTL, DefaultAccessTTL, MaxAccessTTL},
		{"RefreshIdleTimeout", &c.RefreshIdleTimeout, DefaultRefreshIdleTimeout, 0},
		{"RefreshLifetime", &c.RefreshLifetime, DefaultRefreshLifetime, 0},
		{"RefreshGrace", &c.RefreshGrace, DefaultRefreshGrace, MaxRefreshGrace},
		{"ClockSkew", &c.ClockSkew, DefaultClockSkew, MaxClockSkew},
		{"KeyRotation", &c.KeyRotation, DefaultKeyRotation, 0},
		{"SyncInterval", &c.SyncInterval, DefaultSyncInterval, MaxSyncInterval},
	}
	for _, d := range durations {
		switch {
		case *d.v < 0:
			return bad("%s must not be negative", d.name)
		case *d.v == 0:
			*d.v = d.def
		case d.max > 0 && *d.v > d.max:
			return bad("%s must be at most %v", d.name, d.max)
		}
	}
	switch {
	case c.KeyPublishDelay < 0:
		return bad("KeyPublishDelay must not be negative")
	case c.KeyPublishDelay == 0:
		c.KeyPublishDelay = 2 * c.SyncInterval
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Start runs [Manager.Sync] every SyncInterval in the background until ctx is done or
// [Manager.Close] is called. Failures are logged and retried at the next tick; until then the
// Manager works from what it knows. Calling Start again does nothing.
//
// When the session store or the key store implements [store.Watcher] (pgstore, redisstore and
// memstore do), Start also watches it and syncs as soon as it reports a revocation or a key
// change made by any instance, reading only what changed (the revocations or the keys), so that
// they reach this one within a fraction of a second; the periodic poll remains, and bounds the
// delay when a push is lost. A watch that fails is logged and started again, with a delay
// growing up to SyncInterval, and every new watch syncs everything once.
func (m *Manager) Start(ctx context.Context) {
	m.loopMu.Lock()
	defer m.loopMu.Unlock()
	if m.closed || m.done != nil {
		return
	}
	ctx, m.cancel = context.WithCancel(ctx)
	done := make(chan struct{})
	m.done = done
	// A push adds what it calls for to pending and wakes the loop, which reads only that.
	var pending atomic.Uint32
	pokes := make(chan struct{}, 1)
	poke := func(c store.Change) {
		pending.Or(uint32(syncFor(c)))
		select {
		case pokes <- struct{}{}:
		default: // a sync is due already; it will see this change too
		}
	}
	watchers := m.watchers()
	var wg sync.WaitGroup
	for _, w := range watchers {
		wg.Go(func() { m.watch(ctx, w, poke) })
	}
	go func() {
		defer close(done)
		defer wg.Wait()
		t := time.NewTicker(m.cfg.SyncInterval)
		defer t.Stop()
		var last time.Time // of the last sync on a push, by the monotonic clock
		for {
			what := syncAll
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pending.Store(0) // this sync reads everything, after any push so far
			case <-pokes:
				// Pushes coming in a burst (a user signing out of every device, say) make one
				// sync each minPushGap at most.
				if wait := minPushGap - time.Since(last); wait > 0 && !last.IsZero() {
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
				}
				last = time.Now()
				if what = syncWhat(pending.Swap(0)); what == 0 {
					continue // a tick has read it all already
				}
			}
			if err := m.sync(ctx, what); err != nil && ctx.Err() == nil {
				m.log.LogAttrs(ctx, slog.LevelWarn, "session: sync failed", slog.Any("error", err))
			}
		}
	}()
}

// minPushGap is the shortest time between two syncs that pushes start.
const minPushGap = 50 * time.Millisecond

// watchers returns the stores that can push changes: the session store, and the key store when
// it is another one.
func (m *Manager) watchers() []store.Watcher {
	var ws []store.Watcher
	if w, ok := m.cfg.Sessions.(store.Watcher); ok {
		ws = append(ws, w)
	}
	if m.static == nil {
		if w, ok := m.cfg.Keys.(store.Watcher); ok && !sameStore(m.cfg.Keys, m.cfg.Sessions) {
			ws = append(ws, w)
		}
	}
	return ws
}

// sameStore reports whether a and b are one value (comparing them only where their type allows).
func sameStore(a, b any) bool {
	ta := reflect.TypeOf(a)
	return ta != nil && ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// watch keeps a watch on w until ctx is done, calling poke for every change (the first of each
// watch included, as changes may have been missed before it). A watch that fails is logged and
// started again after a delay that doubles from 100 ms up to SyncInterval; one on a closed store
// is not started again.
func (m *Manager) watch(ctx context.Context, w store.Watcher, poke func(store.Change)) {
	const firstDelay = 100 * time.Millisecond
	delay := firstDelay
	for {
		var live atomic.Bool
		err := w.Watch(ctx, func(c store.Change) {
			live.Store(true)
			poke(c)
		})
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, store.ErrClosed) {
			m.log.LogAttrs(ctx, slog.LevelWarn, "session: store closed; no longer watching it for changes")
			return
		}
		if live.Load() {
			delay = firstDelay
		}
		m.log.LogAttrs(ctx, slog.LevelWarn, "session: watching the store for changes failed; polling every SyncInterval until the watch is back",
			slog.Any("error", err), slog.Duration("retry_in", delay))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, m.cfg.SyncInterval)
	}
}

// Close stops the background loop of [Manager.Start] and waits for it. The Manager keeps
// working from what it knows; closing again does nothing.
func (m *Manager) Close() error {
	m.loopMu.Lock()
	m.closed = true
	cancel, done := m.cancel, m.done
	m.loopMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// Sync polls the store once: revocations that the store failed to record are tried again,
// revocations made since the previous poll (with an overlap) join the in-memory revoked set,
// revocations old enough to no longer matter leave it, the key set is reloaded, and a new key is
// created when the newest one's signing period is over. It is what [Manager.Start] runs every
// SyncInterval; tests call it directly. Every step is tried; the error joins the failures.
func (m *Manager) Sync(ctx context.Context) error { return m.sync(ctx, syncAll) }

// syncWhat is what a sync reads from the store: the revocations, the keys, or both.
type syncWhat uint32

const (
	syncRevocations syncWhat = 1 << iota
	syncKeys
	syncAll = syncRevocations | syncKeys
)

// syncFor is what a sync must read after a change that a store pushed: a live watch may have
// missed anything before it.
func syncFor(c store.Change) syncWhat {
	switch c {
	case store.ChangeRevoked:
		return syncRevocations
	case store.ChangeKeys:
		return syncKeys
	}
	return syncAll
}

// sync is [Manager.Sync] for a part of what it reads.
func (m *Manager) sync(ctx context.Context, what syncWhat) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	now := m.now()
	var errs []error
	if what&syncRevocations != 0 {
		if err := m.retryRevocations(ctx, now); err != nil {
			errs = append(errs, err)
		}
		since := m.lastPoll.Add(-(m.cfg.SyncInterval + m.cfg.ClockSkew + pollOverlap))
		wide := now.Sub(m.lastWidePoll) >= widePollEvery
		if relevant := m.relevantSince(now); wide && relevant.Before(since) {
			since = relevant
		}
		if revs, err := m.cfg.Sessions.RevokedSince(ctx, since, now); err != nil {
			errs = append(errs, fmt.Errorf("session: polling revocations: %w", err))
		} else {
			m.addRevocations(revs, now)
			m.lastPoll = now
			if wide {
				m.lastWidePoll = now
			}
		}
		m.revoked.prune(now)
	}
	if what&syncKeys != 0 && m.static == nil {
		if err := m.syncKeys(ctx, now, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// relevantSince is the time of the earliest revocation that can still matter at now: of a
// session whose access tokens may not all have expired.
func (m *Manager) relevantSince(now time.Time) time.Time {
	return now.Add(-m.cfg.AccessTTL - m.cfg.ClockSkew - revokeMargin)
}

func (m *Manager) addRevocations(revs []store.Revocation, now time.Time) {
	for _, r := range revs {
		if drop := m.revokedUntil(r.RevokedAt); drop.After(now) {
			m.revoked.add(r.SessionID, drop)
		}
	}
}

// revokedUntil is when a session revoked at t can have no valid access token left.
func (m *Manager) revokedUntil(t time.Time) time.Time {
	return t.Add(m.cfg.AccessTTL + m.cfg.ClockSkew + revokeMargin)
}

// revokeLocal adds a session to this instance's revoked set at once.
func (m *Manager) revokeLocal(id string, now time.Time) {
	m.revoked.add(id, m.revokedUntil(now))
}

// revokeDurably revokes a session on this instance at once, then in the store. expiresAt is the
// session's absolute expiry, or zero when it is not known. When the store fails, the revocation
// is held (see holdRevocation) and the store's error returned.
func (m *Manager) revokeDurably(ctx context.Context, id string, expiresAt, now time.Time) error {
	m.revokeLocal(id, now)
	err := m.cfg.Sessions.RevokeSession(ctx, id, now)
	if err != nil {
		m.holdRevocation(ctx, id, expiresAt, now, err, nil)
	}
	return err
}

// holdRevocation keeps a revocation that the store failed to record from failing open: this
// instance refuses the session (its access tokens, and its refresh) until the session's absolute
// expiry (expiresAt, or RefreshLifetime from now when it is not known), rather than only while
// its access tokens live, and Sync retries the store until it accepts the revocation or the
// session has expired.
//
// uncheckedHash, when not nil, marks a sign-out whose token nobody could check (the store could
// not be read): the hash of the refresh token presented. Its session id is only the caller's
// word, and a flood of made-up ones must neither grow memory nor crowd out real revocations, nor
// undo them. Such a sign-out is queued within half of the retry queue (every token presented
// counts) and held here, within maxHeld, until the retry checks the token: one of the session's
// revokes for good, and so does any when the session has rotated since the sign-out (another
// instance refreshed it: the token may have been its own, rotated out of its memory by whoever
// else holds it); a made-up one ends nothing and its hold is dropped — unless a checked
// revocation holds the session too. Beyond its share, it holds here only while an access token
// of the session can live (revokeUnchecked did that). A checked revocation always holds for the
// session's life.
func (m *Manager) holdRevocation(ctx context.Context, id string, expiresAt, now time.Time, cause error, uncheckedHash []byte) {
	if expiresAt.IsZero() {
		expiresAt = now.Add(m.cfg.RefreshLifetime)
	}
	// An access token lives no longer than its session, and verifies up to ClockSkew after it.
	until := expiresAt.Add(m.cfg.ClockSkew + revokeMargin)
	if uncheckedHash != nil {
		if !m.retries.add(id, expiresAt, uncheckedHash, now) {
			// Not queued, so never checked: its short hold (revokeUnchecked's) must not go when a
			// made-up token of the same session is found out.
			m.revoked.keep(id, m.revokedUntil(now))
			m.log.LogAttrs(ctx, slog.LevelError,
				"session: unchecked sign-out not durable and its share of the retry queue is full; it holds on this instance only, while its access tokens live",
				slog.String("session_id", id), slog.Int("queued", maxUncheckedRetries), slog.String("error", cause.Error()))
			return
		}
		m.revoked.addUnchecked(id, until, maxHeld)
		m.log.LogAttrs(ctx, slog.LevelError, "session: revocation not yet durable (a sign-out whose token could not be checked); it holds on this instance, and the retry checks the token",
			slog.String("session_id", id), slog.Time("until", expiresAt), slog.String("error", cause.Error()))
		return
	}
	m.revoked.add(id, until)
	if !expiresAt.After(now) {
		return // the session has ended: nothing left to revoke, and soon forgotten
	}
	if !m.retries.add(id, expiresAt, nil, now) {
		m.log.LogAttrs(ctx, slog.LevelError,
			"session: revocation not durable and the retry queue is full; it holds on this instance only",
			slog.String("session_id", id), slog.Int("queued", maxRetries), slog.String("error", cause.Error()))
		return
	}
	m.log.LogAttrs(ctx, slog.LevelError, "session: revocation not yet durable; it holds on this instance and will be retried",
		slog.String("session_id", id), slog.Time("until", expiresAt), slog.String("error", cause.Error()))
}

// maxRetries bounds the revocations queued for a retry; beyond it, the oldest are kept.
const maxRetries = 10_000

// maxUncheckedRetries bounds the unchecked sign-outs among them (each token presented counts).
const maxUncheckedRetries = maxRetries / 2

// maxHeld bounds the revoked set for the unchecked sign-outs held on this instance.
const maxHeld = 10 * maxRetries

// maxRetryFailures is how many retries in a row may fail before a Sync gives up on the rest of
// the queue until the next one (the store is down: no use waiting on it thousands of times).
const maxRetryFailures = 3

// retryRevocations tries again the revocations that the store failed to record. Each leaves the
// queue when the store accepts it, or when its session has expired. The caller holds syncMu.
func (m *Manager) retryRevocations(ctx context.Context, now time.Time) error {
	ids := m.retries.snapshot()
	if len(ids) == 0 {
		return nil
	}
	var (
		done, failed []string
		untried      int
		inRow        int
		lastErr      error
	)
	for _, id := range ids {
		until, ok := m.retries.get(id)
		switch {
		case !ok:
			continue // done meanwhile
		case !now.Before(until):
			done = append(done, id)
			m.log.LogAttrs(ctx, slog.LevelWarn, "session: revocation never became durable; the session has expired",
				slog.String("session_id", id))
			continue
		case inRow >= maxRetryFailures || ctx.Err() != nil:
			untried++ // first in line at the next Sync
			continue
		}
		if hashes, since := m.retries.uncheckedHashes(id); hashes != nil {
			// A sign-out nobody could check: now that the store answers, revoke only if one of the
			// tokens presented was the session's, or if the session has rotated since (then no
			// one can tell, and the sign-out holds); made-up ones revoke nothing.
			s, err := m.cfg.Sessions.GetSession(ctx, id, now)
			switch {
			case errors.Is(err, store.ErrNotFound): // no such session (or ended): nothing to revoke
				if m.retries.dropUnchecked(id, hashes) {
					m.revoked.dropUnchecked(id, now)
				}
				continue
			case err != nil:
				failed, lastErr = append(failed, id), err
				inRow++
				continue
			case !s.RevokedAt.IsZero(): // revoked already
				done = append(done, id)
				continue
			case !slices.ContainsFunc(hashes, func(h []byte) bool { return hadToken(&s, h) }) &&
				!s.RotatedAt.After(since):
				// No token presented was ever the session's, and it has not rotated since: had it,
				// the token may have been its own and rotated out of its memory since (by whoever
				// else holds it — what signing out is for), and the sign-out must hold. "Since" is
				// read off two instances' clocks: within their skew it cannot be told, either way.
				if m.retries.dropUnchecked(id, hashes) {
					m.revoked.dropUnchecked(id, now)
					m.log.LogAttrs(ctx, slog.LevelWarn, "session: a sign-out during the outage named a session with a token not its own; dropped",
						slog.String("session_id", id))
					continue
				}
				continue // a checked revocation, or another token, came meanwhile: the next Sync sees to it
			}
		}
		if err := m.cfg.Sessions.RevokeSession(ctx, id, now); err != nil {
			failed, lastErr = append(failed, id), err
			inRow++
			continue
		}
		inRow = 0
		done = append(done, id)
		// The store has it now, and the other instances learn of it at their next Sync: this
		// instance need only remember it for as long as any instance may have minted an access
		// token of the session, up to now.
		m.revoked.set(id, m.revokedUntil(now))
		m.log.LogAttrs(ctx, slog.LevelInfo, "session: revocation now durable", slog.String("session_id", id))
	}
	m.retries.finish(done, failed)
	if n := len(failed) + untried; n > 0 {
		if lastErr == nil {
			lastErr = ctx.Err()
		}
		m.log.LogAttrs(ctx, slog.LevelError, "session: revocations not yet durable; they hold on this instance and will be retried",
			slog.Int("count", n), slog.Any("error", lastErr))
		return fmt.Errorf("session: %d revocations not yet durable: %w", n, lastErr)
	}
	return nil
}

// retryQueue holds the revocations the store has not accepted yet, in the order to try them.
type retryQueue struct {
	mu        sync.Mutex
	m         map[string]time.Time // session id → the session's absolute expiry
	order     []string             // the ids of m, the next to try first
	unchecked map[string][][]byte  // the ids of m that are unchecked sign-outs → the tokens' hashes
	since     map[string]time.Time // the ids of unchecked → when the first of those sign-outs came
	nHashes   int                  // the hashes in unchecked
}

// add queues a revocation, or extends the expiry of one queued; uncheckedHash is as for
// holdRevocation (a checked revocation of an id makes it checked for good). It reports false
// when the queue is full, or when this is an unchecked sign-out and the unchecked ones hold their
// share (counting every token presented: a made-up one must not shut out the session's own).
func (q *retryQueue) add(id string, until time.Time, uncheckedHash []byte, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if old, ok := q.m[id]; ok {
		hashes, wasUnchecked := q.unchecked[id]
		switch {
		case uncheckedHash == nil:
			q.nHashes -= len(hashes)
			delete(q.unchecked, id) // checked after all
			delete(q.since, id)
		case !wasUnchecked: // checked already: nothing to add
		case slices.ContainsFunc(hashes, func(h []byte) bool { return bytes.Equal(h, uncheckedHash) }):
		case q.nHashes >= maxUncheckedRetries:
			return false
		default:
			q.unchecked[id] = append(hashes, uncheckedHash)
			q.nHashes++
		}
		if until.After(old) {
			q.m[id] = until
		}
		return true
	}
	if len(q.m) >= maxRetries || uncheckedHash != nil && q.nHashes >= maxUncheckedRetries {
		return false
	}
	q.m[id] = until
	q.order = append(q.order, id)
	if uncheckedHash != nil {
		if q.unchecked == nil {
			q.unchecked, q.since = make(map[string][][]byte), make(map[string]time.Time)
		}
		q.unchecked[id], q.since[id] = [][]byte{uncheckedHash}, now
		q.nHashes++
	}
	return true
}

// uncheckedHashes returns the token hashes of a queued unchecked sign-out and when the first of
// them came, or nil.
func (q *retryQueue) uncheckedHashes(id string) ([][]byte, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.unchecked[id]), q.since[id]
}

// dropUnchecked removes id from the queue if it is still an unchecked sign-out with no other
// hashes than those given (none matched the session), and reports whether it did: a checked
// revocation, or another token, may have come meanwhile.
func (q *retryQueue) dropUnchecked(id string, checked [][]byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	hashes, ok := q.unchecked[id]
	if !ok || len(hashes) != len(checked) {
		return false
	}
	delete(q.m, id)
	delete(q.unchecked, id)
	delete(q.since, id)
	q.nHashes -= len(hashes)
	if i := slices.Index(q.order, id); i >= 0 {
		q.order = slices.Delete(q.order, i, i+1)
	}
	return true
}

func (q *retryQueue) get(id string) (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	until, ok := q.m[id]
	return until, ok
}

func (q *retryQueue) snapshot() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.order)
}

// finish ends a round of retries: the ids of done leave the queue, those of failed go to the
// back of the line (one id the store keeps refusing does not hold up the others).
func (q *retryQueue) finish(done, failed []string) {
	if len(done) == 0 && len(failed) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range done {
		delete(q.m, id)
		q.nHashes -= len(q.unchecked[id])
		delete(q.unchecked, id)
		delete(q.since, id)
	}
	back := make(map[string]bool, len(failed))
	for _, id := range failed {
		back[id] = true
	}
	order := q.order[:0]
	for _, id := range q.order {
		if _, ok := q.m[id]; ok && !back[id] {
			order = append(order, id)
		}
	}
	for _, id := range failed {
		if _, ok := q.m[id]; ok {
			order = append(order, id)
		}
	}
	clear(q.order[len(order):])
	q.order = order
}

func (q *retryQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.m)
}

// revokedSet is the set of revoked sessions whose access tokens may still be unexpired.
type revokedSet struct {
	mu sync.RWMutex
	m  map[string]time.Time // session id → when to forget it
	// unchecked holds the ids of m that only unchecked sign-outs put there (see holdRevocation),
	// each with the time before which it stays all the same (zero: none): when the store shows
	// that the tokens were not the session's, the entry is cut back to that time.
	unchecked map[string]time.Time
}

// add adds a checked revocation, or makes the entry live longer.
func (r *revokedSet) add(id string, until time.Time) {
	r.mu.Lock()
	if old, ok := r.m[id]; !ok || until.After(old) {
		r.m[id] = until
	}
	delete(r.unchecked, id)
	r.mu.Unlock()
}

// addUnchecked adds an unchecked sign-out, or makes the entry live longer (an entry of a checked
// revocation stays checked), unless id is new and the set already holds max sessions: it reports
// whether the set holds id.
func (r *revokedSet) addUnchecked(id string, until time.Time, max int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.m[id]
	switch {
	case !ok && len(r.m) >= max:
		return false
	case !ok:
		if r.unchecked == nil {
			r.unchecked = make(map[string]time.Time)
		}
		r.unchecked[id] = time.Time{}
		r.m[id] = until
	case until.After(old):
		r.m[id] = until
	}
	return true
}

// keep makes an entry of unchecked sign-outs stay until at least until, whatever a retry finds
// of the others (a sign-out that could not be queued, so is never checked).
func (r *revokedSet) keep(id string, until time.Time) {
	r.mu.Lock()
	if floor, ok := r.unchecked[id]; ok && until.After(floor) {
		r.unchecked[id] = until
	}
	r.mu.Unlock()
}

// dropUnchecked cuts an entry that only unchecked sign-outs put in the set back to the time it
// must stay all the same, or forgets it.
func (r *revokedSet) dropUnchecked(id string, now time.Time) {
	r.mu.Lock()
	if floor, ok := r.unchecked[id]; ok {
		if floor.After(now) {
			r.m[id] = floor // still only unchecked sign-outs': a later one may be cut back again
		} else {
			delete(r.unchecked, id)
			delete(r.m, id)
		}
	}
	r.mu.Unlock()
}

// set sets when to forget a session, earlier or later than before: a checked revocation.
func (r *revokedSet) set(id string, until time.Time) {
	r.mu.Lock()
	r.m[id] = until
	delete(r.unchecked, id)
	r.mu.Unlock()
}

func (r *revokedSet) has(id string) bool {
	r.mu.RLock()
	_, ok := r.m[id]
	r.mu.RUnlock()
	return ok
}

func (r *revokedSet) prune(now time.Time) {
	r.mu.Lock()
	for id, until := range r.m {
		if !until.After(now) {
			delete(r.m, id)
			delete(r.unchecked, id)
		}
	}
	r.mu.Unlock()
}
