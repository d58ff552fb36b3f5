-- Signing keys (store.SigningKey), refresh sessions (store.Session), and users with their wallets
-- (store.User, store.Wallet).
--
-- Times are INTEGER Unix nanoseconds; where a time is optional, NULL is the zero time. chain_id
-- holds the bit pattern of the uint64 chain id as a signed 64-bit integer.

CREATE TABLE signing_keys (
	id         TEXT    NOT NULL PRIMARY KEY,
	algorithm  TEXT    NOT NULL,
	private    BLOB    NOT NULL,
	created_at INTEGER,
	not_before INTEGER,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX signing_keys_expires_at ON signing_keys (expires_at);

-- A session ends at the earlier of idle_expires_at and expires_at; revoked_at is NULL while it is
-- not revoked. amr is a JSON array of strings; prev_refresh_hash is NULL before the first
-- rotation.
CREATE TABLE sessions (
	id                TEXT    NOT NULL PRIMARY KEY,
	user_id           TEXT    NOT NULL,
	address           TEXT    NOT NULL,
	chain_id          INTEGER NOT NULL,
	aal               TEXT    NOT NULL,
	amr               TEXT    NOT NULL,
	refresh_hash      BLOB    NOT NULL,
	prev_refresh_hash BLOB,
	rotated_at        INTEGER,
	created_at        INTEGER,
	last_used_at      INTEGER,
	idle_expires_at   INTEGER NOT NULL,
	expires_at        INTEGER NOT NULL,
	revoked_at        INTEGER,
	user_agent        TEXT    NOT NULL,
	ip                TEXT    NOT NULL
) STRICT;

-- ListSessions and RevokeUserSessions.
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
-- RevokedSince: only revoked sessions are indexed.
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
-- Purges of expired sessions.
CREATE INDEX sessions_ends_at ON sessions (min(idle_expires_at, expires_at));

CREATE TABLE users (
	id         TEXT    NOT NULL PRIMARY KEY,
	created_at INTEGER
) STRICT, WITHOUT ROWID;

-- A wallet's address belongs to one user at most, without regard to case: address_key, the
-- primary key, is the address with its ASCII letters in lower case. position orders a user's
-- wallets as they were linked.
CREATE TABLE wallets (
	address_key TEXT    NOT NULL PRIMARY KEY,
	address     TEXT    NOT NULL,
	user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	chain_id    INTEGER NOT NULL,
	linked_at   INTEGER,
	UNIQUE (user_id, position)
) STRICT, WITHOUT ROWID;
