-- Sign-in nonces (store.Nonce), fixed-window counters (store.CounterStore), signing keys
-- (store.SigningKey), refresh sessions (store.Session), and users with their wallets (store.User,
-- store.Wallet).
--
-- {schema} stands for the store's schema (Options.Schema, quoted): pgstore replaces it before it
-- runs the file, and names every table with it, whatever the search_path.
--
-- Times are BIGINT Unix nanoseconds, written from the callers' clocks only: no column has a
-- default and no statement reads the server's clock. Where a time is optional, NULL is the zero
-- time. chain_id holds the bit pattern of the uint64 chain id as a signed BIGINT (an id above
-- 9223372036854775807 reads as a negative number in SQL). Identifiers that lists are ordered by
-- use the "C" collation, so that they sort byte by byte whatever the database's locale.

CREATE TABLE {schema}.nonces (
	value      text   NOT NULL PRIMARY KEY,
	address    text   NOT NULL,
	chain_id   bigint NOT NULL,
	issued_at  bigint,
	expires_at bigint NOT NULL,
	failures   bigint NOT NULL
);

CREATE INDEX nonces_expires_at ON {schema}.nonces (expires_at);

CREATE TABLE {schema}.counters (
	key      text   NOT NULL PRIMARY KEY,
	count    bigint NOT NULL,
	reset_at bigint NOT NULL
);

CREATE INDEX counters_reset_at ON {schema}.counters (reset_at);

CREATE TABLE {schema}.signing_keys (
	id         text COLLATE "C" NOT NULL PRIMARY KEY,
	algorithm  text   NOT NULL,
	private    bytea  NOT NULL,
	created_at bigint,
	not_before bigint,
	expires_at bigint NOT NULL
);

CREATE INDEX signing_keys_expires_at ON {schema}.signing_keys (expires_at);

-- A session ends at the earlier of idle_expires_at and expires_at; revoked_at is NULL while it is
-- not revoked. prev_refresh_hash is NULL before the first rotation. retired_refresh_hashes holds
-- store.Session.RetiredRefreshHashes, the newest first ('{}' when there are none), so that
-- RotateRefresh sets it in the same UPDATE as refresh_hash. user_agent is the bytes of the
-- client's User-Agent header as given, which need not be UTF-8 (convert_from(user_agent, 'UTF8')
-- reads those that are).
CREATE TABLE {schema}.sessions (
	id                     text COLLATE "C" NOT NULL PRIMARY KEY,
	user_id                text    NOT NULL,
	address                text    NOT NULL,
	chain_id               bigint  NOT NULL,
	aal                    text    NOT NULL,
	amr                    text[]  NOT NULL,
	refresh_hash           bytea   NOT NULL,
	prev_refresh_hash      bytea,
	retired_refresh_hashes bytea[] NOT NULL,
	rotated_at             bigint,
	created_at             bigint,
	last_used_at           bigint,
	idle_expires_at        bigint  NOT NULL,
	expires_at             bigint  NOT NULL,
	revoked_at             bigint,
	user_agent             bytea   NOT NULL,
	ip                     text    NOT NULL
);

-- ListSessions and RevokeUserSessions.
CREATE INDEX sessions_user_id ON {schema}.sessions (user_id, created_at);
-- RevokedSince: only revoked sessions are indexed.
CREATE INDEX sessions_revoked_at ON {schema}.sessions (revoked_at) WHERE revoked_at IS NOT NULL;
-- Purges of ended sessions.
CREATE INDEX sessions_ends_at ON {schema}.sessions (least(idle_expires_at, expires_at));

CREATE TABLE {schema}.users (
	id         text   NOT NULL PRIMARY KEY,
	created_at bigint
);

-- A wallet's address belongs to one user at most, without regard to case: address_key, the
-- primary key, is the address with its ASCII letters in lower case (folded by pgstore, not by the
-- locale). seq orders a user's wallets as they were linked: it comes from the table's identity
-- sequence, which only grows, so that concurrent links need no lock to number them.
CREATE TABLE {schema}.wallets (
	address_key text   NOT NULL PRIMARY KEY,
	address     text   NOT NULL,
	user_id     text   NOT NULL REFERENCES {schema}.users (id) ON DELETE CASCADE,
	seq         bigint GENERATED ALWAYS AS IDENTITY,
	chain_id    bigint NOT NULL,
	linked_at   bigint
);

CREATE INDEX wallets_user_id ON {schema}.wallets (user_id, seq);
