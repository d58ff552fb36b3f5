package oauthlink_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeProvider is an OAuth 2.0 provider in an httptest server. The test "authorises" by parsing
// the authorisation URL and calling authorize, which issues a code for the challenge it carries.
type fakeProvider struct {
	t            *testing.T
	srv          *httptest.Server
	clientID     string
	clientSecret string
	userInfo     string // JSON body of the user info endpoints

	mu        sync.Mutex
	codes     map[string]grant
	tokens    map[string]bool
	verifiers []string // code_verifier values received
	n         int
}

type grant struct{ challenge, redirect string }

func newFakeProvider(t *testing.T) *fakeProvider {
	f := &fakeProvider{t: t, clientID: "cid", clientSecret: "csecret",
		userInfo: `{"sub":"sub-1","email":"a@example.com","email_verified":true,"preferred_username":"alice"}`,
		codes:    map[string]grant{}, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	for _, p := range []string{"/token", "/login/oauth/access_token"} {
		mux.HandleFunc("POST "+p, f.token)
	}
	for _, p := range []string{"/userinfo", "/user", "/v1/userinfo"} {
		mux.HandleFunc("GET "+p, f.info)
	}
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// authorize checks the authorisation URL as the provider would and returns the callback query
// with a new code.
func (f *fakeProvider) authorize(authURL string) url.Values {
	f.t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		f.t.Fatal(err)
	}
	q := u.Query()
	if q.Get("client_id") != f.clientID || q.Get("response_type") != "code" {
		f.t.Fatalf("bad authorisation request %v", q)
	}
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		f.t.Fatalf("no S256 challenge in %v", q)
	}
	if q.Get("state") == "" || q.Get("redirect_uri") == "" {
		f.t.Fatalf("no state or redirect_uri in %v", q)
	}
	f.mu.Lock()
	f.n++
	code := fmt.Sprintf("code-%d", f.n)
	f.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	f.mu.Unlock()
	return url.Values{"code": {code}, "state": {q.Get("state")}}
}

func (f *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", 400)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	fail := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":%q}`, code)
	}
	if id != f.clientID || secret != f.clientSecret {
		fail("invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		fail("unsupported_grant_type")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	verifier := r.PostForm.Get("code_verifier")
	f.verifiers = append(f.verifiers, verifier)
	g, ok := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code"))
	if !ok || g.redirect != r.PostForm.Get("redirect_uri") {
		fail("invalid_grant")
		return
	}
	sum := sha256.Sum256([]byte(verifier))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		fail("invalid_grant")
		return
	}
	f.n++
	tok := fmt.Sprintf("tok-%d", f.n)
	f.tokens[tok] = true
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

func (f *fakeProvider) info(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	valid := ok && f.tokens[tok]
	body := f.userInfo
	f.mu.Unlock()
	if !valid {
		http.Error(w, "unauthorised", 401)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(body))
}

func (f *fakeProvider) setUserInfo(s string) {
	f.mu.Lock()
	f.userInfo = s
	f.mu.Unlock()
}

// redirectingClient returns an HTTP client that sends every request to the fake, whatever its
// host: it lets the GitHub and Google presets talk to the fake unchanged.
func (f *fakeProvider) redirectingClient() *http.Client {
	target, _ := url.Parse(f.srv.URL)
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
		r.Host = target.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
