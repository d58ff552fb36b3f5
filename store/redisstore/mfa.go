package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/store"
)

var (
	errTOTPNotFound     = fmt.Errorf("redisstore: the user has no TOTP factor: %w", store.ErrNotFound)
	errTOTPConfirmed    = fmt.Errorf("redisstore: the user has a confirmed TOTP factor: %w", store.ErrConflict)
	errTOTPStep         = fmt.Errorf("redisstore: the TOTP factor's secret is not the one given, or the step is not after its last: %w", store.ErrConflict)
	errTOTPSecret       = fmt.Errorf("redisstore: the TOTP factor's secret is not the one given: %w", store.ErrConflict)
	errRecoveryNotFound = fmt.Errorf("redisstore: the user has no such recovery code: %w", store.ErrNotFound)
)

// A TOTP factor is the hash {P}:totp:<user id> (fields "secret", "key_id", "created", "confirmed"
// ("" while unconfirmed), "last_step" as 20 decimal digits, so that Lua compares steps as strings
// exactly). A user's recovery codes are the set {P}:recovery:<user id> of their hashes.

// putTOTPScript stores a factor unless the user has a confirmed one. KEYS[1] the factor;
// ARGV[1..5] secret, key id, created, confirmed, last step. Returns stOK or stConflict.
var putTOTPScript = redis.NewScript(`
local c = redis.call('HGET', KEYS[1], 'confirmed')
if c and c ~= '' then return 2 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'secret', ARGV[1], 'key_id', ARGV[2], 'created', ARGV[3], 'confirmed', ARGV[4], 'last_step', ARGV[5])
return 1
`)

// useTOTPStepScript is UseTOTPStep's compare-and-set. KEYS[1] the factor; ARGV[1] secret,
// ARGV[2] step, ARGV[3] now. Returns {stNotFound}, {stConflict} or {stOK, fields}.
var useTOTPStepScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'secret', 'last_step', 'confirmed')
if not h[1] then return {0} end
if h[1] ~= ARGV[1] or not h[2] or ARGV[2] <= h[2] then return {2} end
redis.call('HSET', KEYS[1], 'last_step', ARGV[2])
if not h[3] or h[3] == '' then redis.call('HSET', KEYS[1], 'confirmed', ARGV[3]) end
return {1, redis.call('HGETALL', KEYS[1])}
`)

// resealTOTPScript is ResealTOTP's compare-and-set. KEYS[1] the factor; ARGV[1] old secret,
// ARGV[2] new secret, ARGV[3] key id. Returns stOK, stNotFound or stConflict.
var resealTOTPScript = redis.NewScript(`
local s = redis.call('HGET', KEYS[1], 'secret')
if not s then return 0 end
if s ~= ARGV[1] then return 2 end
redis.call('HSET', KEYS[1], 'secret', ARGV[2], 'key_id', ARGV[3])
return 1
`)

// replaceCodesScript replaces a set of recovery codes. KEYS[1] the set; ARGV the new hashes.
var replaceCodesScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
if #ARGV > 0 then redis.call('SADD', KEYS[1], unpack(ARGV)) end
return 1
`)

// decodeTOTP reads a factor's hash.
func decodeTOTP(userID string, r record) (store.TOTP, error) {
	d := decoder{r: r}
	f := store.TOTP{
		UserID:      userID,
		Secret:      d.bytes("secret"),
		KeyID:       d.str("key_id"),
		CreatedAt:   d.time("created"),
		ConfirmedAt: d.time("confirmed"),
	}
	step, err := decStep(d.str("last_step"))
	if err != nil {
		d.fail("last_step", err)
	}
	f.LastStep = step
	if d.err != nil {
		return store.TOTP{}, corrupt("TOTP factor", d.err)
	}
	return f, nil
}

// PutTOTP implements [store.MFAStore.PutTOTP] as one script. It also returns an error wrapping
// [store.ErrInvalid] when LastStep is negative or a time is out of range.
func (s *Store) PutTOTP(ctx context.Context, f store.TOTP) error {
	if err := store.CheckTOTP(f); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	st, err := s.runInt(ctx, "PutTOTP", putTOTPScript, []string{s.key("totp", f.UserID)},
		f.Secret, f.KeyID, encTime(f.CreatedAt), encTime(f.ConfirmedAt), encStep(f.LastStep))
	if err != nil {
		return err
	}
	if st != stOK {
		return errTOTPConfirmed
	}
	return nil
}

// GetTOTP implements [store.MFAStore.GetTOTP].
func (s *Store) GetTOTP(ctx context.Context, userID string) (store.TOTP, error) {
	if err := s.begin(ctx); err != nil {
		return store.TOTP{}, err
	}
	r, err := s.client.HGetAll(ctx, s.key("totp", userID)).Result()
	if err != nil {
		return store.TOTP{}, s.fail(ctx, "GetTOTP", err)
	}
	if len(r) == 0 {
		return store.TOTP{}, errTOTPNotFound
	}
	return decodeTOTP(userID, r)
}

// UseTOTPStep implements [store.MFAStore.UseTOTPStep] as one script, a compare-and-set on the
// sealed secret and the last step. A zero or out-of-range now gives an error wrapping [store.ErrInvalid] and
// changes nothing, whether or not the factor is confirmed: a factor confirmed at the zero time
// would look unconfirmed.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, secret []byte, step int64, now time.Time) (store.TOTP, error) {
	if err := store.CheckTime("TOTP factor time of use", now); err != nil {
		return store.TOTP{}, err
	}
	if err := s.begin(ctx); err != nil {
		return store.TOTP{}, err
	}
	if secret == nil {
		secret = []byte{}
	}
	v, err := s.run(ctx, "UseTOTPStep", useTOTPStepScript, []string{s.key("totp", userID)},
		secret, encStep(step), encTime(now))
	if err != nil {
		return store.TOTP{}, err
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return store.TOTP{}, fmt.Errorf("redisstore: UseTOTPStep: unexpected reply %T", v)
	}
	switch st, _ := list[0].(int64); {
	case st == stNotFound:
		return store.TOTP{}, errTOTPNotFound
	case st == stConflict:
		return store.TOTP{}, errTOTPStep
	case st != stOK || len(list) != 2:
		return store.TOTP{}, fmt.Errorf("redisstore: UseTOTPStep: unexpected reply %v", list[0])
	}
	r, err := pairs(list[1])
	if err != nil {
		return store.TOTP{}, corrupt("TOTP factor", err)
	}
	return decodeTOTP(userID, r)
}

// ResealTOTP implements [store.MFAStore.ResealTOTP] as one script. An empty new secret or key ID,
// which PutTOTP would refuse, gives an error wrapping [store.ErrInvalid] and changes nothing.
func (s *Store) ResealTOTP(ctx context.Context, userID string, oldSecret, newSecret []byte, keyID string) error {
	if err := store.CheckTOTPReseal(userID, newSecret, keyID); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	if oldSecret == nil {
		oldSecret = []byte{}
	}
	st, err := s.runInt(ctx, "ResealTOTP", resealTOTPScript, []string{s.key("totp", userID)}, oldSecret, newSecret, keyID)
	if err != nil {
		return err
	}
	switch st {
	case stOK:
		return nil
	case stNotFound:
		return errTOTPNotFound
	}
	return errTOTPSecret
}

// DeleteTOTP implements [store.MFAStore.DeleteTOTP]. It leaves the user's recovery codes.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.client.Del(ctx, s.key("totp", userID)).Err(); err != nil {
		return s.fail(ctx, "DeleteTOTP", err)
	}
	return nil
}

// ReplaceRecoveryCodes implements [store.MFAStore.ReplaceRecoveryCodes] as one script that
// deletes the set and adds the new one. It returns an error wrapping [store.ErrInvalid], and keeps
// the old set, when userID is empty, a hash is empty, a hash is given twice, there are more than
// [MaxRecoveryCodesPerUser] hashes, or now is out of range (the store does not otherwise use now).
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	if err := store.CheckRecoveryCodes(userID, hashes, MaxRecoveryCodesPerUser, now); err != nil {
		return err
	}
	args := make([]any, len(hashes))
	for i, h := range hashes {
		args[i] = h
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	_, err := s.runInt(ctx, "ReplaceRecoveryCodes", replaceCodesScript, []string{s.key("recovery", userID)}, args...)
	return err
}

// UseRecoveryCode implements [store.MFAStore.UseRecoveryCode] with one SREM: of concurrent calls
// with one hash, exactly one removes it.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if len(hash) == 0 {
		return errRecoveryNotFound
	}
	n, err := s.client.SRem(ctx, s.key("recovery", userID), hash).Result()
	if err != nil {
		return s.fail(ctx, "UseRecoveryCode", err)
	}
	if n == 0 {
		return errRecoveryNotFound
	}
	return nil
}

// CountRecoveryCodes implements [store.MFAStore.CountRecoveryCodes].
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	n, err := s.client.SCard(ctx, s.key("recovery", userID)).Result()
	if err != nil {
		return 0, s.fail(ctx, "CountRecoveryCodes", err)
	}
	return int(n), nil
}
