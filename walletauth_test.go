package walletauth_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/store/memstore"
	"github.com/walletauth/walletauth/web3auth"
)

type server struct {
	*httptest.Server
	mux   *http.ServeMux
	auth  *walletauth.Auth
	clock *testutil.Clock
	store *memstore.Store
	logs  testutil.LogBuffer
}

// newServer starts the handler and a protected /api/me on an httptest server whose URL is the
// configured origin (plain-http loopback: development cookies).
func newServer(t testing.TB, mod func(*walletauth.Config)) *server {
	t.Helper()
	s := &server{clock: testutil.NewClock(time.Now().UTC().Truncate(time.Second)), store: memstore.New()}
	mux := http.NewServeMux()
	s.mux = mux
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	cfg := walletauth.Config{
		Origin:   s.URL,
		Store:    s.store,
		ChainIDs: []uint64{1, 8453},
		Clock:    s.clock.Now,
		Logger:   slog.New(slog.NewTextHandler(&s.logs, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	s.serve(t, cfg)
	return s
}

// serve starts an Auth of cfg on the server: its handler at /auth/ and a protected /api/me that
// answers with the identity.
func (s *server) serve(t testing.TB, cfg walletauth.Config) {
	t.Helper()
	auth, err := walletauth.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	s.auth = auth
	s.mux.Handle("/auth/", auth.Handler())
	s.mux.Handle("/api/me", auth.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := walletauth.FromContext(r.Context())
		if !ok {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"userId": id.UserID, "address": id.Address, "chainId": id.ChainID, "aal": id.AAL})
	})))
}

// client is a browser-like client: a cookie jar and same-origin requests.
type client struct {
	t   testing.TB
	s   *server
	c   *http.Client
	key *ecdsa.PrivateKey
}

func (s *server) client(t testing.TB) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, s: s, c: &http.Client{Jar: jar}, key: key}
}

func (c *client) addr() common.Address { return crypto.PubkeyToAddress(c.key.PublicKey) }

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r *response) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// do sends a request; body may be a string (sent as is) or a value (sent as JSON).
func (c *client) do(method, path string, body any, hdr map[string]string) *response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.s.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			c.t.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return r
}

func (c *client) sign(msg string) string {
	sig, err := crypto.Sign(accounts.TextHash([]byte(msg)), c.key)
	if err != nil {
		c.t.Fatal(err)
	}
	sig[64] += 27
	return "0x" + hex.EncodeToString(sig)
}

// challenge asks for a message for the client's wallet.
func (c *client) challenge() string {
	c.t.Helper()
	r := c.do("POST", "/auth/nonce", map[string]any{"address": c.addr().Hex(), "chainId": 1}, nil)
	if r.status != 200 {
		c.t.Fatalf("nonce: %d %s", r.status, r.raw)
	}
	return r.body["message"].(string)
}

func (c *client) signIn() *response {
	c.t.Helper()
	msg := c.challenge()
	r := c.do("POST", "/auth/verify", map[string]any{"message": msg, "signature": c.sign(msg)}, nil)
	if r.status != 200 || r.body["status"] != "complete" {
		c.t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	return r
}

func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.s.URL + "/auth/")
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func TestSignInFlow(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)

	// nonce → sign → verify
	r := c.signIn()
	at := r.body["accessToken"].(string)
	user := r.body["user"].(map[string]any)
	wallets := user["wallets"].([]any)
	if len(wallets) != 1 || wallets[0].(map[string]any)["address"] != c.addr().Hex() || !strings.HasPrefix(user["id"].(string), "usr_") {
		t.Errorf("user %v", user)
	}
	if _, err := time.Parse(time.RFC3339, r.body["expiresAt"].(string)); err != nil {
		t.Errorf("expiresAt: %v", err)
	}
	if _, ok := r.body["refreshToken"]; ok {
		t.Error("refresh token in the body without opting in")
	}
	// Cookies: HttpOnly, SameSite=Lax; development names on plain-http loopback.
	var sawAccess, sawRefresh bool
	for _, sc := range r.header.Values("Set-Cookie") {
		if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
			t.Errorf("cookie %q", sc)
		}
		sawAccess = sawAccess || strings.HasPrefix(sc, "walletauth-access=") && strings.Contains(sc, "Path=/;")
		sawRefresh = sawRefresh || strings.HasPrefix(sc, "walletauth-refresh=") && strings.Contains(sc, "Path=/auth;")
	}
	if !sawAccess || !sawRefresh {
		t.Errorf("cookies %q", r.header.Values("Set-Cookie"))
	}

	// /api/me with the cookie, and with the bearer token alone.
	me := c.do("GET", "/api/me", nil, nil)
	if me.status != 200 || me.body["address"] != c.addr().Hex() || me.body["aal"] != "aal1" || me.body["chainId"] != float64(1) {
		t.Fatalf("/api/me: %d %s", me.status, me.raw)
	}
	bare := s.client(t)
	if r := bare.do("GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + at}); r.status != 200 {
		t.Fatalf("/api/me with bearer: %d %s", r.status, r.raw)
	}
	if r := bare.do("GET", "/api/me?access_token="+at, nil, nil); r.status != 401 || r.errCode() != "unauthenticated" {
		t.Errorf("token in the query string: %d %s", r.status, r.raw)
	}
	if r := c.do("GET", "/auth/session", nil, nil); r.status != 200 || r.body["user"].(map[string]any)["id"] != user["id"] {
		t.Errorf("/auth/session: %d %s", r.status, r.raw)
	}

	// refresh: a new access token and a rotated refresh cookie.
	oldRefresh := c.cookie("walletauth-refresh").Value
	s.clock.Advance(30 * time.Second)
	r = c.do("POST", "/auth/refresh", nil, nil)
	if r.status != 200 || r.body["accessToken"] == at || r.body["accessToken"] == "" {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	newAccess := r.body["accessToken"].(string)
	if c.cookie("walletauth-refresh").Value == oldRefresh {
		t.Error("refresh cookie not rotated")
	}

	// logout: the old access token is refused at once, and the refresh token too.
	refreshNow := c.cookie("walletauth-refresh").Value
	if r := c.do("POST", "/auth/logout", nil, nil); r.status != 204 {
		t.Fatalf("logout: %d", r.status)
	}
	for _, tok := range []string{at, newAccess} {
		if r := bare.do("GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + tok}); r.status != 401 || r.errCode() != "session_revoked" {
			t.Errorf("access token after logout: %d %s", r.status, r.raw)
		}
	}
	if r := bare.do("POST", "/auth/refresh", map[string]string{"refreshToken": refreshNow}, nil); r.status != 401 {
		t.Errorf("refresh token after logout: %d %s", r.status, r.raw)
	}
	if r := c.do("GET", "/api/me", nil, nil); r.status != 401 {
		t.Errorf("cookies after logout: %d", r.status)
	}
	// logout always answers 204.
	if r := bare.do("POST", "/auth/logout", nil, nil); r.status != 204 {
		t.Errorf("logout without a session: %d", r.status)
	}

	// The security events are logged, and no token is.
	logs := s.logs.String()
	for _, event := range []string{"event=sign_in ", "event=user_created"} {
		if !strings.Contains(logs, event) {
			t.Errorf("log lacks %s:\n%s", event, logs)
		}
	}
	for _, secret := range []string{at, newAccess, oldRefresh, refreshNow, strings.Split(oldRefresh, ".")[1], strings.Split(at, ".")[2]} {
		if strings.Contains(logs, secret) {
			t.Errorf("a token is in the log:\n%s", logs)
		}
	}
}

func TestRefreshReuseRevokesSession(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	at := c.signIn().body["accessToken"].(string)
	stolen := c.cookie("walletauth-refresh").Value
	if r := c.do("POST", "/auth/refresh", nil, nil); r.status != 200 {
		t.Fatal(r.status)
	}
	s.clock.Advance(time.Minute) // past the grace for two tabs
	thief := s.client(t)
	if r := thief.do("POST", "/auth/refresh", map[string]string{"refreshToken": stolen}, nil); r.status != 401 || r.errCode() != "session_revoked" {
		t.Fatalf("reused refresh token: %d %s", r.status, r.raw)
	}
	// The whole session is gone: the rightful owner's current refresh token and access tokens.
	if r := c.do("POST", "/auth/refresh", nil, nil); r.status != 401 {
		t.Errorf("owner's refresh after reuse: %d %s", r.status, r.raw)
	}
	s.clock.Advance(-time.Minute + time.Second)
	if r := thief.do("GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + at}); r.status != 401 {
		t.Errorf("access token after reuse: %d %s", r.status, r.raw)
	}
}

func TestRefreshTokenInBody(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	msg := c.challenge()
	r := c.do("POST", "/auth/verify", map[string]any{"message": msg, "signature": c.sign(msg), "refreshTokenInBody": true}, nil)
	rt, ok := r.body["refreshToken"].(string)
	if r.status != 200 || !ok || rt == "" || c.cookie("walletauth-refresh") != nil {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	r = s.client(t).do("POST", "/auth/refresh", map[string]string{"refreshToken": rt}, nil)
	rt2, _ := r.body["refreshToken"].(string)
	if r.status != 200 || rt2 == "" || rt2 == rt {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	if r := s.client(t).do("POST", "/auth/logout", map[string]string{"refreshToken": rt2}, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	if r := s.client(t).do("POST", "/auth/refresh", map[string]string{"refreshToken": rt2}, nil); r.status != 401 {
		t.Errorf("refresh after logout: %d", r.status)
	}
}

func TestSignInRejects(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	other := s.client(t)
	origin, _ := url.Parse(s.URL)

	// A replayed message.
	msg := c.challenge()
	sig := c.sign(msg)
	if r := c.do("POST", "/auth/verify", map[string]any{"message": msg, "signature": sig}, nil); r.status != 200 {
		t.Fatal(r.status)
	}
	if r := c.do("POST", "/auth/verify", map[string]any{"message": msg, "signature": sig}, nil); r.status != 401 || r.errCode() != "nonce_invalid" {
		t.Errorf("replay: %d %s", r.status, r.raw)
	}

	// Messages the client builds around a fresh nonce, altered.
	build := func(mod func(m *web3auth.Message)) string {
		r := c.do("POST", "/auth/nonce", nil, nil)
		m := &web3auth.Message{Scheme: "http", Domain: origin.Host, Address: c.addr(), URI: s.URL + "/", Version: "1",
			ChainID: 1, Nonce: r.body["nonce"].(string), IssuedAt: web3auth.NewTimestamp(s.clock.Now())}
		if mod != nil {
			mod(m)
		}
		return m.String()
	}
	for name, tc := range map[string]struct {
		msg, sig string
		status   int
		code     string
	}{
		"other domain":      {msg: build(func(m *web3auth.Message) { m.Domain = "evil.example" }), status: 401, code: "domain_mismatch"},
		"other uri":         {msg: build(func(m *web3auth.Message) { m.URI = "https://evil.example/" }), status: 401, code: "uri_mismatch"},
		"other chain":       {msg: build(func(m *web3auth.Message) { m.ChainID = 137 }), status: 401, code: "chain_not_allowed"},
		"expired":           {msg: build(func(m *web3auth.Message) { m.ExpirationTime = web3auth.NewTimestamp(s.clock.Now()) }), status: 401, code: "message_expired"},
		"not yet valid":     {msg: build(func(m *web3auth.Message) { m.NotBefore = web3auth.NewTimestamp(s.clock.Now().Add(time.Hour)) }), status: 401, code: "message_not_yet_valid"},
		"not a message":     {msg: "hello", status: 400, code: "invalid_message"},
		"bad signature hex": {msg: build(nil), sig: "0xnothex", status: 400, code: "invalid_signature_format"},
		"short signature":   {msg: build(nil), sig: "0x1234", status: 400, code: "invalid_signature_format"},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.sig == "" {
				tc.sig = c.sign(tc.msg)
			}
			r := c.do("POST", "/auth/verify", map[string]any{"message": tc.msg, "signature": tc.sig}, nil)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
			if msg, _ := r.body["error"].(map[string]any)["message"].(string); msg == "" {
				t.Error("no message")
			}
		})
	}
	// Signed by another key.
	m := build(nil)
	if r := c.do("POST", "/auth/verify", map[string]any{"message": m, "signature": other.sign(m)}, nil); r.status != 401 || r.errCode() != "signature_mismatch" {
		t.Errorf("another key: %d %s", r.status, r.raw)
	}
	// A nonce issued to another address.
	msgForOther := other.challenge()
	forged := strings.Replace(msgForOther, other.addr().Hex(), c.addr().Hex(), 1)
	if r := c.do("POST", "/auth/verify", map[string]any{"message": forged, "signature": c.sign(forged)}, nil); r.status != 401 || r.errCode() != "nonce_invalid" {
		t.Errorf("nonce bound to another address: %d %s", r.status, r.raw)
	}
}

func TestMalformedRequests(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	for name, tc := range map[string]struct {
		method, path string
		body         any
		hdr          map[string]string
		status       int
		code         string
	}{
		"not json":         {"POST", "/auth/verify", "{nope", nil, 400, "invalid_request"},
		"wrong types":      {"POST", "/auth/verify", `{"message":1,"signature":true}`, nil, 400, "invalid_request"},
		"missing fields":   {"POST", "/auth/verify", `{}`, nil, 400, "invalid_request"},
		"empty body":       {"POST", "/auth/verify", nil, nil, 400, "invalid_request"},
		"two values":       {"POST", "/auth/verify", `{"message":"a","signature":"b"} {}`, nil, 400, "invalid_request"},
		"array":            {"POST", "/auth/nonce", `[]`, nil, 400, "invalid_request"},
		"bad address":      {"POST", "/auth/nonce", `{"address":"0x123"}`, nil, 400, "invalid_request"},
		"bad checksum":     {"POST", "/auth/nonce", `{"address":"0xc02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"}`, nil, 400, "invalid_request"},
		"bad chain":        {"POST", "/auth/nonce", `{"chainId":"one"}`, nil, 400, "invalid_request"},
		"negative chain":   {"POST", "/auth/nonce", `{"chainId":-1}`, nil, 400, "invalid_request"},
		"fraction chain":   {"POST", "/auth/nonce", `{"chainId":1.5}`, nil, 400, "invalid_request"},
		"chain not ok":     {"POST", "/auth/nonce", `{"chainId":137}`, nil, 401, "chain_not_allowed"},
		"too large":        {"POST", "/auth/verify", `{"message":"` + strings.Repeat("a", walletauth.MaxBodyBytes) + `"}`, nil, 413, "payload_too_large"},
		"form body":        {"POST", "/auth/verify", "message=a", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		"wrong method":     {"GET", "/auth/verify", nil, nil, 405, "method_not_allowed"},
		"put nonce":        {"PUT", "/auth/nonce", nil, nil, 405, "method_not_allowed"},
		"unknown route":    {"GET", "/auth/nope", nil, nil, 404, "not_found"},
		"no session":       {"GET", "/auth/session", nil, nil, 401, "unauthenticated"},
		"basic auth":       {"GET", "/api/me", nil, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 401, "token_invalid"},
		"empty bearer":     {"GET", "/api/me", nil, map[string]string{"Authorization": "Bearer "}, 401, "token_invalid"},
		"garbage bearer":   {"GET", "/api/me", nil, map[string]string{"Authorization": "Bearer a.b.c"}, 401, "token_invalid"},
		"refresh no token": {"POST", "/auth/refresh", nil, nil, 401, "unauthenticated"},
		"refresh garbage":  {"POST", "/auth/refresh", `{"refreshToken":"x.y"}`, nil, 401, "token_invalid"},
		"refresh bad type": {"POST", "/auth/refresh", `{"refreshToken":5}`, nil, 400, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			r := c.do(tc.method, tc.path, tc.body, tc.hdr)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
		})
	}
	// chainId as an EIP-1193 hex string.
	c2 := s.client(t)
	r := c2.do("POST", "/auth/nonce", map[string]any{"address": c2.addr().Hex(), "chainId": "0x2105"}, nil)
	if r.status != 200 || !strings.Contains(r.body["message"].(string), "Chain ID: 8453") {
		t.Errorf("hex chain id: %d %s", r.status, r.raw)
	}
}

// A token that is forged, tampered with, expired, unsigned or signed by another key is refused
// on a protected route.
func TestForgedTokens(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	at := c.signIn().body["accessToken"].(string)
	parts := strings.Split(at, ".")
	b64 := base64.RawURLEncoding

	payload, _ := b64.DecodeString(parts[1])
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	claims["sub"] = "usr_someone_else"
	tampered, _ := json.Marshal(claims)

	otherServer := newServer(t, nil)
	foreign := otherServer.client(t).signIn().body["accessToken"].(string)

	cases := map[string]string{
		"tampered payload":  parts[0] + "." + b64.EncodeToString(tampered) + "." + parts[2],
		"alg none":          b64.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + ".",
		"no signature":      parts[0] + "." + parts[1] + ".",
		"flipped signature": parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"other key":         foreign,
		"extra segment":     at + ".e30",
		"two segments":      parts[0] + "." + parts[1],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := s.client(t).do("GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + tok})
			if r.status != 401 || r.errCode() != "token_invalid" {
				t.Fatalf("%d %s", r.status, r.raw)
			}
		})
	}
	// Expired: past exp and the clock skew.
	s.clock.Advance(2 * time.Minute)
	r := s.client(t).do("GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + at})
	if r.status != 401 || r.errCode() != "token_expired" {
		t.Errorf("expired: %d %s", r.status, r.raw)
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// Cross-site requests that a cookie would authenticate are refused; same-origin and non-browser
// requests pass.
func TestCrossOriginProtection(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	c.signIn()
	cross := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	for _, path := range []string{"/auth/logout", "/auth/refresh", "/auth/nonce", "/auth/verify", "/auth/sessions/revoke-others"} {
		if r := c.do("POST", path, "{}", cross); r.status != 403 || r.errCode() != "cross_origin" {
			t.Errorf("cross-site POST %s: %d %s", path, r.status, r.raw)
		}
	}
	if r := c.do("DELETE", "/auth/sessions/x", nil, cross); r.status != 403 {
		t.Errorf("cross-site DELETE: %d", r.status)
	}
	// The session survived the attempts.
	if r := c.do("GET", "/api/me", nil, nil); r.status != 200 {
		t.Fatalf("session after cross-site attempts: %d", r.status)
	}
	same := map[string]string{"Origin": s.URL, "Sec-Fetch-Site": "same-origin"}
	if r := c.do("POST", "/auth/refresh", nil, same); r.status != 200 {
		t.Errorf("same-origin refresh: %d %s", r.status, r.raw)
	}
}

// Many concurrent submissions of one signed message: exactly one signs in.
func TestConcurrentVerify(t *testing.T) {
	s := newServer(t, func(c *walletauth.Config) { c.RateLimit = walletauth.NoRateLimit })
	c := s.client(t)
	msg := c.challenge()
	raceSignIns(t, []*server{s}, 50, msg, c.sign(msg))
}

// raceSignIns submits one signed message n times at once, spread over the servers in turn, from
// clients of their own: exactly one must sign in, and every other get 401 nonce_invalid.
func raceSignIns(t *testing.T, servers []*server, n int, msg, sig string) {
	t.Helper()
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		s := servers[i%len(servers)]
		wg.Go(func() {
			r := s.client(t).do("POST", "/auth/verify", map[string]any{"message": msg, "signature": sig}, nil)
			switch {
			case r.status == 200:
				ok.Add(1)
			case r.status == 401 && r.errCode() == "nonce_invalid":
				refused.Add(1)
			default:
				t.Errorf("%d %s", r.status, r.raw)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != int32(n-1) {
		t.Fatalf("%d sign-ins, %d nonce_invalid; want 1 and %d", ok.Load(), refused.Load(), n-1)
	}
}

func TestRateLimit(t *testing.T) {
	s := newServer(t, func(c *walletauth.Config) { c.RateLimit = 3 })
	c := s.client(t)
	for i := range 3 {
		if r := c.do("POST", "/auth/nonce", nil, nil); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := c.do("POST", "/auth/verify", `{"message":"a","signature":"b"}`, nil)
	if r.status != 429 || r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s %v", r.status, r.raw, r.header)
	}
	s.clock.Advance(time.Minute)
	if r := c.do("POST", "/auth/nonce", nil, nil); r.status != 200 {
		t.Errorf("after the window: %d", r.status)
	}
}

// X-Forwarded-For is believed only from a trusted proxy.
func TestRateLimitTrustedProxy(t *testing.T) {
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	s := newServer(t, func(c *walletauth.Config) { c.RateLimit = 1; c.TrustedProxies = []netip.Prefix{loopback} })
	c := s.client(t)
	for _, ip := range []string{"203.0.113.1", "203.0.113.2", "198.51.100.7, 203.0.113.3"} {
		if r := c.do("POST", "/auth/nonce", nil, map[string]string{"X-Forwarded-For": ip}); r.status != 200 {
			t.Errorf("client %s: %d", ip, r.status)
		}
	}
	if r := c.do("POST", "/auth/nonce", nil, map[string]string{"X-Forwarded-For": "203.0.113.1"}); r.status != 429 {
		t.Errorf("same client again: %d", r.status)
	}
	// Without trust, the header is ignored: every request is the peer's.
	u := newServer(t, func(c *walletauth.Config) { c.RateLimit = 1 })
	uc := u.client(t)
	uc.do("POST", "/auth/nonce", nil, map[string]string{"X-Forwarded-For": "203.0.113.1"})
	if r := uc.do("POST", "/auth/nonce", nil, map[string]string{"X-Forwarded-For": "203.0.113.2"}); r.status != 429 {
		t.Errorf("untrusted X-Forwarded-For believed: %d", r.status)
	}
}

func TestSessionsList(t *testing.T) {
	s := newServer(t, nil)
	phone := s.client(t)
	phone.signIn()
	laptop := s.client(t)
	laptop.key = phone.key // the same wallet on another device
	laptop.signIn()

	r := laptop.do("GET", "/auth/sessions", nil, nil)
	list, _ := r.body["sessions"].([]any)
	if r.status != 200 || len(list) != 2 {
		t.Fatalf("sessions: %d %s", r.status, r.raw)
	}
	var phoneID string
	for _, e := range list {
		m := e.(map[string]any)
		if m["current"] == false {
			phoneID = m["id"].(string)
		}
	}
	// Another user cannot revoke it.
	stranger := s.client(t)
	stranger.signIn()
	if r := stranger.do("DELETE", "/auth/sessions/"+phoneID, nil, nil); r.status != 404 {
		t.Errorf("stranger revoking: %d", r.status)
	}
	if r := phone.do("GET", "/api/me", nil, nil); r.status != 200 {
		t.Fatal("phone signed out by a stranger")
	}
	// Sign out other devices.
	r = laptop.do("POST", "/auth/sessions/revoke-others", nil, nil)
	if r.status != 200 || r.body["revoked"] != float64(1) {
		t.Fatalf("revoke-others: %d %s", r.status, r.raw)
	}
	if r := phone.do("GET", "/api/me", nil, nil); r.status != 401 {
		t.Errorf("phone after revoke-others: %d", r.status)
	}
	if r := laptop.do("GET", "/api/me", nil, nil); r.status != 200 {
		t.Errorf("laptop after revoke-others: %d", r.status)
	}
	if r := laptop.do("DELETE", "/auth/sessions/"+phoneID, nil, nil); r.status != 404 {
		t.Errorf("revoking a revoked session: %d", r.status)
	}
}

func TestClientJSAndJWKS(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	r := c.do("GET", "/auth/client.js", nil, nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") || !bytes.Contains(r.raw, []byte("eip6963")) {
		t.Errorf("client.js: %d %s", r.status, r.header)
	}
	r = c.do("GET", "/auth/jwks.json", nil, nil)
	keys, _ := r.body["keys"].([]any)
	if r.status != 200 || len(keys) == 0 {
		t.Fatalf("jwks: %d %s", r.status, r.raw)
	}
	for _, k := range keys {
		if _, private := k.(map[string]any)["d"]; private {
			t.Error("private key in JWKS")
		}
	}
}

func TestConfig(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()
	for name, cfg := range map[string]walletauth.Config{
		"no store":   {Origin: "https://example.com"},
		"no origin":  {Store: st},
		"bad origin": {Origin: "example.com", Store: st},
		"bad path":   {Origin: "https://example.com", Store: st, BasePath: "/"},
		"bad rate":   {Origin: "https://example.com", Store: st, RateLimit: -5},
		"chain 0":    {Origin: "https://example.com", Store: st, ChainIDs: []uint64{0}},
	} {
		if a, err := walletauth.New(ctx, cfg); err == nil {
			a.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

// On a secure origin the cookies are Secure and carry the __Host-/__Secure- prefixes.
func TestSecureCookies(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	auth, err := walletauth.New(context.Background(), walletauth.Config{Origin: "https://example.com", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	key, _ := crypto.GenerateKey()
	addr := crypto.PubkeyToAddress(key.PublicKey)
	h := auth.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.com/auth/nonce", strings.NewReader(`{"address":"`+addr.Hex()+`"}`)))
	var nr map[string]any
	json.Unmarshal(rec.Body.Bytes(), &nr)
	msg := nr["message"].(string)
	sig, _ := crypto.Sign(accounts.TextHash([]byte(msg)), key)
	body, _ := json.Marshal(map[string]string{"message": msg, "signature": "0x" + hex.EncodeToString(sig)})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.com/auth/verify", bytes.NewReader(body)))
	if rec.Code != 200 {
		t.Fatalf("verify: %d %s", rec.Code, rec.Body)
	}
	cookies := rec.Result().Cookies()
	names := map[string]*http.Cookie{}
	for _, ck := range cookies {
		names[ck.Name] = ck
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: %+v", ck.Name, ck)
		}
	}
	if a := names["__Host-walletauth-access"]; a == nil || a.Path != "/" || a.Domain != "" {
		t.Errorf("access cookie %+v", a)
	}
	if r := names["__Secure-walletauth-refresh"]; r == nil || r.Path != "/auth" {
		t.Errorf("refresh cookie %+v", r)
	}
}
