package web3auth

import (
	"net/netip"
	"strings"
	"time"
)

// charSet is a set of bytes: the characters one ABNF rule allows.
type charSet [256]bool

// set builds a charSet from character ranges written as "az" pairs and single characters.
func set(ranges []string, singles string) (cs charSet) {
	for _, r := range ranges {
		for c := r[0]; c <= r[1]; c++ {
			cs[c] = true
		}
	}
	for i := 0; i < len(singles); i++ {
		cs[singles[i]] = true
	}
	return cs
}

// The rules of RFC 3986 §2–3 and RFC 5234 appendix B that messages use.
const (
	subDelims = "!$&'()*+,;="
	genDelims = ":/?#[]@"
	unresSym  = "-._~"
)

var (
	alnum      = []string{"az", "AZ", "09"}
	digits     = set([]string{"09"}, "")
	hexDigits  = set([]string{"09", "af", "AF"}, "")
	alphaNum   = set(alnum, "")                        // nonce = 8*( ALPHA / DIGIT )
	schemeRest = set(alnum, "+-.")                     // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
	regName    = set(alnum, unresSym+subDelims)        // reg-name = *( unreserved / pct-encoded / sub-delims )
	userinfo   = set(alnum, unresSym+subDelims+":")    // userinfo = *( unreserved / pct-encoded / sub-delims / ":" )
	pchar      = set(alnum, unresSym+subDelims+":@")   // pchar = unreserved / pct-encoded / sub-delims / ":" / "@"
	pathChars  = set(alnum, unresSym+subDelims+":@/")  // segments and "/"
	queryChars = set(alnum, unresSym+subDelims+":@/?") // query = fragment = *( pchar / "/" / "?" )
	statement  = set(alnum, unresSym+subDelims+genDelims+" ")
)

// validChars reports whether s consists of characters of cs and, when pct is set, pct-encoded
// triplets ("%" HEXDIG HEXDIG).
func validChars(s string, cs *charSet, pct bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if cs[c] {
			continue
		}
		if !pct || c != '%' || i+2 >= len(s) || !hexDigits[s[i+1]] || !hexDigits[s[i+2]] {
			return false
		}
		i += 2
	}
	return true
}

// validScheme: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	return s != "" && (s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z') && validChars(s[1:], &schemeRest, false)
}

// validPort: port = *DIGIT.
func validPort(s string) bool { return validChars(s, &digits, false) }

// validAuthority checks authority = [ userinfo "@" ] host [ ":" port ] (RFC 3986 §3.2). When
// needHost is set the host must not be empty, as the domain of a message requires.
func validAuthority(s string, needHost bool) bool {
	if at := strings.IndexByte(s, '@'); at >= 0 {
		// userinfo = *( unreserved / pct-encoded / sub-delims / ":" )
		if !validChars(s[:at], &userinfo, true) {
			return false
		}
		s = s[at+1:]
	}
	var host string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || !validIPLiteral(s[1:end]) {
			return false
		}
		host, s = s[:end+1], s[end+1:]
		if s != "" {
			if s[0] != ':' {
				return false
			}
			return validPort(s[1:])
		}
		return true
	}
	host = s
	if colon := strings.IndexByte(s, ':'); colon >= 0 {
		host = s[:colon]
		if !validPort(s[colon+1:]) {
			return false
		}
	}
	if needHost && host == "" {
		return false
	}
	// reg-name = *( unreserved / pct-encoded / sub-delims ); IPv4address is a subset of it.
	return validChars(host, &regName, true)
}

// validIPLiteral checks the inside of "[" "]": IPv6address / IPvFuture.
func validIPLiteral(s string) bool {
	if len(s) > 1 && (s[0] == 'v' || s[0] == 'V') {
		// IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
		dot := strings.IndexByte(s, '.')
		return dot > 1 && validChars(s[1:dot], &hexDigits, false) &&
			dot+1 < len(s) && validChars(s[dot+1:], &userinfo, false)
	}
	if strings.IndexByte(s, '%') >= 0 { // no zone identifiers
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

// validURI checks URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ] (RFC 3986 §3).
func validURI(s string) bool {
	colon := strings.IndexByte(s, ':')
	if colon < 0 || !validScheme(s[:colon]) {
		return false
	}
	s = s[colon+1:]
	if hash := strings.IndexByte(s, '#'); hash >= 0 {
		// fragment = *( pchar / "/" / "?" )
		if !validChars(s[hash+1:], &queryChars, true) {
			return false
		}
		s = s[:hash]
	}
	if q := strings.IndexByte(s, '?'); q >= 0 {
		// query = *( pchar / "/" / "?" )
		if !validChars(s[q+1:], &queryChars, true) {
			return false
		}
		s = s[:q]
	}
	if strings.HasPrefix(s, "//") {
		s = s[2:]
		end := strings.IndexByte(s, '/')
		if end < 0 {
			end = len(s)
		}
		if !validAuthority(s[:end], false) {
			return false
		}
		s = s[end:]
	}
	// path-abempty / path-absolute / path-rootless / path-empty: segments of pchar split by "/".
	// (A path that starts with "//" was taken as an authority above.)
	return validChars(s, &pathChars, true)
}

// validStatement: statement = 1*( reserved / unreserved / " " ). Printable ASCII only: no line
// breaks, no control, bidi or other non-ASCII characters, no "%".
func validStatement(s string) bool {
	return s != "" && validChars(s, &statement, false)
}

// validNonce: nonce = 8*( ALPHA / DIGIT ), at most [MaxNonceLength] characters.
func validNonce(s string) bool {
	return len(s) >= MinNonceLength && len(s) <= MaxNonceLength && validChars(s, &alphaNum, false)
}

// parseDateTime parses an RFC 3339 date-time strictly (§5.6): full-date "T" full-time with an
// optional fraction and a "Z" or ±hh:mm offset; "t" and "z" may be lower case (§5.6 note).
// Impossible dates (February 31st), hours over 23, minutes over 59 and offsets over 23:59 are
// rejected, and so is a leap second (second 60), which Go's time cannot represent.
// The result is in UTC.
func parseDateTime(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || s[4] != '-' || s[7] != '-' ||
		(s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if rest != "" && rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if i <= 9 {
				nsec = nsec*10 + int(rest[i]-'0')
			}
			i++
		}
		if i == 1 {
			return time.Time{}, false // time-secfrac = "." 1*DIGIT
		}
		for d := i; d <= 9; d++ {
			nsec *= 10
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := num(len(s)-5, 2)
		om, okm := num(len(s)-2, 2)
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
