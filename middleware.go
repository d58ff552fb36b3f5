package walletauth

import (
	"context"
	"net/http"
	"strings"

	"github.com/walletauth/walletauth/session"
)

// Identity is who a request is from: what its verified access token says.
type Identity struct {
	UserID    string
	SessionID string
	// Address and ChainID are the wallet and chain the session signed in with.
	Address string
	ChainID uint64
	// AAL is "aal1" for a wallet sign-in, "aal2" after a second factor; AMR lists the methods.
	AAL string
	AMR []string
	// Claims is the whole verified token.
	Claims *session.Claims
}

type ctxKey struct{}

// FromContext returns the Identity that [Auth.RequireSession] put in the request's context.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	return id, ok && id != nil
}

// NewContext returns a copy of ctx that carries id, for tests of handlers behind the middleware.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// accessToken returns the request's access token: from "Authorization: Bearer", which wins when
// present, or else from the access cookie. Never from the query string. ok is false when an
// Authorization header is present but is not a bearer token.
func (a *Auth) accessToken(r *http.Request) (token string, ok bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, found := strings.Cut(h, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return "", false
		}
		return strings.TrimSpace(tok), true
	}
	return cookieValue(r, a.cookies.access), true
}

// Check verifies the request's access token, without I/O, and returns its Identity. It returns
// an *Error (401) when there is no token or it is not valid, expired or revoked.
func (a *Auth) Check(r *http.Request) (*Identity, error) {
	tok, ok := a.accessToken(r)
	if !ok {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "token_invalid", Message: "the Authorization header is not a bearer token"}
	}
	if tok == "" {
		return nil, errUnauthenticated
	}
	c, err := a.sessions.Verify(tok)
	if err != nil {
		return nil, apiError(err)
	}
	return &Identity{UserID: c.UserID, SessionID: c.SessionID, Address: c.Address, ChainID: c.ChainID,
		AAL: c.AAL, AMR: c.AMR, Claims: c}, nil
}

// RequireSession is middleware that lets through only requests with a valid access token, and
// puts their [Identity] in the context (see [FromContext]). Others get Config.ErrorHandler's
// answer: by default 401 with a JSON error body. A state-changing request (not GET, HEAD or
// OPTIONS) authenticated by the cookie must also pass net/http's cross-origin protection (403
// cross_origin), since a browser sends the cookie with requests that other sites make.
func (a *Auth) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.guard(r)
		if err != nil {
			a.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// guard is Check for the middleware: it adds cross-origin protection to state-changing requests
// that the cookie authenticates.
func (a *Auth) guard(r *http.Request) (*Identity, error) {
	id, err := a.Check(r)
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if r.Header.Get("Authorization") == "" {
			if err := a.cop.Check(r); err != nil {
				a.log.WarnContext(r.Context(), "walletauth: cross-origin request refused", "event", "cross_origin", "path", r.URL.Path, "origin", r.Header.Get("Origin"))
				return nil, errCrossOrigin
			}
		}
	}
	return id, nil
}

func (a *Auth) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if a.cfg.ErrorHandler != nil {
		a.cfg.ErrorHandler(w, r, err)
		return
	}
	writeError(w, err)
}
