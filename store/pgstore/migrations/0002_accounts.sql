-- Users' metadata (store.Metadata), second factors (store.TOTP and recovery codes), contacts
-- (store.Contact), verification codes (store.VerificationCode) and linked OAuth accounts
-- (store.OAuthAccount).
--
-- {schema}, times and NULLs are as in 0001_init.sql. None of these tables refers to users: a store
-- keeps what it is given.

-- One row for each member of a user's metadata that is set. doc is the member's JSON object, kept
-- as the caller wrote it (the json type keeps the text as given, unlike jsonb), so that SQL reads
-- it with the JSON operators (doc->>'plan'). updated_at is the now of the SetMetadata that wrote
-- the row.
CREATE TABLE {schema}.metadata (
	user_id    text   NOT NULL,
	member     text   NOT NULL CHECK (member IN ('public', 'private', 'unsafe')),
	doc        json   NOT NULL,
	updated_at bigint,
	PRIMARY KEY (user_id, member)
);

-- A user's TOTP factor: confirmed_at is NULL while it is unconfirmed. secret is the sealed
-- secret, as the mfa package gave it; key_id names the key that sealed it. last_step is the last
-- RFC 6238 time step accepted (0: none).
CREATE TABLE {schema}.totp (
	user_id      text   NOT NULL PRIMARY KEY,
	secret       bytea  NOT NULL CHECK (length(secret) > 0),
	key_id       text   NOT NULL CHECK (key_id <> ''),
	created_at   bigint,
	confirmed_at bigint,
	last_step    bigint NOT NULL CHECK (last_step >= 0)
);

-- A user's unused recovery codes, each as the hash of the code; a used code is deleted.
-- created_at is the now of the ReplaceRecoveryCodes that stored the set.
CREATE TABLE {schema}.recovery_codes (
	user_id    text   NOT NULL,
	hash       bytea  NOT NULL CHECK (length(hash) > 0),
	created_at bigint,
	PRIMARY KEY (user_id, hash)
);

-- A contact whose verified_at is NULL is unverified. kind is 'email' or 'phone'; value is the
-- address or number as the caller normalised it. seq orders a user's contacts as they were added
-- (from the identity sequence, as wallets.seq). is_primary marks the one verified contact of its
-- kind that messages go to.
CREATE TABLE {schema}.contacts (
	user_id     text    NOT NULL CHECK (user_id <> ''),
	kind        text    NOT NULL CHECK (kind IN ('email', 'phone')),
	value       text    NOT NULL CHECK (value <> ''),
	seq         bigint  GENERATED ALWAYS AS IDENTITY,
	added_at    bigint,
	verified_at bigint,
	is_primary  boolean NOT NULL CHECK (NOT is_primary OR verified_at IS NOT NULL),
	PRIMARY KEY (user_id, kind, value)
);

CREATE INDEX contacts_user_id ON {schema}.contacts (user_id, seq);
-- A verified contact belongs to one user only; unverified ones may be claimed by several.
CREATE UNIQUE INDEX contacts_verified ON {schema}.contacts (kind, value) WHERE verified_at IS NOT NULL;

-- A code is kept as the hash of the code under the key that binds it to its purpose, user and
-- target. failures counts the wrong codes tried against it; a code whose count reached the
-- caller's maximum is deleted.
CREATE TABLE {schema}.verification_codes (
	key        text   NOT NULL PRIMARY KEY CHECK (key <> ''),
	hash       bytea  NOT NULL CHECK (length(hash) > 0),
	expires_at bigint NOT NULL,
	failures   bigint NOT NULL CHECK (failures >= 0)
);

CREATE INDEX verification_codes_expires_at ON {schema}.verification_codes (expires_at);

-- (provider, subject) is the key: a provider account is linked to one user at most; UNIQUE
-- (user_id, provider) keeps a user to one account of each provider. Both are compared exactly.
-- email and username are the bytes of what the provider reported, as given ('' when it reported
-- nothing): a provider may report any bytes, which text could not always hold. seq orders a
-- user's accounts as they were linked.
CREATE TABLE {schema}.oauth_accounts (
	provider  text   NOT NULL CHECK (provider <> ''),
	subject   text   NOT NULL CHECK (subject <> ''),
	user_id   text   NOT NULL CHECK (user_id <> ''),
	seq       bigint GENERATED ALWAYS AS IDENTITY,
	email     bytea  NOT NULL,
	username  bytea  NOT NULL,
	linked_at bigint,
	PRIMARY KEY (provider, subject),
	UNIQUE (user_id, provider)
);

CREATE INDEX oauth_accounts_user_id ON {schema}.oauth_accounts (user_id, seq);
