package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/store"
)

var (
	errUserNotFound   = fmt.Errorf("redisstore: no such user: %w", store.ErrNotFound)
	errWalletNotFound = fmt.Errorf("redisstore: no user has that wallet: %w", store.ErrNotFound)
	errUserConflict   = fmt.Errorf("redisstore: a user with that id exists: %w", store.ErrConflict)
	errAddressTaken   = fmt.Errorf("redisstore: the address belongs to a user already: %w", store.ErrConflict)
	errLastWallet     = fmt.Errorf("redisstore: cannot unlink the user's last wallet: %w", store.ErrConflict)
)

// A user is the hash {P}:user:<id> (fields "created" and "next", the position its next wallet
// gets), with the sorted set {P}:user-wallets:<id> of its wallets' folded addresses scored by
// position, so that they list in the order linked. A wallet is the hash {P}:wallet:<folded
// address> (fields "user", "address" as given, "chain", "linked"): the key makes an address
// belong to one user at most without regard to case.

// luaGetUser is a Lua function that returns a user as {id, created, {address, chain, linked},
// ...}, or false.
const luaGetUser = `
local function get_user(uprefix, wlprefix, wprefix, uid)
	local created = redis.call('HGET', uprefix .. uid, 'created')
	if not created then return false end
	local out = {uid, created}
	for _, a in ipairs(redis.call('ZRANGE', wlprefix .. uid, 0, -1)) do
		out[#out + 1] = redis.call('HMGET', wprefix .. a, 'address', 'chain', 'linked')
	end
	return out
end
`

// createUserScript stores a user and its wallets unless the ID or an address is taken.
// KEYS[1] the user, KEYS[2] its wallet index, KEYS[3...] its wallets; ARGV[1] created, ARGV[2] id,
// then (folded address, address, chain, linked) for each wallet. Returns stOK, stConflict (the
// ID is taken) or stTaken (an address is).
var createUserScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
for i = 3, #KEYS do
	if redis.call('EXISTS', KEYS[i]) == 1 then return 3 end
end
local n = #KEYS - 2
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'created', ARGV[1], 'next', n)
for i = 1, n do
	local j = 3 + (i - 1) * 4
	redis.call('ZADD', KEYS[2], i, ARGV[j])
	redis.call('HSET', KEYS[2 + i], 'user', ARGV[2], 'address', ARGV[j + 1], 'chain', ARGV[j + 2], 'linked', ARGV[j + 3])
end
return 1
`)

// getUserScript returns a user. KEYS[1] the user; ARGV[1..3] the prefixes of user, wallet index
// and wallet keys, ARGV[4] id.
var getUserScript = redis.NewScript(luaGetUser + `
return get_user(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
`)

// userByWalletScript returns the user a wallet belongs to. KEYS[1] the wallet; ARGV[1..3] the
// prefixes of user, wallet index and wallet keys.
var userByWalletScript = redis.NewScript(luaGetUser + `
local uid = redis.call('HGET', KEYS[1], 'user')
if not uid then return false end
return get_user(ARGV[1], ARGV[2], ARGV[3], uid)
`)

// linkWalletScript adds a wallet to an existing user unless the address is taken.
// KEYS[1] the user, KEYS[2] its wallet index, KEYS[3] the wallet; ARGV[1] user id, ARGV[2]
// folded address, ARGV[3..5] address, chain, linked. Returns stOK, stNotFound or stTaken.
var linkWalletScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 3 end
local pos = redis.call('HINCRBY', KEYS[1], 'next', 1)
redis.call('ZADD', KEYS[2], pos, ARGV[2])
redis.call('HSET', KEYS[3], 'user', ARGV[1], 'address', ARGV[3], 'chain', ARGV[4], 'linked', ARGV[5])
return 1
`)

// unlinkWalletScript removes a user's wallet unless it is the last. KEYS[1] the user's wallet
// index, KEYS[2] the wallet; ARGV[1] user id, ARGV[2] folded address. Returns stOK, stNotFound or
// stConflict.
var unlinkWalletScript = redis.NewScript(`
if redis.call('HGET', KEYS[2], 'user') ~= ARGV[1] then return 0 end
if redis.call('ZCARD', KEYS[1]) <= 1 then return 2 end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[2])
return 1
`)

// userArgs returns the prefixes that getUserScript and userByWalletScript take.
func (s *Store) userArgs() []any {
	return []any{s.prefix + "user:", s.prefix + "user-wallets:", s.prefix + "wallet:"}
}

// decodeUser reads what luaGetUser returns.
func decodeUser(v any) (store.User, error) {
	list, ok := v.([]any)
	if !ok || len(list) < 2 {
		return store.User{}, corrupt("user", fmt.Errorf("unexpected reply %T", v))
	}
	id, _ := list[0].(string)
	created, _ := list[1].(string)
	t, err := decTime(created)
	if err != nil {
		return store.User{}, corrupt("user", err)
	}
	u := store.User{ID: id, CreatedAt: t}
	for _, item := range list[2:] {
		f, ok := item.([]any)
		if !ok || len(f) != 3 {
			return store.User{}, corrupt("wallet", fmt.Errorf("unexpected reply %T", item))
		}
		r := make(record, 3)
		for i, name := range []string{"address", "chain", "linked"} {
			if s, ok := f[i].(string); ok {
				r[name] = s
			}
		}
		d := decoder{r: r}
		w := store.Wallet{Address: d.str("address"), ChainID: d.uint("chain"), LinkedAt: d.time("linked")}
		if d.err != nil {
			return store.User{}, corrupt("wallet", d.err)
		}
		u.Wallets = append(u.Wallets, w)
	}
	return u, nil
}

// CreateUser implements [store.UserStore.CreateUser] as one script. It also returns an error
// wrapping [store.ErrInvalid] when a wallet has no address, when two of the user's wallets have
// the same address (without regard to case), or when a time is out of range.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := store.CheckUser(u); err != nil {
		return err
	}
	keys := []string{s.key("user", u.ID), s.key("user-wallets", u.ID)}
	args := []any{encTime(u.CreatedAt), u.ID}
	for _, w := range u.Wallets {
		folded := store.FoldAddress(w.Address)
		keys = append(keys, s.key("wallet", folded))
		args = append(args, folded, w.Address, utoa(w.ChainID), encTime(w.LinkedAt))
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	st, err := s.runInt(ctx, "CreateUser", createUserScript, keys, args...)
	if err != nil {
		return err
	}
	switch st {
	case stOK:
		return nil
	case stTaken:
		return errAddressTaken
	}
	return errUserConflict
}

// GetUser implements [store.UserStore.GetUser].
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	if err := s.begin(ctx); err != nil {
		return store.User{}, err
	}
	v, err := s.run(ctx, "GetUser", getUserScript, []string{s.key("user", id)}, append(s.userArgs(), id)...)
	if err != nil {
		return store.User{}, err
	}
	if v == nil {
		return store.User{}, errUserNotFound
	}
	return decodeUser(v)
}

// UserByWallet implements [store.UserStore.UserByWallet].
func (s *Store) UserByWallet(ctx context.Context, address string) (store.User, error) {
	if err := s.begin(ctx); err != nil {
		return store.User{}, err
	}
	v, err := s.run(ctx, "UserByWallet", userByWalletScript, []string{s.key("wallet", store.FoldAddress(address))}, s.userArgs()...)
	if err != nil {
		return store.User{}, err
	}
	if v == nil {
		return store.User{}, errWalletNotFound
	}
	return decodeUser(v)
}

// LinkWallet implements [store.UserStore.LinkWallet] as one script: the wallet goes after the
// user's others. It returns [store.ErrNotFound] when there is no such user, whether or not the
// address is taken, and also an error wrapping [store.ErrInvalid] when LinkedAt is out of range.
func (s *Store) LinkWallet(ctx context.Context, userID string, w store.Wallet) error {
	if err := store.CheckWallet(userID, w); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	folded := store.FoldAddress(w.Address)
	keys := []string{s.key("user", userID), s.key("user-wallets", userID), s.key("wallet", folded)}
	st, err := s.runInt(ctx, "LinkWallet", linkWalletScript, keys,
		userID, folded, w.Address, utoa(w.ChainID), encTime(w.LinkedAt))
	if err != nil {
		return err
	}
	switch st {
	case stOK:
		return nil
	case stNotFound:
		return errUserNotFound
	}
	return errAddressTaken
}

// UnlinkWallet implements [store.UserStore.UnlinkWallet] as one script. The user's other wallets
// keep their order.
func (s *Store) UnlinkWallet(ctx context.Context, userID, address string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	folded := store.FoldAddress(address)
	keys := []string{s.key("user-wallets", userID), s.key("wallet", folded)}
	st, err := s.runInt(ctx, "UnlinkWallet", unlinkWalletScript, keys, userID, folded)
	if err != nil {
		return err
	}
	switch st {
	case stOK:
		return nil
	case stConflict:
		return errLastWallet
	}
	return errWalletNotFound
}
