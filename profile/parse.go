package profile

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kinds of contact.
const (
	KindEmail = "email"
	KindPhone = "phone"
)

// Limits of [ParseEmail] and [ParsePhone].
const (
	// MaxEmailLen is the longest email address accepted, in bytes (RFC 5321's path limit less
	// the angle brackets).
	MaxEmailLen = 254
	maxLocalLen = 64
	maxLabelLen = 63
	// MinPhoneDigits and MaxPhoneDigits bound the digits of a phone number after the "+".
	MinPhoneDigits = 8
	MaxPhoneDigits = 15
	// maxPhoneInput bounds what ParsePhone reads, separators included.
	maxPhoneInput = 64
)

// ParseEmail checks that s (less surrounding white space) is one bare email address — an
// addr-spec as [net/mail] parses it, without display name, angle brackets, comments or quoted
// local part — and returns it in lower case. It refuses, with an error wrapping
// [ErrInvalidEmail], an address longer than [MaxEmailLen] bytes, a local part longer than 64,
// and a domain that is not a host name with at least one dot: labels of 1 to 63 bytes of
// letters, digits and inner hyphens, where letters may be non-ASCII (internationalised domain
// names are kept as given, not converted to punycode), and a top-level label that is not all
// digits (so no IP addresses or domain literals).
func ParseEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fmt.Errorf("%w: empty", ErrInvalidEmail)
	case len(s) > MaxEmailLen:
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidEmail, MaxEmailLen)
	case !utf8.ValidString(s):
		return "", fmt.Errorf("%w: not UTF-8", ErrInvalidEmail)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidEmail, err)
	}
	if a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%w: want a bare address (no name, brackets, comments or quotes)", ErrInvalidEmail)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at > maxLocalLen {
		return "", fmt.Errorf("%w: local part empty or longer than %d bytes", ErrInvalidEmail, maxLocalLen)
	}
	if err := checkDomain(s[at+1:]); err != nil {
		return "", fmt.Errorf("%w: %s", ErrInvalidEmail, err)
	}
	return strings.ToLower(s), nil
}

// checkDomain checks a domain of an email address (see ParseEmail).
func checkDomain(d string) error {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return fmt.Errorf("domain %q has no dot", d)
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLen {
			return fmt.Errorf("domain %q has an empty label or one longer than %d bytes", d, maxLabelLen)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("domain %q has a label that starts or ends with a hyphen", d)
		}
		for _, r := range l {
			if !(r == '-' || r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') ||
				r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r))) {
				return fmt.Errorf("domain %q has a character not allowed in host names", d)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("domain %q has an all-digit top-level label", d)
	}
	return nil
}

// ParsePhone checks that s is a phone number in E.164 form and returns it as "+" and digits:
// 8 to 15 ASCII digits ([MinPhoneDigits], [MaxPhoneDigits]), the first not 0. Spaces, hyphens
// and parentheses are ignored ("+1 (415) 555-0100" gives "+14155550100"); a missing "+", a
// national number ("0415…"), letters or any other character give an error wrapping
// [ErrInvalidPhone].
func ParsePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxPhoneInput {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidPhone, maxPhoneInput)
	}
	var b strings.Builder
	b.Grow(1 + MaxPhoneDigits)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '-' || c == '(' || c == ')':
		case c == '+' && i == 0:
			b.WriteByte(c)
		case c >= '0' && c <= '9' && b.Len() > 0:
			b.WriteByte(c)
		case b.Len() == 0:
			return "", fmt.Errorf("%w: want + and the country code first", ErrInvalidPhone)
		default:
			return "", fmt.Errorf("%w: only digits, spaces, hyphens and parentheses may follow the +", ErrInvalidPhone)
		}
	}
	p := b.String()
	switch n := len(p) - 1; {
	case n < 0:
		return "", fmt.Errorf("%w: empty", ErrInvalidPhone)
	case n < MinPhoneDigits || n > MaxPhoneDigits:
		return "", fmt.Errorf("%w: want %d to %d digits", ErrInvalidPhone, MinPhoneDigits, MaxPhoneDigits)
	case p[1] == '0':
		return "", fmt.Errorf("%w: a country code does not start with 0", ErrInvalidPhone)
	}
	return p, nil
}
