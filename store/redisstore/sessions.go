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

var (
	errSessionConflict = fmt.Errorf("redisstore: a session with that id exists: %w", store.ErrConflict)
	errSessionNotFound = fmt.Errorf("redisstore: no live, unrevoked session has that id: %w", store.ErrNotFound)
	errNoSession       = fmt.Errorf("redisstore: no live session has that id: %w", store.ErrNotFound)
	errRefreshConflict = fmt.Errorf("redisstore: the session's refresh hash is not the one given: %w", store.ErrConflict)
)

// A session is the hash {P}:session:<id>. Its fields are named as in sessionFields; "end" is the
// earlier of its expiries, "end_ms" and "expires_ms" the Unix milliseconds of "end" and "expires"
// (for scores and TTLs), and "revoked" is "" until it is revoked.
//
// Three sorted sets index the sessions: {P}:user-sessions:<user id> holds a user's session IDs
// scored by end_ms (with a TTL as long as that of the longest-lived of them, so that the index of
// a user who does not come back goes with the sessions), {P}:revoked the revoked ones scored by
// the milliseconds of their revocation, and {P}:revoked-end the same scored by end_ms. An entry
// is a hint, checked against the session it names on every read: an entry whose session is gone,
// belongs to another user or (in the revocation indexes) is not revoked is removed when it is met,
// and so is one whose session ended [TTLMargin] before the now of the call, with the session. (A
// session that ended less long ago is skipped but kept, as its TTL keeps it: an instance whose
// clock lags may still see it live.)

// luaPruneRevoked is a Lua function that examines up to limit entries of the revocation indexes
// whose sessions ended by the score gcms, and removes those that no longer name a revoked session
// that ended after gc (deleting the sessions that ended by then).
const luaPruneRevoked = `
local function prune_revoked(revoked, byend, sprefix, gc, gcms, limit)
	local ids = redis.call('ZRANGEBYSCORE', byend, '-inf', gcms, 'LIMIT', 0, limit)
	for _, id in ipairs(ids) do
		local k = sprefix .. id
		local h = redis.call('HMGET', k, 'revoked', 'end')
		if not h[1] or h[1] == '' then
			redis.call('ZREM', revoked, id)
			redis.call('ZREM', byend, id)
		elseif (h[2] or '') <= gc then
			redis.call('ZREM', revoked, id)
			redis.call('ZREM', byend, id)
			redis.call('DEL', k)
		end
	end
end
`

// luaPruneUser is a Lua function that examines up to limit entries of a user's index of sessions
// that ended by the score gcms, and removes those that no longer name a session of the user that
// ended after gc (deleting the sessions that ended by then).
const luaPruneUser = `
local function prune_user(idx, sprefix, uid, gc, gcms, limit)
	local ids = redis.call('ZRANGEBYSCORE', idx, '-inf', gcms, 'LIMIT', 0, limit)
	for _, id in ipairs(ids) do
		local k = sprefix .. id
		local h = redis.call('HMGET', k, 'user', 'end')
		if h[1] ~= uid then
			redis.call('ZREM', idx, id)
		elseif (h[2] or '') <= gc then
			redis.call('ZREM', idx, id)
			redis.call('DEL', k)
		end
	end
end
`

// createSessionScript stores a session unless one with its ID is held that has not ended at the
// new session's creation time (any held session, when that is ""), and indexes it. The user's
// index gets the session's TTL when it has none or a shorter one, so that it outlives each of its
// sessions and no longer (it keeps none while it names a session without a TTL).
// KEYS[1] the session, KEYS[2] the user's index, KEYS[3] {P}:revoked, KEYS[4] {P}:revoked-end;
// ARGV[1] created, ARGV[2] id, ARGV[3] end_ms, ARGV[4] the score of the revocation ("" when
// unrevoked), ARGV[5] TTL (ms, "0" for none), ARGV[6] the prefix of session keys, ARGV[7] user id,
// ARGV[8] created less the margin, ARGV[9] its score, ARGV[10] the prune limit, ARGV[11...] the
// fields and values. Returns stOK, or stConflict.
var createSessionScript = redis.NewScript(luaPruneUser + `
local old = redis.call('HGET', KEYS[1], 'end')
if old then
	if ARGV[1] == '' or old > ARGV[1] then return 2 end
	redis.call('DEL', KEYS[1])
	redis.call('ZREM', KEYS[3], ARGV[2])
	redis.call('ZREM', KEYS[4], ARGV[2])
end
if ARGV[1] ~= '' then prune_user(KEYS[2], ARGV[6], ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10])) end
redis.call('HSET', KEYS[1], unpack(ARGV, 11))
if ARGV[5] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
local it = redis.call('PTTL', KEYS[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
if ARGV[5] == '0' then
	redis.call('PERSIST', KEYS[2])
elseif it ~= -1 and it < tonumber(ARGV[5]) then
	redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
if ARGV[4] ~= '' then
	redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
	redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
end
return 1
`)

// rotateRefreshScript is RotateRefresh's compare-and-set. KEYS[1] the session; ARGV[1] now,
// ARGV[2] the score of now, ARGV[3] old hash, ARGV[4] new hash, ARGV[5] retired hashes,
// ARGV[6] idle expiry, ARGV[7] its score, ARGV[8] TTLMargin (ms), ARGV[9] the prefix of users'
// indexes, ARGV[10] id. Returns {stNotFound}, {stConflict} or {stOK, fields}. It lengthens the
// TTL of the user's index to the session's new one when it is shorter.
var rotateRefreshScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'hash', 'end', 'revoked', 'expires', 'expires_ms', 'user')
if not h[1] or (h[2] or '') <= ARGV[1] or (h[3] and h[3] ~= '') then return {0} end
if h[1] ~= ARGV[3] then return {2} end
local en, enms = ARGV[6], tonumber(ARGV[7])
if h[4] < en then en, enms = h[4], tonumber(h[5]) end
local endms = string.format('%d', enms)
redis.call('HSET', KEYS[1], 'prev', ARGV[3], 'hash', ARGV[4], 'retired', ARGV[5], 'rotated', ARGV[1],
	'used', ARGV[1], 'idle', ARGV[6], 'end', en, 'end_ms', endms)
local idx = ARGV[9] .. h[6]
redis.call('ZADD', idx, 'XX', endms, ARGV[10])
local ttl = enms - tonumber(ARGV[2])
if ttl < 0 then ttl = 0 end
ttl = ttl + tonumber(ARGV[8])
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
local it = redis.call('PTTL', idx)
if it >= 0 and it < ttl then redis.call('PEXPIRE', idx, string.format('%d', ttl)) end
return {1, redis.call('HGETALL', KEYS[1])}
`)

// revokeSessionScript revokes a live, unrevoked session and announces it. KEYS[1] the session,
// KEYS[2] {P}:revoked, KEYS[3] {P}:revoked-end; ARGV[1] now, ARGV[2] its score, ARGV[3] id,
// ARGV[4] the channel, ARGV[5] the prefix of session keys, ARGV[6] now less the margin, ARGV[7]
// its score, ARGV[8] the prune limit. Returns 1 when it revoked the session, else 0.
var revokeSessionScript = redis.NewScript(luaPruneRevoked + `
prune_revoked(KEYS[2], KEYS[3], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]))
local h = redis.call('HMGET', KEYS[1], 'end', 'revoked', 'end_ms')
if not h[1] or h[1] <= ARGV[1] or (h[2] and h[2] ~= '') then return 0 end
redis.call('HSET', KEYS[1], 'revoked', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], h[3], ARGV[3])
redis.call('PUBLISH', ARGV[4], '` + msgRevoked + `')
return 1
`)

// revokeUserSessionsScript revokes a user's live, unrevoked sessions but one, announces it when it
// revoked any, and returns how many. KEYS[1] the user's index, KEYS[2] {P}:revoked,
// KEYS[3] {P}:revoked-end; ARGV[1] now, ARGV[2] its score, ARGV[3] user id, ARGV[4] the ID to
// spare, ARGV[5] the channel, ARGV[6] the prefix of session keys, ARGV[7] now less the margin,
// ARGV[8] its score, ARGV[9] the prune limit.
var revokeUserSessionsScript = redis.NewScript(luaPruneRevoked + `
prune_revoked(KEYS[2], KEYS[3], ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9]))
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	local k = ARGV[6] .. id
	local h = redis.call('HMGET', k, 'user', 'end', 'revoked', 'end_ms')
	local en = h[2] or ''
	if h[1] ~= ARGV[3] then
		redis.call('ZREM', KEYS[1], id)
	elseif en <= ARGV[7] then
		redis.call('ZREM', KEYS[1], id)
		redis.call('DEL', k)
	elseif en > ARGV[1] and id ~= ARGV[4] and (not h[3] or h[3] == '') then
		redis.call('HSET', k, 'revoked', ARGV[1])
		redis.call('ZADD', KEYS[2], ARGV[2], id)
		redis.call('ZADD', KEYS[3], h[4], id)
		n = n + 1
	end
end
if n > 0 then redis.call('PUBLISH', ARGV[5], '` + msgRevoked + `') end
return n
`)

// listSessionsScript returns a user's live, unrevoked sessions as {id, fields, ...}, removing
// from the user's index what no longer names a session of the user (and deleting sessions that
// ended a margin ago). KEYS[1] the user's index; ARGV[1] now, ARGV[2] user id, ARGV[3] the prefix
// of session keys, ARGV[4] now less the margin.
var listSessionsScript = redis.NewScript(`
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	local k = ARGV[3] .. id
	local h = redis.call('HMGET', k, 'user', 'end', 'revoked')
	local en = h[2] or ''
	if h[1] ~= ARGV[2] then
		redis.call('ZREM', KEYS[1], id)
	elseif en <= ARGV[4] then
		redis.call('ZREM', KEYS[1], id)
		redis.call('DEL', k)
	elseif en > ARGV[1] and (not h[3] or h[3] == '') then
		out[#out + 1] = id
		out[#out + 1] = redis.call('HGETALL', k)
	end
end
return out
`)

// revokedSinceScript returns the revocations of live sessions from since on as {id, revoked,
// expires, ...}, removing the entries of the revocation indexes that no longer name a revoked
// session (and deleting sessions that ended a margin ago). KEYS[1] {P}:revoked,
// KEYS[2] {P}:revoked-end; ARGV[1] the score of since, ARGV[2] since, ARGV[3] now, ARGV[4] the
// prefix of session keys, ARGV[5] now less the margin, ARGV[6] its score, ARGV[7] the prune limit.
var revokedSinceScript = redis.NewScript(luaPruneRevoked + `
prune_revoked(KEYS[1], KEYS[2], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]))
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
	local k = ARGV[4] .. id
	local h = redis.call('HMGET', k, 'revoked', 'end', 'expires')
	local en = h[2] or ''
	if not h[1] or h[1] == '' then
		redis.call('ZREM', KEYS[1], id)
		redis.call('ZREM', KEYS[2], id)
	elseif en <= ARGV[5] then
		redis.call('ZREM', KEYS[1], id)
		redis.call('ZREM', KEYS[2], id)
		redis.call('DEL', k)
	elseif en > ARGV[3] and h[1] >= ARGV[2] then
		out[#out + 1] = id
		out[#out + 1] = h[1]
		out[#out + 1] = h[3] or ''
	end
end
return out
`)

// collect returns the time before which the calls at now delete what has ended, encoded and as a
// score: now less [TTLMargin].
func collect(now time.Time) (string, string) {
	t := now.Add(-TTLMargin)
	return encNow(t), itoa(scoreNow(t))
}

// sessionEnd is when a session stops existing: the earlier of its two expiries.
func sessionEnd(v *store.Session) time.Time {
	if v.IdleExpiresAt.Before(v.ExpiresAt) {
		return v.IdleExpiresAt
	}
	return v.ExpiresAt
}

// sessionFields returns the fields of a session's hash, as HSET's arguments.
func sessionFields(v *store.Session) []any {
	end := sessionEnd(v)
	return []any{
		"user", v.UserID,
		"address", v.Address,
		"chain", utoa(v.ChainID),
		"aal", v.AAL,
		"amr", pack(v.AMR),
		"hash", v.RefreshHash,
		"prev", v.PrevRefreshHash,
		"retired", pack(v.RetiredRefreshHashes),
		"rotated", encTime(v.RotatedAt),
		"created", encTime(v.CreatedAt),
		"used", encTime(v.LastUsedAt),
		"idle", encTime(v.IdleExpiresAt),
		"expires", encTime(v.ExpiresAt),
		"expires_ms", itoa(floorMillis(v.ExpiresAt)),
		"end", encTime(end),
		"end_ms", itoa(floorMillis(end)),
		"revoked", encTime(v.RevokedAt),
		"agent", v.UserAgent,
		"ip", v.IP,
	}
}

// decodeSession reads a session's hash.
func decodeSession(id string, r record) (store.Session, error) {
	d := decoder{r: r}
	v := store.Session{
		ID:                   id,
		UserID:               d.str("user"),
		Address:              d.opt("address"),
		ChainID:              d.uint("chain"),
		AAL:                  d.opt("aal"),
		AMR:                  d.strings("amr"),
		RefreshHash:          d.bytes("hash"),
		PrevRefreshHash:      d.optBytes("prev"),
		RetiredRefreshHashes: d.list("retired"),
		RotatedAt:            d.time("rotated"),
		CreatedAt:            d.time("created"),
		LastUsedAt:           d.time("used"),
		IdleExpiresAt:        d.reqTime("idle"),
		ExpiresAt:            d.reqTime("expires"),
		RevokedAt:            d.time("revoked"),
		UserAgent:            d.opt("agent"),
		IP:                   d.opt("ip"),
	}
	if d.err != nil {
		return store.Session{}, corrupt("session", d.err)
	}
	return v, nil
}

// sessionPrefix is the start of the names of session keys.
func (s *Store) sessionPrefix() string { return s.prefix + "session:" }

// userSessions is the name of a user's index of sessions.
func (s *Store) userSessions(userID string) string { return s.key("user-sessions", userID) }

// CreateSession implements [store.SessionStore.CreateSession]. A time out of range also gives an
// error wrapping [store.ErrInvalid].
//
// CreateSession takes no now: the new session's CreatedAt stands for the caller's clock, both to
// tell an ended session with the same ID (which the new one replaces, nothing of it carrying over)
// from one that has not ended (a conflict, revoked or not) and as the start of the session's TTL
// in Redis (its life from CreatedAt and [TTLMargin]). A session with a zero CreatedAt conflicts
// with any held session of its ID and gets no TTL until it is refreshed; the calls that meet it in
// an index delete it [TTLMargin] after it has ended.
func (s *Store) CreateSession(ctx context.Context, v store.Session) error {
	if err := store.CheckSession(v); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	end := sessionEnd(&v)
	ttl, revokedScore, gc, gcScore := int64(0), "", "", "0"
	if !v.CreatedAt.IsZero() {
		ttl = ttlMillis(end, v.CreatedAt)
		gc, gcScore = collect(v.CreatedAt)
	}
	if !v.RevokedAt.IsZero() {
		revokedScore = itoa(floorMillis(v.RevokedAt))
	}
	args := append([]any{
		encTime(v.CreatedAt), v.ID, itoa(floorMillis(end)), revokedScore, itoa(ttl),
		s.sessionPrefix(), v.UserID, gc, gcScore, pruneLimit,
	}, sessionFields(&v)...)
	keys := []string{s.key("session", v.ID), s.userSessions(v.UserID), s.prefix + "revoked", s.prefix + "revoked-end"}
	st, err := s.runInt(ctx, "CreateSession", createSessionScript, keys, args...)
	if err != nil {
		return err
	}
	if st != stOK {
		return errSessionConflict
	}
	return nil
}

// GetSession implements [store.SessionStore.GetSession].
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	if err := s.begin(ctx); err != nil {
		return store.Session{}, err
	}
	r, err := s.client.HGetAll(ctx, s.key("session", id)).Result()
	if err != nil {
		return store.Session{}, s.fail(ctx, "GetSession", err)
	}
	if len(r) == 0 {
		return store.Session{}, errNoSession
	}
	v, err := decodeSession(id, r)
	if err != nil {
		return store.Session{}, err
	}
	if !sessionEnd(&v).After(now) {
		return store.Session{}, errNoSession
	}
	return v, nil
}

// RotateRefresh implements [store.SessionStore.RotateRefresh] as one script. An empty newHash, or
// a zero or out-of-range idleExpiresAt or now (which the session would keep), gives an error
// wrapping [store.ErrInvalid] and changes nothing. The session keeps retired as given (nil and
// empty alike leave it with none), and its TTL in Redis becomes what is left of its life at now
// and [TTLMargin].
func (s *Store) RotateRefresh(ctx context.Context, id string, oldHash, newHash []byte, retired [][]byte, idleExpiresAt, now time.Time) (store.Session, error) {
	if err := store.CheckRefreshRotation(newHash, idleExpiresAt, now); err != nil {
		return store.Session{}, err
	}
	if err := s.begin(ctx); err != nil {
		return store.Session{}, err
	}
	if oldHash == nil {
		oldHash = []byte{}
	}
	v, err := s.run(ctx, "RotateRefresh", rotateRefreshScript, []string{s.key("session", id)},
		encTime(now), itoa(floorMillis(now)), oldHash, newHash, pack(retired),
		encTime(idleExpiresAt), itoa(floorMillis(idleExpiresAt)), itoa(TTLMargin.Milliseconds()),
		s.prefix+"user-sessions:", id)
	if err != nil {
		return store.Session{}, err
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return store.Session{}, fmt.Errorf("redisstore: RotateRefresh: unexpected reply %T", v)
	}
	switch st, _ := list[0].(int64); {
	case st == stNotFound:
		return store.Session{}, errSessionNotFound
	case st == stConflict:
		return store.Session{}, errRefreshConflict
	case st != stOK || len(list) != 2:
		return store.Session{}, fmt.Errorf("redisstore: RotateRefresh: unexpected reply %v", list[0])
	}
	r, err := pairs(list[1])
	if err != nil {
		return store.Session{}, corrupt("session", err)
	}
	return decodeSession(id, r)
}

// revokeTime checks the now of a revocation, which the session keeps as RevokedAt: a zero now
// would leave the session looking unrevoked.
func revokeTime(now time.Time) error {
	return store.CheckTime("session revocation time", now)
}

// RevokeSession implements [store.SessionStore.RevokeSession], and announces the revocation to
// watches when it revoked the session. A zero or out-of-range now gives an error wrapping
// [store.ErrInvalid] and changes nothing.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if err := revokeTime(now); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	keys := []string{s.key("session", id), s.prefix + "revoked", s.prefix + "revoked-end"}
	gc, gcScore := collect(now)
	_, err := s.runInt(ctx, "RevokeSession", revokeSessionScript, keys,
		encTime(now), itoa(floorMillis(now)), id, s.channel, s.sessionPrefix(), gc, gcScore, pruneLimit)
	return err
}

// RevokeUserSessions implements [store.SessionStore.RevokeUserSessions] as one script, and
// announces the revocations to watches when it made any. A zero or out-of-range now gives an error
// wrapping [store.ErrInvalid] and changes nothing.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, exceptID string, now time.Time) (int, error) {
	if err := revokeTime(now); err != nil {
		return 0, err
	}
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	keys := []string{s.userSessions(userID), s.prefix + "revoked", s.prefix + "revoked-end"}
	gc, gcScore := collect(now)
	n, err := s.runInt(ctx, "RevokeUserSessions", revokeUserSessionsScript, keys,
		encTime(now), itoa(floorMillis(now)), userID, exceptID, s.channel, s.sessionPrefix(), gc, gcScore, pruneLimit)
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// ListSessions implements [store.SessionStore.ListSessions]. Sessions created at the same instant
// come the greater ID first.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	gc, _ := collect(now)
	reply, err := s.run(ctx, "ListSessions", listSessionsScript, []string{s.userSessions(userID)},
		encNow(now), userID, s.sessionPrefix(), gc)
	if err != nil {
		return nil, err
	}
	items, ok := reply.([]any)
	if !ok || len(items)%2 != 0 {
		return nil, fmt.Errorf("redisstore: ListSessions: unexpected reply %T", reply)
	}
	var list []store.Session
	for i := 0; i < len(items); i += 2 {
		id, _ := items[i].(string)
		r, err := pairs(items[i+1])
		if err != nil {
			return nil, corrupt("session", err)
		}
		v, err := decodeSession(id, r)
		if err != nil {
			return nil, err
		}
		if sessionEnd(&v).After(now) && v.RevokedAt.IsZero() {
			list = append(list, v)
		}
	}
	slices.SortFunc(list, func(a, b store.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return list, nil
}

// RevokedSince implements [store.SessionStore.RevokedSince]. Revocations at the same instant come
// in order of session ID. It reads the revocation index from the millisecond of since on, so its
// cost follows the revocations it returns, not all those held.
func (s *Store) RevokedSince(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	keys := []string{s.prefix + "revoked", s.prefix + "revoked-end"}
	gc, gcScore := collect(now)
	v, err := s.run(ctx, "RevokedSince", revokedSinceScript, keys,
		scoreMin(since), encNow(since), encNow(now), s.sessionPrefix(), gc, gcScore, pruneLimit)
	if err != nil {
		return nil, err
	}
	items, ok := v.([]any)
	if !ok || len(items)%3 != 0 {
		return nil, fmt.Errorf("redisstore: RevokedSince: unexpected reply %T", v)
	}
	var list []store.Revocation
	for i := 0; i < len(items); i += 3 {
		id, _ := items[i].(string)
		rv, _ := items[i+1].(string)
		exp, _ := items[i+2].(string)
		revokedAt, err1 := decTime(rv)
		expiresAt, err2 := decTime(exp)
		if err1 != nil || err2 != nil || revokedAt.IsZero() || expiresAt.IsZero() {
			return nil, corrupt("session", fmt.Errorf("revocation %q, expiry %q", rv, exp))
		}
		list = append(list, store.Revocation{SessionID: id, RevokedAt: revokedAt, ExpiresAt: expiresAt})
	}
	slices.SortFunc(list, func(a, b store.Revocation) int {
		if c := a.RevokedAt.Compare(b.RevokedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.SessionID, b.SessionID)
	})
	return list, nil
}
