package web3auth

import (
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Limits that bound the work a hostile message can cause. They are far above what a wallet sign-in
// needs.
const (
	// MaxMessageLength is the longest message, in bytes, that [ParseMessage] reads.
	MaxMessageLength = 16 << 10
	// MaxResources is the most Resources entries a message may list.
	MaxResources = 100
	// MinNonceLength and MaxNonceLength bound a nonce's length (EIP-4361: at least 8).
	MinNonceLength = 8
	MaxNonceLength = 128
)

// The fixed text of an EIP-4361 message.
const (
	headerSuffix = " wants you to sign in with your Ethereum account:"
	tagURI       = "URI: "
	tagVersion   = "Version: "
	tagChainID   = "Chain ID: "
	tagNonce     = "Nonce: "
	tagIssuedAt  = "Issued At: "
	tagExpires   = "Expiration Time: "
	tagNotBefore = "Not Before: "
	tagRequestID = "Request ID: "
	tagResources = "Resources:"
	itemPrefix   = "- "
)

// Timestamp is an RFC 3339 date-time as it appears in a message: the instant, and the exact text
// that was signed (so formatting a parsed message gives back the same bytes). The zero Timestamp
// means "absent".
type Timestamp struct {
	t    time.Time
	text string
}

// NewTimestamp returns the Timestamp of t, written in UTC with milliseconds
// ("2006-01-02T15:04:05.000Z", as JavaScript's toISOString writes it); t is truncated to the
// millisecond so that the instant and the text agree.
func NewTimestamp(t time.Time) Timestamp {
	t = t.UTC().Truncate(time.Millisecond)
	return Timestamp{t: t, text: t.Format("2006-01-02T15:04:05.000Z")}
}

// ParseTimestamp parses an RFC 3339 date-time strictly: impossible dates, out-of-range fields,
// leap seconds and any other layout are errors.
func ParseTimestamp(s string) (Timestamp, error) {
	t, ok := parseDateTime(s)
	if !ok {
		return Timestamp{}, &ParseError{Field: "date-time", Msg: "not an RFC 3339 date-time: " + strconv.Quote(clip(s))}
	}
	return Timestamp{t: t, text: s}, nil
}

// Time returns the instant, in UTC; the zero time for an absent Timestamp.
func (ts Timestamp) Time() time.Time { return ts.t }

// String returns the text of the Timestamp; "" when absent.
func (ts Timestamp) String() string { return ts.text }

// IsZero reports whether the Timestamp is absent.
func (ts Timestamp) IsZero() bool { return ts.text == "" }

// Message is an EIP-4361 "Sign-In with Ethereum" message.
//
// [ParseMessage] fills it from text; [Message.MarshalText] and [Message.String] write the canonical
// text. A parsed message formats back to exactly the text it was parsed from.
type Message struct {
	// Scheme is the optional URI scheme of the requesting origin ("https"); "" when absent, which
	// means https.
	Scheme string
	// Domain is the RFC 3986 authority of the requesting site: host, optionally with user info
	// and port.
	Domain string
	// Address is the account that signs.
	Address common.Address
	// Statement is the optional human-readable assertion; "" when absent.
	Statement string
	// URI is the RFC 3986 URI of the resource that is the subject of the signing.
	URI string
	// Version is "1".
	Version string
	// ChainID is the EIP-155 chain id.
	ChainID uint64
	// Nonce is the server-issued nonce: at least 8 letters and digits.
	Nonce string
	// IssuedAt is when the message was made (required).
	IssuedAt Timestamp
	// ExpirationTime, when set, is when the message stops being valid.
	ExpirationTime Timestamp
	// NotBefore, when set, is when the message starts being valid.
	NotBefore Timestamp
	// RequestID is an optional system-specific identifier; "" when absent.
	RequestID string
	// Resources are optional URIs the user wishes to have resolved as part of the sign-in.
	Resources []string
}

// ParseMessage parses the text of an EIP-4361 message strictly, following the ABNF of EIP-4361
// (with RFC 3986 for the domain and URIs and RFC 3339 for times). It returns a [*ParseError]
// naming the line and field on any deviation: a field missing, out of order or repeated, an extra
// or missing blank line, a trailing line break, a character outside a field's set, an address not
// in EIP-55 form or the zero address (as [Message.Check]), a nonce shorter than 8 characters, an
// impossible date.
//
// Beyond the ABNF it refuses a few spellings that no formatter writes and that would otherwise
// make the mapping between text and [Message] ambiguous: an empty statement, an empty Request ID,
// a "Resources:" header with no items, a chain id with leading zeros. It reads at most
// [MaxMessageLength] bytes and [MaxResources] resources.
//
// On error the returned *Message is nil: there is never a partly filled result.
func ParseMessage(text string) (*Message, error) {
	p := parser{rest: text}
	if len(text) > MaxMessageLength {
		return nil, &ParseError{Line: 1, Field: "message", Msg: "longer than " + strconv.Itoa(MaxMessageLength) + " bytes"}
	}
	var m Message
	if err := p.parse(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

// addressLine returns the address line of a text that ParseMessage accepted: the second line,
// which it checked is the message's address in EIP-55 form (so no checksum is computed again).
func addressLine(text string) string {
	_, rest, _ := strings.Cut(text, "\n")
	l, _, _ := strings.Cut(rest, "\n")
	return l
}

type parser struct {
	rest string // what is left of the text
	line int    // number of the line last read
	done bool   // no line left
}

// next returns the next line (without its LF).
func (p *parser) next() (string, bool) {
	if p.done {
		return "", false
	}
	p.line++
	if i := strings.IndexByte(p.rest, '\n'); i >= 0 {
		l := p.rest[:i]
		p.rest = p.rest[i+1:]
		return l, true
	}
	l := p.rest
	p.rest, p.done = "", true
	return l, true
}

func (p *parser) fail(field, msg string) error {
	return &ParseError{Line: p.line, Field: field, Msg: msg}
}

// tagged reads the next line and requires it to start with tag, returning the value after it.
func (p *parser) tagged(field, tag string) (string, error) {
	l, ok := p.next()
	if !ok {
		return "", p.fail(field, "missing (message ends early)")
	}
	if v, ok := strings.CutPrefix(l, tag); ok {
		return v, nil
	}
	return "", p.fail(field, describeLine(l, tag))
}

// describeLine explains a line found where tag was expected.
func describeLine(l, tag string) string {
	want := strconv.Quote(strings.TrimSpace(tag))
	if l == "" {
		return "unexpected blank line; expected " + want
	}
	for _, t := range allTags {
		if strings.HasPrefix(l, t) {
			return strconv.Quote(strings.TrimSpace(t)) + " out of order or repeated; expected " + want
		}
	}
	return "expected " + want
}

var allTags = []string{tagURI, tagVersion, tagChainID, tagNonce, tagIssuedAt, tagExpires, tagNotBefore, tagRequestID, tagResources}

func (p *parser) parse(m *Message) error {
	// [ scheme "://" ] domain " wants you to sign in with your Ethereum account:" LF
	l, _ := p.next()
	head, ok := strings.CutSuffix(l, headerSuffix)
	if !ok {
		return p.fail("domain", "first line must end with "+strconv.Quote(headerSuffix))
	}
	if scheme, domain, ok := strings.Cut(head, "://"); ok {
		if !validScheme(scheme) {
			return p.fail("scheme", "not an RFC 3986 scheme")
		}
		m.Scheme, head = scheme, domain
	}
	if head == "" {
		return p.fail("domain", "missing")
	}
	if !validAuthority(head, true) {
		return p.fail("domain", "not an RFC 3986 authority")
	}
	m.Domain = head

	// address LF LF
	l, ok = p.next()
	if !ok || l == "" {
		return p.fail("address", "missing")
	}
	addr, err := ParseAddress(l)
	if err != nil {
		return p.fail("address", "not an EIP-55 address")
	}
	if addr == (common.Address{}) { // as Check: no key holds it, and no contract lives there
		return p.fail("address", "the zero address")
	}
	m.Address = addr
	if l, ok = p.next(); !ok || l != "" {
		return p.fail("address", "must be followed by a blank line")
	}

	// [ statement LF ] LF
	if l, ok = p.next(); !ok {
		return p.fail("statement", "message ends early")
	}
	if l != "" {
		if !validStatement(l) {
			return p.fail("statement", "has a character outside printable ASCII letters, digits, space and RFC 3986 delimiters")
		}
		m.Statement = l
		if l, ok = p.next(); !ok || l != "" {
			if strings.HasPrefix(m.Statement, tagURI) && strings.HasPrefix(l, tagVersion) {
				p.line--
				return p.fail("uri", `a message without a statement has two blank lines before "URI:"`)
			}
			return p.fail("statement", "must be a single line followed by a blank line")
		}
	}

	// "URI: " uri LF
	if m.URI, err = p.tagged("uri", tagURI); err != nil {
		return err
	}
	if !validURI(m.URI) {
		return p.fail("uri", "not an RFC 3986 URI")
	}
	// "Version: " version LF
	v, err := p.tagged("version", tagVersion)
	if err != nil {
		return err
	}
	if v != "1" {
		return p.fail("version", `must be "1"`)
	}
	m.Version = v
	// "Chain ID: " chain-id LF
	if v, err = p.tagged("chain-id", tagChainID); err != nil {
		return err
	}
	if m.ChainID, ok = parseChainID(v); !ok {
		return p.fail("chain-id", "not a decimal number without leading zeros that fits 64 bits")
	}
	// "Nonce: " nonce LF
	if m.Nonce, err = p.tagged("nonce", tagNonce); err != nil {
		return err
	}
	if !validNonce(m.Nonce) {
		return p.fail("nonce", "must be 8 to "+strconv.Itoa(MaxNonceLength)+" ASCII letters and digits")
	}
	// "Issued At: " issued-at
	if v, err = p.tagged("issued-at", tagIssuedAt); err != nil {
		return err
	}
	if m.IssuedAt, ok = timestamp(v); !ok {
		return p.fail("issued-at", "not an RFC 3339 date-time")
	}

	// The optional fields, each at most once and in this order.
	stage := 0
	for {
		l, ok := p.next()
		if !ok {
			return nil
		}
		switch {
		case stage < 1 && strings.HasPrefix(l, tagExpires):
			stage = 1
			if m.ExpirationTime, ok = timestamp(l[len(tagExpires):]); !ok {
				return p.fail("expiration-time", "not an RFC 3339 date-time")
			}
		case stage < 2 && strings.HasPrefix(l, tagNotBefore):
			stage = 2
			if m.NotBefore, ok = timestamp(l[len(tagNotBefore):]); !ok {
				return p.fail("not-before", "not an RFC 3339 date-time")
			}
		case stage < 3 && strings.HasPrefix(l, tagRequestID):
			stage = 3
			m.RequestID = l[len(tagRequestID):]
			if m.RequestID == "" {
				return p.fail("request-id", "empty (leave the line out instead)")
			}
			// request-id = *pchar
			if !validChars(m.RequestID, &pchar, true) {
				return p.fail("request-id", "has a character outside RFC 3986 pchar")
			}
		case stage < 4 && l == tagResources:
			return p.resources(m)
		default:
			return p.fail(optionalField(l), describeOptional(l, stage))
		}
	}
}

// resources reads the "- " URI lines after "Resources:" up to the end of the message.
func (p *parser) resources(m *Message) error {
	for {
		l, ok := p.next()
		if !ok {
			break
		}
		uri, isItem := strings.CutPrefix(l, itemPrefix)
		if !isItem {
			return p.fail("resources", describeOptional(l, 4))
		}
		if !validURI(uri) {
			return p.fail("resources", "item "+strconv.Itoa(len(m.Resources)+1)+" is not an RFC 3986 URI")
		}
		if len(m.Resources) == MaxResources {
			return p.fail("resources", "more than "+strconv.Itoa(MaxResources)+" items")
		}
		m.Resources = append(m.Resources, uri)
	}
	if len(m.Resources) == 0 {
		return p.fail("resources", `"Resources:" with no items`)
	}
	return nil
}

// optionalField names the field a stray line after Issued At seems to be.
func optionalField(l string) string {
	for _, f := range []struct{ tag, name string }{
		{tagExpires, "expiration-time"}, {tagNotBefore, "not-before"}, {tagRequestID, "request-id"},
		{tagResources, "resources"}, {tagURI, "uri"}, {tagVersion, "version"}, {tagChainID, "chain-id"},
		{tagNonce, "nonce"}, {tagIssuedAt, "issued-at"},
	} {
		if strings.HasPrefix(l, f.tag) {
			return f.name
		}
	}
	return "message"
}

func describeOptional(l string, stage int) string {
	switch {
	case l == "":
		return "unexpected blank line (or line break at the end of the message)"
	case optionalField(l) != "message":
		return strconv.Quote(strings.TrimSpace(strings.SplitN(l, ":", 2)[0])) + " out of order or repeated"
	case stage == 4:
		return `resources must be lines of "- " and a URI`
	}
	return "unexpected line"
}

func timestamp(s string) (Timestamp, bool) {
	t, ok := parseDateTime(s)
	return Timestamp{t: t, text: s}, ok
}

// parseChainID parses chain-id = 1*DIGIT, refusing leading zeros and overflow.
func parseChainID(s string) (uint64, bool) {
	if s == "" || len(s) > 20 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// Check reports whether m can be written as an EIP-4361 message: every required field present and
// every field within its ABNF rule, as [ParseMessage] would accept it. It returns a *ParseError
// (wrapping [ErrInvalidMessage]) naming the first bad field; Line is 0.
func (m *Message) Check() error {
	bad := func(field, msg string) error { return &ParseError{Field: field, Msg: msg} }
	switch {
	case m.Scheme != "" && !validScheme(m.Scheme):
		return bad("scheme", "not an RFC 3986 scheme")
	case m.Domain == "" || !validAuthority(m.Domain, true):
		return bad("domain", "missing or not an RFC 3986 authority")
	case m.Address == (common.Address{}):
		return bad("address", "missing")
	case m.Statement != "" && !validStatement(m.Statement):
		return bad("statement", "has a character outside printable ASCII letters, digits, space and RFC 3986 delimiters")
	case !validURI(m.URI):
		return bad("uri", "missing or not an RFC 3986 URI")
	case m.Version != "1":
		return bad("version", `must be "1"`)
	case !validNonce(m.Nonce):
		return bad("nonce", "must be 8 to "+strconv.Itoa(MaxNonceLength)+" ASCII letters and digits")
	case m.IssuedAt.IsZero():
		return bad("issued-at", "missing")
	case m.RequestID != "" && !validChars(m.RequestID, &pchar, true):
		return bad("request-id", "has a character outside RFC 3986 pchar")
	case len(m.Resources) > MaxResources:
		return bad("resources", "more than "+strconv.Itoa(MaxResources)+" items")
	}
	for _, ts := range []struct {
		field string
		ts    Timestamp
	}{{"issued-at", m.IssuedAt}, {"expiration-time", m.ExpirationTime}, {"not-before", m.NotBefore}} {
		if !ts.ts.IsZero() {
			if _, ok := parseDateTime(ts.ts.text); !ok {
				return bad(ts.field, "not an RFC 3339 date-time")
			}
		}
	}
	for i, r := range m.Resources {
		if !validURI(r) {
			return bad("resources", "item "+strconv.Itoa(i+1)+" is not an RFC 3986 URI")
		}
	}
	if len(m.String()) > MaxMessageLength {
		return bad("message", "longer than "+strconv.Itoa(MaxMessageLength)+" bytes")
	}
	return nil
}

// MarshalText writes the canonical EIP-4361 text of m after [Message.Check]ing it.
func (m *Message) MarshalText() ([]byte, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	return []byte(m.String()), nil
}

// UnmarshalText parses text with [ParseMessage]; on error m is left unchanged.
func (m *Message) UnmarshalText(text []byte) error {
	p, err := ParseMessage(string(text))
	if err != nil {
		return err
	}
	*m = *p
	return nil
}

// String writes the canonical EIP-4361 text of m without checking it; use [Message.MarshalText]
// for a message whose fields came from outside.
func (m *Message) String() string {
	var b strings.Builder
	n := 256 + len(m.Domain) + len(m.Statement) + len(m.URI) + len(m.Nonce) + len(m.RequestID)
	for _, r := range m.Resources {
		n += len(r) + 3
	}
	b.Grow(n)
	if m.Scheme != "" {
		b.WriteString(m.Scheme)
		b.WriteString("://")
	}
	b.WriteString(m.Domain)
	b.WriteString(headerSuffix)
	b.WriteByte('\n')
	var addr [40]byte
	checksumHex(&addr, &m.Address)
	b.WriteString("0x")
	b.Write(addr[:])
	b.WriteString("\n\n")
	if m.Statement != "" {
		b.WriteString(m.Statement)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	line := func(tag, v string) {
		b.WriteString(tag)
		b.WriteString(v)
	}
	line(tagURI, m.URI)
	line("\n"+tagVersion, m.Version)
	line("\n"+tagChainID, strconv.FormatUint(m.ChainID, 10))
	line("\n"+tagNonce, m.Nonce)
	line("\n"+tagIssuedAt, m.IssuedAt.text)
	if !m.ExpirationTime.IsZero() {
		line("\n"+tagExpires, m.ExpirationTime.text)
	}
	if !m.NotBefore.IsZero() {
		line("\n"+tagNotBefore, m.NotBefore.text)
	}
	if m.RequestID != "" {
		line("\n"+tagRequestID, m.RequestID)
	}
	if len(m.Resources) > 0 {
		b.WriteString("\n" + tagResources)
		for _, r := range m.Resources {
			line("\n"+itemPrefix, r)
		}
	}
	return b.String()
}
