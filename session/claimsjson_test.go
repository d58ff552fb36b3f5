package session

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

var claimsSamples = []tokenClaims{
	{Iss: "https://example.com", Aud: json.RawMessage(`"https://example.com"`), Sub: "user-alice", Sid: "c2Vzc2lvbi1pZC0xMjM0NQ",
		Iat: 1700000000, Nbf: 1700000000, Exp: 1700000060, Jti: "anRpLWp0aS1qdGktanRpLQ", Typ: "access",
		Addr: "0x71C7656EC7ab88b098defB751B7401B5f6d8976F", Chain: "eip155:1", Aal: "aal1", Amr: []string{"siwe"}, AuthTime: 1699999000},
	{Iss: "https://ex<a>mple.com/?a=1&b=2", Aud: json.RawMessage(`"\u003cx\u003e"`), Sub: "ünïcödé \u2028 \u2029 \x7f",
		Iat: -5, Nbf: 0, Exp: 9223372036854775807, Jti: "j", Typ: "mfa_pending", Aal: "", Amr: []string{}},
	{Iss: "bad\xffutf8 \"quoted\" back\\slash \t\n\x01", Aud: json.RawMessage(`"a"`), Sub: "s", Iat: 1, Exp: 2, Jti: "",
		Typ: "access", Aal: "aal2", Amr: []string{"siwe", "totp", "webauthn", "x", "y", "z"}, AuthTime: -1},
	{Aud: json.RawMessage(`"a"`)}, // every member zero: the omitempty ones left out, amr null
}

// TestAppendClaimsIsJSONMarshal: appendClaims writes exactly what encoding/json writes.
func TestAppendClaimsIsJSONMarshal(t *testing.T) {
	for _, c := range claimsSamples {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendClaims([]byte("prefix"), &c, []byte(c.Jti)); !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("appendClaims\n%s\njson.Marshal\n%s", got[6:], want)
		}
	}
}

// TestAppendJSONStringEveryByte: every byte, alone and amid plain text, is written as
// encoding/json writes it.
func TestAppendJSONStringEveryByte(t *testing.T) {
	for c := range 256 {
		for _, s := range []string{string([]byte{byte(c)}), "ab" + string([]byte{byte(c)}) + "cd"} {
			want, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
				t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
			}
		}
	}
}

// checkParseClaims: whenever parseClaims takes p, encoding/json decodes it to the same claims.
func checkParseClaims(t *testing.T, p []byte) bool {
	t.Helper()
	var fast, slow tokenClaims
	if !parseClaims(p, &fast) {
		return false
	}
	if err := json.Unmarshal(p, &slow); err != nil {
		t.Fatalf("parseClaims took %q, which json.Unmarshal refuses: %v", p, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("parseClaims(%q) = %+v, json.Unmarshal %+v", p, fast, slow)
	}
	return true
}

// TestParseClaimsIsJSONUnmarshal: parseClaims takes what appendClaims writes, and gives what
// json.Unmarshal gives; what it does not take is left to json.Unmarshal.
func TestParseClaimsIsJSONUnmarshal(t *testing.T) {
	for _, c := range claimsSamples {
		p := appendClaims(nil, &c, []byte(c.Jti))
		// Escaped strings (HTML characters, \u2028, invalid UTF-8, quotes) and nulls, which
		// this package never writes, are not taken.
		odd := bytes.IndexByte(p, '\\') >= 0 || bytes.Contains(p, []byte("null"))
		if !checkParseClaims(t, p) && !odd {
			t.Errorf("parseClaims refuses %s", p)
		}
	}
	for _, p := range []string{
		`{"sub":"a","amr":[]}`,
		`{"sub":"a","amr":["x"],"iat":-0,"exp":0}`,
		`{"aud":"x","sub":"é"}`,
	} {
		if !checkParseClaims(t, []byte(p)) {
			t.Errorf("parseClaims refuses %s", p)
		}
	}
	for _, p := range []string{
		``, `{`, `}`, `{}`, `[]`, `null`, `{"sub":"a"} `, ` {"sub":"a"}`, `{"sub":"a",}`, `{"sub":"a"}}`,
		`{"sub" :"a"}`, `{"sub": "a"}`, `{"sub":"a" }`, `{"sub":"a","sub":"b"}`, `{"Sub":"a"}`, `{"SUB":"a"}`,
		`{"sub":"a","x":1}`, `{"sub":null}`, `{"sub":1}`, `{"sub":"a\"b"}`, `{"sub":"a\u0062"}`, "{\"sub\":\"a\x01\"}",
		"{\"sub\":\"\xff\"}", `{"s\u0075b":"a"}`, `{"iat":1.0}`, `{"iat":1e3}`, `{"iat":01}`, `{"iat":-}`, `{"iat":+1}`,
		`{"iat":9223372036854775808}`, `{"iat":"1"}`, `{"aud":["a"]}`, `{"aud":null}`, `{"amr":null}`, `{"amr":"siwe"}`,
		`{"amr":["a",]}`, `{"amr":[,"a"]}`, `{"amr":["a" ]}`, `{"amr":[1]}`, `{"amr":["a"]`, `{"sub":"a`, `{"sub`,
	} {
		if checkParseClaims(t, []byte(p)) {
			t.Errorf("parseClaims takes %q", p)
		}
	}
}

func FuzzParseClaims(f *testing.F) {
	for _, c := range claimsSamples {
		f.Add(appendClaims(nil, &c, []byte(c.Jti)))
		b, _ := json.MarshalIndent(c, "", " ")
		f.Add(b)
	}
	f.Add([]byte(`{"sub":"a","amr":["x","y"],"iat":-12,"aud":"b","Sub":"c"}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		checkParseClaims(t, p)
	})
}

func FuzzAppendClaims(f *testing.F) {
	f.Add("https://example.com", "user", "0xabc", "aal1", "siwe", int64(1700000000))
	f.Add("<&>", "\u2028", "\xff", "\"\\", "\x00", int64(-1))
	f.Fuzz(func(t *testing.T, iss, sub, addr, aal, amr string, iat int64) {
		c := tokenClaims{Iss: iss, Aud: json.RawMessage(`"aud"`), Sub: sub, Addr: addr, Aal: aal,
			Amr: strings.Split(amr, ","), Iat: iat, Exp: iat, AuthTime: iat, Jti: "jti", Typ: "access"}
		want, _ := json.Marshal(c)
		if got := appendClaims(nil, &c, []byte(c.Jti)); !bytes.Equal(got, want) {
			t.Fatalf("appendClaims\n%s\njson.Marshal\n%s", got, want)
		}
		checkParseClaims(t, want)
	})
}
