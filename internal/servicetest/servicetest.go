// Package servicetest gives tests their own corner of the machine's PostgreSQL and Redis servers:
// a fresh schema, a fresh key prefix, each removed when the test ends. Tests skip when a server
// is unreachable, or fail under WALLETAUTH_REQUIRE_SERVICES=1 (see testutil.NeedService).
package servicetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/walletauth/walletauth/internal/testutil"
)

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// connect opens one connection to the server at testutil.PostgresURL, which may hold pool
// settings (pool_max_conns and the like) as pgstore.Open takes them.
func connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgxpool.ParseConfig(testutil.PostgresURL())
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg.ConnConfig)
}

// PostgresSchema returns the name of a schema that no store uses yet (pgstore creates it) and
// drops it, with everything in it, when the test ends. It skips or fails the test when the
// server at testutil.PostgresURL is unreachable.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := connect(ctx)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	testutil.NeedService(t, "PostgreSQL", err)
	name := randomName("wa_test_")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := connect(ctx)
		if err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return name
}

// RedisPrefix returns a key prefix that no store uses yet and deletes every key under it (the
// prefix's hash tag, "{prefix}") when the test ends. It skips or fails the test when the server
// at testutil.RedisURL is unreachable.
func RedisPrefix(t testing.TB) string {
	t.Helper()
	opts, err := redis.ParseURL(testutil.RedisURL())
	if err != nil {
		t.Fatalf("WALLETAUTH_REDIS_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := redis.NewClient(opts)
	err = c.Ping(ctx).Err()
	c.Close()
	testutil.NeedService(t, "Redis", err)
	name := randomName("watest")
	t.Cleanup(func() {
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, "*{"+name+"}*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("deleting the keys of %s: %v", name, err)
		}
	})
	return name
}

// Via returns rawURL (a postgres:// or redis:// URL) with its host and port replaced by addr,
// such as a testutil.Proxy's.
func Via(t testing.TB, rawURL, addr string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("servicetest.Via(%q): %v", rawURL, err)
	}
	u.Host = addr
	return u.String()
}

// Host returns the host:port of rawURL.
func Host(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("servicetest.Host(%q): %v", rawURL, err)
	}
	return u.Host
}
