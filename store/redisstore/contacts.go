package redisstore

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/store"
)

var (
	errContactNotFound   = fmt.Errorf("redisstore: the user has no such contact: %w", store.ErrNotFound)
	errContactTaken      = fmt.Errorf("redisstore: another user has the contact verified: %w", store.ErrConflict)
	errContactUnverified = fmt.Errorf("redisstore: the contact is not verified: %w", store.ErrConflict)
	errCodeNotFound      = fmt.Errorf("redisstore: no live code with that hash: %w", store.ErrNotFound)
)

// A user's contacts are the sorted set {P}:contacts:<user id> of "<kind>:<value>" scored by the
// order of addition, and the hash {P}:contact-data:<user id> with the fields "added:<kind>:<value>"
// and "verified:<kind>:<value>" (while verified) of each contact and "primary:<kind>", the primary
// contact of each kind. The hash {P}:verified-contacts maps each verified "<kind>:<value>" to the
// user who has it verified, which keeps a verified contact to one user.
//
// A verification code is the hash {P}:code:<key> (fields "hash", "expires", "failures").

// addContactScript adds a contact unless the user has it. KEYS[1] the user's contacts,
// KEYS[2] their data; ARGV[1] "<kind>:<value>", ARGV[2] added, ARGV[3] kind. Returns {stOK}, or
// {stConflict, {added, verified, primary}} with the contact held.
var addContactScript = redis.NewScript(`
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
	return {2, redis.call('HMGET', KEYS[2], 'added:' .. ARGV[1], 'verified:' .. ARGV[1], 'primary:' .. ARGV[3])}
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local pos = 1
if #last == 2 then pos = tonumber(last[2]) + 1 end
redis.call('ZADD', KEYS[1], string.format('%d', pos), ARGV[1])
redis.call('HSET', KEYS[2], 'added:' .. ARGV[1], ARGV[2])
return {1}
`)

// listContactsScript returns {the user's contacts in order, their data}. KEYS[1] the user's
// contacts, KEYS[2] their data.
var listContactsScript = redis.NewScript(`
return {redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('HGETALL', KEYS[2])}
`)

// verifyContactScript verifies a contact unless another user has it verified; the first verified
// contact of its kind becomes primary. KEYS[1] the user's contacts, KEYS[2] their data,
// KEYS[3] {P}:verified-contacts; ARGV[1] "<kind>:<value>", ARGV[2] kind, ARGV[3] user id, ARGV[4]
// now. Returns {stNotFound}, {stConflict} or {stOK, {added, verified, primary}}.
var verifyContactScript = redis.NewScript(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {0} end
local vf, pf = 'verified:' .. ARGV[1], 'primary:' .. ARGV[2]
if not redis.call('HGET', KEYS[2], vf) then
	local owner = redis.call('HGET', KEYS[3], ARGV[1])
	if owner and owner ~= ARGV[3] then return {2} end
	redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
	redis.call('HSET', KEYS[2], vf, ARGV[4])
	if redis.call('HEXISTS', KEYS[2], pf) == 0 then redis.call('HSET', KEYS[2], pf, ARGV[1]) end
end
return {1, redis.call('HMGET', KEYS[2], 'added:' .. ARGV[1], vf, pf)}
`)

// setPrimaryContactScript makes a verified contact its kind's primary. KEYS[1] the user's
// contacts, KEYS[2] their data; ARGV[1] "<kind>:<value>", ARGV[2] kind. Returns stOK, stNotFound
// or stConflict.
var setPrimaryContactScript = redis.NewScript(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('HEXISTS', KEYS[2], 'verified:' .. ARGV[1]) == 0 then return 2 end
redis.call('HSET', KEYS[2], 'primary:' .. ARGV[2], ARGV[1])
return 1
`)

// deleteContactScript deletes a contact, its primacy and its claim. KEYS[1] the user's contacts,
// KEYS[2] their data, KEYS[3] {P}:verified-contacts; ARGV[1] "<kind>:<value>", ARGV[2] kind,
// ARGV[3] user id.
var deleteContactScript = redis.NewScript(`
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local vf, pf = 'verified:' .. ARGV[1], 'primary:' .. ARGV[2]
local verified = redis.call('HGET', KEYS[2], vf)
redis.call('HDEL', KEYS[2], 'added:' .. ARGV[1], vf)
if redis.call('HGET', KEYS[2], pf) == ARGV[1] then redis.call('HDEL', KEYS[2], pf) end
if verified and redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[3] then redis.call('HDEL', KEYS[3], ARGV[1]) end
return 1
`)

// putCodeScript replaces a verification code. KEYS[1] the code; ARGV[1..3] hash, expires,
// failures, ARGV[4] TTL (ms).
var putCodeScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'hash', ARGV[1], 'expires', ARGV[2], 'failures', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// consumeCodeScript deletes a code that still has the hash and expiry its caller read and checked.
// KEYS[1] the code; ARGV[1] hash, ARGV[2] expires. Returns 1 when it deleted the code, else 0.
var consumeCodeScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'hash', 'expires')
if h[1] ~= ARGV[1] or h[2] ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

// addCodeFailureScript adds one to the failures of a live code, deletes it at the maximum and
// returns the count, or nil. KEYS[1] the code; ARGV[1] now, ARGV[2] the maximum.
var addCodeFailureScript = redis.NewScript(`
local e = redis.call('HGET', KEYS[1], 'expires')
if not e or e <= ARGV[1] then return false end
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if n >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return n
`)

func validKind(kind string) bool { return kind == "email" || kind == "phone" }

// contactKeys returns the keys of a user's contacts: the order, the data and the claims.
func (s *Store) contactKeys(userID string) []string {
	return []string{s.key("contacts", userID), s.key("contact-data", userID), s.prefix + "verified-contacts"}
}

// decodeContact makes a contact from what the scripts read: {added, verified, primary of kind}.
func decodeContact(userID, kind, value string, v any) (store.Contact, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 3 {
		return store.Contact{}, corrupt("contact", fmt.Errorf("unexpected reply %T", v))
	}
	var s [3]string
	for i := range s {
		s[i], _ = f[i].(string)
	}
	added, err1 := decTime(s[0])
	verified, err2 := decTime(s[1])
	if err1 != nil || err2 != nil {
		return store.Contact{}, corrupt("contact", fmt.Errorf("times %q, %q", s[0], s[1]))
	}
	return store.Contact{
		UserID: userID, Kind: kind, Value: value, AddedAt: added, VerifiedAt: verified,
		Primary: s[2] == kind+":"+value,
	}, nil
}

// AddContact implements [store.ContactStore.AddContact] as one script. The contact is stored
// unverified and not primary, whatever c's VerifiedAt and Primary say. It also returns an error
// wrapping [store.ErrInvalid] when AddedAt is out of range.
func (s *Store) AddContact(ctx context.Context, c store.Contact) (store.Contact, error) {
	if err := store.CheckContact(c); err != nil {
		return store.Contact{}, err
	}
	if err := s.begin(ctx); err != nil {
		return store.Contact{}, err
	}
	v, err := s.run(ctx, "AddContact", addContactScript, s.contactKeys(c.UserID)[:2],
		c.Kind+":"+c.Value, encTime(c.AddedAt), c.Kind)
	if err != nil {
		return store.Contact{}, err
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return store.Contact{}, fmt.Errorf("redisstore: AddContact: unexpected reply %T", v)
	}
	if st, _ := list[0].(int64); st == stOK {
		// As ListContacts will give it: AddedAt in UTC.
		return decodeContact(c.UserID, c.Kind, c.Value, []any{encTime(c.AddedAt), "", ""})
	}
	if len(list) != 2 {
		return store.Contact{}, fmt.Errorf("redisstore: AddContact: unexpected reply %v", list)
	}
	return decodeContact(c.UserID, c.Kind, c.Value, list[1])
}

// ListContacts implements [store.ContactStore.ListContacts]. It returns nil when the user has
// none.
func (s *Store) ListContacts(ctx context.Context, userID string) ([]store.Contact, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	v, err := s.run(ctx, "ListContacts", listContactsScript, s.contactKeys(userID)[:2])
	if err != nil {
		return nil, err
	}
	parts, ok := v.([]any)
	if !ok || len(parts) != 2 {
		return nil, fmt.Errorf("redisstore: ListContacts: unexpected reply %T", v)
	}
	members, ok := parts[0].([]any)
	if !ok {
		return nil, fmt.Errorf("redisstore: ListContacts: unexpected reply %T", parts[0])
	}
	data, err := pairs(parts[1])
	if err != nil {
		return nil, corrupt("contacts", err)
	}
	var list []store.Contact
	for _, m := range members {
		member, _ := m.(string)
		kind, value, ok := strings.Cut(member, ":")
		if !ok || !validKind(kind) {
			return nil, corrupt("contacts", fmt.Errorf("member %q", member))
		}
		c, err := decodeContact(userID, kind, value, []any{data["added:"+member], data["verified:"+member], data["primary:"+kind]})
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, nil
}

// VerifyContact implements [store.ContactStore.VerifyContact] as one script. The contact becomes
// primary when the user has no primary contact of its kind. Verifying a contact the user has
// verified already changes nothing (VerifiedAt stays) and returns it. A zero or out-of-range now
// gives an error wrapping [store.ErrInvalid]: a contact verified at the zero time would look
// unverified.
func (s *Store) VerifyContact(ctx context.Context, userID, kind, value string, now time.Time) (store.Contact, error) {
	if err := store.CheckTime("contact verification time", now); err != nil {
		return store.Contact{}, err
	}
	if err := s.begin(ctx); err != nil {
		return store.Contact{}, err
	}
	if !validKind(kind) {
		return store.Contact{}, errContactNotFound
	}
	v, err := s.run(ctx, "VerifyContact", verifyContactScript, s.contactKeys(userID),
		kind+":"+value, kind, userID, encTime(now))
	if err != nil {
		return store.Contact{}, err
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return store.Contact{}, fmt.Errorf("redisstore: VerifyContact: unexpected reply %T", v)
	}
	switch st, _ := list[0].(int64); {
	case st == stNotFound:
		return store.Contact{}, errContactNotFound
	case st == stConflict:
		return store.Contact{}, errContactTaken
	case st != stOK || len(list) != 2:
		return store.Contact{}, fmt.Errorf("redisstore: VerifyContact: unexpected reply %v", list[0])
	}
	return decodeContact(userID, kind, value, list[1])
}

// SetPrimaryContact implements [store.ContactStore.SetPrimaryContact] as one script.
func (s *Store) SetPrimaryContact(ctx context.Context, userID, kind, value string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if !validKind(kind) {
		return errContactNotFound
	}
	st, err := s.runInt(ctx, "SetPrimaryContact", setPrimaryContactScript, s.contactKeys(userID)[:2], kind+":"+value, kind)
	if err != nil {
		return err
	}
	switch st {
	case stOK:
		return nil
	case stConflict:
		return errContactUnverified
	}
	return errContactNotFound
}

// DeleteContact implements [store.ContactStore.DeleteContact] as one script. Deleting the primary
// contact leaves the user without a primary contact of its kind; deleting a verified one frees its
// value for other users.
func (s *Store) DeleteContact(ctx context.Context, userID, kind, value string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if !validKind(kind) {
		return nil
	}
	_, err := s.runInt(ctx, "DeleteContact", deleteContactScript, s.contactKeys(userID), kind+":"+value, kind, userID)
	return err
}

// PutCode implements [store.CodeStore.PutCode] as one script. It also returns an error wrapping
// [store.ErrInvalid] when ExpiresAt is out of range or Failures is negative. The code's TTL in
// Redis is what is left of its life at now and [TTLMargin].
func (s *Store) PutCode(ctx context.Context, c store.VerificationCode, now time.Time) error {
	if err := store.CheckVerificationCode(c); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	_, err := s.runInt(ctx, "PutCode", putCodeScript, []string{s.key("code", c.Key)},
		c.Hash, encTime(c.ExpiresAt), itoa(int64(c.Failures)), itoa(ttlMillis(c.ExpiresAt, now)))
	return err
}

// getCode reads a code, live or not, and its raw expiry.
func (s *Store) getCode(ctx context.Context, op, key string) (store.VerificationCode, string, error) {
	r, err := s.client.HGetAll(ctx, s.key("code", key)).Result()
	if err != nil {
		return store.VerificationCode{}, "", s.fail(ctx, op, err)
	}
	if len(r) == 0 {
		return store.VerificationCode{}, "", errCodeNotFound
	}
	d := decoder{r: r}
	c := store.VerificationCode{
		Key:       key,
		Hash:      d.bytes("hash"),
		ExpiresAt: d.reqTime("expires"),
		Failures:  int(d.int("failures")),
	}
	if d.err != nil {
		return store.VerificationCode{}, "", corrupt("verification code", d.err)
	}
	return c, r["expires"], nil
}

// GetCode implements [store.CodeStore.GetCode].
func (s *Store) GetCode(ctx context.Context, key string, now time.Time) (store.VerificationCode, error) {
	if err := s.begin(ctx); err != nil {
		return store.VerificationCode{}, err
	}
	c, _, err := s.getCode(ctx, "GetCode", key)
	if err != nil {
		return store.VerificationCode{}, err
	}
	if !c.ExpiresAt.After(now) {
		return store.VerificationCode{}, errCodeNotFound
	}
	return c, nil
}

// ConsumeCode implements [store.CodeStore.ConsumeCode]. It reads the code, compares hash with
// the code's in constant time, and then deletes the code with a script that checks that it still
// has the hash and expiry read (a compare-and-delete), so that of concurrent calls exactly one
// succeeds and none deletes a code that a failure killed or a resend replaced in between.
func (s *Store) ConsumeCode(ctx context.Context, key string, hash []byte, now time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	c, expires, err := s.getCode(ctx, "ConsumeCode", key)
	if err != nil {
		return err
	}
	if !c.ExpiresAt.After(now) || subtle.ConstantTimeCompare(c.Hash, hash) != 1 {
		return errCodeNotFound
	}
	n, err := s.runInt(ctx, "ConsumeCode", consumeCodeScript, []string{s.key("code", key)}, bytes.Clone(c.Hash), expires)
	if err != nil {
		return err
	}
	if n != 1 {
		return errCodeNotFound
	}
	return nil
}

// AddCodeFailure implements [store.CodeStore.AddCodeFailure] as one script: the code is deleted
// when its count reaches or passes maxFailures. A maxFailures below 1 gives an error wrapping
// [store.ErrInvalid] and changes nothing.
func (s *Store) AddCodeFailure(ctx context.Context, key string, maxFailures int, now time.Time) (int, error) {
	if err := store.CheckMaxFailures(key, maxFailures); err != nil {
		return 0, err
	}
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	v, err := s.run(ctx, "AddCodeFailure", addCodeFailureScript, []string{s.key("code", key)}, encNow(now), itoa(int64(maxFailures)))
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, errCodeNotFound
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("redisstore: AddCodeFailure: unexpected reply %T", v)
	}
	return int(n), nil
}
