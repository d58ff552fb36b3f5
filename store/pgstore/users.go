package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/walletauth/walletauth/store"
)

// SQL of the users and wallets. CreateUser and LinkWallet are one statement each; UnlinkWallet is
// a transaction that locks the user's row first.
const (
	// createUserSQL inserts the user, unless the ID is taken, and its wallets ($3 to $6, one array
	// for each column, in the order given, which the identity column seq keeps). A taken address
	// fails the whole statement with a unique violation of wallets_pkey, so that nothing is stored.
	// It returns the number of users and wallets inserted.
	createUserSQL = `WITH u AS (
	INSERT INTO {schema}.users (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id
), w AS (
	INSERT INTO {schema}.wallets (address_key, address, user_id, chain_id, linked_at)
	SELECT x.address_key, x.address, u.id, x.chain_id, x.linked_at
	FROM u, unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[])
		WITH ORDINALITY AS x (address_key, address, chain_id, linked_at, ord)
	ORDER BY x.ord
	RETURNING 1
)
SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM w)`
	// getUserSQL and userByWalletSQL read a user and its wallets in one statement, so that they
	// see one state of the database.
	getUserSQL = `SELECT u.id, u.created_at, w.address, w.chain_id, w.linked_at
FROM {schema}.users AS u LEFT JOIN {schema}.wallets AS w ON w.user_id = u.id
WHERE u.id = $1 ORDER BY w.seq`
	userByWalletSQL = `SELECT u.id, u.created_at, w.address, w.chain_id, w.linked_at
FROM {schema}.users AS u LEFT JOIN {schema}.wallets AS w ON w.user_id = u.id
WHERE u.id = (SELECT user_id FROM {schema}.wallets WHERE address_key = $1) ORDER BY w.seq`
	// linkWalletSQL inserts a wallet of the user $3 only when the user exists and the address is
	// free, and tells which held: the user's existence, and whether it inserted. Of concurrent
	// links of one address, ON CONFLICT makes all but the first wait for it and insert nothing.
	linkWalletSQL = `WITH u AS (SELECT id FROM {schema}.users WHERE id = $3),
w AS (
	INSERT INTO {schema}.wallets (address_key, address, user_id, chain_id, linked_at)
	SELECT $1::text, $2::text, u.id, $4::bigint, $5::bigint FROM u
	ON CONFLICT (address_key) DO NOTHING
	RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM w)`
	// lockUserSQL locks the user's row for an UnlinkWallet. FOR NO KEY UPDATE leaves alone the key
	// share locks that inserting wallets takes on it.
	lockUserSQL = `SELECT 1 FROM {schema}.users WHERE id = $1 FOR NO KEY UPDATE`
	// unlinkWalletSQL deletes the user's wallet unless it is the user's last, and tells whether
	// the user has the wallet and whether it deleted it. It runs with the user's row locked, in a
	// snapshot taken after the lock: the count is the one that the last UnlinkWallet committed.
	unlinkWalletSQL = `WITH w AS (
	SELECT count(*) AS n, coalesce(bool_or(address_key = $2), false) AS has
	FROM {schema}.wallets WHERE user_id = $1
), d AS (
	DELETE FROM {schema}.wallets WHERE user_id = $1 AND address_key = $2 AND (SELECT n FROM w) > 1
	RETURNING 1
)
SELECT (SELECT has FROM w), EXISTS (SELECT 1 FROM d)`
)

// createUserTries is how many times CreateUser runs its statement while PostgreSQL ends it as a
// deadlock's victim.
const createUserTries = 3

// deadlockPause is how long CreateUser waits before its first retry after a deadlock (twice as
// long before the second).
const deadlockPause = 20 * time.Millisecond

// pause waits d, or until ctx is done, and reports whether ctx is still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// isDeadlock reports whether err is PostgreSQL's deadlock_detected (SQLSTATE 40P01).
func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}

// CreateUser implements [store.UserStore.CreateUser] with one statement that inserts the user and
// its wallets: a taken ID or address stores nothing and gives [store.ErrConflict]. It also
// returns an error wrapping [store.ErrInvalid] when a wallet has no address, when two of the
// user's wallets have the same address (without regard to case), or when a time is out of range.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := store.CheckUser(u); err != nil {
		return err
	}
	created := optNanos(u.CreatedAt)
	var (
		keys      = make([]string, len(u.Wallets))
		addresses = make([]string, len(u.Wallets))
		chainIDs  = make([]int64, len(u.Wallets))
		linked    = make([]pgtype.Int8, len(u.Wallets))
	)
	for i, w := range u.Wallets {
		keys[i] = store.FoldAddress(w.Address)
		addresses[i] = w.Address
		chainIDs[i] = int64(w.ChainID)
		linked[i] = optNanos(w.LinkedAt)
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	var users, wallets int64
	err := s.pool.QueryRow(ctx, s.q.createUser, u.ID, created, keys, addresses, chainIDs, linked).Scan(&users, &wallets)
	for try := 1; try < createUserTries && isDeadlock(err); try++ {
		// Two calls that insert some of the same addresses in different orders wait for each
		// other, and PostgreSQL ends one of them. It changed nothing: run it again, and it waits
		// for the other to end, then finds the addresses taken (or free, when the other failed).
		// Not at once: the other, woken by this one's end, must first take the locks it waited
		// for, or a retry that takes them back closes the same cycle again.
		if !pause(ctx, time.Duration(try)*deadlockPause) {
			break
		}
		err = s.pool.QueryRow(ctx, s.q.createUser, u.ID, created, keys, addresses, chainIDs, linked).Scan(&users, &wallets)
	}
	switch {
	case uniqueViolation(err, "wallets_pkey"):
		return store.ErrConflict
	case err != nil:
		return s.fail(ctx, "create user", err)
	case users == 0: // the ID is taken (and no wallet was inserted)
		return store.ErrConflict
	}
	return nil
}

// scanUser reads the rows of getUserSQL or userByWalletSQL.
func scanUser(rows pgx.Rows) (store.User, error) {
	var u store.User
	found := false
	for rows.Next() {
		var (
			id              string
			created, linked pgtype.Int8
			address         pgtype.Text
			chainID         pgtype.Int8
		)
		if err := rows.Scan(&id, &created, &address, &chainID, &linked); err != nil {
			return store.User{}, err
		}
		if !found {
			u.ID, u.CreatedAt, found = id, fromOptNanos(created), true
		}
		if address.Valid {
			u.Wallets = append(u.Wallets, store.Wallet{Address: address.String, ChainID: uint64(chainID.Int64), LinkedAt: fromOptNanos(linked)})
		}
	}
	if err := rows.Err(); err != nil {
		return store.User{}, err
	}
	if !found {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

// GetUser implements [store.UserStore.GetUser].
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	return s.readUser(ctx, "get user", s.q.getUser, id)
}

// UserByWallet implements [store.UserStore.UserByWallet].
func (s *Store) UserByWallet(ctx context.Context, address string) (store.User, error) {
	return s.readUser(ctx, "get user by wallet", s.q.userByWallet, store.FoldAddress(address))
}

func (s *Store) readUser(ctx context.Context, op, query, arg string) (store.User, error) {
	if err := s.begin(ctx); err != nil {
		return store.User{}, err
	}
	rows, err := s.pool.Query(ctx, query, arg)
	if err != nil {
		return store.User{}, s.fail(ctx, op, err)
	}
	defer rows.Close()
	u, err := scanUser(rows)
	if err != nil {
		return store.User{}, s.fail(ctx, op, err)
	}
	return u, nil
}

// LinkWallet implements [store.UserStore.LinkWallet] with one statement that inserts the wallet
// only when the user exists and the address is free, and tells [store.ErrNotFound] (no such
// user, whether or not the address is taken) from [store.ErrConflict]. It also returns an error
// wrapping [store.ErrInvalid] when LinkedAt is out of range.
func (s *Store) LinkWallet(ctx context.Context, userID string, w store.Wallet) error {
	if err := store.CheckWallet(userID, w); err != nil {
		return err
	}
	linked := optNanos(w.LinkedAt)
	if err := s.begin(ctx); err != nil {
		return err
	}
	var exists, inserted bool
	if err := s.pool.QueryRow(ctx, s.q.linkWallet, store.FoldAddress(w.Address), w.Address, userID, int64(w.ChainID), linked).Scan(&exists, &inserted); err != nil {
		return s.fail(ctx, "link wallet", err)
	}
	switch {
	case !exists:
		return store.ErrNotFound
	case !inserted:
		return store.ErrConflict
	}
	return nil
}

// UnlinkWallet implements [store.UserStore.UnlinkWallet] in one transaction: it locks the user's
// row, so that the UnlinkWallet calls of one user run one after the other, then deletes the wallet
// unless it is the user's last ([store.ErrConflict]). An unknown user or a wallet the user has
// not got is [store.ErrNotFound]. The user's other wallets keep their order.
func (s *Store) UnlinkWallet(ctx context.Context, userID, address string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	key := store.FoldAddress(address)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, s.q.lockUser, userID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		var has, deleted bool
		if err := tx.QueryRow(ctx, s.q.unlinkWallet, userID, key).Scan(&has, &deleted); err != nil {
			return err
		}
		switch {
		case !has:
			return store.ErrNotFound
		case !deleted:
			return store.ErrConflict
		}
		return nil
	})
	if err != nil {
		return s.fail(ctx, "unlink wallet", err)
	}
	return nil
}
