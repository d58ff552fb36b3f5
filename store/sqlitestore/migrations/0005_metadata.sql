-- Users' metadata (store.Metadata): one row for each member that is set.
--
-- member is 'public', 'private' or 'unsafe'; doc is the member's JSON object as the caller gave
-- it, as TEXT (so that SQLite's JSON functions read it: json_extract(doc, '$.plan')); a member that
-- is not set (nil, which means {}) has no row. updated_at is the now of the SetMetadata that
-- wrote the row, in Unix nanoseconds (NULL when zero). The table does not refer to users: a store
-- keeps what it is given.
--
-- Linked wallets (LinkWallet, UnlinkWallet) need no change of the schema: a linked wallet is a
-- row of wallets whose position follows the user's others, and the unique index on
-- (user_id, position) finds the greatest position and counts a user's wallets.

CREATE TABLE metadata (
	user_id    TEXT    NOT NULL,
	member     TEXT    NOT NULL CHECK (member IN ('public', 'private', 'unsafe')),
	doc        TEXT    NOT NULL CHECK (doc <> ''),
	updated_at INTEGER,
	PRIMARY KEY (user_id, member)
) STRICT, WITHOUT ROWID;
