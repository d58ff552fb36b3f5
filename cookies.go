package walletauth

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// cookieNames are the names of the cookies: with the __Host- and __Secure- prefixes on a secure
// origin, so that a plain-http page cannot set them. __Host- (the access cookie) also keeps a
// sibling subdomain from setting it; a sibling can still set a __Secure- cookie for the parent
// domain, so a request carrying two refresh or pending cookies is refused (cookieValue).
type cookieNames struct {
	access, refresh, pending string
}

func newCookieNames(secure bool) cookieNames {
	if secure {
		return cookieNames{access: "__Host-walletauth-access", refresh: "__Secure-walletauth-refresh", pending: "__Secure-walletauth-pending"}
	}
	return cookieNames{access: "walletauth-access", refresh: "walletauth-refresh", pending: "walletauth-pending"}
}

// setCookie sets an HttpOnly, SameSite=Lax cookie that lives until expires; Secure unless the
// origin is plain-http localhost. The access cookie is scoped to the whole site (the app's routes
// read it); the refresh cookie only to the handler's routes.
//
// The header is written directly when the value and path need no sanitising (always, for the
// tokens walletauth makes: base64url and dots): the same bytes as net/http's Cookie.String
// (tested, and fuzzed against it), without its byte-by-byte sanitising and allocations, which
// cost ≈ 2 µs a cookie on the sign-in path. Anything else goes through http.SetCookie.
func (a *Auth) setCookie(w http.ResponseWriter, name, value, path string, expires time.Time) {
	maxAge := int(expires.Sub(a.cfg.Clock()).Seconds())
	if maxAge < 1 {
		maxAge = 1
	}
	if name == "" || strings.IndexByte(name, '/') >= 0 || !plainCookieBytes(name) || !plainCookieBytes(value) || !plainCookieBytes(path) {
		http.SetCookie(w, &http.Cookie{
			Name: name, Value: value, Path: path, MaxAge: maxAge,
			HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
		})
		return
	}
	attrs := "; HttpOnly; SameSite=Lax"
	if a.secure {
		attrs = "; HttpOnly; Secure; SameSite=Lax"
	}
	var b strings.Builder
	b.Grow(len(name) + len(value) + len(path) + len(attrs) + 32)
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(value)
	if path != "" {
		b.WriteString("; Path=")
		b.WriteString(path)
	}
	b.WriteString("; Max-Age=")
	var n [20]byte
	b.Write(strconv.AppendInt(n[:0], int64(maxAge), 10))
	b.WriteString(attrs)
	h := w.Header()
	h["Set-Cookie"] = append(h["Set-Cookie"], b.String())
}

// plainCookie marks the bytes that net/http passes through unchanged in a cookie's value and
// path, and (but for '/') in its name: letters, digits and "-._~/!#$%&'*+^`|".
var plainCookie = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "-._~/!#$%&'*+^`|" {
		t[c] = true
	}
	return t
}()

// plainCookieBytes reports whether s has only plainCookie bytes.
func plainCookieBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainCookie[s[i]] {
			return false
		}
	}
	return true
}

func (a *Auth) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (a *Auth) setAccessCookie(w http.ResponseWriter, token string, expires time.Time) {
	a.setCookie(w, a.cookies.access, token, "/", expires)
}

func (a *Auth) setRefreshCookie(w http.ResponseWriter, token string, expires time.Time) {
	a.setCookie(w, a.cookies.refresh, token, a.cfg.BasePath, expires)
}

func (a *Auth) clearSessionCookies(w http.ResponseWriter) {
	a.clearCookie(w, a.cookies.access, "/")
	a.clearCookie(w, a.cookies.refresh, a.cfg.BasePath)
}

// cookieValue returns the value of the named cookie, or "" when there is none or more than one.
// Two cookies of one name mean that someone — a sibling subdomain can set a __Secure- cookie
// for the parent domain with a longer path — planted one beside ours: trust neither.
func cookieValue(r *http.Request, name string) string {
	cs := r.CookiesNamed(name)
	if len(cs) != 1 {
		return ""
	}
	return cs[0].Value
}
