package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// need skips the test when something it needs is missing, or fails it when
// WALLETAUTH_REQUIRE_SERVICES=1 (as CI sets).
func need(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("WALLETAUTH_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s, and WALLETAUTH_REQUIRE_SERVICES=1 requires the Chromium test of the demo page", what)
	}
	t.Skipf("%s: skipping the Chromium test of the demo page", what)
}

// startDemo runs the whole demo (SQLite in a temporary directory) on an httptest server whose
// URL is the origin.
func startDemo(t *testing.T, opts options) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	opts.Origin = "http://" + srv.Listener.Addr().String()
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
// (e2e/demo.mjs): sign in, /api/me, token renewal, restore on reload, sign out, and the
// no-wallet and rejected messages. Screenshots land in e2e/out/.
func TestDemoChromium(t *testing.T) {
	node, err := exec.LookPath("node")
	need(t, err == nil, "node is not installed")
	_, err = os.Stat(filepath.Join("e2e", "node_modules", "playwright-core"))
	need(t, err == nil, "e2e/node_modules is missing (run `npm ci` in examples/server/e2e/)")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	_, err = os.Stat(chromium)
	need(t, err == nil, chromium+" is missing (apt-get install chromium)")

	// A 3-second access token, so the test sees the page renew it by itself.
	srv := startDemo(t, options{Rate: 60, AccessTTL: 3 * time.Second})
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
	t.Logf("demo e2e: %s", strings.TrimSpace(string(out)))
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
	if res, _ := get("/api/nothing", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("/api/nothing: %d", res.StatusCode)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr != ":8080" || o.Origin != "http://localhost:8080" || o.DB != "walletauth.db" || o.Rate != 60 ||
		len(o.Chains) != 6 || o.Chains[0] != 1 || o.Chains[5] != 11155111 {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parseFlags([]string{"-rate", "0", "-chains", "8453, 1", "-addr", "127.0.0.1:0"}, io.Discard)
	if err != nil || o.Rate != 0 || len(o.Chains) != 2 || o.Chains[0] != 8453 || o.Addr != "127.0.0.1:0" {
		t.Errorf("parsed %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"-store", "postgres://localhost/x"},
		{"-chains", "1,x"},
		{"-chains", ""},
		{"-rate", "-1"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	if _, err := parseFlags([]string{"-store", "redis://localhost"}, io.Discard); err == nil || !strings.Contains(err.Error(), "not yet supported") {
		t.Errorf("-store: %v", err)
	}
}

func TestNewServerRefusesStore(t *testing.T) {
	_, _, err := newServer(context.Background(), options{Origin: "http://localhost:8080", DB: filepath.Join(t.TempDir(), "x.db"), Store: "redis://localhost"})
	if err == nil || !strings.Contains(err.Error(), "not yet supported") {
		t.Fatalf("err = %v", err)
	}
}
