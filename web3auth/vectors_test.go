package web3auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/web3auth"
)

// The EIP-4361 vectors of spruceid/siwe, in testdata/ (see its README).

func loadVectors[T any](t testing.TB, name string) map[string]T {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(v) == 0 {
		t.Fatalf("%s: no vectors", name)
	}
	return v
}

// textFromFields writes a message from a vector's field object by the EIP-4361 template, apart
// from this package's formatter, so that the two can be compared.
func textFromFields(f map[string]any) string {
	var b strings.Builder
	if s, ok := f["scheme"].(string); ok {
		b.WriteString(s + "://")
	}
	fmt.Fprintf(&b, "%v wants you to sign in with your Ethereum account:\n%v\n\n", f["domain"], f["address"])
	if s, ok := f["statement"].(string); ok {
		b.WriteString(s + "\n")
	}
	fmt.Fprintf(&b, "\nURI: %v\nVersion: %v\nChain ID: %v\nNonce: %v\nIssued At: %v", f["uri"], f["version"], f["chainId"], f["nonce"], f["issuedAt"])
	for _, o := range []struct{ key, tag string }{{"expirationTime", "Expiration Time"}, {"notBefore", "Not Before"}, {"requestId", "Request ID"}} {
		if s, ok := f[o.key].(string); ok {
			fmt.Fprintf(&b, "\n%s: %s", o.tag, s)
		}
	}
	if rs, ok := f["resources"].([]any); ok {
		b.WriteString("\nResources:")
		for _, r := range rs {
			fmt.Fprintf(&b, "\n- %v", r)
		}
	}
	return b.String()
}

// messageFromFields fills a Message from a vector's field object, strictly: every required field
// present with the right JSON type, the address in EIP-55 form, times RFC 3339.
func messageFromFields(f map[string]any) (*web3auth.Message, error) {
	str := func(key string, required bool) (string, error) {
		v, ok := f[key]
		if !ok || v == nil {
			if required {
				return "", fmt.Errorf("%s missing", key)
			}
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s is not a string", key)
		}
		return s, nil
	}
	var m web3auth.Message
	var err error
	if m.Scheme, err = str("scheme", false); err != nil {
		return nil, err
	}
	if m.Domain, err = str("domain", true); err != nil {
		return nil, err
	}
	addr, err := str("address", true)
	if err != nil {
		return nil, err
	}
	if m.Address, err = web3auth.ParseAddress(addr); err != nil {
		return nil, err
	}
	if m.Statement, err = str("statement", false); err != nil {
		return nil, err
	}
	if m.URI, err = str("uri", true); err != nil {
		return nil, err
	}
	if m.Version, err = str("version", true); err != nil {
		return nil, err
	}
	chain, ok := f["chainId"].(float64)
	if !ok || chain < 0 || chain != float64(uint64(chain)) {
		return nil, fmt.Errorf("chainId missing or not a whole number")
	}
	m.ChainID = uint64(chain)
	if m.Nonce, err = str("nonce", true); err != nil {
		return nil, err
	}
	for _, ts := range []struct {
		key      string
		dst      *web3auth.Timestamp
		required bool
	}{{"issuedAt", &m.IssuedAt, true}, {"expirationTime", &m.ExpirationTime, false}, {"notBefore", &m.NotBefore, false}} {
		s, err := str(ts.key, ts.required)
		if err != nil {
			return nil, err
		}
		if s != "" {
			if *ts.dst, err = web3auth.ParseTimestamp(s); err != nil {
				return nil, err
			}
		}
	}
	if m.RequestID, err = str("requestId", false); err != nil {
		return nil, err
	}
	if rs, ok := f["resources"].([]any); ok {
		for _, r := range rs {
			s, ok := r.(string)
			if !ok {
				return nil, fmt.Errorf("resource is not a string")
			}
			m.Resources = append(m.Resources, s)
		}
	}
	return &m, m.Check()
}

func TestVectorsParsingPositive(t *testing.T) {
	type vector struct {
		Message string         `json:"message"`
		Fields  map[string]any `json:"fields"`
	}
	for name, v := range loadVectors[vector](t, "parsing_positive.json") {
		t.Run(name, func(t *testing.T) {
			m, err := web3auth.ParseMessage(v.Message)
			if err != nil {
				t.Fatalf("ParseMessage: %v", err)
			}
			want, err := messageFromFields(v.Fields)
			if err != nil {
				t.Fatalf("fields: %v", err)
			}
			if !reflect.DeepEqual(m, want) {
				t.Errorf("parsed\n%#v\nwant\n%#v", m, want)
			}
			if m.Address.Hex() != v.Fields["address"] {
				t.Errorf("address %s, want %v", m.Address.Hex(), v.Fields["address"])
			}
			if got := m.String(); got != v.Message {
				t.Errorf("format(parse(text)) != text:\n%s\n---\n%s", got, v.Message)
			}
			if got := want.String(); got != textFromFields(v.Fields) {
				t.Errorf("format(fields) != template(fields):\n%s\n---\n%s", got, textFromFields(v.Fields))
			}
			if _, err := m.MarshalText(); err != nil {
				t.Errorf("MarshalText: %v", err)
			}
		})
	}
}

func TestVectorsParsingNegative(t *testing.T) {
	for name, text := range loadVectors[string](t, "parsing_negative.json") {
		t.Run(name, func(t *testing.T) {
			m, err := web3auth.ParseMessage(text)
			var pe *web3auth.ParseError
			if !errors.Is(err, web3auth.ErrInvalidMessage) || !errors.As(err, &pe) || m != nil {
				t.Fatalf("ParseMessage = %v, %v; want nil and a *ParseError", m, err)
			}
			if pe.Line < 1 || pe.Field == "" {
				t.Errorf("error %q names no line or field", err)
			}
		})
	}
}

func TestVectorsParsingNegativeObjects(t *testing.T) {
	for name, f := range loadVectors[map[string]any](t, "parsing_negative_objects.json") {
		t.Run(name, func(t *testing.T) {
			if m, err := messageFromFields(f); err == nil {
				t.Fatalf("fields made a message:\n%s", m)
			}
			// The template text of the same fields must not parse either.
			if _, err := web3auth.ParseMessage(textFromFields(f)); err == nil {
				t.Fatalf("template text parsed:\n%s", textFromFields(f))
			}
		})
	}
}

// verifyVector checks a verification vector as EIP-4361 verification does: the message's own
// domain, nonce and chain are expected unless the vector overrides them, and Issued At is not
// bounded (the vectors are years old, and some verify at a time before they were issued), so
// MaxAge and ClockSkew are set wide. The server's tighter Issued At rules are tested separately.
func verifyVector(t *testing.T, f map[string]any) error {
	t.Helper()
	text := textFromFields(f)
	m, err := web3auth.ParseMessage(text)
	if err != nil {
		return err
	}
	if built, err := messageFromFields(f); err != nil || built.String() != text {
		t.Errorf("formatter disagrees with the template: %v", err)
	}
	domain := m.Domain
	if d, ok := f["domainBinding"].(string); ok {
		domain = d
	}
	nonce := m.Nonce
	if n, ok := f["matchNonce"].(string); ok {
		nonce = n
	}
	now := time.Now()
	if s, ok := f["time"].(string); ok {
		if now, err = time.Parse(time.RFC3339Nano, s); err != nil {
			t.Fatal(err)
		}
	}
	origin, err := web3auth.ParseOrigin("https://" + domain)
	if err != nil {
		t.Fatal(err)
	}
	uriOrigin, err := web3auth.ParseOrigin(m.URI)
	if err != nil {
		t.Fatal(err)
	}
	const year = 365 * 24 * time.Hour
	err = web3auth.Validate(m, web3auth.Expectations{
		Origin: origin, URIOrigins: []web3auth.Origin{uriOrigin}, Nonce: nonce,
		ChainIDs: []uint64{m.ChainID}, Now: now, MaxAge: 150 * year, ClockSkew: 50 * year,
	})
	if err != nil {
		return err
	}
	sig, err := web3auth.DecodeSignatureHex(f["signature"].(string))
	if err != nil {
		return err
	}
	return web3auth.EOAVerifier{}.Verify(context.Background(), web3auth.VerifyRequest{
		ChainID: m.ChainID, Address: m.Address, Message: []byte(text), Signature: sig,
	})
}

func TestVectorsVerificationPositive(t *testing.T) {
	for name, f := range loadVectors[map[string]any](t, "verification_positive.json") {
		t.Run(name, func(t *testing.T) {
			if err := verifyVector(t, f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestVectorsVerificationNegative(t *testing.T) {
	want := map[string]error{
		"expired message":        web3auth.ErrExpired,
		"domain binding":         web3auth.ErrDomainMismatch,
		"custom time":            web3auth.ErrExpired,
		"custom nonce":           web3auth.ErrNonceInvalid,
		"malformed signature":    web3auth.ErrInvalidSignatureFormat,
		"wrong signature":        web3auth.ErrSignatureMismatch,
		"not yet valid":          web3auth.ErrNotYetValid,
		"invalid issuedAt":       web3auth.ErrInvalidMessage,
		"invalid notBefore":      web3auth.ErrInvalidMessage,
		"invalid expirationTime": web3auth.ErrInvalidMessage,
	}
	vectors := loadVectors[map[string]any](t, "verification_negative.json")
	if len(vectors) != len(want) {
		t.Errorf("%d vectors, %d expectations: a vector was added or removed", len(vectors), len(want))
	}
	for name, f := range vectors {
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expected error for vector %q", name)
			}
			if err := verifyVector(t, f); !errors.Is(err, w) {
				t.Fatalf("got %v, want %v", err, w)
			}
		})
	}
}
