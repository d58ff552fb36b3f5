-- Second factors (store.MFAStore): TOTP factors (store.TOTP) and recovery codes.
--
-- Times are INTEGER Unix nanoseconds; where a time is optional, NULL is the zero time. A factor
-- whose confirmed_at is NULL is unconfirmed. secret is the sealed secret, as the mfa package gave
-- it; key_id names the key that sealed it. last_step is the last RFC 6238 time step accepted (0:
-- none). Neither table refers to users: a store keeps what it is given.

CREATE TABLE totp (
	user_id      TEXT    NOT NULL PRIMARY KEY,
	secret       BLOB    NOT NULL CHECK (length(secret) > 0),
	key_id       TEXT    NOT NULL CHECK (key_id <> ''),
	created_at   INTEGER,
	confirmed_at INTEGER,
	last_step    INTEGER NOT NULL CHECK (last_step >= 0)
) STRICT, WITHOUT ROWID;

-- A user's unused recovery codes, each as the hash of the code; a used code is deleted.
-- created_at is the now of the ReplaceRecoveryCodes that stored the set.
CREATE TABLE recovery_codes (
	user_id    TEXT    NOT NULL,
	hash       BLOB    NOT NULL CHECK (length(hash) > 0),
	created_at INTEGER,
	PRIMARY KEY (user_id, hash)
) STRICT, WITHOUT ROWID;
