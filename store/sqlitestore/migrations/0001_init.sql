-- Sign-in nonces (store.Nonce) and fixed-window counters (store.CounterStore).
--
-- Times are INTEGER Unix nanoseconds; a NULL issued_at is the zero time. chain_id holds the bit
-- pattern of the uint64 chain id as a signed 64-bit integer.

CREATE TABLE nonces (
	value      TEXT    NOT NULL PRIMARY KEY,
	address    TEXT    NOT NULL,
	chain_id   INTEGER NOT NULL,
	issued_at  INTEGER,
	expires_at INTEGER NOT NULL,
	failures   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX nonces_expires_at ON nonces (expires_at);

CREATE TABLE counters (
	key      TEXT    NOT NULL PRIMARY KEY,
	count    INTEGER NOT NULL,
	reset_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX counters_reset_at ON counters (reset_at);
