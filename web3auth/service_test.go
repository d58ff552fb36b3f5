package web3auth_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
	"github.com/walletauth/walletauth/web3auth"
)

func newClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC))
}

type fixture struct {
	svc    *web3auth.Service
	clock  *testutil.Clock
	nonces *memstore.Store
	key    *ecdsa.PrivateKey
	addr   common.Address
}

func newFixture(t *testing.T, mod func(*web3auth.Config)) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(), nonces: memstore.New()}
	t.Cleanup(func() { f.nonces.Close() })
	f.key, f.addr = newKey(t)
	cfg := web3auth.Config{
		Origin:    "https://example.com",
		ChainIDs:  []uint64{1, 8453},
		Nonces:    f.nonces,
		Statement: "Sign in to Example",
		Clock:     f.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := web3auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// challenge asks for a message for the fixture's key and signs it.
func (f *fixture) challenge(t *testing.T, chainID uint64) (text, sig string) {
	t.Helper()
	c, err := f.svc.Challenge(context.Background(), web3auth.ChallengeRequest{Address: f.addr, ChainID: chainID})
	if err != nil {
		t.Fatal(err)
	}
	text = c.Message.String()
	return text, "0x" + hex.EncodeToString(personalSign(t, f.key, text))
}

func (f *fixture) sign(t *testing.T, text string) string {
	return "0x" + hex.EncodeToString(personalSign(t, f.key, text))
}

func TestServiceSignIn(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	text, sig := f.challenge(t, 0)

	m, err := web3auth.ParseMessage(text)
	if err != nil {
		t.Fatalf("challenge message does not parse: %v\n%s", err, text)
	}
	now := f.clock.Now()
	if m.Domain != "example.com" || m.Scheme != "" || m.URI != "https://example.com" || m.ChainID != 1 ||
		m.Statement != "Sign in to Example" || m.Address != f.addr || !m.IssuedAt.Time().Equal(now) ||
		!m.ExpirationTime.Time().Equal(now.Add(web3auth.DefaultNonceLifetime)) {
		t.Errorf("challenge message:\n%s", text)
	}

	f.clock.Advance(30 * time.Second)
	acct, err := f.svc.Verify(ctx, text, sig)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Address != f.addr || acct.AddressHex != f.addr.Hex() || acct.ChainID != 1 || acct.Message.Nonce != m.Nonce {
		t.Errorf("account %+v", acct)
	}
	// Replay: the nonce is used up.
	if _, err := f.svc.Verify(ctx, text, sig); !errors.Is(err, web3auth.ErrNonceInvalid) {
		t.Errorf("replay: %v, want ErrNonceInvalid", err)
	}
	if _, err := f.nonces.GetNonce(ctx, m.Nonce, f.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("nonce still stored: %v", err)
	}
}

func TestServiceNonceOnly(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	c, err := f.svc.Challenge(ctx, web3auth.ChallengeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Message != nil || len(c.Nonce) < 22 || strings.Trim(c.Nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		t.Errorf("challenge %+v", c)
	}
	if !c.ExpiresAt.Equal(f.clock.Now().Add(web3auth.DefaultNonceLifetime)) {
		t.Errorf("ExpiresAt %v", c.ExpiresAt)
	}
	// The client builds the message itself (as the siwe libraries do) around the nonce, on any
	// allowed chain.
	m := &web3auth.Message{Domain: "example.com", Address: f.addr, URI: "https://example.com/login", Version: "1",
		ChainID: 8453, Nonce: c.Nonce, IssuedAt: web3auth.NewTimestamp(f.clock.Now())}
	text := m.String()
	if _, err := f.svc.Verify(ctx, text, f.sign(t, text)); err != nil {
		t.Fatal(err)
	}
	// Two challenges never share a nonce.
	c2, _ := f.svc.Challenge(ctx, web3auth.ChallengeRequest{})
	if c2.Nonce == c.Nonce {
		t.Error("nonce repeated")
	}
}

func TestServiceRejects(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	otherKey, otherAddr := newKey(t)

	// msg builds a client-side message around a fresh unbound nonce, then lets mod change it.
	msg := func(mod func(m *web3auth.Message)) *web3auth.Message {
		c, err := f.svc.Challenge(ctx, web3auth.ChallengeRequest{})
		if err != nil {
			t.Fatal(err)
		}
		m := &web3auth.Message{Domain: "example.com", Address: f.addr, URI: "https://example.com/", Version: "1",
			ChainID: 1, Nonce: c.Nonce, IssuedAt: web3auth.NewTimestamp(f.clock.Now())}
		if mod != nil {
			mod(m)
		}
		return m
	}
	ts := func(d time.Duration) web3auth.Timestamp { return web3auth.NewTimestamp(f.clock.Now().Add(d)) }
	bound, err := f.svc.Challenge(ctx, web3auth.ChallengeRequest{Address: f.addr, ChainID: 8453})
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		m    *web3auth.Message
		key  *ecdsa.PrivateKey
		want error
	}{
		{"other domain", msg(func(m *web3auth.Message) { m.Domain = "evil.example" }), nil, web3auth.ErrDomainMismatch},
		{"domain with port", msg(func(m *web3auth.Message) { m.Domain = "example.com:8443" }), nil, web3auth.ErrDomainMismatch},
		{"domain with userinfo", msg(func(m *web3auth.Message) { m.Domain = "me@example.com" }), nil, web3auth.ErrDomainMismatch},
		{"subdomain", msg(func(m *web3auth.Message) { m.Domain = "www.example.com" }), nil, web3auth.ErrDomainMismatch},
		{"http scheme on https origin", msg(func(m *web3auth.Message) { m.Scheme = "http" }), nil, web3auth.ErrSchemeMismatch},
		{"uri other host", msg(func(m *web3auth.Message) { m.URI = "https://evil.example/login" }), nil, web3auth.ErrURIMismatch},
		{"uri other scheme", msg(func(m *web3auth.Message) { m.URI = "http://example.com/login" }), nil, web3auth.ErrURIMismatch},
		{"uri other port", msg(func(m *web3auth.Message) { m.URI = "https://example.com:8443/login" }), nil, web3auth.ErrURIMismatch},
		{"uri userinfo", msg(func(m *web3auth.Message) { m.URI = "https://example.com@evil.example/" }), nil, web3auth.ErrURIMismatch},
		{"uri urn", msg(func(m *web3auth.Message) { m.URI = "urn:example:com" }), nil, web3auth.ErrURIMismatch},
		{"chain not allowed", msg(func(m *web3auth.Message) { m.ChainID = 137 }), nil, web3auth.ErrChainNotAllowed},
		{"unknown nonce", msg(func(m *web3auth.Message) { m.Nonce = "NeverIssued12345" }), nil, web3auth.ErrNonceInvalid},
		{"expired", msg(func(m *web3auth.Message) { m.ExpirationTime = ts(0) }), nil, web3auth.ErrExpired},
		{"not yet valid", msg(func(m *web3auth.Message) { m.NotBefore = ts(time.Second) }), nil, web3auth.ErrNotYetValid},
		{"issued in the future", msg(func(m *web3auth.Message) { m.IssuedAt = ts(web3auth.DefaultClockSkew + time.Second) }), nil, web3auth.ErrIssuedInFuture},
		{"issued too long ago", msg(func(m *web3auth.Message) {
			m.IssuedAt = ts(-web3auth.DefaultNonceLifetime - web3auth.DefaultClockSkew - time.Second)
		}), nil, web3auth.ErrIssuedTooLongAgo},
		{"issued before its nonce", msg(func(m *web3auth.Message) { m.IssuedAt = ts(-web3auth.DefaultClockSkew - time.Second) }), nil, web3auth.ErrIssuedTooLongAgo},
		{"signed by another key", msg(nil), otherKey, web3auth.ErrSignatureMismatch},
		{"another address signs its own message with a nonce bound to us", msg(func(m *web3auth.Message) {
			m.Address, m.ChainID, m.Nonce = otherAddr, 8453, bound.Nonce
		}), otherKey, web3auth.ErrNonceInvalid},
		{"bound nonce on another chain", msg(func(m *web3auth.Message) { m.ChainID, m.Nonce = 1, bound.Nonce }), nil, web3auth.ErrNonceInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := c.key
			if key == nil {
				key = f.key
			}
			text := c.m.String()
			_, err := f.svc.Verify(ctx, text, "0x"+hex.EncodeToString(personalSign(t, key, text)))
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v\n%s", err, c.want, text)
			}
		})
	}
	// The bound nonce survived all of that and still works for its owner.
	text := bound.Message.String()
	if _, err := f.svc.Verify(ctx, text, f.sign(t, text)); err != nil {
		t.Errorf("bound nonce after attacks: %v", err)
	}

	// Malformed input.
	text, sig := f.challenge(t, 0)
	for name, in := range map[string][2]string{
		"not a message":  {"hello", sig},
		"empty":          {"", sig},
		"bad hex":        {text, "0xzz"},
		"no 0x":          {text, sig[2:]},
		"short":          {text, sig[:100]},
		"high v":         {text, sig[:130] + "1d"},
		"trailing space": {text + " ", sig},
	} {
		_, err := f.svc.Verify(ctx, in[0], in[1])
		if !errors.Is(err, web3auth.ErrInvalidMessage) && !errors.Is(err, web3auth.ErrInvalidSignatureFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := f.svc.Verify(ctx, text, sig); err != nil {
		t.Errorf("after malformed attempts: %v", err)
	}
}

func TestServiceExpiredNonce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	c, err := f.svc.Challenge(ctx, web3auth.ChallengeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(web3auth.DefaultNonceLifetime)
	// A message made just now, at the nonce's expiry: the nonce is gone.
	m := &web3auth.Message{Domain: "example.com", Address: f.addr, URI: "https://example.com/", Version: "1",
		ChainID: 1, Nonce: c.Nonce, IssuedAt: web3auth.NewTimestamp(f.clock.Now())}
	text := m.String()
	if _, err := f.svc.Verify(ctx, text, f.sign(t, text)); !errors.Is(err, web3auth.ErrNonceInvalid) {
		t.Fatalf("expired nonce: %v", err)
	}
	// The server-built message carries the nonce's expiry as its Expiration Time.
	text, sig := f.challenge(t, 0)
	f.clock.Advance(web3auth.DefaultNonceLifetime)
	if _, err := f.svc.Verify(ctx, text, sig); !errors.Is(err, web3auth.ErrExpired) {
		t.Fatalf("expired message: %v", err)
	}
}

// A failed attempt does not burn the nonce; MaxAttempts failures do.
func TestServiceAttempts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *web3auth.Config) { c.MaxAttempts = 3 })
	otherKey, _ := newKey(t)
	text, sig := f.challenge(t, 0)
	bad := "0x" + hex.EncodeToString(personalSign(t, otherKey, text))

	for range 2 {
		if _, err := f.svc.Verify(ctx, text, bad); !errors.Is(err, web3auth.ErrSignatureMismatch) {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Verify(ctx, text, sig); err != nil {
		t.Fatalf("after 2 of 3 failures: %v", err)
	}

	text, sig = f.challenge(t, 0)
	for range 3 {
		if _, err := f.svc.Verify(ctx, text, bad); !errors.Is(err, web3auth.ErrSignatureMismatch) {
			t.Fatal(err)
		}
	}
	m, _ := web3auth.ParseMessage(text)
	if _, err := f.nonces.GetNonce(ctx, m.Nonce, f.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("nonce not deleted after its last attempt: %v", err)
	}
	if _, err := f.svc.Verify(ctx, text, sig); !errors.Is(err, web3auth.ErrNonceInvalid) {
		t.Fatalf("after 3 of 3 failures: %v, want ErrNonceInvalid", err)
	}
}

func TestServiceConcurrentSubmissions(t *testing.T) {
	f := newFixture(t, nil)
	text, sig := f.challenge(t, 0)
	var wins, nonceErrs, other atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			_, err := f.svc.Verify(context.Background(), text, sig)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, web3auth.ErrNonceInvalid):
				nonceErrs.Add(1)
			default:
				other.Add(1)
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || nonceErrs.Load() != 63 {
		t.Fatalf("wins %d, nonce errors %d, other %d", wins.Load(), nonceErrs.Load(), other.Load())
	}
}

func TestServiceLocalDevelopmentOrigin(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *web3auth.Config) { c.Origin = "http://localhost:8080" })
	text, sig := f.challenge(t, 0)
	if !strings.HasPrefix(text, "http://localhost:8080 wants") {
		t.Errorf("message:\n%s", text)
	}
	if _, err := f.svc.Verify(ctx, text, sig); err != nil {
		t.Fatal(err)
	}
	// Without a scheme (as many clients write it) it is accepted on plain-http loopback only.
	c, _ := f.svc.Challenge(ctx, web3auth.ChallengeRequest{})
	m := &web3auth.Message{Domain: "localhost:8080", Address: f.addr, URI: "http://localhost:8080/", Version: "1",
		ChainID: 1, Nonce: c.Nonce, IssuedAt: web3auth.NewTimestamp(f.clock.Now())}
	if _, err := f.svc.Verify(ctx, m.String(), f.sign(t, m.String())); err != nil {
		t.Fatalf("scheme-less message on localhost: %v", err)
	}
	// A plain-http origin that is not loopback needs the scheme written out.
	g := newFixture(t, func(c *web3auth.Config) { c.Origin = "http://intranet.example" })
	c, _ = g.svc.Challenge(ctx, web3auth.ChallengeRequest{})
	m = &web3auth.Message{Domain: "intranet.example", Address: g.addr, URI: "http://intranet.example/", Version: "1",
		ChainID: 1, Nonce: c.Nonce, IssuedAt: web3auth.NewTimestamp(g.clock.Now())}
	if _, err := g.svc.Verify(ctx, m.String(), g.sign(t, m.String())); !errors.Is(err, web3auth.ErrSchemeMismatch) {
		t.Fatalf("scheme-less message on plain http: %v", err)
	}
}

// failingStore fails every call after its switch is thrown.
type failingStore struct {
	*memstore.Store
	fail atomic.Bool
}

var errDown = errors.New("store down")

func (s *failingStore) GetNonce(ctx context.Context, v string, now time.Time) (store.Nonce, error) {
	if s.fail.Load() {
		return store.Nonce{}, errDown
	}
	return s.Store.GetNonce(ctx, v, now)
}

func (s *failingStore) ConsumeNonce(ctx context.Context, v string, now time.Time) (store.Nonce, error) {
	if s.fail.Load() {
		return store.Nonce{}, errDown
	}
	return s.Store.ConsumeNonce(ctx, v, now)
}

func (s *failingStore) CreateNonce(ctx context.Context, n store.Nonce, now time.Time) error {
	if s.fail.Load() {
		return errDown
	}
	return s.Store.CreateNonce(ctx, n, now)
}

// A store that fails makes the sign-in fail, with an error that is none of the validation
// sentinels (the HTTP layer answers it with a 5xx), and leaves the nonce usable.
func TestServiceFailsClosed(t *testing.T) {
	ctx := context.Background()
	fs := &failingStore{Store: memstore.New()}
	f := newFixture(t, func(c *web3auth.Config) { c.Nonces = fs })
	text, sig := f.challenge(t, 0)
	fs.fail.Store(true)
	if _, err := f.svc.Verify(ctx, text, sig); !errors.Is(err, errDown) || errors.Is(err, web3auth.ErrNonceInvalid) {
		t.Fatalf("Verify with store down: %v", err)
	}
	if _, err := f.svc.Challenge(ctx, web3auth.ChallengeRequest{}); !errors.Is(err, errDown) {
		t.Fatalf("Challenge with store down: %v", err)
	}
	fs.fail.Store(false)
	if _, err := f.svc.Verify(ctx, text, sig); err != nil {
		t.Fatalf("after recovery: %v", err)
	}

	// A verifier that cannot decide (an RPC failure) fails the sign-in and does not count
	// against the nonce.
	rpcDown := errors.New("rpc down")
	g := newFixture(t, func(c *web3auth.Config) {
		c.Verifier = web3auth.VerifierFunc(func(context.Context, web3auth.VerifyRequest) error { return rpcDown })
		c.MaxAttempts = 1
	})
	text, sig = g.challenge(t, 0)
	for range 3 {
		if _, err := g.svc.Verify(ctx, text, sig); !errors.Is(err, rpcDown) {
			t.Fatalf("verifier down: %v", err)
		}
	}
	m, _ := web3auth.ParseMessage(text)
	if n, err := g.nonces.GetNonce(ctx, m.Nonce, g.clock.Now()); err != nil || n.Failures != 0 {
		t.Fatalf("nonce after verifier failures: %+v %v", n, err)
	}
}

func TestServiceConfig(t *testing.T) {
	ns := memstore.New()
	defer ns.Close()
	good := web3auth.Config{Origin: "https://example.com", ChainIDs: []uint64{1}, Nonces: ns}
	cases := map[string]func(c *web3auth.Config){
		"no origin":         func(c *web3auth.Config) { c.Origin = "" },
		"origin with path":  func(c *web3auth.Config) { c.Origin = "https://example.com/app" },
		"origin not http":   func(c *web3auth.Config) { c.Origin = "ftp://example.com" },
		"origin bad port":   func(c *web3auth.Config) { c.Origin = "https://example.com:99999" },
		"no chains":         func(c *web3auth.Config) { c.ChainIDs = nil },
		"chain 0":           func(c *web3auth.Config) { c.ChainIDs = []uint64{0} },
		"no store":          func(c *web3auth.Config) { c.Nonces = nil },
		"uri off origin":    func(c *web3auth.Config) { c.URI = "https://evil.example/" },
		"bad statement":     func(c *web3auth.Config) { c.Statement = "line\nbreak" },
		"negative lifetime": func(c *web3auth.Config) { c.NonceLifetime = -time.Second },
		"bad uri origin":    func(c *web3auth.Config) { c.URIOrigins = []string{"nope"} },
		"negative attempts": func(c *web3auth.Config) { c.MaxAttempts = -1 },
	}
	for name, mod := range cases {
		c := good
		mod(&c)
		if s, err := web3auth.New(c); err == nil || s != nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if _, err := web3auth.New(good); err != nil {
		t.Fatal(err)
	}
	s, err := web3auth.New(web3auth.Config{Origin: "https://example.com:443/", ChainIDs: []uint64{1}, Nonces: ns})
	if err != nil || s.Origin().Domain() != "example.com" {
		t.Errorf("default port: %v", err)
	}
	if _, err := s.Challenge(context.Background(), web3auth.ChallengeRequest{ChainID: 137}); !errors.Is(err, web3auth.ErrChainNotAllowed) {
		t.Errorf("challenge for a chain not allowed: %v", err)
	}
}

// Validate refuses to run without what it must check against.
func TestValidateNeedsExpectations(t *testing.T) {
	m, err := web3auth.ParseMessage(full)
	if err != nil {
		t.Fatal(err)
	}
	origin, _ := web3auth.ParseOrigin("https://example.com:8443")
	now := m.IssuedAt.Time()
	good := web3auth.Expectations{Origin: origin, Nonce: m.Nonce, ChainIDs: []uint64{8453}, Now: now}
	if err := web3auth.Validate(m, good); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(e *web3auth.Expectations){
		"origin": func(e *web3auth.Expectations) { e.Origin = web3auth.Origin{} },
		"nonce":  func(e *web3auth.Expectations) { e.Nonce = "" },
		"chains": func(e *web3auth.Expectations) { e.ChainIDs = nil },
		"now":    func(e *web3auth.Expectations) { e.Now = time.Time{} },
	} {
		e := good
		mod(&e)
		if err := web3auth.Validate(m, e); !errors.Is(err, web3auth.ErrBadExpectations) {
			t.Errorf("without %s: %v", name, err)
		}
	}
	if err := web3auth.Validate(nil, good); err == nil {
		t.Error("nil message validated")
	}
	// Exactly at the Expiration Time the message is expired; a nanosecond before it is not.
	e := good
	e.Now = m.ExpirationTime.Time()
	if err := web3auth.Validate(m, e); !errors.Is(err, web3auth.ErrExpired) {
		t.Errorf("at expiry: %v", err)
	}
	e.Now = m.ExpirationTime.Time().Add(-time.Nanosecond)
	e.MaxAge = time.Hour
	if err := web3auth.Validate(m, e); err != nil {
		t.Errorf("just before expiry: %v", err)
	}
	// Exactly at Not Before it is valid; a nanosecond before, not yet.
	e = good
	e.Now = m.NotBefore.Time()
	if err := web3auth.Validate(m, e); err != nil {
		t.Errorf("at not-before: %v", err)
	}
	e.Now = e.Now.Add(-time.Nanosecond)
	if err := web3auth.Validate(m, e); !errors.Is(err, web3auth.ErrNotYetValid) {
		t.Errorf("before not-before: %v", err)
	}
	var ve *web3auth.ValidationError
	e = good
	e.Nonce = "SomethingElse1"
	if err := web3auth.Validate(m, e); !errors.As(err, &ve) || !errors.Is(err, web3auth.ErrNonceInvalid) {
		t.Errorf("other nonce: %v", err)
	}
}

// TestURIHostUnicodeFold: a URI whose host only folds to the origin's under Unicode case folding
// (ſ is s, the Kelvin sign is k) names another host, and is refused; ASCII case is still ignored.
func TestURIHostUnicodeFold(t *testing.T) {
	f := newFixture(t, func(c *web3auth.Config) { c.Origin = "https://secure.kiwi.example.com" })
	ctx := context.Background()
	for uri, want := range map[string]error{
		"https://%C5%BFecure.kiwi.example.com/login":    web3auth.ErrURIMismatch, // ſecure
		"https://secure.%E2%84%AAiwi.example.com/login": web3auth.ErrURIMismatch, // Kelvin sign
		"https://SECURE.Kiwi.Example.COM/login":         nil,
	} {
		c, err := f.svc.Challenge(ctx, web3auth.ChallengeRequest{Address: f.addr, ChainID: 1})
		if err != nil {
			t.Fatal(err)
		}
		m := *c.Message
		m.URI = uri
		text := m.String()
		if _, err := f.svc.Verify(ctx, text, f.sign(t, text)); !errors.Is(err, want) {
			t.Errorf("URI %s: Verify = %v, want %v", uri, err, want)
		}
	}
}

// TestNoSkewAcceptsOwnChallenge: with ClockSkew none, a challenge the server built is accepted
// although the clock has a sub-millisecond part (the message states whole milliseconds).
func TestNoSkewAcceptsOwnChallenge(t *testing.T) {
	f := newFixture(t, func(c *web3auth.Config) {
		c.ClockSkew = -1
		c.Clock = func() time.Time { return time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC) }
	})
	text, sig := f.challenge(t, 1)
	if _, err := f.svc.Verify(context.Background(), text, sig); err != nil {
		t.Fatalf("the server's own challenge refused: %v", err)
	}
}
