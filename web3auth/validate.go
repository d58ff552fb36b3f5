package web3auth

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Origin is a parsed web origin — scheme, host and port — that messages are validated against.
// Make one with [ParseOrigin]; the zero Origin is invalid and makes every check fail.
type Origin struct {
	scheme string // lower case
	host   string // lower case, without brackets for IPv6
	port   string // "" for the scheme's default port
	local  bool   // plain-http loopback origin for development
}

// ParseOrigin parses an origin such as "https://example.com" or "http://localhost:8080". It must
// be an absolute http or https URL with a host and nothing else but an optional port and a "/"
// path; a default port (443 for https, 80 for http) is the same as none.
func ParseOrigin(s string) (Origin, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return Origin{}, &ValidationError{Err: ErrBadExpectations, Field: "origin", Got: clip(s), Want: `an http(s) origin such as "https://example.com"`}
	}
	o := Origin{scheme: u.Scheme, host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.port == defaultPort(o.scheme) {
		o.port = ""
	}
	if o.port != "" {
		if n, err := strconv.Atoi(o.port); err != nil || n < 1 || n > 65535 {
			return Origin{}, &ValidationError{Err: ErrBadExpectations, Field: "origin", Got: clip(s), Want: "a port from 1 to 65535"}
		}
	}
	o.local = o.scheme == "http" && isLoopbackName(o.host)
	return o, nil
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

func isLoopbackName(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsZero reports whether o is the zero (invalid) Origin.
func (o Origin) IsZero() bool { return o.scheme == "" }

// Scheme returns "http" or "https".
func (o Origin) Scheme() string { return o.scheme }

// Domain returns the origin's authority as an EIP-4361 message's domain writes it: host, and
// ":port" when the port is not the scheme's default; IPv6 hosts in brackets.
func (o Origin) Domain() string {
	h := o.host
	if strings.IndexByte(h, ':') >= 0 {
		h = "[" + h + "]"
	}
	if o.port != "" {
		return h + ":" + o.port
	}
	return h
}

// Host returns the origin's host name without port or brackets.
func (o Origin) Host() string { return o.host }

// String returns the origin as "scheme://domain".
func (o Origin) String() string { return o.scheme + "://" + o.Domain() }

// IsLocalDevelopment reports whether o is a plain-http loopback origin (localhost, 127.0.0.1,
// [::1]), where messages without a scheme are accepted for development.
func (o Origin) IsLocalDevelopment() bool { return o.local }

// matchesDomain reports whether an EIP-4361 domain names o exactly: the same host (ASCII case
// aside) and port, and no user info.
func (o Origin) matchesDomain(domain string) bool {
	if strings.IndexByte(domain, '@') >= 0 {
		return false
	}
	host, port := domain, ""
	if strings.HasPrefix(domain, "[") {
		end := strings.IndexByte(domain, ']')
		if end < 0 {
			return false
		}
		host, port = domain[1:end], strings.TrimPrefix(domain[end+1:], ":")
	} else if i := strings.IndexByte(domain, ':'); i >= 0 {
		host, port = domain[:i], domain[i+1:]
	}
	return asciiEqualFold(host, o.host) && port == o.port
}

// asciiEqualFold reports whether a and b are equal but for the case of ASCII letters. Not
// strings.EqualFold, which also folds Unicode: "ſ" (U+017F) would match "s" and the Kelvin sign
// "k", so a URI with a percent-encoded non-ASCII host, which url.Parse decodes, could pass for
// the origin's host.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// matchesURI reports whether uri is on o: the same scheme, host and port; any path.
func (o Origin) matchesURI(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || u.User != nil || u.Opaque != "" {
		return false
	}
	port := u.Port()
	if port == defaultPort(o.scheme) {
		port = ""
	}
	return asciiEqualFold(u.Scheme, o.scheme) && asciiEqualFold(u.Hostname(), o.host) && port == o.port
}

// Expectations are what a message must match to be accepted. Origin, Nonce, ChainIDs and Now are
// required: [Validate] fails with [ErrBadExpectations] when one is missing, rather than skip the
// check.
type Expectations struct {
	// Origin is the site users sign in to. The message's domain must be its host[:port] exactly;
	// its scheme (https when the message has none) must be the origin's, except that a message
	// without a scheme is also accepted on a plain-http loopback origin, for development; and its
	// URI must be on the origin (same scheme, host and port; any path). Required.
	Origin Origin
	// URIOrigins are further origins the message URI may be on, for sites whose sign-in page is
	// served on another origin than the one named in the domain (say, www.example.com and
	// example.com). Empty means Origin only.
	URIOrigins []Origin
	// Nonce is the nonce the message must carry, compared exactly. Required.
	Nonce string
	// ChainIDs are the chains accepted. Required (at least one).
	ChainIDs []uint64
	// Now is the time of validation. Required.
	Now time.Time
	// MaxAge bounds how old Issued At may be: a message issued before Now-MaxAge-ClockSkew is
	// refused with [ErrIssuedTooLongAgo]. Set it to the nonce lifetime. Zero means
	// [DefaultNonceLifetime].
	MaxAge time.Duration
	// ClockSkew is how far Issued At may be ahead of Now (the wallet's or browser's clock may run
	// fast). Zero means [DefaultClockSkew]; a negative value means none.
	ClockSkew time.Duration
}

// Defaults of [Expectations] and [Config].
const (
	DefaultNonceLifetime = 5 * time.Minute
	DefaultClockSkew     = time.Minute
)

// Validate checks a parsed message against what the server expects: origin (domain, scheme and
// URI), chain, nonce and time — Not Before (not valid before it), Expiration Time (expired at and
// after it) and Issued At (neither ahead of Now by more than the clock skew nor older than MaxAge).
// It returns a [*ValidationError] wrapping the sentinel of the first failed check. It does not
// check the signature; see [Service.Verify] for the whole sign-in.
func Validate(m *Message, want Expectations) error {
	if want.Nonce == "" {
		return &ValidationError{Err: ErrBadExpectations, Field: "nonce", Want: "the nonce the server issued"}
	}
	if err := validate(m, &want); err != nil {
		return err
	}
	if m.Nonce != want.Nonce {
		return &ValidationError{Err: ErrNonceInvalid, Field: "nonce"}
	}
	return nil
}

// validate runs every check of Validate but the nonce comparison.
func validate(m *Message, want *Expectations) error {
	switch {
	case m == nil:
		return &ValidationError{Err: ErrInvalidMessage, Field: "message"}
	case want.Origin.IsZero():
		return &ValidationError{Err: ErrBadExpectations, Field: "origin", Want: "the server's origin"}
	case len(want.ChainIDs) == 0:
		return &ValidationError{Err: ErrBadExpectations, Field: "chain-id", Want: "at least one allowed chain"}
	case want.Now.IsZero():
		return &ValidationError{Err: ErrBadExpectations, Field: "time", Want: "the current time"}
	}
	o := want.Origin
	if !o.matchesDomain(m.Domain) {
		return &ValidationError{Err: ErrDomainMismatch, Field: "domain", Got: clip(m.Domain), Want: strconv.Quote(o.Domain())}
	}
	switch {
	case m.Scheme == "" && (o.scheme == "https" || o.local):
	case m.Scheme != "" && asciiEqualFold(m.Scheme, o.scheme):
	default:
		got := m.Scheme
		if got == "" {
			got = "https (by default)"
		}
		return &ValidationError{Err: ErrSchemeMismatch, Field: "scheme", Got: got, Want: strconv.Quote(o.scheme)}
	}
	if !o.matchesURI(m.URI) && !slices.ContainsFunc(want.URIOrigins, func(u Origin) bool { return u.matchesURI(m.URI) }) {
		return &ValidationError{Err: ErrURIMismatch, Field: "uri", Got: clip(m.URI), Want: "a URI on " + o.String()}
	}
	if !slices.Contains(want.ChainIDs, m.ChainID) {
		return &ValidationError{Err: ErrChainNotAllowed, Field: "chain-id", Got: strconv.FormatUint(m.ChainID, 10), Want: "an allowed chain"}
	}
	now := want.Now
	if !m.ExpirationTime.IsZero() && !now.Before(m.ExpirationTime.Time()) {
		return &ValidationError{Err: ErrExpired, Field: "expiration-time"}
	}
	if !m.NotBefore.IsZero() && now.Before(m.NotBefore.Time()) {
		return &ValidationError{Err: ErrNotYetValid, Field: "not-before"}
	}
	skew := want.ClockSkew
	if skew == 0 {
		skew = DefaultClockSkew
	} else if skew < 0 {
		skew = 0
	}
	maxAge := want.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultNonceLifetime
	}
	issued := m.IssuedAt.Time()
	if m.IssuedAt.IsZero() {
		return &ValidationError{Err: ErrInvalidMessage, Field: "issued-at"}
	}
	if issued.After(now.Add(skew)) {
		return &ValidationError{Err: ErrIssuedInFuture, Field: "issued-at"}
	}
	if issued.Before(now.Add(-maxAge - skew)) {
		return &ValidationError{Err: ErrIssuedTooLongAgo, Field: "issued-at"}
	}
	return nil
}
