package session

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/walletauth/walletauth/internal/jsonstr"
)

// The claims of a token are encoded and decoded by hand, without reflection: they are the hot
// part of minting and verifying after the signature itself. Both are exact stand-ins for
// encoding/json on tokenClaims: appendClaims writes the bytes json.Marshal writes, and
// parseClaims accepts only a strict subset of JSON (the form appendClaims writes: no
// whitespace, no escapes, each known member at most once, no other member), on which it gives
// what json.Unmarshal gives; anything else is left to json.Unmarshal.

// appendClaims appends the JSON encoding of c to b, the bytes json.Marshal(c) gives, but with jti
// (already encoded, and never in need of escaping) in place of c.Jti.
func appendClaims(b []byte, c *tokenClaims, jti []byte) []byte {
	b = append(b, `{"iss":`...)
	b = appendJSONString(b, c.Iss)
	b = append(b, `,"aud":`...)
	if len(c.Aud) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, c.Aud...) // the audience as json.Marshal encoded it
	}
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, c.Sub)
	if c.Sid != "" {
		b = append(b, `,"sid":`...)
		b = appendJSONString(b, c.Sid)
	}
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.Iat, 10)
	b = append(b, `,"nbf":`...)
	b = strconv.AppendInt(b, c.Nbf, 10)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Exp, 10)
	b = append(b, `,"jti":"`...)
	b = append(b, jti...)
	b = append(b, `","typ":`...)
	b = appendJSONString(b, c.Typ)
	if c.Addr != "" {
		b = append(b, `,"addr":`...)
		b = appendJSONString(b, c.Addr)
	}
	if c.Chain != "" {
		b = append(b, `,"chain":`...)
		b = appendJSONString(b, c.Chain)
	}
	b = append(b, `,"aal":`...)
	b = appendJSONString(b, c.Aal)
	b = append(b, `,"amr":`...)
	if c.Amr == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range c.Amr {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, m)
		}
		b = append(b, ']')
	}
	if c.AuthTime != 0 {
		b = append(b, `,"auth_time":`...)
		b = strconv.AppendInt(b, c.AuthTime, 10)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte {
	if !jsonstr.Plain(s) {
		// Something to escape or to check: encoding/json knows how (HTML escapes, invalid
		// UTF-8, U+2028 and U+2029).
		enc, _ := json.Marshal(s) // a string always encodes
		return append(b, enc...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// The members of tokenClaims, as bits.
const (
	claimIss = 1 << iota
	claimAud
	claimSub
	claimSid
	claimIat
	claimNbf
	claimExp
	claimJti
	claimTyp
	claimAddr
	claimChain
	claimAal
	claimAmr
	claimAuthTime
)

func claimBit(name string) uint {
	switch name {
	case "iss":
		return claimIss
	case "aud":
		return claimAud
	case "sub":
		return claimSub
	case "sid":
		return claimSid
	case "iat":
		return claimIat
	case "nbf":
		return claimNbf
	case "exp":
		return claimExp
	case "jti":
		return claimJti
	case "typ":
		return claimTyp
	case "addr":
		return claimAddr
	case "chain":
		return claimChain
	case "aal":
		return claimAal
	case "amr":
		return claimAmr
	case "auth_time":
		return claimAuthTime
	}
	return 0
}

// parseClaims decodes p into tc when p is in the strict form described above, and reports
// whether it was; when it was not, tc is left partly filled and the caller must decode p with
// json.Unmarshal into a fresh tokenClaims. The strings of tc share one allocation, a copy of p;
// tc.Aud is a slice of p itself, valid only as long as p is.
func parseClaims(p []byte, tc *tokenClaims) bool {
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return false
	}
	s := string(p)
	var seen uint
	for i := 1; ; {
		// A member name, then a colon.
		if i >= len(s) || s[i] != '"' {
			return false
		}
		n := strings.IndexByte(s[i+1:], '"')
		if n < 0 {
			return false
		}
		bit := claimBit(s[i+1 : i+1+n]) // a name with an escape matches none
		i += n + 2
		if bit == 0 || seen&bit != 0 || i >= len(s) || s[i] != ':' {
			return false
		}
		seen |= bit
		i++
		var ok bool
		switch bit {
		case claimIss:
			tc.Iss, i, ok = scanString(s, i)
		case claimAud:
			start := i
			if _, i, ok = scanString(s, i); ok {
				tc.Aud = p[start:i]
			}
		case claimSub:
			tc.Sub, i, ok = scanString(s, i)
		case claimSid:
			tc.Sid, i, ok = scanString(s, i)
		case claimJti:
			tc.Jti, i, ok = scanString(s, i)
		case claimTyp:
			tc.Typ, i, ok = scanString(s, i)
		case claimAddr:
			tc.Addr, i, ok = scanString(s, i)
		case claimChain:
			tc.Chain, i, ok = scanString(s, i)
		case claimAal:
			tc.Aal, i, ok = scanString(s, i)
		case claimIat:
			tc.Iat, i, ok = scanInt(s, i)
		case claimNbf:
			tc.Nbf, i, ok = scanInt(s, i)
		case claimExp:
			tc.Exp, i, ok = scanInt(s, i)
		case claimAuthTime:
			tc.AuthTime, i, ok = scanInt(s, i)
		case claimAmr:
			tc.Amr, i, ok = scanStrings(s, i)
		}
		// Then a comma and the next member, or the end.
		if !ok || i >= len(s) {
			return false
		}
		switch s[i] {
		case ',':
			i++
		case '}':
			return i == len(s)-1
		default:
			return false
		}
	}
}

// scanString reads the JSON string at s[i:] when it has no escapes, no control characters and
// only valid UTF-8 (which encoding/json would replace), and returns it and the index past it.
func scanString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	ascii := true
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			v := s[i+1 : j]
			if !ascii && !utf8.ValidString(v) {
				return "", i, false
			}
			return v, j + 1, true
		case c < 0x20 || c == '\\':
			return "", i, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", i, false
}

// scanInt reads the JSON integer at s[i:] (no fraction, no exponent; it must fit an int64) and
// returns it and the index past it.
func scanInt(s string, i int) (int64, int, bool) {
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	digits := j
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == digits || (s[digits] == '0' && j > digits+1) { // none, or a leading zero
		return 0, i, false
	}
	v, err := strconv.ParseInt(s[i:j], 10, 64)
	if err != nil {
		return 0, i, false
	}
	return v, j, true
}

// scanStrings reads the JSON array of strings (as scanString reads them) at s[i:] and returns
// it and the index past it. An empty array gives an empty slice, not nil, as encoding/json does.
func scanStrings(s string, i int) ([]string, int, bool) {
	if i >= len(s) || s[i] != '[' {
		return nil, i, false
	}
	j := i + 1
	if j < len(s) && s[j] == ']' {
		return []string{}, j + 1, true
	}
	var buf [4]string
	list := buf[:0]
	for {
		v, next, ok := scanString(s, j)
		if !ok || next >= len(s) {
			return nil, i, false
		}
		list = append(list, v)
		switch s[next] {
		case ',':
			j = next + 1
		case ']':
			out := make([]string, len(list))
			copy(out, list)
			return out, next + 1, true
		default:
			return nil, i, false
		}
	}
}
