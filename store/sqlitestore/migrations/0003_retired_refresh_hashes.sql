-- A session's retired refresh hashes (store.Session.RetiredRefreshHashes): the hashes of the
-- refresh tokens rotated out before prev_refresh_hash, the newest first.
--
-- retired_refresh_hashes holds the list in one TEXT value: a JSON array of strings, one for each
-- hash in the order of the list, each string the hash's bytes in lower-case hexadecimal (two
-- digits a byte; an empty hash is ""). The array is written without spaces. An empty list is '[]',
-- which the sessions made before this migration get. For example, the list of the hashes
-- 0x00ff10 and 0xab is '["00ff10","ab"]'. Hexadecimal never needs escaping in JSON, and other
-- programs read the hashes with SQLite's own functions:
--
--	SELECT unhex(j.value) FROM sessions, json_each(sessions.retired_refresh_hashes) AS j
--	WHERE sessions.id = ?1 ORDER BY j.key
--
-- RotateRefresh writes the column in the same UPDATE as refresh_hash and prev_refresh_hash.

ALTER TABLE sessions ADD COLUMN retired_refresh_hashes TEXT NOT NULL DEFAULT '[]';
