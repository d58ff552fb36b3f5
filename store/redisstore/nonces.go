package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/store"
)

var (
	errWindow        = fmt.Errorf("redisstore: counter window must be positive: %w", store.ErrInvalid)
	errNonceConflict = fmt.Errorf("redisstore: a live nonce has that value: %w", store.ErrConflict)
	errNonceNotFound = fmt.Errorf("redisstore: no live nonce has that value: %w", store.ErrNotFound)
)

// createNonceScript stores a nonce unless a live one has its value.
// KEYS[1] the nonce; ARGV[1] now, ARGV[2..6] address, chain, issued, expires, failures,
// ARGV[7] TTL (ms). Returns stOK, or stConflict.
var createNonceScript = redis.NewScript(`
local e = redis.call('HGET', KEYS[1], 'expires')
if e and e > ARGV[1] then return 2 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'address', ARGV[2], 'chain', ARGV[3], 'issued', ARGV[4], 'expires', ARGV[5], 'failures', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
`)

// consumeNonceScript deletes a live nonce and returns its fields (none when it is absent or has
// expired). KEYS[1] the nonce; ARGV[1] now.
var consumeNonceScript = redis.NewScript(`
local e = redis.call('HGET', KEYS[1], 'expires')
if not e or e <= ARGV[1] then return {} end
local h = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return h
`)

// addNonceFailureScript adds one to the failures of a live nonce and returns the new count, or nil.
// KEYS[1] the nonce; ARGV[1] now.
var addNonceFailureScript = redis.NewScript(`
local e = redis.call('HGET', KEYS[1], 'expires')
if not e or e <= ARGV[1] then return false end
return redis.call('HINCRBY', KEYS[1], 'failures', 1)
`)

// incrementCounterScript adds one to a counter whose window runs at now, or starts a new window.
// KEYS[1] the counter; ARGV[1] now, ARGV[2] the end of a new window, ARGV[3] its TTL (ms).
// Returns {count, end of the window}.
var incrementCounterScript = redis.NewScript(`
local r = redis.call('HGET', KEYS[1], 'reset')
if r and r > ARGV[1] then
	return {redis.call('HINCRBY', KEYS[1], 'count', 1), r}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'count', 1, 'reset', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, ARGV[2]}
`)

// CreateNonce implements [store.NonceStore.CreateNonce]. It also returns an error wrapping
// [store.ErrInvalid] when a time is out of range. The nonce's TTL in Redis is what is left of its
// life at now and [TTLMargin].
func (s *Store) CreateNonce(ctx context.Context, n store.Nonce, now time.Time) error {
	if err := store.CheckNonce(n); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	st, err := s.runInt(ctx, "CreateNonce", createNonceScript, []string{s.key("nonce", n.Value)},
		encNow(now), n.Address, utoa(n.ChainID), encTime(n.IssuedAt), encTime(n.ExpiresAt),
		itoa(int64(n.Failures)), itoa(ttlMillis(n.ExpiresAt, now)))
	if err != nil {
		return err
	}
	if st != stOK {
		return errNonceConflict
	}
	return nil
}

// decodeNonce reads a nonce's hash.
func decodeNonce(value string, r record) (store.Nonce, error) {
	d := decoder{r: r}
	n := store.Nonce{
		Value:     value,
		Address:   d.opt("address"),
		ChainID:   d.uint("chain"),
		IssuedAt:  d.time("issued"),
		ExpiresAt: d.reqTime("expires"),
		Failures:  int(d.int("failures")),
	}
	if d.err != nil {
		return store.Nonce{}, corrupt("nonce", d.err)
	}
	return n, nil
}

// liveNonce decodes the fields of a nonce read at now: [errNonceNotFound] when there are none or
// the nonce has expired.
func liveNonce(value string, r map[string]string, now time.Time) (store.Nonce, error) {
	if len(r) == 0 {
		return store.Nonce{}, errNonceNotFound
	}
	n, err := decodeNonce(value, r)
	if err != nil {
		return store.Nonce{}, err
	}
	if !n.ExpiresAt.After(now) {
		return store.Nonce{}, errNonceNotFound
	}
	return n, nil
}

// GetNonce implements [store.NonceStore.GetNonce].
func (s *Store) GetNonce(ctx context.Context, value string, now time.Time) (store.Nonce, error) {
	if err := s.begin(ctx); err != nil {
		return store.Nonce{}, err
	}
	r, err := s.client.HGetAll(ctx, s.key("nonce", value)).Result()
	if err != nil {
		return store.Nonce{}, s.fail(ctx, "GetNonce", err)
	}
	return liveNonce(value, r, now)
}

// ConsumeNonce implements [store.NonceStore.ConsumeNonce]. The nonce is read and deleted by one
// script, so of concurrent calls exactly one gets it.
func (s *Store) ConsumeNonce(ctx context.Context, value string, now time.Time) (store.Nonce, error) {
	if err := s.begin(ctx); err != nil {
		return store.Nonce{}, err
	}
	v, err := s.run(ctx, "ConsumeNonce", consumeNonceScript, []string{s.key("nonce", value)}, encNow(now))
	if err != nil {
		return store.Nonce{}, err
	}
	r, err := pairs(v)
	if err != nil {
		return store.Nonce{}, corrupt("nonce", err)
	}
	return liveNonce(value, r, now)
}

// AddNonceFailure implements [store.NonceStore.AddNonceFailure].
func (s *Store) AddNonceFailure(ctx context.Context, value string, now time.Time) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	v, err := s.run(ctx, "AddNonceFailure", addNonceFailureScript, []string{s.key("nonce", value)}, encNow(now))
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, errNonceNotFound
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("redisstore: AddNonceFailure: unexpected reply %T", v)
	}
	return int(n), nil
}

// DeleteNonce implements [store.NonceStore.DeleteNonce].
func (s *Store) DeleteNonce(ctx context.Context, value string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.client.Del(ctx, s.key("nonce", value)).Err(); err != nil {
		return s.fail(ctx, "DeleteNonce", err)
	}
	return nil
}

// IncrementCounter implements [store.CounterStore.IncrementCounter]. A window that would end out
// of the range of times gives an error wrapping [store.ErrInvalid]. The counter's TTL in Redis is
// its window and [TTLMargin].
func (s *Store) IncrementCounter(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if window <= 0 {
		return 0, time.Time{}, errWindow
	}
	resetAt := now.Add(window)
	if err := store.CheckTime("counter window end", resetAt); err != nil {
		return 0, time.Time{}, err
	}
	if err := s.begin(ctx); err != nil {
		return 0, time.Time{}, err
	}
	v, err := s.run(ctx, "IncrementCounter", incrementCounterScript, []string{s.key("counter", key)},
		encNow(now), encTime(resetAt), itoa(ttlMillis(resetAt, now)))
	if err != nil {
		return 0, time.Time{}, err
	}
	list, ok := v.([]any)
	if !ok || len(list) != 2 {
		return 0, time.Time{}, fmt.Errorf("redisstore: IncrementCounter: unexpected reply %v", v)
	}
	count, ok1 := list[0].(int64)
	end, ok2 := list[1].(string)
	if !ok1 || !ok2 {
		return 0, time.Time{}, corrupt("counter", fmt.Errorf("reply %v", v))
	}
	r, err := decTime(end)
	if err != nil || r.IsZero() {
		return 0, time.Time{}, corrupt("counter", fmt.Errorf("window end %q", end))
	}
	return count, r, nil
}

// ResetCounter implements [store.CounterStore.ResetCounter].
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.client.Del(ctx, s.key("counter", key)).Err(); err != nil {
		return s.fail(ctx, "ResetCounter", err)
	}
	return nil
}
