-- Users' contacts (store.Contact) and verification codes (store.VerificationCode).
--
-- Times are INTEGER Unix nanoseconds; where a time is optional, NULL is the zero time. A contact
-- whose verified_at is NULL is unverified. kind is 'email' or 'phone'; value is the address or
-- number as the caller normalised it. position orders a user's contacts as they were added
-- (AddContact gives a contact the position after the user's greatest). is_primary is 1 for the
-- one verified contact of its kind that messages go to, else 0. The table does not refer to
-- users: a store keeps what it is given.

CREATE TABLE contacts (
	user_id     TEXT    NOT NULL CHECK (user_id <> ''),
	kind        TEXT    NOT NULL CHECK (kind IN ('email', 'phone')),
	value       TEXT    NOT NULL CHECK (value <> ''),
	position    INTEGER NOT NULL,
	added_at    INTEGER,
	verified_at INTEGER,
	is_primary  INTEGER NOT NULL CHECK (is_primary IN (0, 1) AND (is_primary = 0 OR verified_at IS NOT NULL)),
	PRIMARY KEY (user_id, kind, value),
	UNIQUE (user_id, position)
) STRICT, WITHOUT ROWID;

-- A verified contact belongs to one user only; unverified ones may be claimed by several.
CREATE UNIQUE INDEX contacts_verified ON contacts (kind, value) WHERE verified_at IS NOT NULL;

-- A code is kept as the hash of the code under the key that binds it to its purpose, user and
-- target. failures counts the wrong codes tried against it; a code whose count reached the
-- caller's maximum is deleted.
CREATE TABLE verification_codes (
	key        TEXT    NOT NULL PRIMARY KEY CHECK (key <> ''),
	hash       BLOB    NOT NULL CHECK (length(hash) > 0),
	expires_at INTEGER NOT NULL,
	failures   INTEGER NOT NULL CHECK (failures >= 0)
) STRICT, WITHOUT ROWID;

CREATE INDEX verification_codes_expires_at ON verification_codes (expires_at);
