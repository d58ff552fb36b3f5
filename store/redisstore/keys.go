package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/store"
)

var errKeyConflict = fmt.Errorf("redisstore: a live signing key has that id: %w", store.ErrConflict)

// Payloads of the messages on the store's channel: what changed.
const (
	msgRevoked = "revoked"
	msgKeys    = "keys"
)

// createKeyScript stores a signing key unless a key with its ID is held that has not expired at
// the new key's creation time (any held key, when that is ""), adds it to the index and announces
// the change. KEYS[1] the key, KEYS[2] the index; ARGV[1] created, ARGV[2] id, ARGV[3..6]
// algorithm, private, not before, expires, ARGV[7] TTL (ms, "0" for none), ARGV[8] the channel.
// Returns stOK, or stConflict.
var createKeyScript = redis.NewScript(`
local e = redis.call('HGET', KEYS[1], 'expires')
if e and (ARGV[1] == '' or e > ARGV[1]) then return 2 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'algorithm', ARGV[3], 'private', ARGV[4], 'created', ARGV[1], 'not_before', ARGV[5], 'expires', ARGV[6])
if ARGV[7] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[7]) end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[8], '` + msgKeys + `')
return 1
`)

// listKeysScript returns the keys that expire after a time (now less the margin; the caller
// picks the live ones) as {id, fields, ...}, deleting those that expired by then and dropping from
// the index those Redis dropped. KEYS[1] the index; ARGV[1] now less the margin, ARGV[2] the
// prefix of key names.
var listKeysScript = redis.NewScript(`
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	local k = ARGV[2] .. id
	local e = redis.call('HGET', k, 'expires')
	if not e then
		redis.call('SREM', KEYS[1], id)
	elseif e <= ARGV[1] then
		redis.call('DEL', k)
		redis.call('SREM', KEYS[1], id)
	else
		out[#out + 1] = id
		out[#out + 1] = redis.call('HGETALL', k)
	end
end
return out
`)

// deleteKeyScript deletes a key and announces the change when there was one. KEYS[1] the key,
// KEYS[2] the index; ARGV[1] id, ARGV[2] the channel.
var deleteKeyScript = redis.NewScript(`
local n = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
if n > 0 then redis.call('PUBLISH', ARGV[2], '` + msgKeys + `') end
return n
`)

// CreateKey implements [store.KeyStore.CreateKey] and announces the new key to watches. It also
// returns an error wrapping [store.ErrInvalid] when the ID is not 1 to 64 ASCII letters, digits,
// '-' and '_', the algorithm is not one of those [store.SigningKey] lists, or a time is out of
// range.
//
// CreateKey takes no now: the new key's CreatedAt stands for the caller's clock, both to tell an
// expired key with the same ID (which the new one replaces) from a live one (a conflict) and as
// the start of the key's TTL in Redis (its life from CreatedAt and [TTLMargin]). A key with a
// zero CreatedAt conflicts with any held key of its ID and gets no TTL; [Store.ListKeys] deletes
// it a margin after it has expired.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	if err := store.CheckSigningKey(k); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	ttl := int64(0)
	if !k.CreatedAt.IsZero() {
		ttl = ttlMillis(k.ExpiresAt, k.CreatedAt)
	}
	st, err := s.runInt(ctx, "CreateKey", createKeyScript, []string{s.key("key", k.ID), s.prefix + "keys"},
		encTime(k.CreatedAt), k.ID, k.Algorithm, k.Private, encTime(k.NotBefore), encTime(k.ExpiresAt),
		itoa(ttl), s.channel)
	if err != nil {
		return err
	}
	if st != stOK {
		return errKeyConflict
	}
	return nil
}

// ListKeys implements [store.KeyStore.ListKeys]. Keys with the same NotBefore come the greater ID
// first. It deletes the keys that expired [TTLMargin] or more before now.
func (s *Store) ListKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	gc, _ := collect(now)
	v, err := s.run(ctx, "ListKeys", listKeysScript, []string{s.prefix + "keys"}, gc, s.prefix+"key:")
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok || len(list)%2 != 0 {
		return nil, fmt.Errorf("redisstore: ListKeys: unexpected reply %T", v)
	}
	keys := make([]store.SigningKey, 0, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		id, _ := list[i].(string)
		r, err := pairs(list[i+1])
		if err != nil {
			return nil, corrupt("signing key", err)
		}
		d := decoder{r: r}
		k := store.SigningKey{
			ID:        id,
			Algorithm: d.str("algorithm"),
			Private:   d.bytes("private"),
			CreatedAt: d.time("created"),
			NotBefore: d.time("not_before"),
			ExpiresAt: d.reqTime("expires"),
		}
		if d.err != nil {
			return nil, corrupt("signing key", d.err)
		}
		if k.ExpiresAt.After(now) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b store.SigningKey) int {
		if c := b.NotBefore.Compare(a.NotBefore); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return keys, nil
}

// DeleteKey implements [store.KeyStore.DeleteKey], and announces the change to watches when there
// was a key to delete.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	_, err := s.runInt(ctx, "DeleteKey", deleteKeyScript, []string{s.key("key", id), s.prefix + "keys"}, id, s.channel)
	return err
}
