package walletauth_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/walletauth/walletauth"
	"github.com/walletauth/walletauth/oauthlink"
)

// fakeProvider is an OAuth 2.0 provider with PKCE, for one account.
type fakeProvider struct {
	*httptest.Server
	mu         sync.Mutex
	challenges map[string]string // code → code_challenge
	subject    string
}

func newFakeProvider(t *testing.T, subject string) *fakeProvider {
	p := &fakeProvider{challenges: map[string]string{}, subject: subject}
	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
			http.Error(w, "PKCE and state required", 400)
			return
		}
		p.mu.Lock()
		p.challenges["code-1"] = q.Get("code_challenge")
		p.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		v := url.Values{"code": {"code-1"}, "state": {q.Get("state")}}
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		challenge := p.challenges[r.Form.Get("code")]
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
		if challenge == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			http.Error(w, `{"error":"invalid_grant"}`, 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"at-1","token_type":"Bearer"}`))
	})
	mux.HandleFunc("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at-1" {
			http.Error(w, "no", 401)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"sub": p.subject, "email": "ada@example.com", "preferred_username": "ada"})
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// follow follows redirects by hand until the response leaves both servers' auth paths, and
// returns the last Location.
func (c *client) follow(start string) *url.URL {
	c.t.Helper()
	noFollow := *c.c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	next := start
	for range 10 {
		resp, err := noFollow.Get(next)
		if err != nil {
			c.t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			c.t.Fatalf("GET %s: %d without a redirect", next, resp.StatusCode)
		}
		if loc.Path == "/" {
			return loc
		}
		next = loc.String()
	}
	c.t.Fatal("too many redirects")
	return nil
}

func TestOAuthLinking(t *testing.T) {
	fake := newFakeProvider(t, "fake-123")
	s := newServer(t, func(c *walletauth.Config) {
		c.OAuth = []oauthlink.Provider{oauthlink.OIDC("fake", "client-id", "client-secret", fake.URL+"/authorize", fake.URL+"/token", fake.URL+"/userinfo")}
		c.OAuthStateKey = bytes.Repeat([]byte{9}, 32)
	})
	c := s.client(t)
	c.signIn()
	back := c.follow(s.URL + "/auth/oauth/fake/start")
	if back.Query().Get("oauth_linked") != "fake" {
		t.Fatalf("returned to %s", back)
	}
	r := c.do("GET", "/auth/oauth", nil, nil)
	accounts, _ := r.body["accounts"].([]any)
	if r.status != 200 || len(accounts) != 1 || accounts[0].(map[string]any)["subject"] != "fake-123" {
		t.Fatalf("accounts: %d %s", r.status, r.raw)
	}
	// The same provider account cannot be linked to someone else.
	other := s.client(t)
	other.signIn()
	if back := other.follow(s.URL + "/auth/oauth/fake/start"); back.Query().Get("oauth_error") != "already_linked" {
		t.Errorf("linking a taken account: %s", back)
	}
	// Without a session nothing starts; a callback without its state cookie fails.
	if back := s.client(t).follow(s.URL + "/auth/oauth/fake/start"); back.Query().Get("oauth_error") != "unauthenticated" {
		t.Errorf("start without a session: %s", back)
	}
	if back := other.follow(s.URL + "/auth/oauth/fake/callback?code=code-1&state=forged"); back.Query().Get("oauth_error") != "state_invalid" {
		t.Errorf("callback without state: %s", back)
	}
	if r := c.do("DELETE", "/auth/oauth/fake", nil, nil); r.status != 204 {
		t.Errorf("unlink: %d %s", r.status, r.raw)
	}
	if r := c.do("DELETE", "/auth/oauth/fake", nil, nil); r.status != 404 {
		t.Errorf("unlink again: %d", r.status)
	}
}
