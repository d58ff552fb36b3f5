package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/pquerna/otp/totp"

	"github.com/walletauth/walletauth/internal/servicetest"
	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/oauthlink"
)

// startDemo runs the whole demo (SQLite in a temporary directory) on an httptest server whose
// URL is the origin. testRoutes may add routes for the test alone, next to the demo's.
func startDemo(t *testing.T, opts options, testRoutes ...func(*http.ServeMux)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	if opts.Origin == "" { // instances behind one load balancer share the origin they are given
		opts.Origin = "http://" + srv.Listener.Addr().String()
	}
	if opts.DB == "" {
		opts.DB = filepath.Join(t.TempDir(), "walletauth.db")
	}
	if opts.Chains == nil {
		opts.Chains = []uint64{1, 10, 137, 8453, 42161, 11155111}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h, closeFn, err := newServer(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(testRoutes) > 0 {
		mux := http.NewServeMux()
		mux.Handle("/", h)
		for _, add := range testRoutes {
			add(mux)
		}
		h = mux
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := closeFn(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return srv
}

// TestDemoChromium drives the demo page in Debian's Chromium with an injected test wallet
// (e2e/demo.mjs): sign in, /api/me, token renewal, restore on reload, sign out, the no-wallet
// and rejected messages, and two-factor authentication (turning TOTP on, recovery codes, the
// second step of a sign-in, step-up, the lockout, turning it off), the profile panel (unsafe
// metadata, an email address verified with the code the development sender logged, a second
// wallet linked and unlinked), and linked accounts through a fake OpenID Connect provider
// (linked, refused to a second user, unlinked). Screenshots land in e2e/out/.
func TestDemoChromium(t *testing.T) {
	node, err := exec.LookPath("node")
	testutil.Need(t, err == nil, "node is not installed")
	for _, pkg := range []string{"playwright-core", "ethers", "otplib"} {
		_, err = os.Stat(filepath.Join("e2e", "node_modules", pkg))
		testutil.Need(t, err == nil, "e2e/node_modules/"+pkg+" is missing (run `npm ci` in examples/server/e2e/)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	_, err = os.Stat(chromium)
	testutil.Need(t, err == nil, chromium+" is missing (apt-get install chromium)")

	// A 3-second access token, so the test sees the page renew it by itself. The log goes to
	// codes, which keeps what the development sender (profile.LogSender) "sends", for the
	// test-only route GET /test/last-code?to=….
	codes := &codeLog{last: map[string]string{}}
	fake := newFakeOIDC(t)
	srv := startDemo(t, options{Rate: 60, AccessTTL: 3 * time.Second, Logger: slog.New(codes), OAuth: []oauthlink.Provider{fake.provider()}}, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /test/last-code", codes.serve)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "demo.mjs"))
	cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL, "CHROMIUM="+chromium)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node e2e/demo.mjs: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
	}
	var summary struct {
		OK                   bool    `json:"ok"`
		Address              string  `json:"address"`
		UserID               string  `json:"userId"`
		TokenLifetimeSeconds float64 `json:"tokenLifetimeSeconds"`
		RenewedAfterMs       float64 `json:"renewedAfterMs"`
		MFA                  struct {
			ConfirmStep   int64   `json:"confirmStep"`
			SignInStep    int64   `json:"signInStep"`
			WaitedMs      float64 `json:"waitedMs"`
			RecoveryCodes int     `json:"recoveryCodes"`
		} `json:"mfa"`
		LockedRetryAfterSeconds int `json:"lockedRetryAfterSeconds"`
		Profile                 struct {
			Email    string `json:"email"`
			Verified bool   `json:"verified"`
			Linked   string `json:"linked"`
			Unlinked bool   `json:"unlinked"`
		} `json:"profile"`
		OAuth struct {
			Linked        string `json:"linked"`
			AlreadyLinked bool   `json:"alreadyLinked"`
			Unlinked      bool   `json:"unlinked"`
		} `json:"oauth"`
	}
	if err := json.Unmarshal(out, &summary); err != nil {
		t.Fatalf("summary is not JSON: %v: %q", err, out)
	}
	if !summary.OK || summary.UserID == "" || summary.Address == "" {
		t.Fatalf("summary %+v", summary)
	}
	if summary.TokenLifetimeSeconds != 3 {
		t.Errorf("access-token lifetime %v s, want the 3 s the test configured", summary.TokenLifetimeSeconds)
	}
	if m := summary.MFA; m.RecoveryCodes != 10 || m.ConfirmStep == 0 || m.SignInStep <= m.ConfirmStep || m.WaitedMs > 31000 {
		t.Errorf("MFA summary %+v", m)
	}
	if s := summary.LockedRetryAfterSeconds; s <= 0 || s > 300 {
		t.Errorf("lockout Retry-After %d s, want 1..300", s)
	}
	if p := summary.Profile; !p.Verified || !p.Unlinked || p.Linked == "" || codes.code(p.Email) == "" {
		t.Errorf("profile summary %+v (code logged for %q: %t)", p, p.Email, codes.code(p.Email) != "")
	}
	if o := summary.OAuth; o.Linked != fakeUsername || !o.AlreadyLinked || !o.Unlinked {
		t.Errorf("OAuth summary %+v", o)
	}
	if n := fake.authorized(); n != 2 {
		t.Errorf("the fake provider authorized %d times, want 2 (a link, and the refused one)", n)
	}
	t.Logf("demo e2e: %s", strings.TrimSpace(string(out)))
}

// fakeUsername and fakeEmail are what the fake provider says of its one account (demo.mjs
// expects them).
const (
	fakeUsername = "ada-e2e"
	fakeEmail    = "ada-e2e@example.com"
)

// fakeOIDC is an OpenID Connect provider with PKCE and one account, as oauth_test.go's: its
// authorize endpoint approves at once and redirects the browser back with a fresh code.
type fakeOIDC struct {
	*httptest.Server
	mu         sync.Mutex
	challenges map[string]string // code → code_challenge, until redeemed
	tokens     map[string]bool   // issued access tokens
	n          int               // authorizations
}

func newFakeOIDC(t *testing.T) *fakeOIDC {
	p := &fakeOIDC{challenges: map[string]string{}, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		back, err := url.Parse(q.Get("redirect_uri"))
		if q.Get("response_type") != "code" || q.Get("client_id") != "demo-client" || err != nil || back.Host == "" ||
			q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
			http.Error(w, "response_type=code, client_id, redirect_uri, state and PKCE (S256) required", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.n++
		code := "code-" + strconv.Itoa(p.n)
		p.challenges[code] = q.Get("code_challenge")
		p.mu.Unlock()
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth() // OIDC's default, client_secret_basic
		if err := r.ParseForm(); err != nil || !ok || id != "demo-client" || secret != "demo-secret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		code := r.PostForm.Get("code")
		p.mu.Lock()
		challenge := p.challenges[code]
		delete(p.challenges, code) // a code is redeemed once
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		good := challenge != "" && base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
		if good {
			p.tokens["at-"+code] = true
		}
		p.mu.Unlock()
		if !good {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"access_token": "at-" + code, "token_type": "Bearer"})
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		ok := p.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		p.mu.Unlock()
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": "fake-e2e-1", "email": fakeEmail, "email_verified": true, "preferred_username": fakeUsername})
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// provider is the demo's view of the fake: oauthlink.OIDC named "fake".
func (p *fakeOIDC) provider() oauthlink.Provider {
	return oauthlink.OIDC("fake", "demo-client", "demo-secret", p.URL+"/authorize", p.URL+"/token", p.URL+"/userinfo")
}

func (p *fakeOIDC) authorized() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// codeLog is a slog.Handler that keeps, per recipient, the last code that the development
// sender (profile.LogSender) logged, and drops everything else.
type codeLog struct {
	mu   sync.Mutex
	last map[string]string // recipient → code
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

func (c *codeLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (c *codeLog) WithAttrs([]slog.Attr) slog.Handler           { return c }
func (c *codeLog) WithGroup(string) slog.Handler                { return c }
func (c *codeLog) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, "profile: development sender") {
		return nil
	}
	var to, text string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "to":
			to = a.Value.String()
		case "text":
			text = a.Value.String()
		}
		return true
	})
	if code := sixDigits.FindString(text); to != "" && code != "" {
		c.mu.Lock()
		c.last[to] = code
		c.mu.Unlock()
	}
	return nil
}

func (c *codeLog) code(to string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last[to]
}

// serve is GET /test/last-code?to=… → {"code"}, 404 when nothing was sent there. Test only:
// the demo itself has no such route.
func (c *codeLog) serve(w http.ResponseWriter, r *http.Request) {
	code := c.code(r.URL.Query().Get("to"))
	if code == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code})
}

// TestDemoRoutes checks the demo's own routes without a browser.
func TestDemoRoutes(t *testing.T) {
	srv := startDemo(t, options{Rate: 0})
	get := func(path string, header http.Header) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	if res, body := get("/healthz", nil); res.StatusCode != 200 || body != "ok" {
		t.Errorf("/healthz: %d %q", res.StatusCode, body)
	}
	res, body := get("/", nil)
	page := body
	if res.StatusCode != 200 || !strings.Contains(body, `src="/auth/client.js"`) || !strings.Contains(body, "Sign in with MetaMask") {
		t.Errorf("/: %d, page without the script or the button:\n%s", res.StatusCode, body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("/: Content-Security-Policy %q", csp)
	}
	for _, p := range []string{"/app.js", "/style.css"} {
		if res, _ := get(p, nil); res.StatusCode != 200 {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
	res, body = get("/auth/client.js", nil)
	if res.StatusCode != 200 || !strings.Contains(body, "window.WalletAuth") || !strings.Contains(res.Header.Get("Content-Type"), "javascript") {
		t.Errorf("/auth/client.js: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, h := range []http.Header{nil, {"Authorization": {"Bearer not.a.token"}}} {
		res, body = get("/api/me", h)
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if res.StatusCode != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code == "" {
			t.Errorf("/api/me with %v: %d %s, want a 401 JSON error", h, res.StatusCode, body)
		}
	}
	if !strings.Contains(page, "-github-client-id") || !strings.Contains(page, "Linked accounts") {
		t.Error("/: no 'Linked accounts' section saying how to configure a provider")
	}
	if res, _ := get("/api/nothing", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("/api/nothing: %d", res.StatusCode)
	}
	if res, _ := get("/api/sensitive", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/sensitive: %d", res.StatusCode)
	}
	c := &demoClient{t: t, srv: srv}
	if code, _ := c.do(http.MethodPost, "/api/sensitive", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("POST /api/sensitive without a token: %d", code)
	}
	if code, _ := c.do(http.MethodPost, "/api/sensitive", nil, nil, http.Header{"Sec-Fetch-Site": {"cross-site"}}); code != http.StatusForbidden {
		t.Errorf("cross-site POST /api/sensitive: %d", code)
	}
}

// demoClient calls the demo as a program would, with the access token in a header.
type demoClient struct {
	t     *testing.T
	srv   *httptest.Server
	token string
}

// do sends a JSON request and decodes a JSON answer into out (when not nil); it returns the status.
func (c *demoClient) do(method, path string, body, out any, header ...http.Header) (int, string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for _, h := range header {
		for k, v := range h {
			req.Header[k] = v
		}
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return res.StatusCode, string(b)
}

// signIn signs in with the key, as examples/signin does, and keeps the access token; for a user
// with a second factor it returns the status "needs_second_factor" and the pending token.
func (c *demoClient) signIn(key []byte) (status string, pendingToken string) {
	c.t.Helper()
	k, err := crypto.ToECDSA(key)
	if err != nil {
		c.t.Fatal(err)
	}
	var ch struct{ Message string }
	if code, body := c.do(http.MethodPost, "/auth/nonce", map[string]any{"address": crypto.PubkeyToAddress(k.PublicKey).Hex()}, &ch); code != 200 {
		c.t.Fatalf("nonce: %d %s", code, body)
	}
	sig, _ := crypto.Sign(accounts.TextHash([]byte(ch.Message)), k)
	sig[64] += 27
	var v struct{ Status, AccessToken, PendingToken string }
	if code, body := c.do(http.MethodPost, "/auth/verify", map[string]any{"message": ch.Message, "signature": "0x" + hex.EncodeToString(sig), "refreshTokenInBody": true}, &v); code != 200 {
		c.t.Fatalf("verify: %d %s", code, body)
	}
	c.token = v.AccessToken
	return v.Status, v.PendingToken
}

// TestDemoMFA checks the demo's MFA wiring without a browser: enrolment, the sensitive route
// behind RequireFreshFactor, step-up, and a sign-in that needs the second factor.
func TestDemoMFA(t *testing.T) {
	srv := startDemo(t, options{Rate: 0})
	c := &demoClient{t: t, srv: srv}
	key := crypto.Keccak256([]byte("walletauth demo test user"))
	if st, _ := c.signIn(key); st != "complete" {
		t.Fatalf("first sign-in: %s", st)
	}
	var e struct{ Secret, QRPng string }
	if code, body := c.do(http.MethodPost, "/auth/mfa/totp", map[string]any{}, &e); code != 200 || e.Secret == "" || e.QRPng == "" {
		t.Fatalf("enrol: %d %s", code, body)
	}
	now := time.Now()
	code0, _ := totp.GenerateCode(e.Secret, now)
	var conf struct{ RecoveryCodes []string }
	if code, body := c.do(http.MethodPost, "/auth/mfa/totp/confirm", map[string]any{"code": code0}, &conf); code != 200 || len(conf.RecoveryCodes) != 10 {
		t.Fatalf("confirm: %d %s", code, body)
	}
	// aal1: the sensitive route wants a step-up.
	if code, body := c.do(http.MethodPost, "/api/sensitive", nil, nil); code != http.StatusForbidden || !strings.Contains(body, "insufficient_assurance") {
		t.Fatalf("sensitive at aal1: %d %s", code, body)
	}
	var up struct{ AccessToken string }
	if code, body := c.do(http.MethodPost, "/auth/mfa/step-up", map[string]any{"recoveryCode": conf.RecoveryCodes[0], "refreshTokenInBody": true}, &up); code != 200 || up.AccessToken == "" {
		t.Fatalf("step-up: %d %s", code, body)
	}
	c.token = up.AccessToken
	if code, body := c.do(http.MethodPost, "/api/sensitive", nil, nil); code != 200 || strings.TrimSpace(body) != `{"ok":true}` {
		t.Fatalf("sensitive after step-up: %d %s", code, body)
	}
	// A new sign-in stops at the second factor; a recovery code completes it at aal2.
	st, pending := c.signIn(key)
	if st != "needs_second_factor" || pending == "" || c.token != "" {
		t.Fatalf("second sign-in: %s, pending token %t, access token %t", st, pending != "", c.token != "")
	}
	var done struct{ Status, AccessToken string }
	if code, body := c.do(http.MethodPost, "/auth/mfa/verify", map[string]any{"pendingToken": pending, "recoveryCode": conf.RecoveryCodes[1], "refreshTokenInBody": true}, &done); code != 200 || done.Status != "complete" {
		t.Fatalf("mfa/verify: %d %s", code, body)
	}
	c.token = done.AccessToken
	var m me
	if code, body := c.do(http.MethodGet, "/api/me", nil, &m); code != 200 || m.AAL != "aal2" {
		t.Fatalf("/api/me: %d %s", code, body)
	}
}

func TestMFAKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.key")
	key, created, err := loadOrCreateKey(path)
	if err != nil || !created || len(key) != 32 {
		t.Fatalf("first start: %x %v %v", key, created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if got := strings.TrimSpace(string(b)); got != hex.EncodeToString(key) {
		t.Errorf("file holds %q", got)
	}
	again, created, err := loadOrCreateKey(path)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second start: %x %v %v", again, created, err)
	}
	if other, _, _ := loadOrCreateKey(filepath.Join(dir, "other.key")); bytes.Equal(other, key) {
		t.Error("two new keys are equal")
	}

	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	good := strings.Repeat("ab", 32)
	for name, c := range map[string]struct {
		content string
		mode    os.FileMode
		want    string
	}{
		"short":      {strings.Repeat("ab", 16), 0o600, "holds 16 bytes"},
		"long":       {strings.Repeat("ab", 33), 0o600, "holds 33 bytes"},
		"not-hex":    {strings.Repeat("zz", 32), 0o600, "hex"},
		"empty":      {"", 0o600, "holds 0 bytes"},
		"world":      {good, 0o644, "chmod 600"},
		"group":      {good, 0o640, "chmod 600"},
		"group-rw":   {good, 0o660, "chmod 600"},
		"other-only": {good, 0o604, "chmod 600"},
	} {
		if runtime.GOOS == "windows" && strings.Contains(c.want, "chmod") {
			continue
		}
		_, _, err := loadOrCreateKey(write(name, c.content, c.mode))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one saying %q", name, err, c.want)
		}
	}
	if k, _, err := loadOrCreateKey(write("owner-ro", good+"\n", 0o400)); err != nil || hex.EncodeToString(k) != good {
		t.Errorf("a 0400 key file: %x %v", k, err)
	}
	if _, _, err := loadOrCreateKey(dir); err == nil {
		t.Error("a directory is accepted as the key file")
	}
	if _, _, err := loadOrCreateKey(filepath.Join(dir, "missing", "k.key")); err == nil {
		t.Error("a key file in a missing directory")
	}

	// The demo refuses to start with a bad key file.
	_, _, err = newServer(context.Background(), options{Origin: "http://localhost:8080", DB: filepath.Join(dir, "x.db"), MFAKeyFile: filepath.Join(dir, "world")})
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("newServer with a world-readable key: %v", err)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr != ":8080" || o.Origin != "http://localhost:8080" || o.DB != "walletauth.db" || o.Rate != 60 ||
		len(o.Chains) != 6 || o.Chains[0] != 1 || o.Chains[5] != 11155111 || o.MFAKeyFile != "walletauth.mfa.key" {
		t.Errorf("defaults: %+v", o)
	}
	if o, _ := parseFlags([]string{"-db", filepath.Join("data", "x.db")}, io.Discard); o.MFAKeyFile != filepath.Join("data", "walletauth.mfa.key") {
		t.Errorf("the key file goes next to the database by default, got %q", o.MFAKeyFile)
	}
	if o, _ := parseFlags([]string{"-db", filepath.Join("data", "x.db"), "-mfa-key-file", "k.key"}, io.Discard); o.MFAKeyFile != "k.key" {
		t.Errorf("-mfa-key-file k.key: %q", o.MFAKeyFile)
	}
	o, err = parseFlags([]string{"-rate", "0", "-chains", "8453, 1", "-addr", "127.0.0.1:0"}, io.Discard)
	if err != nil || o.Rate != 0 || len(o.Chains) != 2 || o.Chains[0] != 8453 || o.Addr != "127.0.0.1:0" {
		t.Errorf("parsed %+v, %v", o, err)
	}
	if ps := oauthProviders(o); len(ps) != 0 {
		t.Errorf("providers without the flags: %d", len(ps))
	}
	o, err = parseFlags([]string{"-github-client-id", "gid", "-github-client-secret", "gs", "-google-client-id", "oid", "-google-client-secret", "os"}, io.Discard)
	if ps := oauthProviders(o); err != nil || len(ps) != 2 || ps[0].Name != "github" || ps[0].OAuth2.ClientID != "gid" || ps[1].Name != "google" || ps[1].OAuth2.ClientSecret != "os" {
		t.Errorf("OAuth flags: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"-store", "mysql://localhost/x"},
		{"-store", "localhost:5432"},
		{"-fast-store", "postgres://localhost/x"},
		{"-chains", "1,x"},
		{"-chains", ""},
		{"-rate", "-1"},
		{"-mfa-key-file", ""},
		{"-github-client-id", "x"},
		{"-google-client-secret", "y"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	for _, args := range [][]string{
		{"-store", "postgres://localhost/x"},
		{"-store", "postgresql://u:p@db.internal:5432/app?sslmode=require"},
		{"-store", "redis://localhost:6379/0"},
		{"-store", "rediss://cache.internal:6380"},
		{"-fast-store", "redis://localhost"},
		{"-store", "postgres://localhost/x", "-fast-store", "redis://localhost"},
	} {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

func TestNewServerRefusesBadStore(t *testing.T) {
	for _, o := range []options{{Store: "mysql://localhost"}, {FastStore: "postgres://localhost"}} {
		o.Origin, o.DB = "http://localhost:8080", filepath.Join(t.TempDir(), "x.db")
		if _, _, err := newServer(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestDemoSharedStores runs two demos on shared stores, as two instances behind one load
// balancer: a sign-in on one is good on the other, and a sign-out on one reaches the other within
// a second (pushed by the store).
func TestDemoSharedStores(t *testing.T) {
	key := make([]byte, 32)
	key[31] = 7
	for _, tc := range []struct {
		name        string
		store, fast string
	}{
		{"postgres", testutil.PostgresURL(), ""},
		{"redis", testutil.RedisURL(), ""},
		{"postgres+redis", testutil.PostgresURL(), testutil.RedisURL()},
		{"sqlite+redis", "", testutil.RedisURL()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := options{Store: tc.store, FastStore: tc.fast, Rate: 0, DB: filepath.Join(t.TempDir(), "shared.db"),
				MFAKeyFile: filepath.Join(t.TempDir(), "mfa.key"), Origin: "http://app.localhost:8080"}
			if s, _ := storeScheme(tc.store); s == "postgres" {
				opts.PGSchema = servicetest.PostgresSchema(t)
			}
			if tc.store == testutil.RedisURL() || tc.fast != "" {
				opts.RedisPrefix = servicetest.RedisPrefix(t)
			}
			a, b := startDemo(t, opts), startDemo(t, opts)
			ca := &demoClient{t: t, srv: a}
			if status, _ := ca.signIn(key); status != "complete" {
				t.Fatalf("sign-in on A: %s", status)
			}
			cb := &demoClient{t: t, srv: b, token: ca.token}
			var me struct{ Address string }
			if code, body := cb.do(http.MethodGet, "/api/me", nil, &me); code != 200 || me.Address == "" {
				t.Fatalf("B, A's token: %d %s", code, body)
			}
			var list struct{ Sessions []struct{ ID string } }
			if code, body := ca.do(http.MethodGet, "/auth/sessions", nil, &list); code != 200 || len(list.Sessions) != 1 {
				t.Fatalf("sessions on A: %d %s", code, body)
			}
			if code, body := ca.do(http.MethodDelete, "/auth/sessions/"+list.Sessions[0].ID, nil, nil); code >= 300 {
				t.Fatalf("sign-out on A: %d %s", code, body)
			}
			start := time.Now()
			for {
				code, _ := cb.do(http.MethodGet, "/api/me", nil, nil)
				if code == http.StatusUnauthorized {
					t.Logf("B refused the token %v after the sign-out on A", time.Since(start).Round(time.Millisecond))
					break
				}
				if time.Since(start) > time.Second {
					t.Fatalf("B still accepts the signed-out token after a second (status %d)", code)
				}
				time.Sleep(5 * time.Millisecond) // waiting for the push, not for a clock
			}
		})
	}
}

// TestDemoContacts checks without a browser that the demo sends codes through the development
// sender: the code reaches the log, and it verifies the address.
func TestDemoContacts(t *testing.T) {
	codes := &codeLog{last: map[string]string{}}
	srv := startDemo(t, options{Rate: 0, Logger: slog.New(codes)})
	c := &demoClient{t: t, srv: srv}
	if st, _ := c.signIn(crypto.Keccak256([]byte("walletauth demo contacts user"))); st != "complete" {
		t.Fatalf("sign-in: %s", st)
	}
	const email = "demo-user@example.com"
	if code, body := c.do(http.MethodPost, "/auth/contacts", map[string]any{"kind": "email", "value": email}, nil); code != http.StatusAccepted {
		t.Fatalf("add: %d %s", code, body)
	}
	sent := codes.code(email)
	if sent == "" {
		t.Fatal("no code in the log")
	}
	var v struct {
		Contact struct{ Verified, Primary bool }
	}
	if code, body := c.do(http.MethodPost, "/auth/contacts/verify", map[string]any{"kind": "email", "value": email, "code": sent}, &v); code != 200 || !v.Contact.Verified || !v.Contact.Primary {
		t.Fatalf("verify: %d %s", code, body)
	}
	res, err := srv.Client().Get(srv.URL + "/test/last-code?to=" + email)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /test/last-code: %d: the test-only route is in the demo", res.StatusCode)
	}
}
