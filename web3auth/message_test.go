package web3auth_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/web3auth"
)

// full is a message with every optional field.
const full = `https://example.com:8443 wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ExampleOrg Terms of Service: https://example.com/tos

URI: https://example.com:8443/login
Version: 1
Chain ID: 8453
Nonce: 7a8Vb2nQx9LmP4tRz
Issued At: 2030-01-02T03:04:05.678Z
Expiration Time: 2030-01-02T03:09:05.678Z
Not Before: 2030-01-02T03:04:00Z
Request ID: req-1234
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json`

func TestParseFull(t *testing.T) {
	m, err := web3auth.ParseMessage(full)
	if err != nil {
		t.Fatal(err)
	}
	if m.Scheme != "https" || m.Domain != "example.com:8443" || m.ChainID != 8453 || m.RequestID != "req-1234" ||
		len(m.Resources) != 2 || m.Nonce != "7a8Vb2nQx9LmP4tRz" || m.Version != "1" {
		t.Errorf("parsed %#v", m)
	}
	if want := time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC); !m.IssuedAt.Time().Equal(want) {
		t.Errorf("IssuedAt %v, want %v", m.IssuedAt.Time(), want)
	}
	if want := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC); !m.NotBefore.Time().Equal(want) {
		t.Errorf("NotBefore %v", m.NotBefore.Time())
	}
	if m.String() != full {
		t.Errorf("round trip:\n%s", m.String())
	}
	var u web3auth.Message
	if err := u.UnmarshalText([]byte(full)); err != nil || u.String() != full {
		t.Errorf("UnmarshalText: %v", err)
	}
}

// TestParseRejects mutates the full message and checks that each mutation is refused with an
// error naming the right field.
func TestParseRejects(t *testing.T) {
	repl := func(old, new string) string {
		if !strings.Contains(full, old) {
			t.Fatalf("test bug: %q not in message", old)
		}
		return strings.Replace(full, old, new, 1)
	}
	cases := []struct {
		name, text, field string
	}{
		{"empty", "", "domain"},
		{"bad header", repl("wants you to sign in", "wants you to log in"), "domain"},
		{"bad scheme", repl("https://example.com:8443 wants", "1https://example.com:8443 wants"), "scheme"},
		{"empty domain", repl("https://example.com:8443 wants", "https:// wants"), "domain"},
		{"domain with path", repl("https://example.com:8443 wants", "example.com/x wants"), "domain"},
		{"domain with space", repl("https://example.com:8443 wants", "exa mple.com wants"), "domain"},
		{"domain bad port", repl("https://example.com:8443 wants", "example.com:84a3 wants"), "domain"},
		{"domain ipv6 zone", repl("https://example.com:8443 wants", "[fe80::1%eth0] wants"), "domain"},
		{"domain ipv6 bad", repl("https://example.com:8443 wants", "[::gg] wants"), "domain"},
		{"domain bad pct", repl("https://example.com:8443 wants", "ex%zzample.com wants"), "domain"},
		{"address lower", repl("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"), "address"},
		{"address upper", repl("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xC02AAA39B223FE8D0A0E5C4F27EAD9083C756CC2"), "address"},
		{"address short", repl("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc"), "address"},
		{"zero address", repl("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0x0000000000000000000000000000000000000000"), "address"},
		{"address no 0x", repl("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "00C02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc"), "address"},
		{"no blank after address", repl("Cc2\n\nI accept", "Cc2\nI accept"), "address"},
		{"statement bidi", repl("I accept the", "I accept \u202ethe"), "statement"},
		{"statement unicode", repl("I accept the", "I accépt the"), "statement"},
		{"statement control", repl("I accept the", "I accept\tthe"), "statement"},
		{"statement percent", repl("I accept the", "I accept 100% the"), "statement"},
		{"statement CR", repl("https://example.com/tos\n", "https://example.com/tos\r\n"), "statement"},
		{"statement two lines", repl("Terms of Service: ", "Terms of Service:\n"), "statement"},
		{"one blank line without statement", repl("I accept the ExampleOrg Terms of Service: https://example.com/tos\n\n", ""), "uri"},
		{"extra blank after statement", repl("/tos\n\nURI:", "/tos\n\n\nURI:"), "uri"},
		{"uri missing", repl("URI: https://example.com:8443/login\n", ""), "uri"},
		{"uri relative", repl("URI: https://example.com:8443/login", "URI: /login"), "uri"},
		{"uri space", repl("URI: https://example.com:8443/login", "URI: https://example.com/a b"), "uri"},
		{"uri bad char", repl("URI: https://example.com:8443/login", "URI: https://example.com/<x>"), "uri"},
		{"uri empty", repl("URI: https://example.com:8443/login", "URI: "), "uri"},
		{"version 2", repl("Version: 1", "Version: 2"), "version"},
		{"version 1.0", repl("Version: 1", "Version: 1.0"), "version"},
		{"chain missing", repl("Chain ID: 8453\n", ""), "chain-id"},
		{"chain leading zero", repl("Chain ID: 8453", "Chain ID: 08453"), "chain-id"},
		{"chain negative", repl("Chain ID: 8453", "Chain ID: -1"), "chain-id"},
		{"chain hex", repl("Chain ID: 8453", "Chain ID: 0x2105"), "chain-id"},
		{"chain overflow", repl("Chain ID: 8453", "Chain ID: 18446744073709551616"), "chain-id"},
		{"chain empty", repl("Chain ID: 8453", "Chain ID: "), "chain-id"},
		{"nonce short", repl("Nonce: 7a8Vb2nQx9LmP4tRz", "Nonce: 7a8Vb2n"), "nonce"},
		{"nonce symbol", repl("Nonce: 7a8Vb2nQx9LmP4tRz", "Nonce: 7a8Vb2nQx9-mP4tRz"), "nonce"},
		{"nonce long", repl("Nonce: 7a8Vb2nQx9LmP4tRz", "Nonce: "+strings.Repeat("a", web3auth.MaxNonceLength+1)), "nonce"},
		{"issued at missing", repl("Issued At: 2030-01-02T03:04:05.678Z\n", ""), "issued-at"},
		{"issued at feb 30", repl("Issued At: 2030-01-02", "Issued At: 2030-02-30"), "issued-at"},
		{"issued at feb 29 non-leap", repl("Issued At: 2030-01-02", "Issued At: 2030-02-29"), "issued-at"},
		{"issued at hour 24", repl("T03:04:05.678Z\nExp", "T24:04:05.678Z\nExp"), "issued-at"},
		{"issued at leap second", repl("T03:04:05.678Z\nExp", "T03:04:60Z\nExp"), "issued-at"},
		{"issued at no zone", repl("T03:04:05.678Z\nExp", "T03:04:05.678\nExp"), "issued-at"},
		{"issued at space", repl("2030-01-02T03:04:05.678Z\nExp", "2030-01-02 03:04:05.678Z\nExp"), "issued-at"},
		{"issued at empty fraction", repl("T03:04:05.678Z\nExp", "T03:04:05.Z\nExp"), "issued-at"},
		{"issued at offset 24h", repl("T03:04:05.678Z\nExp", "T03:04:05+24:00\nExp"), "issued-at"},
		{"expiration bad", repl("Expiration Time: 2030-01-02T03:09:05.678Z", "Expiration Time: tomorrow"), "expiration-time"},
		{"not before bad", repl("Not Before: 2030-01-02T03:04:00Z", "Not Before: 2030-13-02T03:04:00Z"), "not-before"},
		{"expiration after not before", repl("Expiration Time: 2030-01-02T03:09:05.678Z\nNot Before: 2030-01-02T03:04:00Z", "Not Before: 2030-01-02T03:04:00Z\nExpiration Time: 2030-01-02T03:09:05.678Z"), "expiration-time"},
		{"duplicate expiration", repl("Not Before:", "Expiration Time: 2030-01-02T03:09:05.678Z\nNot Before:"), "expiration-time"},
		{"duplicate nonce", repl("Issued At: 2030", "Nonce: 7a8Vb2nQx9LmP4tRz\nIssued At: 2030"), "issued-at"},
		{"nonce after issued at", repl("Expiration Time:", "Nonce: 7a8Vb2nQx9LmP4tRz\nExpiration Time:"), "nonce"},
		{"request id empty", repl("Request ID: req-1234", "Request ID: "), "request-id"},
		{"request id space", repl("Request ID: req-1234", "Request ID: req 1234"), "request-id"},
		{"request id slash", repl("Request ID: req-1234", "Request ID: req/1234"), "request-id"},
		{"resources empty", full[:strings.Index(full, "\n- ipfs")], "resources"},
		{"resource bad", repl("- https://example.com/my-web2-claim.json", "- not a uri"), "resources"},
		{"resource no dash", repl("- https://example.com/my-web2-claim.json", "https://example.com/my-web2-claim.json"), "resources"},
		{"field after resources", full + "\nRequest ID: x", "resources"},
		{"trailing newline", full + "\n", "resources"},
		{"blank line in optional", repl("\nNot Before:", "\n\nNot Before:"), "message"},
		{"unknown field", repl("\nNot Before:", "\nColour: blue\nNot Before:"), "message"},
		{"CRLF", strings.ReplaceAll(full, "\n", "\r\n"), "domain"},
		{"too long", full + "\n- https://example.com/" + strings.Repeat("a", web3auth.MaxMessageLength), "message"},
		{"too many resources", full + strings.Repeat("\n- https://example.com/r", web3auth.MaxResources), "resources"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := web3auth.ParseMessage(c.text)
			var pe *web3auth.ParseError
			if !errors.As(err, &pe) || !errors.Is(err, web3auth.ErrInvalidMessage) {
				t.Fatalf("ParseMessage = %v, want a *ParseError", err)
			}
			if m != nil {
				t.Errorf("partial result %#v", m)
			}
			if pe.Field != c.field {
				t.Errorf("field %q, want %q (%v)", pe.Field, c.field, err)
			}
			if !strings.Contains(err.Error(), "line "+strconv.Itoa(pe.Line)) {
				t.Errorf("error text %q lacks the line", err)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	repl := func(old, new string) string { return strings.Replace(full, old, new, 1) }
	cases := map[string]string{
		"lower-case t and z":         repl("2030-01-02T03:04:05.678Z", "2030-01-02t03:04:05.678z"),
		"offset":                     repl("2030-01-02T03:04:05.678Z", "2030-01-02T05:04:05.678+02:00"),
		"feb 29 leap year":           repl("Not Before: 2030-01-02T03:04:00Z", "Not Before: 2028-02-29T00:00:00Z"),
		"nanoseconds":                repl("03:04:05.678Z", "03:04:05.678000000Z"),
		"domain userinfo ipv6 port":  repl("https://example.com:8443 wants", "user:pw@[2001:db8::1]:8443 wants"),
		"domain ipvfuture":           repl("https://example.com:8443 wants", "[v1.fe80::a+b] wants"),
		"domain pct":                 repl("https://example.com:8443 wants", "ex%41mple.com wants"),
		"no statement":               repl("I accept the ExampleOrg Terms of Service: https://example.com/tos\n", ""),
		"uri urn":                    repl("URI: https://example.com:8443/login", "URI: urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
		"uri query fragment":         repl("URI: https://example.com:8443/login", "URI: https://example.com/a?b=c/d?#e/f?"),
		"only resources":             repl("Expiration Time: 2030-01-02T03:09:05.678Z\nNot Before: 2030-01-02T03:04:00Z\nRequest ID: req-1234\n", ""),
		"chain max":                  repl("Chain ID: 8453", "Chain ID: 18446744073709551615"),
		"chain zero":                 repl("Chain ID: 8453", "Chain ID: 0"),
		"all statement delimiters":   repl("I accept the ExampleOrg", ":/?#[]@!$&'()*+,;= -._~ I accept the ExampleOrg"),
		"max resources":              full + strings.Repeat("\n- https://example.com/r", web3auth.MaxResources-2),
		"request id pchar and pct":   repl("Request ID: req-1234", "Request ID: a:b@c!%20d"),
		"ipv6 uri":                   repl("URI: https://example.com:8443/login", "URI: https://[::1]:8443/login"),
		"fraction of twelve digits":  repl("03:04:05.678Z", "03:04:05.678123456789Z"),
		"nonce of max length":        repl("Nonce: 7a8Vb2nQx9LmP4tRz", "Nonce: "+strings.Repeat("Z", web3auth.MaxNonceLength)),
		"year 0000 is a valid year":  repl("Not Before: 2030-01-02T03:04:00Z", "Not Before: 0000-01-01T00:00:00Z"),
		"scheme with plus and digit": repl("https://example.com:8443 wants", "web+app2://example.com wants"),
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := web3auth.ParseMessage(text)
			if err != nil {
				t.Fatal(err)
			}
			if m.String() != text {
				t.Errorf("round trip:\n%s", m.String())
			}
			if err := m.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestTimestampOffset(t *testing.T) {
	ts, err := web3auth.ParseTimestamp("2030-01-02T05:04:05.5+02:00")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2030, 1, 2, 3, 4, 5, 5e8, time.UTC); !ts.Time().Equal(want) || ts.String() != "2030-01-02T05:04:05.5+02:00" {
		t.Errorf("got %v %q", ts.Time(), ts)
	}
	ts, _ = web3auth.ParseTimestamp("2030-01-02T00:30:00-01:30")
	if want := time.Date(2030, 1, 2, 2, 0, 0, 0, time.UTC); !ts.Time().Equal(want) {
		t.Errorf("negative offset: %v", ts.Time())
	}
	n := web3auth.NewTimestamp(time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.FixedZone("x", 3600)))
	if n.String() != "2030-01-02T02:04:05.678Z" || !n.Time().Equal(time.Date(2030, 1, 2, 2, 4, 5, 678e6, time.UTC)) {
		t.Errorf("NewTimestamp: %q %v", n, n.Time())
	}
	if !(web3auth.Timestamp{}).IsZero() || n.IsZero() {
		t.Error("IsZero")
	}
}

func TestCheck(t *testing.T) {
	good, err := web3auth.ParseMessage(full)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(m *web3auth.Message){
		"domain":    func(m *web3auth.Message) { m.Domain = "" },
		"scheme":    func(m *web3auth.Message) { m.Scheme = "ht tp" },
		"address":   func(m *web3auth.Message) { m.Address = [20]byte{} },
		"statement": func(m *web3auth.Message) { m.Statement = "two\nlines" },
		"uri":       func(m *web3auth.Message) { m.URI = "no scheme" },
		"version":   func(m *web3auth.Message) { m.Version = "" },
		"nonce":     func(m *web3auth.Message) { m.Nonce = "short" },
		"issued-at": func(m *web3auth.Message) { m.IssuedAt = web3auth.Timestamp{} },
		"request-id": func(m *web3auth.Message) {
			m.RequestID = "a b"
		},
		"resources": func(m *web3auth.Message) { m.Resources = append(m.Resources, "") },
		"message":   func(m *web3auth.Message) { m.Statement = strings.Repeat("a", web3auth.MaxMessageLength) },
	}
	for field, mutate := range cases {
		t.Run(field, func(t *testing.T) {
			m := *good
			m.Resources = append([]string(nil), good.Resources...)
			mutate(&m)
			var pe *web3auth.ParseError
			if _, err := m.MarshalText(); !errors.As(err, &pe) || pe.Field != field {
				t.Fatalf("MarshalText: %v, want an error naming %q", err, field)
			}
		})
	}
}
