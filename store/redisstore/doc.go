// Package redisstore is an implementation of [store.Store] and [store.Watcher] on Redis, through
// github.com/redis/go-redis/v9. Any number of instances of an app share one Redis server (or
// cluster) and see the same nonces, counters, keys, sessions and users, and a revocation or a new
// signing key made on one reaches the others at once by pub/sub.
//
// # Use
//
//	s, err := redisstore.Open("redis://localhost:6379/0", redisstore.Options{Prefix: "myapp"})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//
// [Open] makes a client from a URL (see [redis.ParseURL] for its options), pings the server once
// so that a wrong address fails at once, and closes the client on [Store.Close]. [New] takes a
// client the app made — a [redis.Client], a [redis.ClusterClient], a failover (Sentinel) client —
// and leaves it open on Close.
//
// # Alone, or as the fast half
//
// A Store implements every role of [store.Store], so an app may keep everything in Redis. Redis
// must then persist what it holds: users, their wallets, metadata, contacts, linked OAuth accounts
// and second factors never expire, and losing them loses accounts. Run it with the append-only
// file (appendonly yes, and appendfsync everysec, which loses at most a second of writes when the
// machine fails, or appendfsync always, which loses none at a cost in speed), keep the RDB
// snapshots or a replica as a second copy, and never run it with an eviction policy other than
// noeviction (maxmemory-policy), which would drop records to make room.
//
// An app may also keep only the short-lived, busy records in Redis — nonces, counters, signing
// keys, refresh sessions and verification codes — and users, wallets, metadata, contacts, OAuth
// accounts and second factors in a durable database such as PostgreSQL, by giving each role of
// walletauth the store that should hold it. The roles share no data: every role works on its own.
// Redis then needs less care: losing it signs everyone out and voids pending codes, and nothing
// more.
//
// # Time
//
// Every call that decides whether a record is live gets the caller's now (the app's clock); the
// store never reads Redis's clock, nor its own. Times are kept as Unix nanoseconds, in hash fields
// of 20 decimal digits (the nanoseconds offset by 2^63), so that scripts compare them as strings,
// exactly: Lua's numbers are doubles and would lose the nanoseconds. A record whose expiry is at or
// before now behaves as an absent one. Times out of the range of Unix nanoseconds (1678 to 2262)
// are [store.ErrInvalid].
//
// Redis's expiry only collects garbage. A record that expires gets a TTL relative to the caller's
// now — what is left of its life and [TTLMargin] (a minute) — set with PEXPIRE, never an absolute
// PEXPIREAT, since the app's clock and Redis's need not agree. The margin keeps Redis from
// dropping a record that an instance whose clock lags by less than it still sees live; the store
// itself deletes an expired record that a call meets (an ended session in an index, an expired
// key in ListKeys) only once it has been expired for the margin too. CreateKey and CreateSession
// take no now; the new record's CreatedAt stands for it (a record without one gets no TTL until a
// refresh gives it one, and the calls that meet it delete it a margin after it has ended). A
// user's index of sessions lives as long as the longest-lived of them (for ever while one has no
// TTL). Users, wallets, metadata, second factors, contacts and OAuth accounts get no TTL.
//
// # Keys
//
// Every key of a store starts with its prefix in braces, a Redis hash tag ({P} below, by default
// {walletauth}):
//
//	{P}:nonce:<value>                  hash: a nonce (TTL)
//	{P}:counter:<key>                  hash: a counter's count and window end (TTL)
//	{P}:key:<id>, {P}:keys             hash: a signing key (TTL); set of key IDs
//	{P}:session:<id>                   hash: a refresh session (TTL)
//	{P}:user-sessions:<user id>        sorted set: a user's session IDs (TTL)
//	{P}:revoked, {P}:revoked-end       sorted sets: revoked session IDs
//	{P}:user:<id>                      hash: a user
//	{P}:user-wallets:<id>              sorted set: a user's wallets, in the order linked
//	{P}:wallet:<address in lower case> hash: a wallet and its user
//	{P}:metadata:<user id>             hash: a user's metadata, one field a member
//	{P}:totp:<user id>                 hash: a TOTP factor
//	{P}:recovery:<user id>             set: a user's recovery code hashes
//	{P}:contacts:<user id>             sorted set: a user's contacts, in the order added
//	{P}:contact-data:<user id>         hash: their times and primaries
//	{P}:verified-contacts              hash: the user of each verified contact
//	{P}:code:<key>                     hash: a verification code (TTL)
//	{P}:oauth:<user id>                sorted set: a user's providers, in the order linked
//	{P}:oauth-data:<user id>           hash: the user's accounts
//	{P}:oauth-accounts                 hash: the user of each linked account
//	{P}:changes                        pub/sub channel
//
// The hash tag puts all of a store's keys in one hash slot, so that the scripts that read and
// write several keys at once run on Redis Cluster too; it also means that one store lives on one
// node of a cluster (its shard and replicas), so a cluster spreads several stores (several
// prefixes), not one. Some scripts reach keys named by what they read (a session named by an
// index, say); those keys are in the same slot too.
//
// Stores with different prefixes share a server without seeing each other's records.
//
// # Atomicity
//
// Every operation that reads and then writes is one command or one Lua script (run with EVALSHA,
// loaded with EVAL when the server lacks it), which Redis runs alone: DeleteNonce, ResetCounter,
// DeleteTOTP, SetMetadata (one HSET or HDEL of the member) and UseRecoveryCode (one SREM) are
// single commands; ConsumeNonce reads and deletes the nonce in one script, and every other write
// — creating a nonce over an expired one, counting in a fixed window, rotating a refresh session
// (a compare-and-set on its hash), revoking, creating a user with its wallets (each address
// unique without regard to case, keyed in lower case), linking and unlinking wallets (never the
// last), putting a TOTP factor (never over a confirmed one), using a step or resealing (a
// compare-and-set on the sealed secret), replacing recovery codes, verifying contacts (a verified
// contact belongs to one user), linking OAuth accounts — is one script. ConsumeCode reads the
// code, compares the hash in constant time, and deletes the code by a script that checks it is
// the one read. A call that fails changes nothing.
//
// # Indexes
//
// A user's sessions are also in a sorted set (for ListSessions and RevokeUserSessions), and the
// revoked ones in two (for RevokedSince, by time of revocation, and by end, to prune them). Index
// entries are hints that every read checks against the session; those of sessions that are gone
// or ended a margin ago are removed when a call meets them, and every revocation and every new
// session prunes up to a few more, so the indexes stay near the size of the live sessions.
//
// # Watching
//
// [Store.Watch] subscribes to the channel "{prefix}:changes". The scripts of RevokeSession and
// RevokeUserSessions publish "revoked" on it, and those of CreateKey and DeleteKey "keys", in the
// same script as the change, so a watch hears of every change made while it is live and of none
// that was not made. A watch that loses its connection ends with an error instead of resubscribing
// unseen; the session package then watches again and reads the store afresh. Pub/sub delivers at
// most once: the session package keeps polling RevokedSince and ListKeys, which bounds the delay
// when a push is lost.
//
// # Errors and cancellation
//
// Errors wrap the [store] sentinels and go-redis's errors with %w. A record in Redis that the store
// cannot read is an error, never a panic. A call with a context that is already done returns an
// error wrapping ctx.Err() and changes nothing; a call whose context ends while its command runs
// may or may not have made its change. Calls after [Store.Close] return [ErrClosed].
package redisstore
