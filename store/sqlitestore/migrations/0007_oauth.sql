-- Linked OAuth accounts (store.OAuthAccount).
--
-- (provider, subject) is the key: a provider account is linked to one user at most; UNIQUE
-- (user_id, provider) keeps a user to one account of each provider. Both are compared exactly
-- (BINARY). email and username are what the provider reported, '' when it reported nothing.
-- linked_at is INTEGER Unix nanoseconds, NULL for the zero time. position orders a user's
-- accounts as they were linked (LinkOAuth gives an account the position after the user's
-- greatest). The table does not refer to users: a store keeps what it is given.

CREATE TABLE oauth_accounts (
	provider  TEXT    NOT NULL CHECK (provider <> ''),
	subject   TEXT    NOT NULL CHECK (subject <> ''),
	user_id   TEXT    NOT NULL CHECK (user_id <> ''),
	position  INTEGER NOT NULL,
	email     TEXT    NOT NULL,
	username  TEXT    NOT NULL,
	linked_at INTEGER,
	PRIMARY KEY (provider, subject),
	UNIQUE (user_id, provider),
	UNIQUE (user_id, position)
) STRICT, WITHOUT ROWID;
