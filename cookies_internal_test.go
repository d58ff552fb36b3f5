package walletauth

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// setCookieHeader returns the Set-Cookie headers that setCookie writes, and those net/http's own
// SetCookie writes for the same cookie (none when the name is not a token).
func setCookieHeader(secure bool, name, value, path string, maxAge time.Duration) (got, want []string) {
	now := time.Unix(1_700_000_000, 0)
	a := &Auth{cfg: Config{Clock: func() time.Time { return now }}, secure: secure}
	rec := httptest.NewRecorder()
	a.setCookie(rec, name, value, path, now.Add(maxAge))
	secs := int(maxAge.Seconds())
	if secs < 1 {
		secs = 1
	}
	std := httptest.NewRecorder()
	http.SetCookie(std, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: secs,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	return rec.Header().Values("Set-Cookie"), std.Header().Values("Set-Cookie")
}

// quietLog silences the standard logger, which net/http's sanitising writes to, for a test.
func quietLog(t testing.TB) {
	w := log.Writer()
	log.SetOutput(io.Discard)
	t.Cleanup(func() { log.SetOutput(w) })
}

// TestSetCookieAsNetHTTP: the directly written Set-Cookie header is byte for byte net/http's, for
// the cookies walletauth sets and for values that need net/http's sanitising (which then does it).
func TestSetCookieAsNetHTTP(t *testing.T) {
	quietLog(t)
	jwt := "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLV9fLQ"
	for _, secure := range []bool{true, false} {
		names := newCookieNames(secure)
		for _, c := range []struct{ name, value, path string }{
			{names.access, jwt, "/"},
			{names.refresh, "s_01.AbC-_xyz", "/auth"},
			{names.pending, "p.token", "/api/v1/auth"},
			{names.access, "", "/"},
			{names.access, "with space", "/"},        // quoted by net/http
			{names.access, "semi;colon\"quote", "/"}, // bytes dropped by net/http
			{names.access, "comma,value", "/x"},
			{names.access, "v", "/a;b"}, // path sanitised
			{names.access, "v", ""},
			{"bad/name", "v", "/"}, // not a token: net/http writes nothing
			{"", "v", "/"},
			{"n", "ünïcode", "/päth"},
		} {
			for _, age := range []time.Duration{60 * time.Second, 1500 * time.Millisecond, 0, -time.Hour, 30 * 24 * time.Hour} {
				got, want := setCookieHeader(secure, c.name, c.value, c.path, age)
				if !slices.Equal(got, want) {
					t.Errorf("secure=%v %q=%q path %q age %v:\n got %q\nwant %q", secure, c.name, c.value, c.path, age, got, want)
				}
			}
		}
	}
}

// TestSetCookieAppends: a second cookie adds a header and keeps the first.
func TestSetCookieAppends(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	a := &Auth{cfg: Config{Clock: func() time.Time { return now }}, secure: true}
	rec := httptest.NewRecorder()
	a.setCookie(rec, "__Host-a", "1", "/", now.Add(time.Minute))
	a.setCookie(rec, "__Secure-b", "2", "/auth", now.Add(time.Hour))
	want := []string{"__Host-a=1; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax",
		"__Secure-b=2; Path=/auth; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"}
	if got := rec.Header().Values("Set-Cookie"); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzSetCookie(f *testing.F) {
	f.Add(true, "__Host-walletauth-access", "eyJ.eyJ.sig", "/", int64(60))
	f.Add(false, "walletauth-refresh", "a b", "/auth;x", int64(0))
	f.Add(true, "n", "\x00\"\\;,", "/\x7f", int64(-5))
	quietLog(f)
	f.Fuzz(func(t *testing.T, secure bool, name, value, path string, secs int64) {
		secs %= 1 << 40
		got, want := setCookieHeader(secure, name, value, path, time.Duration(secs)*time.Second)
		if !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
