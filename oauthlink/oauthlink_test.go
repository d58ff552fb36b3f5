package oauthlink_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletauth/walletauth/oauthlink"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

type env struct {
	f     *fakeProvider
	l     *oauthlink.Linker
	store store.OAuthStore
	mu    sync.Mutex
	now   time.Time
	logs  *bytes.Buffer
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

var testKey = bytes.Repeat([]byte{7}, 32)

func newStore() store.OAuthStore { return memstore.New() }

func newEnv(t *testing.T, providers ...func(f *fakeProvider) oauthlink.Provider) *env {
	t.Helper()
	e := &env{f: newFakeProvider(t), store: newStore(), now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), logs: new(bytes.Buffer)}
	if len(providers) == 0 {
		providers = append(providers, func(f *fakeProvider) oauthlink.Provider {
			return oauthlink.OIDC("acme", f.clientID, f.clientSecret, f.srv.URL+"/authorize", f.srv.URL+"/token", f.srv.URL+"/userinfo")
		})
	}
	var ps []oauthlink.Provider
	for _, mk := range providers {
		ps = append(ps, mk(e.f))
	}
	l, err := oauthlink.New(oauthlink.Config{
		Store:       e.store,
		Providers:   ps,
		RedirectURL: func(p string) string { return "https://app.example/oauth/" + p + "/callback" },
		StateKey:    testKey,
		HTTPClient:  e.f.redirectingClient(),
		Clock:       e.clock,
		Logger:      slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.l = l
	return e
}

// link runs a whole linking for user at provider.
func (e *env) link(t *testing.T, user, provider string) (store.OAuthAccount, error) {
	t.Helper()
	authURL, cookie, err := e.l.Start(user, provider)
	if err != nil {
		t.Fatal(err)
	}
	return e.l.Finish(context.Background(), user, provider, cookie, e.f.authorize(authURL))
}

func TestLinkFlow(t *testing.T) {
	e := newEnv(t)
	authURL, cookie, err := e.l.Start("usr_1", "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	if !strings.HasPrefix(authURL, e.f.srv.URL+"/authorize?") || q.Get("redirect_uri") != "https://app.example/oauth/acme/callback" || q.Get("scope") != "openid email profile" {
		t.Fatalf("auth URL %s", authURL)
	}
	for _, secret := range []string{q.Get("state"), q.Get("code_challenge"), "usr_1"} {
		if strings.Contains(cookie, secret) {
			t.Fatalf("cookie %q shows %q", cookie, secret)
		}
	}
	cb := e.f.authorize(authURL)
	a, err := e.l.Finish(context.Background(), "usr_1", "acme", cookie, cb)
	if err != nil {
		t.Fatal(err)
	}
	want := store.OAuthAccount{UserID: "usr_1", Provider: "acme", Subject: "sub-1", Email: "a@example.com", Username: "alice", LinkedAt: e.now}
	if a != want {
		t.Fatalf("got %+v, want %+v", a, want)
	}
	accts, err := e.l.Accounts(context.Background(), "usr_1")
	if err != nil || len(accts) != 1 || accts[0] != want {
		t.Fatalf("Accounts = %+v, %v", accts, err)
	}
	// The token endpoint got a verifier whose S256 is the challenge (checked by the fake) of
	// the PKCE length.
	if len(e.f.verifiers) != 1 || len(e.f.verifiers[0]) != 43 {
		t.Fatalf("verifiers %q", e.f.verifiers)
	}
	// The log shows neither the code, the state nor the verifier.
	logs := e.logs.String()
	for _, secret := range []string{cb.Get("code"), cb.Get("state"), e.f.verifiers[0], "tok-"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("log shows %q:\n%s", secret, logs)
		}
	}
	// A replay of the same callback fails at the provider (the code is spent), not as linked.
	if _, err := e.l.Finish(context.Background(), "usr_1", "acme", cookie, cb); err == nil || isSentinel(err) {
		t.Fatalf("replay: %v", err)
	}
}

func isSentinel(err error) bool {
	for _, s := range []error{oauthlink.ErrUnknownProvider, oauthlink.ErrState, oauthlink.ErrDenied, oauthlink.ErrAlreadyLinked, oauthlink.ErrNotLinked} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func TestStateMismatch(t *testing.T) {
	e := newEnv(t)
	authURL, cookie, _ := e.l.Start("usr_1", "acme")
	cb := e.f.authorize(authURL)
	for _, state := range []string{"", "x", cb.Get("state") + "x"} {
		q := url.Values{"code": {cb.Get("code")}, "state": {state}}
		if _, err := e.l.Finish(context.Background(), "usr_1", "acme", cookie, q); !errors.Is(err, oauthlink.ErrState) {
			t.Fatalf("state %q: %v", state, err)
		}
	}
	// A cookie of another linking with its own valid state does not fit this callback.
	_, cookie2, _ := e.l.Start("usr_1", "acme")
	if _, err := e.l.Finish(context.Background(), "usr_1", "acme", cookie2, cb); !errors.Is(err, oauthlink.ErrState) {
		t.Fatalf("other cookie: %v", err)
	}
	if len(e.f.verifiers) != 0 {
		t.Fatal("token endpoint called")
	}
}

func TestExpiredCookie(t *testing.T) {
	e := newEnv(t)
	authURL, cookie, _ := e.l.Start("usr_1", "acme")
	cb := e.f.authorize(authURL)
	e.advance(oauthlink.DefaultStateTTL)
	if _, err := e.l.Finish(context.Background(), "usr_1", "acme", cookie, cb); !errors.Is(err, oauthlink.ErrState) {
		t.Fatalf("expired: %v", err)
	}
	e.advance(-time.Second)
	if _, err := e.l.Finish(context.Background(), "usr_1", "acme", cookie, cb); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
}

func TestCookieOfAnotherUserOrProvider(t *testing.T) {
	e := newEnv(t, func(f *fakeProvider) oauthlink.Provider {
		return oauthlink.OIDC("acme", f.clientID, f.clientSecret, f.srv.URL+"/authorize", f.srv.URL+"/token", f.srv.URL+"/userinfo")
	}, func(f *fakeProvider) oauthlink.Provider {
		return oauthlink.OIDC("other", f.clientID, f.clientSecret, f.srv.URL+"/authorize", f.srv.URL+"/token", f.srv.URL+"/userinfo")
	})
	authURL, cookie, _ := e.l.Start("usr_1", "acme")
	cb := e.f.authorize(authURL)
	if _, err := e.l.Finish(context.Background(), "usr_2", "acme", cookie, cb); !errors.Is(err, oauthlink.ErrState) {
		t.Fatalf("other user: %v", err)
	}
	if _, err := e.l.Finish(context.Background(), "usr_1", "other", cookie, cb); !errors.Is(err, oauthlink.ErrState) {
		t.Fatalf("other provider: %v", err)
	}
	if got := e.l.Providers(); !slices.Equal(got, []string{"acme", "other"}) {
		t.Fatalf("Providers = %v", got)
	}
}

func TestTamperedCookie(t *testing.T) {
	e := newEnv(t)
	authURL, cookie, _ := e.l.Start("usr_1", "acme")
	cb := e.f.authorize(authURL)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	bad := []string{"", "!!!", "AAAA", cookie[:len(cookie)-2], flip(cookie, 0), flip(cookie, len(cookie)/2), flip(cookie, len(cookie)-2), cookie + "A"}
	for _, c := range bad {
		if _, err := e.l.Finish(context.Background(), "usr_1", "acme", c, cb); !errors.Is(err, oauthlink.ErrState) {
			t.Fatalf("cookie %q: %v", c, err)
		}
	}
	// A cookie sealed with another key does not open.
	other, err := oauthlink.New(oauthlink.Config{
		Store: e.store, Providers: []oauthlink.Provider{oauthlink.OIDC("acme", "cid", "csecret", e.f.srv.URL+"/a", e.f.srv.URL+"/token", e.f.srv.URL+"/userinfo")},
		RedirectURL: func(p string) string { return "https://app.example/oauth/" + p + "/callback" },
		StateKey:    bytes.Repeat([]byte{8}, 32),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Finish(context.Background(), "usr_1", "acme", cookie, cb); !errors.Is(err, oauthlink.ErrState) {
		t.Fatalf("other key: %v", err)
	}
	if len(e.f.verifiers) != 0 {
		t.Fatal("token endpoint called")
	}
}

func TestPKCEVerifierChecked(t *testing.T) {
	e := newEnv(t)
	// A code issued for another linking's challenge (a code injected into this callback) is
	// refused by the provider: the verifier in this cookie does not match.
	authURL1, cookie1, _ := e.l.Start("usr_1", "acme")
	authURL2, _, _ := e.l.Start("usr_1", "acme")
	cb1 := e.f.authorize(authURL1)
	cb2 := e.f.authorize(authURL2)
	injected := url.Values{"code": {cb2.Get("code")}, "state": {cb1.Get("state")}}
	_, err := e.l.Finish(context.Background(), "usr_1", "acme", cookie1, injected)
	if err == nil || isSentinel(err) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("injected code: %v", err)
	}
	if len(e.f.verifiers) != 1 || e.f.verifiers[0] == "" {
		t.Fatalf("verifiers %q", e.f.verifiers)
	}
	if accts, _ := e.l.Accounts(context.Background(), "usr_1"); len(accts) != 0 {
		t.Fatalf("linked %+v", accts)
	}
}

func TestProviderError(t *testing.T) {
	e := newEnv(t)
	authURL, cookie, _ := e.l.Start("usr_1", "acme")
	state := e.f.authorize(authURL).Get("state")
	q := url.Values{"error": {"access_denied"}, "error_description": {"The user said no"}, "state": {state}}
	_, err := e.l.Finish(context.Background(), "usr_1", "acme", cookie, q)
	if !errors.Is(err, oauthlink.ErrDenied) || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("denied: %v", err)
	}
	// Without the right state the error is the state's.
	q.Set("state", "forged")
	if _, err := e.l.Finish(context.Background(), "usr_1", "acme", cookie, q); !errors.Is(err, oauthlink.ErrState) {
		t.Fatalf("forged denial: %v", err)
	}
	// No code at all.
	if _, err := e.l.Finish(context.Background(), "usr_1", "acme", cookie, url.Values{"state": {state}}); !errors.Is(err, oauthlink.ErrState) {
		t.Fatalf("no code: %v", err)
	}
}

func TestAlreadyLinked(t *testing.T) {
	e := newEnv(t)
	if _, err := e.link(t, "usr_1", "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.link(t, "usr_2", "acme"); !errors.Is(err, oauthlink.ErrAlreadyLinked) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("other user: %v", err)
	}
	// The same user linking a second account of the provider.
	e.f.setUserInfo(`{"sub":"sub-2"}`)
	if _, err := e.link(t, "usr_1", "acme"); !errors.Is(err, oauthlink.ErrAlreadyLinked) {
		t.Fatalf("second account: %v", err)
	}
	if accts, _ := e.l.Accounts(context.Background(), "usr_2"); len(accts) != 0 {
		t.Fatalf("usr_2 has %+v", accts)
	}
}

func TestUnlink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.l.Unlink(ctx, "usr_1", "acme"); !errors.Is(err, oauthlink.ErrNotLinked) {
		t.Fatalf("unlink before link: %v", err)
	}
	if _, err := e.link(t, "usr_1", "acme"); err != nil {
		t.Fatal(err)
	}
	if err := e.l.Unlink(ctx, "usr_1", "acme"); err != nil {
		t.Fatal(err)
	}
	if accts, _ := e.l.Accounts(ctx, "usr_1"); len(accts) != 0 {
		t.Fatalf("after unlink %+v", accts)
	}
	if err := e.l.Unlink(ctx, "usr_1", "acme"); !errors.Is(err, oauthlink.ErrNotLinked) {
		t.Fatalf("second unlink: %v", err)
	}
	// The account can now be linked to another user.
	if _, err := e.link(t, "usr_2", "acme"); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownProvider(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.l.Start("usr_1", "nope"); !errors.Is(err, oauthlink.ErrUnknownProvider) {
		t.Fatalf("Start: %v", err)
	}
	_, cookie, _ := e.l.Start("usr_1", "acme")
	if _, err := e.l.Finish(context.Background(), "usr_1", "nope", cookie, url.Values{}); !errors.Is(err, oauthlink.ErrUnknownProvider) {
		t.Fatalf("Finish: %v", err)
	}
}

func TestIdentifyFailure(t *testing.T) {
	e := newEnv(t)
	e.f.setUserInfo(`{"email":"a@example.com"}`)
	if _, err := e.link(t, "usr_1", "acme"); err == nil || isSentinel(err) {
		t.Fatalf("no sub: %v", err)
	}
}

func TestGitHub(t *testing.T) {
	e := newEnv(t, func(f *fakeProvider) oauthlink.Provider { return oauthlink.GitHub(f.clientID, f.clientSecret) })
	e.f.setUserInfo(`{"login":"octocat","id":583231,"node_id":"MDQ6VXNlcjU4MzIzMQ==","email":"octo@github.example","name":"The Octocat"}`)
	authURL, _, err := e.l.Start("usr_1", "github")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	if u.Host != "github.com" || u.Path != "/login/oauth/authorize" || u.Query().Get("scope") != "read:user user:email" {
		t.Fatalf("auth URL %s", authURL)
	}
	a, err := e.link(t, "usr_1", "github")
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject != "583231" || a.Username != "octocat" || a.Email != "octo@github.example" || a.Provider != "github" {
		t.Fatalf("got %+v", a)
	}
	// A private email is null.
	e.f.setUserInfo(`{"login":"hidden","id":9007199254740993,"email":null}`)
	a, err = e.link(t, "usr_2", "github")
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject != "9007199254740993" || a.Username != "hidden" || a.Email != "" {
		t.Fatalf("got %+v", a)
	}
}

func TestGoogle(t *testing.T) {
	e := newEnv(t, func(f *fakeProvider) oauthlink.Provider { return oauthlink.Google(f.clientID, f.clientSecret) })
	e.f.setUserInfo(`{"sub":"110169484474386276334","name":"Ada Lovelace","email":"ada@gmail.example","email_verified":true,"picture":"https://x"}`)
	authURL, _, err := e.l.Start("usr_1", "google")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	if u.Host != "accounts.google.com" || u.Query().Get("scope") != "openid email profile" {
		t.Fatalf("auth URL %s", authURL)
	}
	a, err := e.link(t, "usr_1", "google")
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject != "110169484474386276334" || a.Username != "Ada Lovelace" || a.Email != "ada@gmail.example" {
		t.Fatalf("got %+v", a)
	}
	// An unverified email is not kept.
	e.f.setUserInfo(`{"sub":"2","name":"Bob","email":"bob@example.com","email_verified":false}`)
	a, err = e.link(t, "usr_2", "google")
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject != "2" || a.Email != "" || a.Username != "Bob" {
		t.Fatalf("got %+v", a)
	}
}

func TestNewValidates(t *testing.T) {
	good := func() oauthlink.Config {
		return oauthlink.Config{
			Store:       newStore(),
			Providers:   []oauthlink.Provider{oauthlink.GitHub("id", "secret")},
			RedirectURL: func(p string) string { return "https://app.example/cb/" + p },
			StateKey:    testKey,
		}
	}
	if _, err := oauthlink.New(good()); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*oauthlink.Config){
		"no store":     func(c *oauthlink.Config) { c.Store = nil },
		"no providers": func(c *oauthlink.Config) { c.Providers = nil },
		"duplicate":    func(c *oauthlink.Config) { c.Providers = append(c.Providers, oauthlink.GitHub("x", "y")) },
		"bad name":     func(c *oauthlink.Config) { c.Providers[0].Name = "git hub" },
		"no identify":  func(c *oauthlink.Config) { c.Providers[0].Identify = nil },
		"no client id": func(c *oauthlink.Config) { c.Providers[0].OAuth2.ClientID = "" },
		"no redirect":  func(c *oauthlink.Config) { c.RedirectURL = nil },
		"rel redirect": func(c *oauthlink.Config) { c.RedirectURL = func(string) string { return "/cb" } },
		"short key":    func(c *oauthlink.Config) { c.StateKey = testKey[:16] },
		"negative ttl": func(c *oauthlink.Config) { c.StateTTL = -1 },
	} {
		c := good()
		mut(&c)
		if _, err := oauthlink.New(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
