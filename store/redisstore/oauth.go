package redisstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/store"
)

var (
	errOAuthTaken    = fmt.Errorf("redisstore: the provider account is linked to a user already: %w", store.ErrConflict)
	errOAuthProvider = fmt.Errorf("redisstore: the user has an account of that provider linked: %w", store.ErrConflict)
	errOAuthNotFound = fmt.Errorf("redisstore: the user has no account of that provider linked: %w", store.ErrNotFound)
)

// A user's linked OAuth accounts are the sorted set {P}:oauth:<user id> of providers scored by
// the order of linking, and the hash {P}:oauth-data:<user id> with the fields "subject:<provider>"
// and "account:<provider>" (email, username and link time, packed) of each. The hash
// {P}:oauth-accounts maps each linked account, "<length of provider>:<provider><subject>", to its
// user, which keeps an account to one user.

// linkOAuthScript links an account unless it is linked or the user has one of its provider.
// KEYS[1] {P}:oauth-accounts, KEYS[2] the user's accounts, KEYS[3] their data; ARGV[1] the
// account's field in KEYS[1], ARGV[2] user id, ARGV[3] provider, ARGV[4] subject, ARGV[5] the
// packed account. Returns stOK, stTaken (the account is linked) or stConflict (the user has one of
// the provider).
var linkOAuthScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 3 end
if redis.call('ZSCORE', KEYS[2], ARGV[3]) then return 2 end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local pos = 1
if #last == 2 then pos = tonumber(last[2]) + 1 end
redis.call('ZADD', KEYS[2], string.format('%d', pos), ARGV[3])
redis.call('HSET', KEYS[3], 'subject:' .. ARGV[3], ARGV[4], 'account:' .. ARGV[3], ARGV[5])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// unlinkOAuthScript unlinks the user's account of a provider. KEYS as linkOAuthScript's; ARGV[1]
// user id, ARGV[2] provider. Returns stOK or stNotFound.
var unlinkOAuthScript = redis.NewScript(`
if redis.call('ZREM', KEYS[2], ARGV[2]) == 0 then return 0 end
local sf = 'subject:' .. ARGV[2]
local subject = redis.call('HGET', KEYS[3], sf)
redis.call('HDEL', KEYS[3], sf, 'account:' .. ARGV[2])
if subject then
	local f = string.len(ARGV[2]) .. ':' .. ARGV[2] .. subject
	if redis.call('HGET', KEYS[1], f) == ARGV[1] then redis.call('HDEL', KEYS[1], f) end
end
return 1
`)

// listOAuthScript returns {the user's providers in order, their data}. KEYS[1] the user's
// accounts, KEYS[2] their data.
var listOAuthScript = redis.NewScript(`
return {redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('HGETALL', KEYS[2])}
`)

// oauthKeys returns the keys of a user's OAuth accounts: the index of all accounts, the user's
// order and data.
func (s *Store) oauthKeys(userID string) []string {
	return []string{s.prefix + "oauth-accounts", s.key("oauth", userID), s.key("oauth-data", userID)}
}

// LinkOAuth implements [store.OAuthStore.LinkOAuth] as one script: the account goes after the
// user's others. It also returns an error wrapping [store.ErrInvalid] when LinkedAt is out of
// range. Provider and Subject are compared exactly (with regard to case).
func (s *Store) LinkOAuth(ctx context.Context, a store.OAuthAccount) error {
	if err := store.CheckOAuthAccount(a); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	account := pack([]string{a.Email, a.Username, encTime(a.LinkedAt)})
	st, err := s.runInt(ctx, "LinkOAuth", linkOAuthScript, s.oauthKeys(a.UserID),
		strconv.Itoa(len(a.Provider))+":"+a.Provider+a.Subject, a.UserID, a.Provider, a.Subject, account)
	if err != nil {
		return err
	}
	switch st {
	case stOK:
		return nil
	case stTaken:
		return errOAuthTaken
	}
	return errOAuthProvider
}

// UnlinkOAuth implements [store.OAuthStore.UnlinkOAuth] as one script. The user's other accounts
// keep their order.
func (s *Store) UnlinkOAuth(ctx context.Context, userID, provider string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	st, err := s.runInt(ctx, "UnlinkOAuth", unlinkOAuthScript, s.oauthKeys(userID), userID, provider)
	if err != nil {
		return err
	}
	if st != stOK {
		return errOAuthNotFound
	}
	return nil
}

// ListOAuth implements [store.OAuthStore.ListOAuth]. It returns nil when the user has none.
func (s *Store) ListOAuth(ctx context.Context, userID string) ([]store.OAuthAccount, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	v, err := s.run(ctx, "ListOAuth", listOAuthScript, s.oauthKeys(userID)[1:])
	if err != nil {
		return nil, err
	}
	parts, ok := v.([]any)
	if !ok || len(parts) != 2 {
		return nil, fmt.Errorf("redisstore: ListOAuth: unexpected reply %T", v)
	}
	providers, ok := parts[0].([]any)
	if !ok {
		return nil, fmt.Errorf("redisstore: ListOAuth: unexpected reply %T", parts[0])
	}
	data, err := pairs(parts[1])
	if err != nil {
		return nil, corrupt("OAuth accounts", err)
	}
	var list []store.OAuthAccount
	for _, p := range providers {
		provider, _ := p.(string)
		subject, ok1 := data["subject:"+provider]
		fields, err := unpackStrings(data["account:"+provider])
		if !ok1 || err != nil || len(fields) != 3 {
			return nil, corrupt("OAuth account", fmt.Errorf("provider %q", provider))
		}
		linked, err := decTime(fields[2])
		if err != nil {
			return nil, corrupt("OAuth account", err)
		}
		list = append(list, store.OAuthAccount{
			UserID: userID, Provider: provider, Subject: subject,
			Email: fields[0], Username: fields[1], LinkedAt: linked,
		})
	}
	return list, nil
}
