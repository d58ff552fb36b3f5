package walletauth

import (
	"encoding/json"
	"strings"
	"testing"
)

// sameAsEncodingJSON fails t unless decodeSignedRequest and json.Unmarshal agree on body: both
// succeed with the same request, or both fail with the same error.
func sameAsEncodingJSON(t *testing.T, body string) {
	t.Helper()
	var got, want signedRequest
	errGot := decodeSignedRequest([]byte(body), &got)
	errWant := json.Unmarshal([]byte(body), &want)
	switch {
	case (errGot == nil) != (errWant == nil):
		t.Fatalf("%q: error %v, encoding/json's %v", body, errGot, errWant)
	case errGot != nil && errGot.Error() != errWant.Error():
		t.Fatalf("%q: error %q, encoding/json's %q", body, errGot, errWant)
	case errGot == nil && got != want:
		t.Fatalf("%q: %+v, encoding/json's %+v", body, got, want)
	}
}

const signInBody = `{"message":"example.com wants you to sign in with your Ethereum account:\n0x71C7656EC7ab88b098defB751B7401B5f6d8976F\n\nSign in to Example.\n\nURI: https://example.com\nVersion: 1\nChain ID: 1\nNonce: 32891756abcdefgh\nIssued At: 2026-11-29T15:00:00Z","signature":"0x` +
	`4e2a5a2e5e1f0c1f1d0e3b2c4a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f4e2a5a2e5e1f0c1f1d0e3b2c4a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f1b"}`

var signedBodies = []string{
	signInBody,
	`{"message":"m","signature":"s","refreshTokenInBody":true}`,
	`{"message":"m","signature":"s","refreshTokenInBody":false}`,
	`{"refreshTokenInBody":true,"refreshTokenInBody":null}`,
	`{"refreshTokenInBody":true,"refreshTokenInBody":false}`,
	`{"refreshTokenInBody":"true"}`,
	`{"refreshTokenInBody":1}`,
	`  {"MESSAGE":"a","Message":"b","message":"c"}  `,
	`{"message":"a","MESSAGE":"b","Signature":"s","REFRESHTOKENINBODY":true}`,
	`{"message":"a","message":null}`,
	"{\"\u017fignature\":\"long s folds to s\"}",
	"{\"refreshTo\u212aenInBody\":true}", // the Kelvin sign folds to k
	`{"message":1}`,
	`{"message":{},"signature":"s"}`,
	`{"signature":["s"]}`,
	`{"message":"m","signature":"s","other":{"a":[1,2.5e-3,true,null,"x"]}}`,
	`{"message":"tab\tin string"}`,
	`{"message":"esc \" \\ \/ \b \f \n \r \t"}`,
	`{"message":"\u00e9\ud83d\ude00"}`,
	`{"message":"lone \ud800 surrogate"}`,
	`{"message":"lone \ud800\u0041 then A"}`,
	"{\"message\":\"not utf-8 \xff\xfe\"}",
	"\xef\xbb\xbf{}", // a byte order mark
	`{"message":"m",}`,
	`{"message":"m"} x`,
	`{"message":"m"}{}`,
	`{"message":NaN}`,
	`{"x":NaN}`,
	`{"x":+1}`,
	`{"x":01}`,
	`{"x":1.}`,
	`{"x":inf}`,
	`{"x":-}`,
	`{"x":tru}`,
	`{"x":"\x"}`,
	`{"x":"\u12"}`,
	`{'message':'m'}`,
	`{message:"m"}`,
	`null`, ` null `, `[]`, `"s"`, `1`, `true`, ``, ` `, `{}`, `{`, `}`,
	strings.Repeat("[", 400) + strings.Repeat("]", 400),
	`{"x":` + strings.Repeat("[", 400) + strings.Repeat("]", 400) + `,"message":"m"}`,
	"{\"message\":\"m\"}\x00",
	"{\"message\":\"line1\nline2\\n\"}", // a raw line feed, then an escape: fastjson's validator misses it
	"{\"\":\"\x14\\b\"}",
	"{\"message\":\"tab\tthen\\t\"}",
	"{\n\t\"message\": \"pretty\"\n}",
	`{"x":1e}`, `{"x":1e+}`, `{"x":-0}`, `{"x":1.0e-5}`, `{"x":1E5}`, `{"x":.5}`, `{"x":-.5}`, `{"x":0x10}`,
	`{"x":[1,]}`, `{"x":[,1]}`, `{"x":{"a"}}`, `{"x":{"a":}}`, `{"x":tRue}`, `{"x":nul}`, `{"x":"\/"}`,
	`{"a":1,,"b":2}`, `{"a":1 "b":2}`, `[1 2]`, `{"message":"m"`, `"unterminated`, `{"x":"\'"}`,
	`{"x":[[[]]],"message":"deep"}`, `{"message":"m","message":"n","signature":"s","signature":null}`,
	"{\"message\":\"m\"}\v",
	"\r\n\t{\"message\":\"m\"}\r\n\t",
}

// TestDecodeSignedRequestAsEncodingJSON: the fast decoder of the sign-in body answers exactly as
// encoding/json does, for good bodies and for the corner cases where JSON parsers differ.
func TestDecodeSignedRequestAsEncodingJSON(t *testing.T) {
	for _, body := range signedBodies {
		sameAsEncodingJSON(t, body)
	}
}

// TestDecodeSignedRequestFast: real sign-in bodies take the fast way, so the path the sign-in
// benchmark measures is the one held to encoding/json above.
func TestDecodeSignedRequestFast(t *testing.T) {
	for _, body := range []string{signInBody, signedBodies[1], signedBodies[2]} {
		var req signedRequest
		if !decodeSignedFast([]byte(body), &req) || req.Message == "" {
			t.Errorf("%.40q…: not decoded the fast way", body)
		}
	}
}

func FuzzDecodeSignedRequest(f *testing.F) {
	for _, body := range signedBodies {
		f.Add(body)
	}
	f.Fuzz(sameAsEncodingJSON)
}
