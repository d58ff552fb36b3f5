package walletauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/web3auth"
)

// Error is an API error: an HTTP status, a stable snake_case code and a message for people. It is
// what the handler writes as {"error":{"code":…,"message":…}}.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when positive, is sent as the Retry-After header (seconds).
	RetryAfter int
	// Err is the cause, for logs and errors.Is; never written to the client.
	Err error
}

func (e *Error) Error() string { return "walletauth: " + e.Code + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errors the API answers with. Their codes are stable (DESIGN §2).
var (
	errUnauthenticated = &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "sign in first"}
	errNotFound        = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such resource"}
	errTooLarge        = &Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Message: "the request body is too large"}
	errCrossOrigin     = &Error{Status: http.StatusForbidden, Code: "cross_origin", Message: "cross-origin request refused"}
	errInternal        = &Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: "internal error"}
	errUnavailable     = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the service is temporarily unavailable; try again shortly", RetryAfter: 5}
)

func badRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: msg}
}

// apiError is apiError with the Auth's clock for Retry-After.
func (a *Auth) apiError(err error) *Error {
	if e := mfaError(err, a.cfg.Clock()); e != nil {
		return e
	}
	return apiError(err)
}

// apiError maps an error of the services to the API error that answers it. Anything it does not
// recognise is a failure of a dependency (the store) or a bug: the client gets 503 or 500 and no
// details.
func apiError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if e := mfaError(err, time.Now()); e != nil {
		return e
	}
	if e := profileError(err); e != nil {
		return e
	}
	unauthorized := func(code string) *Error {
		return &Error{Status: http.StatusUnauthorized, Code: code, Message: publicMessage(err), Err: err}
	}
	switch {
	case errors.Is(err, web3auth.ErrInvalidMessage):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_message", Message: publicMessage(err), Err: err}
	case errors.Is(err, web3auth.ErrInvalidSignatureFormat):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_signature_format", Message: publicMessage(err), Err: err}
	case errors.Is(err, web3auth.ErrInvalidAddress):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: publicMessage(err), Err: err}
	case errors.Is(err, web3auth.ErrDomainMismatch), errors.Is(err, web3auth.ErrSchemeMismatch):
		return unauthorized("domain_mismatch")
	case errors.Is(err, web3auth.ErrURIMismatch):
		return unauthorized("uri_mismatch")
	case errors.Is(err, web3auth.ErrChainNotAllowed):
		return unauthorized("chain_not_allowed")
	case errors.Is(err, web3auth.ErrNonceInvalid):
		return unauthorized("nonce_invalid")
	case errors.Is(err, web3auth.ErrExpired), errors.Is(err, web3auth.ErrIssuedTooLongAgo):
		return unauthorized("message_expired")
	case errors.Is(err, web3auth.ErrNotYetValid), errors.Is(err, web3auth.ErrIssuedInFuture):
		return unauthorized("message_not_yet_valid")
	case errors.Is(err, web3auth.ErrSignatureMismatch):
		return unauthorized("signature_mismatch")
	case errors.Is(err, session.ErrTokenExpired):
		return unauthorized("token_expired")
	case errors.Is(err, session.ErrSessionRevoked), errors.Is(err, session.ErrRefreshReused):
		return unauthorized("session_revoked")
	case errors.Is(err, session.ErrTokenInvalid), errors.Is(err, session.ErrRefreshInvalid):
		return unauthorized("token_invalid")
	case errors.Is(err, store.ErrCapacity):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: errUnavailable.Message, RetryAfter: 5, Err: err}
	case errors.Is(err, web3auth.ErrBadExpectations):
		return &Error{Status: errInternal.Status, Code: errInternal.Code, Message: errInternal.Message, Err: err}
	}
	// A store or verifier that failed: fail closed, reveal nothing.
	return &Error{Status: errUnavailable.Status, Code: errUnavailable.Code, Message: errUnavailable.Message, RetryAfter: errUnavailable.RetryAfter, Err: err}
}

// publicMessage is the text of a validation error without the package prefix.
func publicMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"web3auth: ", "session: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// writeError writes err as the JSON error body.
func writeError(w http.ResponseWriter, err error) { writeAPIError(w, apiError(err)) }

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeAPIError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="walletauth"`)
	}
	var body errorBody
	body.Error.Code, body.Error.Message = e.Code, e.Message
	writeJSON(w, e.Status, &body)
}

// Header values written with every JSON response, allocated once.
var (
	hdrJSON    = []string{"application/json; charset=utf-8"}
	hdrNoStore = []string{"no-store"}
	hdrNosniff = []string{"nosniff"}
)

// writeJSON answers with v as JSON and a newline, encoded into a pooled buffer (Write copies it).
// A token response is written directly (tokenResponse.appendJSON); anything else, and a token
// response with a string to escape, by encoding/json.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := getBuffer()
	defer putBuffer(buf)
	done := false
	if tr, ok := v.(*tokenResponse); ok {
		var b []byte
		if b, done = tr.appendJSON(buf.AvailableBuffer()); done {
			buf.Write(append(b, '\n'))
		}
	}
	if !done {
		if err := json.NewEncoder(buf).Encode(v); err != nil { // only a bug can make the handler's own values unencodable
			status = http.StatusInternalServerError
			buf.Reset()
			buf.WriteString(`{"error":{"code":"internal_error","message":"internal error"}}` + "\n")
		}
	}
	h := w.Header()
	h["Content-Type"], h["Cache-Control"], h["X-Content-Type-Options"] = hdrJSON, hdrNoStore, hdrNosniff
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// bodyPool holds the buffers request bodies are read into and responses encoded into.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// getBuffer takes an empty buffer from bodyPool.
func getBuffer() *bytes.Buffer {
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	return buf
}

// putBuffer returns buf to bodyPool, unless a large body grew it (that memory is let go).
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 2*MaxBodyBytes {
		buf.Reset()
		bodyPool.Put(buf)
	}
}

// readJSON decodes the request body into v: at most MaxBodyBytes, exactly one JSON value, the
// types right. An empty body decodes as {} when emptyOK.
func readJSON(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") && !(emptyOK && r.ContentLength == 0) {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send application/json"}
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes)); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errTooLarge
		}
		return badRequest("the body could not be read")
	}
	if len(bytes.TrimSpace(buf.Bytes())) == 0 {
		if emptyOK {
			return nil
		}
		return badRequest("the body is empty; send a JSON object")
	}
	// json.Unmarshal checks the whole input first: one value and nothing after it.
	var err error
	if sr, ok := v.(*signedRequest); ok {
		err = decodeSignedRequest(buf.Bytes(), sr) // the sign-in path: the same result, faster
	} else {
		err = json.Unmarshal(buf.Bytes(), v)
	}
	if err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return badRequest("field " + strconv.Quote(typeErr.Field) + " has the wrong type")
		}
		var fieldErr *fieldError
		if errors.As(err, &fieldErr) {
			return badRequest(fieldErr.msg)
		}
		return badRequest("the body is not one valid JSON value")
	}
	return nil
}

// fieldError is a JSON field that decoded but is not acceptable.
type fieldError struct{ msg string }

func (e *fieldError) Error() string { return e.msg }

// ChainID is a chain id in a request: a JSON number, or an EIP-1193 hex string such as "0x1".
type ChainID uint64

// UnmarshalJSON implements [json.Unmarshaler].
func (c *ChainID) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		hex, ok := strings.CutPrefix(strings.ToLower(str), "0x")
		v, err := strconv.ParseUint(hex, 16, 64)
		if !ok || err != nil || hex == "" || len(hex) > 16 {
			return &fieldError{msg: `chainId must be a number or a hex string such as "0x1"`}
		}
		*c = ChainID(v)
		return nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return &fieldError{msg: "chainId must be a positive whole number"}
	}
	*c = ChainID(v)
	return nil
}

// route is one path of the API with its handlers by method.
type route map[string]http.HandlerFunc

// serve dispatches r to the handler of its method, answering 405 with an Allow header otherwise.
func (rt route) serve(w http.ResponseWriter, r *http.Request) {
	h, ok := rt[r.Method]
	if !ok && r.Method == http.MethodHead {
		h, ok = rt[http.MethodGet]
	}
	if !ok {
		allow := make([]string, 0, len(rt))
		for m := range rt {
			allow = append(allow, m)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: r.Method + " is not allowed here"})
		return
	}
	h(w, r)
}
