package walletauth

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/walletauth/walletauth/oauthlink"
)

// The state cookie of an OAuth linking in progress.
const oauthStateCookie = "walletauth-oauth"

func (a *Auth) oauthCookieName() string {
	if a.secure {
		return "__Secure-" + oauthStateCookie
	}
	return oauthStateCookie
}

// GET /oauth → {"providers": [...], "accounts": [...]}
func (a *Auth) handleOAuthList(w http.ResponseWriter, r *http.Request, id *Identity) {
	list, err := a.oauth.Accounts(r.Context(), id.UserID)
	if err != nil {
		writeError(w, err)
		return
	}
	accounts := make([]map[string]any, 0, len(list))
	for _, acc := range list {
		accounts = append(accounts, map[string]any{"provider": acc.Provider, "subject": acc.Subject, "email": acc.Email,
			"username": acc.Username, "linkedAt": acc.LinkedAt.UTC().Format(time.RFC3339)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"providers": a.oauth.Providers(), "accounts": accounts})
}

// GET /oauth/{provider}/start → 303 to the provider, with a sealed state cookie. A top-level
// navigation of a signed-in user (the page links or assigns location to it).
func (a *Auth) handleOAuthStart(w http.ResponseWriter, r *http.Request) {
	id, err := a.oauthIdentity(w, r)
	if err != nil {
		a.oauthDone(w, r, "", "unauthenticated")
		return
	}
	authURL, cookie, err := a.oauth.Start(id.UserID, r.PathValue("provider"))
	if err != nil {
		a.oauthDone(w, r, "", oauthCode(err))
		return
	}
	a.setCookie(w, a.oauthCookieName(), cookie, a.cfg.BasePath+"/oauth", a.cfg.Clock().Add(10*time.Minute))
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// GET /oauth/{provider}/callback → links the account and sends the browser back to
// Config.OAuthReturnURL with ?oauth_linked=provider or ?oauth_error=code.
func (a *Auth) handleOAuthCallback(w http.ResponseWriter, r *http.Request) {
	provider := r.PathValue("provider")
	a.clearCookie(w, a.oauthCookieName(), a.cfg.BasePath+"/oauth")
	id, err := a.oauthIdentity(w, r)
	if err != nil {
		a.oauthDone(w, r, "", "unauthenticated")
		return
	}
	acc, err := a.oauth.Finish(r.Context(), id.UserID, provider, cookieValue(r, a.oauthCookieName()), r.URL.Query())
	if err != nil {
		code := oauthCode(err)
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "walletauth: OAuth linking failed", slog.String("event", "oauth_link_failed"),
			slog.String("user", id.UserID), slog.String("provider", provider), slog.String("code", code), slog.Any("error", err))
		a.oauthDone(w, r, "", code)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "walletauth: OAuth account linked", slog.String("event", "oauth_linked"),
		slog.String("user", id.UserID), slog.String("provider", provider))
	a.emit(Event{Type: EventOAuthLinked, UserID: id.UserID, SessionID: id.SessionID, Provider: acc.Provider})
	a.oauthDone(w, r, provider, "")
}

// DELETE /oauth/{provider} → 204
func (a *Auth) handleOAuthUnlink(w http.ResponseWriter, r *http.Request, id *Identity) {
	if err := a.oauth.Unlink(r.Context(), id.UserID, r.PathValue("provider")); err != nil {
		if errors.Is(err, oauthlink.ErrNotLinked) || errors.Is(err, oauthlink.ErrUnknownProvider) {
			err = errNotFound
		}
		writeError(w, err)
		return
	}
	a.emit(Event{Type: EventOAuthUnlinked, UserID: id.UserID, SessionID: id.SessionID, Provider: r.PathValue("provider")})
	w.WriteHeader(http.StatusNoContent)
}

// oauthIdentity authenticates a top-level navigation: by the access cookie, or — the user may
// have spent longer at the provider than an access token lives — by refreshing the session
// with the refresh cookie, as POST refresh would (the cookies are rotated).
func (a *Auth) oauthIdentity(w http.ResponseWriter, r *http.Request) (*Identity, error) {
	if id, err := a.Check(r); err == nil {
		return id, nil
	}
	rt := cookieValue(r, a.cookies.refresh)
	if rt == "" {
		return nil, errUnauthenticated
	}
	t, err := a.sessions.Refresh(r.Context(), rt)
	if err != nil {
		return nil, err
	}
	a.setAccessCookie(w, t.AccessToken, t.AccessExpiresAt)
	if t.RefreshToken != "" {
		a.setRefreshCookie(w, t.RefreshToken, t.RefreshExpiresAt)
	}
	c, err := a.sessions.Verify(t.AccessToken)
	if err != nil {
		return nil, err
	}
	return &Identity{UserID: c.UserID, SessionID: c.SessionID, Address: c.Address, ChainID: c.ChainID, AAL: c.AAL, AMR: c.AMR, Claims: c}, nil
}

// oauthDone sends the browser back to the app with the outcome in the query.
func (a *Auth) oauthDone(w http.ResponseWriter, r *http.Request, linked, errCode string) {
	u, err := url.Parse(a.cfg.OAuthReturnURL)
	if err != nil {
		u = &url.URL{Path: "/"}
	}
	q := u.Query()
	if linked != "" {
		q.Set("oauth_linked", linked)
	} else {
		q.Set("oauth_error", errCode)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// oauthCode is the error code an OAuth failure is reported with.
func oauthCode(err error) string {
	switch {
	case errors.Is(err, oauthlink.ErrUnknownProvider):
		return "unknown_provider"
	case errors.Is(err, oauthlink.ErrState):
		return "state_invalid"
	case errors.Is(err, oauthlink.ErrDenied):
		return "access_denied"
	case errors.Is(err, oauthlink.ErrAlreadyLinked):
		return "already_linked"
	}
	return "provider_error"
}
