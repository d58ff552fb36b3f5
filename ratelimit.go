package walletauth

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// clientIP returns the address of the client: the connection's peer or, when the peer is a
// trusted proxy, the rightmost address of X-Forwarded-For that is not a trusted proxy.
func (a *Auth) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	ip = ip.Unmap()
	if !a.trusted(ip) {
		return ip
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return ip // a forged or broken header: stop at the last address we trust
			}
			hop = hop.Unmap()
			if !a.trusted(hop) {
				return hop
			}
			ip = hop
		}
	}
	return ip
}

// clientKey is what rate limits count by: an IPv4 address, or an IPv6 address's /64 (one host
// commonly holds a whole /64, so counting single IPv6 addresses would be no limit at all).
func clientKey(ip netip.Addr) string {
	if ip.Is6() {
		p, err := ip.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return ip.String()
}

func (a *Auth) trusted(ip netip.Addr) bool {
	for _, p := range a.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// limited counts the request against its client's budget for sign-in requests and refuses it with
// 429 and Retry-After when the budget of the minute is spent. A store failure fails closed (503).
func (a *Auth) limited(h http.HandlerFunc) http.HandlerFunc {
	if a.cfg.RateLimit == NoRateLimit {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		now := a.cfg.Clock()
		key := "rate:signin:" + clientKey(a.clientIP(r))
		n, reset, err := a.cfg.Store.IncrementCounter(r.Context(), key, time.Minute, now)
		if err != nil {
			a.log.ErrorContext(r.Context(), "walletauth: rate limit counter failed", "error", err)
			writeError(w, err)
			return
		}
		if n > int64(a.cfg.RateLimit) {
			retry := int(reset.Sub(now).Seconds() + 0.999)
			if retry < 1 {
				retry = 1
			}
			a.log.WarnContext(r.Context(), "walletauth: rate limited", "event", "rate_limited", "ip", a.clientIP(r).String(), "path", r.URL.Path)
			writeError(w, &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
				Message: "too many requests; try again in " + strconv.Itoa(retry) + " s", RetryAfter: retry})
			return
		}
		h(w, r)
	}
}
