package walletauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/internal/servicetest"
	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
	"github.com/walletauth/walletauth/store/pgstore"
	"github.com/walletauth/walletauth/store/redisstore"
)

// Several instances of an app behind a load balancer: two Auths, on two httptest servers, with
// one public origin, sharing their stores through the real PostgreSQL and Redis servers.

// storeSet is what one instance is configured with: Config.Store and Config.Fast.
type storeSet struct {
	store store.Store
	fast  store.FastStore
}

// backend opens two handles of one fresh shared store, one for each instance, reaching the
// servers at the URLs pg and rd (a proxy's, in the tests that take a server away).
type backend struct {
	name     string
	services []string // "postgres", "redis"
	open     func(t testing.TB, pg, rd string) [2]storeSet
}

var backends = []backend{
	{"memory", nil, func(t testing.TB, _, _ string) [2]storeSet {
		s := memstore.New() // one process: both instances hold the same store
		t.Cleanup(func() { s.Close() })
		return [2]storeSet{{store: s}, {store: s}}
	}},
	{"postgres", []string{"postgres"}, func(t testing.TB, pg, _ string) [2]storeSet {
		schema := servicetest.PostgresSchema(t)
		return [2]storeSet{{store: openPostgres(t, pg, schema)}, {store: openPostgres(t, pg, schema)}}
	}},
	{"redis", []string{"redis"}, func(t testing.TB, _, rd string) [2]storeSet {
		prefix := servicetest.RedisPrefix(t)
		return [2]storeSet{{store: openRedis(t, rd, prefix)}, {store: openRedis(t, rd, prefix)}}
	}},
	{"postgres+redis", []string{"postgres", "redis"}, func(t testing.TB, pg, rd string) [2]storeSet {
		schema, prefix := servicetest.PostgresSchema(t), servicetest.RedisPrefix(t)
		return [2]storeSet{
			{store: openPostgres(t, pg, schema), fast: openRedis(t, rd, prefix)},
			{store: openPostgres(t, pg, schema), fast: openRedis(t, rd, prefix)},
		}
	}},
}

func openPostgres(t testing.TB, url, schema string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), url, pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatalf("pgstore.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openRedis(t testing.TB, url, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(url, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatalf("redisstore.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// forEachBackend runs f for every backend, against the servers themselves.
func forEachBackend(t *testing.T, f func(t *testing.T, c *cluster)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f(t, newCluster(t, b.open(t, testutil.PostgresURL(), testutil.RedisURL())))
		})
	}
}

// cluster is two instances of one app: a and b, with the public origin of a, one clock, and
// polling slowed to its maximum (60 s), so that within a test only pushes carry changes from
// one instance to the other.
type cluster struct {
	a, b  *server
	clock *testutil.Clock
}

func newCluster(t *testing.T, sets [2]storeSet) *cluster {
	t.Helper()
	c := &cluster{clock: testutil.NewClock(time.Now().UTC().Truncate(time.Second))}
	var servers [2]*server
	for i := range servers {
		s := &server{clock: c.clock, mux: http.NewServeMux()}
		s.Server = httptest.NewServer(s.mux)
		t.Cleanup(s.Close)
		servers[i] = s
	}
	c.a, c.b = servers[0], servers[1]
	for i, s := range servers {
		cfg := walletauth.Config{
			Origin:    c.a.URL, // the load balancer's: one origin for every instance
			Store:     sets[i].store,
			Fast:      sets[i].fast,
			RateLimit: walletauth.NoRateLimit,
			Clock:     c.clock.Now,
			Logger:    slog.New(slog.NewTextHandler(&s.logs, nil)),
		}
		cfg.Session.SyncInterval = session.MaxSyncInterval
		s.serve(t, cfg)
	}
	return c
}

// on returns the client talking to another instance, with the same cookies and wallet.
func (c *client) on(s *server) *client { return &client{t: c.t, s: s, c: c.c, key: c.key} }

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// eventually checks cond every few milliseconds for up to limit and reports how long it took;
// it waits for a push to arrive, not for time to pass (the instances' clock stands still).
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestInstancesShareSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ca := c.a.client(t)
		r := ca.signIn()
		cb := ca.on(c.b)
		me := cb.do("GET", "/api/me", nil, bearer(r.body["accessToken"].(string)))
		if me.status != 200 || me.body["address"] != ca.addr().Hex() {
			t.Fatalf("B, A's access token: %d %s", me.status, me.raw)
		}
		if me := cb.do("GET", "/api/me", nil, nil); me.status != 200 {
			t.Fatalf("B, A's cookies: %d %s", me.status, me.raw)
		}
		ref := cb.do("POST", "/auth/refresh", nil, nil)
		if ref.status != 200 {
			t.Fatalf("refresh on B: %d %s", ref.status, ref.raw)
		}
		if me := ca.do("GET", "/api/me", nil, bearer(ref.body["accessToken"].(string))); me.status != 200 {
			t.Fatalf("A, B's refreshed token: %d %s", me.status, me.raw)
		}
		if s := cb.do("GET", "/auth/sessions", nil, nil); s.status != 200 || len(s.body["sessions"].([]any)) != 1 {
			t.Fatalf("B lists A's session: %d %s", s.status, s.raw)
		}
	})
}

func TestRevocationReachesOtherInstanceWithinASecond(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ca := c.a.client(t)
		at := ca.signIn().body["accessToken"].(string)
		cb := ca.on(c.b)
		if me := cb.do("GET", "/api/me", nil, bearer(at)); me.status != 200 {
			t.Fatalf("B before sign-out: %d %s", me.status, me.raw)
		}
		refresh := ca.cookie("walletauth-refresh")
		if r := ca.do("POST", "/auth/logout", nil, nil); r.status != 204 {
			t.Fatalf("logout on A: %d %s", r.status, r.raw)
		}
		if me := ca.do("GET", "/api/me", nil, bearer(at)); me.status != 401 {
			t.Fatalf("A after its own sign-out: %d %s", me.status, me.raw)
		}
		took := eventually(t, time.Second, "B refuses the signed-out session's access token", func() bool {
			me := cb.do("GET", "/api/me", nil, bearer(at))
			return me.status == 401 && me.errCode() == "session_revoked"
		})
		t.Logf("B refused the token %v after A's sign-out", took.Round(time.Millisecond))
		// The refresh token is refused too (the store says the session is revoked).
		other := c.b.client(t)
		u, _ := url.Parse(c.b.URL + "/auth/")
		other.c.Jar.SetCookies(u, []*http.Cookie{refresh})
		if r := other.do("POST", "/auth/refresh", nil, nil); r.status != 401 {
			t.Fatalf("refresh on B after sign-out on A: %d %s", r.status, r.raw)
		}
	})
}

// kidOf returns the kid in a JWT's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	var h struct{ Kid string }
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil || h.Kid == "" {
		t.Fatalf("no kid in %q: %v", token, err)
	}
	return h.Kid
}

func TestKeyRotationReachesOtherInstance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		oldKid := kidOf(t, c.a.client(t).signIn().body["accessToken"].(string))
		if err := c.a.auth.Sessions().RotateKeys(context.Background()); err != nil {
			t.Fatal(err)
		}
		probe := c.b.client(t)
		took := eventually(t, time.Second, "B publishes A's new key", func() bool {
			r := probe.do("GET", "/auth/jwks.json", nil, nil)
			var set struct{ Keys []json.RawMessage }
			return json.Unmarshal(r.raw, &set) == nil && len(set.Keys) == 2
		})
		t.Logf("B published the new key %v after A created it", took.Round(time.Millisecond))
		// Once published long enough, the new key signs, on A; B verifies without a poll.
		c.clock.Advance(2*session.MaxSyncInterval + time.Second)
		ca := c.a.client(t)
		at := ca.signIn().body["accessToken"].(string)
		if kid := kidOf(t, at); kid == oldKid {
			t.Fatalf("A still signs with the old key %s", kid)
		}
		if me := ca.on(c.b).do("GET", "/api/me", nil, bearer(at)); me.status != 200 {
			t.Fatalf("B, a token of A's new key: %d %s", me.status, me.raw)
		}
	})
}

func TestConcurrentSignInAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ca := c.a.client(t)
		msg := ca.challenge()
		raceSignIns(t, []*server{c.a, c.b}, 200, msg, ca.sign(msg))
	})
}

func TestStoreDownFailsClosed(t *testing.T) {
	for _, b := range backends {
		for _, down := range b.services {
			t.Run(b.name+"/"+down+"_down", func(t *testing.T) {
				pg := testutil.PostgresURL()
				rd := testutil.RedisURL()
				var proxy *testutil.Proxy
				if down == "postgres" {
					servicetest.PostgresSchema(t) // skips or fails when the server is unreachable
					proxy = testutil.NewProxy(t, servicetest.Host(t, pg))
					pg = servicetest.Via(t, pg, proxy.Addr())
				} else {
					servicetest.RedisPrefix(t)
					proxy = testutil.NewProxy(t, servicetest.Host(t, rd))
					rd = servicetest.Via(t, rd, proxy.Addr())
				}
				c := newCluster(t, b.open(t, pg, rd))
				ca := c.a.client(t)
				at := ca.signIn().body["accessToken"].(string)
				var msgs [2]string // one signed message for each instance, issued while the store is up
				for i := range msgs {
					msgs[i] = ca.challenge()
				}

				proxy.Cut()
				for i, s := range []*server{c.a, c.b} {
					r := ca.on(s).do("POST", "/auth/verify", map[string]any{"message": msgs[i], "signature": ca.sign(msgs[i])}, nil)
					if r.status != 503 || r.errCode() != "unavailable" || r.header.Get("Retry-After") == "" {
						t.Fatalf("sign-in with %s down: %d %s; want 503 unavailable with Retry-After", down, r.status, r.raw)
					}
				}
				if down == "redis" || b.name == "postgres" {
					// The store of nonces is down.
					if r := ca.do("POST", "/auth/nonce", map[string]any{"address": ca.addr().Hex(), "chainId": 1}, nil); r.status != 503 {
						t.Fatalf("nonce with %s down: %d %s", down, r.status, r.raw)
					}
				}
				// Access tokens verify without the store.
				if me := ca.on(c.b).do("GET", "/api/me", nil, bearer(at)); me.status != 200 {
					t.Fatalf("an access token with %s down: %d %s", down, me.status, me.raw)
				}

				proxy.Restore()
				// Back up: a new sign-in works (the pools reconnect; a first call may still meet a
				// dropped connection, and must then fail closed as well).
				eventually(t, 5*time.Second, "sign-in after the store is back", func() bool {
					cn := c.b.client(t)
					r := cn.do("POST", "/auth/nonce", map[string]any{"address": cn.addr().Hex(), "chainId": 1}, nil)
					if r.status != 200 {
						if r.status != 503 {
							t.Fatalf("nonce after restore: %d %s", r.status, r.raw)
						}
						return false
					}
					m := r.body["message"].(string)
					v := cn.do("POST", "/auth/verify", map[string]any{"message": m, "signature": cn.sign(m)}, nil)
					if v.status != 200 && v.status != 503 {
						t.Fatalf("verify after restore: %d %s", v.status, v.raw)
					}
					return v.status == 200
				})
			})
		}
	}
}
