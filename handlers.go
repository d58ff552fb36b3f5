package walletauth

import (
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/web3auth"
)

//go:embed js/walletauth.js
var clientJS []byte

// routes builds the handler: the routes of DESIGN §2 under BasePath, behind cross-origin
// protection for every state-changing request.
func (a *Auth) routes() http.Handler {
	mux := http.NewServeMux()
	base := a.cfg.BasePath
	for path, rt := range map[string]route{
		"/nonce":                  {http.MethodPost: a.limited(a.handleNonce)},
		"/verify":                 {http.MethodPost: a.limited(a.handleVerify)},
		"/refresh":                {http.MethodPost: a.handleRefresh},
		"/logout":                 {http.MethodPost: a.handleLogout},
		"/session":                {http.MethodGet: a.authenticated(a.handleSession)},
		"/jwks.json":              {http.MethodGet: a.sessions.JWKS().ServeHTTP},
		"/client.js":              {http.MethodGet: handleClientJS},
		"/sessions":               {http.MethodGet: a.authenticated(a.handleListSessions)},
		"/sessions/revoke-others": {http.MethodPost: a.authenticated(a.handleRevokeOthers)},
		"/sessions/{id}":          {http.MethodDelete: a.authenticated(a.handleRevokeSession)},
		"/user":                   {http.MethodGet: a.authenticated(a.handleUser)},
		"/user/metadata":          {http.MethodPut: a.authenticated(a.handleUnsafeMetadata)},
		"/wallets":                {http.MethodPost: a.limited(a.authenticated(a.handleLinkWallet))},
		"/wallets/{address}":      {http.MethodDelete: a.authenticated(a.handleUnlinkWallet)},
	} {
		mux.HandleFunc(base+path, rt.serve)
	}
	if a.oauth != nil {
		for path, rt := range map[string]route{
			"/oauth":                     {http.MethodGet: a.authenticated(a.handleOAuthList)},
			"/oauth/{provider}/start":    {http.MethodGet: a.handleOAuthStart},
			"/oauth/{provider}/callback": {http.MethodGet: a.handleOAuthCallback},
			"/oauth/{provider}":          {http.MethodDelete: a.authenticated(a.handleOAuthUnlink)},
		} {
			mux.HandleFunc(base+path, rt.serve)
		}
	}
	if a.contacts != nil {
		for path, rt := range map[string]route{
			"/contacts":                {http.MethodGet: a.authenticated(a.handleContacts), http.MethodPost: a.limited(a.authenticated(a.handleAddContact))},
			"/contacts/resend":         {http.MethodPost: a.limited(a.authenticated(a.handleResendContact))},
			"/contacts/verify":         {http.MethodPost: a.limited(a.freshIfMFA(a.handleVerifyContact))},
			"/contacts/primary":        {http.MethodPost: a.freshIfMFA(a.handlePrimaryContact)},
			"/contacts/{kind}/{value}": {http.MethodDelete: a.freshIfMFA(a.handleRemoveContact)},
		} {
			mux.HandleFunc(base+path, rt.serve)
		}
	}
	if a.mfa != nil {
		if a.contacts != nil {
			mux.HandleFunc(base+"/mfa/send", route{http.MethodPost: a.limited(a.handleSendFactor)}.serve)
		}
		for path, rt := range map[string]route{
			"/mfa":                {http.MethodGet: a.authenticated(a.handleMFAStatus)},
			"/mfa/totp":           {http.MethodPost: a.authenticated(a.handleEnroll)},
			"/mfa/totp/confirm":   {http.MethodPost: a.authenticated(a.handleConfirm)},
			"/mfa/verify":         {http.MethodPost: a.limited(a.handleMFAVerify)},
			"/mfa/step-up":        {http.MethodPost: a.limited(a.authenticated(a.handleStepUp))},
			"/mfa/disable":        {http.MethodPost: a.fresh(a.handleDisable)},
			"/mfa/recovery-codes": {http.MethodPost: a.fresh(a.handleRegenerate)},
		} {
			mux.HandleFunc(base+path, rt.serve)
		}
	}
	mux.HandleFunc(base+"/", func(w http.ResponseWriter, r *http.Request) { writeError(w, errNotFound) })

	return a.cop.Handler(mux)
}

// newCrossOriginProtection is net/http's protection with the configured origin trusted and a
// JSON answer for what it refuses.
func (a *Auth) newCrossOriginProtection() *http.CrossOriginProtection {
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(a.origin.String()); err != nil {
		panic("walletauth: trusted origin: " + err.Error()) // a parsed origin is always acceptable
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.log.WarnContext(r.Context(), "walletauth: cross-origin request refused", "event", "cross_origin", "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		writeError(w, errCrossOrigin)
	}))
	return cop
}

// authenticated wraps a handler that needs the caller's identity.
func (a *Auth) authenticated(h func(http.ResponseWriter, *http.Request, *Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Check(r)
		if err != nil {
			writeError(w, err)
			return
		}
		h(w, r, id)
	}
}

func handleClientJS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(clientJS)
}

// POST /nonce {"address"?, "chainId"?} → {"nonce", "expiresAt", "message"?, "chainId"?}
func (a *Auth) handleNonce(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Address string  `json:"address"`
		ChainID ChainID `json:"chainId"`
	}
	if err := readJSON(w, r, &req, true); err != nil {
		writeError(w, err)
		return
	}
	cr := web3auth.ChallengeRequest{ChainID: uint64(req.ChainID)}
	if req.Address != "" {
		addr, err := web3auth.ParseAddressAnyCase(req.Address)
		if err != nil {
			writeError(w, err)
			return
		}
		cr.Address = addr
	}
	c, err := a.web3.Challenge(r.Context(), cr)
	if err != nil {
		a.fail(w, r, "nonce", err)
		return
	}
	resp := map[string]any{"nonce": c.Nonce, "expiresAt": c.ExpiresAt.UTC().Format(time.RFC3339)}
	if c.Message != nil {
		resp["message"] = c.Message.String()
		resp["chainId"] = c.Message.ChainID
	}
	writeJSON(w, http.StatusOK, resp)
}

// signedRequest is the body of verify and wallets: a message and the wallet's signature.
type signedRequest struct {
	Message            string `json:"message"`
	Signature          string `json:"signature"`
	RefreshTokenInBody bool   `json:"refreshTokenInBody"`
}

// verifySigned reads a signedRequest and verifies it end to end (web3auth.Service.Verify); it
// answers the request itself when that fails.
func (a *Auth) verifySigned(w http.ResponseWriter, r *http.Request, event string) (*signedRequest, *web3auth.Account, bool) {
	var req signedRequest
	if err := readJSON(w, r, &req, false); err != nil {
		writeError(w, err)
		return nil, nil, false
	}
	if req.Message == "" || req.Signature == "" {
		writeError(w, badRequest(`"message" and "signature" are required`))
		return nil, nil, false
	}
	acct, err := a.web3.Verify(r.Context(), req.Message, req.Signature)
	if err != nil {
		a.fail(w, r, event, err)
		return nil, nil, false
	}
	return &req, acct, true
}

// POST /verify {"message", "signature", "refreshTokenInBody"?} → the signed-in session.
func (a *Auth) handleVerify(w http.ResponseWriter, r *http.Request) {
	req, acct, ok := a.verifySigned(w, r, "sign_in")
	if !ok {
		return
	}
	ctx := r.Context()
	addr, ip := acct.AddressHex, a.clientIP(r).String()
	user, created, err := a.userFor(ctx, acct, addr)
	if err != nil {
		a.fail(w, r, "sign_in", err)
		return
	}
	if created {
		a.log.LogAttrs(ctx, slog.LevelInfo, "walletauth: user created", slog.String("event", "user_created"),
			slog.String("user", user.ID), slog.String("address", addr))
		a.emit(Event{Type: EventUserCreated, UserID: user.ID, Address: addr, ChainID: acct.ChainID})
	}
	subj := session.Subject{UserID: user.ID, Address: addr, ChainID: acct.ChainID, UserAgent: r.UserAgent(), IP: ip}
	switch on, err := a.mfaEnabled(ctx, user.ID); {
	case err != nil:
		a.fail(w, r, "sign_in", err)
		return
	case on:
		a.startPending(w, r, subj, req.RefreshTokenInBody)
		return
	}
	tokens, err := a.sessions.Create(ctx, subj)
	if err != nil {
		a.fail(w, r, "sign_in", err)
		return
	}
	a.emit(Event{Type: EventSessionCreated, UserID: user.ID, SessionID: tokens.SessionID, Address: addr, ChainID: acct.ChainID})
	a.log.LogAttrs(ctx, slog.LevelInfo, "walletauth: signed in", slog.String("event", "sign_in"),
		slog.String("user", user.ID), slog.String("session", tokens.SessionID), slog.String("address", addr),
		slog.Uint64("chain", acct.ChainID), slog.String("ip", ip))
	uv := userJSON(user)
	a.writeTokens(w, tokens, req.RefreshTokenInBody, &tokenResponse{Status: "complete", User: &uv})
}

// tokenResponse is the body of verify, mfa/verify and refresh.
type tokenResponse struct {
	Status           string    `json:"status,omitempty"`
	AccessToken      string    `json:"accessToken"`
	ExpiresAt        string    `json:"expiresAt"`
	RefreshToken     string    `json:"refreshToken,omitempty"`
	RefreshExpiresAt string    `json:"refreshExpiresAt,omitempty"`
	User             *userView `json:"user,omitempty"`
}

// writeTokens answers with a new access token (body and cookie) and the refresh token (cookie,
// or body for clients that asked for it).
func (a *Auth) writeTokens(w http.ResponseWriter, t *session.Tokens, refreshInBody bool, resp *tokenResponse) {
	a.setAccessCookie(w, t.AccessToken, t.AccessExpiresAt)
	resp.AccessToken = t.AccessToken
	resp.ExpiresAt = t.AccessExpiresAt.UTC().Format(time.RFC3339)
	if t.RefreshToken != "" {
		if refreshInBody {
			resp.RefreshToken = t.RefreshToken
			resp.RefreshExpiresAt = t.RefreshExpiresAt.UTC().Format(time.RFC3339)
		} else {
			a.setRefreshCookie(w, t.RefreshToken, t.RefreshExpiresAt)
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// refreshToken returns the refresh token of the request: {"refreshToken"} in the body (clients
// that opted in at verify) or the refresh cookie.
func (a *Auth) refreshToken(w http.ResponseWriter, r *http.Request) (tok string, inBody bool, err error) {
	var req struct {
		RefreshToken string `json:"refreshToken"`
	}
	if err := readJSON(w, r, &req, true); err != nil {
		return "", false, err
	}
	if req.RefreshToken != "" {
		return req.RefreshToken, true, nil
	}
	return cookieValue(r, a.cookies.refresh), false, nil
}

// POST /refresh → {"accessToken", "expiresAt"} and a rotated refresh token.
func (a *Auth) handleRefresh(w http.ResponseWriter, r *http.Request) {
	tok, inBody, err := a.refreshToken(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if tok == "" {
		writeError(w, errUnauthenticated)
		return
	}
	t, err := a.sessions.Refresh(r.Context(), tok)
	if err != nil {
		if errors.Is(err, session.ErrRefreshInvalid) || errors.Is(err, session.ErrRefreshReused) || errors.Is(err, session.ErrSessionRevoked) {
			if errors.Is(err, session.ErrRefreshReused) {
				sid, _, _ := strings.Cut(tok, ".")
				a.emit(Event{Type: EventSessionRevoked, SessionID: sid})
			}
			if !inBody {
				a.clearSessionCookies(w)
			}
			writeError(w, err)
			return
		}
		a.fail(w, r, "refresh", err)
		return
	}
	a.writeTokens(w, t, inBody, &tokenResponse{})
}

// POST /logout → 204, always: it revokes the session of the refresh token (body or cookie) or
// else of the access token, and clears the cookies.
func (a *Auth) handleLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok, _, _ := a.refreshToken(w, r)
	id, cerr := a.Check(r) // before the revocation below makes the access token invalid
	var (
		err error
		sid string // the refresh token's session, when the token proved to be its own
	)
	if tok != "" {
		sid, err = a.sessions.SignOut(ctx, tok)
	}
	// The access token's session too: the refresh token may be stale or missing, and revoking
	// the same session twice is harmless.
	if cerr == nil {
		err = errors.Join(err, a.sessions.Revoke(ctx, id.SessionID))
		a.emit(Event{Type: EventSessionRevoked, UserID: id.UserID, SessionID: id.SessionID})
	}
	if sid != "" && (cerr != nil || sid != id.SessionID) {
		a.emit(Event{Type: EventSessionRevoked, SessionID: sid})
	}
	if err != nil {
		// The session is revoked on this instance already; the store will learn it on a retry.
		a.log.ErrorContext(ctx, "walletauth: logout could not reach the store", "event", "logout_failed", "error", err)
	}
	a.clearSessionCookies(w)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// GET /session → {"session", "user"}
func (a *Auth) handleSession(w http.ResponseWriter, r *http.Request, id *Identity) {
	u, err := a.cfg.Store.GetUser(r.Context(), id.UserID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = errUnauthenticated
		}
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"session": map[string]any{
			"id": id.SessionID, "address": id.Address, "chainId": id.ChainID, "aal": id.AAL, "amr": id.AMR,
			"expiresAt": id.Claims.ExpiresAt.UTC().Format(time.RFC3339),
		},
		"user": userJSON(u),
	})
}

// GET /sessions → the caller's signed-in devices.
func (a *Auth) handleListSessions(w http.ResponseWriter, r *http.Request, id *Identity) {
	list, err := a.sessions.List(r.Context(), id.UserID)
	if err != nil {
		writeError(w, err)
		return
	}
	out := make([]map[string]any, 0, len(list))
	for _, s := range list {
		out = append(out, map[string]any{
			"id": s.ID, "current": s.ID == id.SessionID, "address": s.Address, "chainId": s.ChainID, "aal": s.AAL,
			"createdAt": s.CreatedAt.UTC().Format(time.RFC3339), "lastUsedAt": s.LastUsedAt.UTC().Format(time.RFC3339),
			"expiresAt": earlier(s.IdleExpiresAt, s.ExpiresAt).UTC().Format(time.RFC3339),
			"userAgent": s.UserAgent, "ip": s.IP,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// DELETE /sessions/{id} → 204: signs out one of the caller's own sessions.
func (a *Auth) handleRevokeSession(w http.ResponseWriter, r *http.Request, id *Identity) {
	ctx := r.Context()
	sid := r.PathValue("id")
	s, err := a.cfg.Store.GetSession(ctx, sid, a.cfg.Clock())
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && (s.UserID != id.UserID || !s.RevokedAt.IsZero())):
		// Another user's session is none of the caller's business; a revoked one is gone.
		writeError(w, errNotFound)
		return
	case err != nil:
		writeError(w, err)
		return
	}
	if err := a.sessions.Revoke(ctx, sid); err != nil {
		writeError(w, err)
		return
	}
	a.emit(Event{Type: EventSessionRevoked, UserID: id.UserID, SessionID: sid})
	if sid == id.SessionID {
		a.clearSessionCookies(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

// POST /sessions/revoke-others → {"revoked": n}: signs out every other device.
func (a *Auth) handleRevokeOthers(w http.ResponseWriter, r *http.Request, id *Identity) {
	n, err := a.sessions.RevokeOthers(r.Context(), id.UserID, id.SessionID)
	if err != nil {
		writeError(w, err)
		return
	}
	if n > 0 {
		a.emit(Event{Type: EventSessionRevoked, UserID: id.UserID}) // SessionID empty: every other session
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": n})
}

// userView is the user as the API shows it: {"id", "wallets":[{"address","chainId"}], "createdAt"}.
type userView struct {
	ID        string       `json:"id"`
	Wallets   []walletView `json:"wallets"`
	CreatedAt string       `json:"createdAt"`
}

type walletView struct {
	Address string `json:"address"`
	ChainID uint64 `json:"chainId"`
}

func userJSON(u store.User) userView {
	v := userView{ID: u.ID, Wallets: make([]walletView, 0, len(u.Wallets)), CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339)}
	for _, w := range u.Wallets {
		v.Wallets = append(v.Wallets, walletView{Address: w.Address, ChainID: w.ChainID})
	}
	return v
}

// fail answers a failed request and logs it: client mistakes at Info with their code, failures
// of the store or a bug at Error with the cause. Never a token, signature or message body.
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, event string, err error) {
	e := a.apiError(err)
	attrs := []slog.Attr{slog.String("event", event+"_failed"), slog.String("code", e.Code), slog.String("ip", a.clientIP(r).String())}
	if e.Status >= 500 {
		a.log.LogAttrs(r.Context(), slog.LevelError, "walletauth: "+event+" failed", append(attrs, slog.Any("error", err))...)
	} else {
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "walletauth: "+event+" refused", attrs...)
	}
	writeAPIError(w, e)
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
