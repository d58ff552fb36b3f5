// Package jsonstr tells which strings encoding/json writes as they are, for the places that
// write JSON directly on hot paths and leave every other string to encoding/json.
package jsonstr

import "unicode/utf8"

// Plain reports whether encoding/json writes s between quotes byte for byte: ASCII from space
// on, but for the quote, the backslash and the characters it escapes for HTML (<, >, &).
func Plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return false
		}
	}
	return true
}

var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
