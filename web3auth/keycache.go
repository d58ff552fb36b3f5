package web3auth

import (
	"sync"

	"github.com/ethereum/go-ethereum/common"
)

// DefaultKeyCacheSize is the most accounts' public keys a [Service] that was given no
// [Config.Verifier] remembers (see [KeyCache]): about 1.5 MB at most. It keeps at least the last
// half of that many accounts to sign in.
const DefaultKeyCacheSize = 10_000

// pubKey is an uncompressed secp256k1 public key: 0x04 ‖ x ‖ y.
type pubKey [65]byte

// KeyCache remembers the public keys of accounts whose signatures [EOAVerifier] has recovered,
// so that an account's next signature is checked against its known key: ECDSA verification,
// which costs less than recovering the key again (no square root, no field inversion). An
// address's key never changes, so an entry never goes stale; the cache only bounds how many it
// keeps.
//
// A key enters only from a successful recovery whose address was the one claimed, and the cache
// derives the address from the key itself when storing it, so no caller can file a key under an
// address it does not belong to. Filling it with many new accounts only evicts others, whose
// next sign-in then recovers their key again.
//
// It holds at most its size's keys in two generations: new keys and keys used again go to the
// current one, and when that holds half the size it becomes the previous one, dropping the one
// before. So the keys of at least the last half-size accounts to sign in are kept: an account
// that signs in now and then stays, a flood of new ones pushes out the oldest. A
// KeyCache is safe for concurrent use; the zero value is not usable, call [NewKeyCache].
type KeyCache struct {
	mu        sync.Mutex
	half      int
	cur, prev map[common.Address]pubKey
}

// NewKeyCache returns a KeyCache that holds at most size keys; size below 2 means
// [DefaultKeyCacheSize].
func NewKeyCache(size int) *KeyCache {
	if size < 2 {
		size = DefaultKeyCacheSize
	}
	return &KeyCache{half: size / 2, cur: make(map[common.Address]pubKey)}
}

// Len returns how many keys the cache holds.
func (c *KeyCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.prev)
}

// get returns the key of addr, if known, and moves it to the current generation.
func (c *KeyCache) get(addr *common.Address) (pubKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.cur[*addr]; ok {
		return k, true
	}
	k, ok := c.prev[*addr]
	if ok {
		delete(c.prev, *addr)
		c.putLocked(addr, &k)
	}
	return k, ok
}

// putIf files pub under the address it hashes to if that is claimed, and reports whether it is.
func (c *KeyCache) putIf(pub *pubKey, claimed *common.Address) bool {
	addr := keyAddress(pub)
	if addr != *claimed {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[addr]; !ok {
		delete(c.prev, addr)
		c.putLocked(&addr, pub)
	}
	return true
}

func (c *KeyCache) putLocked(addr *common.Address, pub *pubKey) {
	if len(c.cur) >= c.half {
		c.prev, c.cur = c.cur, make(map[common.Address]pubKey, c.half)
	}
	c.cur[*addr] = *pub
}

// keyAddress returns the account of an uncompressed public key: the last 20 bytes of the
// Keccak-256 hash of x ‖ y.
func keyAddress(pub *pubKey) common.Address {
	var h [32]byte
	keccak256(&h, pub[1:])
	return common.Address(h[12:])
}
