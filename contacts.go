package walletauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/walletauth/walletauth/profile"
	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
)

// Second-factor codes sent by email or SMS share these limits with TOTP's defaults: at most
// contactCodeAttempts tries per user per contactCodeWindow, then locked until the window ends.
const (
	contactCodeAttempts = 5
	contactCodeWindow   = 5 * time.Minute
)

// contactRequest is the body of the contact routes.
type contactRequest struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
	Code  string `json:"code"`
}

// contactView is a contact as the API shows it.
type contactView struct {
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Verified bool   `json:"verified"`
	Primary  bool   `json:"primary"`
	AddedAt  string `json:"addedAt"`
}

func contactJSON(c store.Contact) contactView {
	return contactView{Kind: c.Kind, Value: c.Value, Verified: !c.VerifiedAt.IsZero(), Primary: c.Primary,
		AddedAt: c.AddedAt.UTC().Format(time.RFC3339)}
}

func (a *Auth) readContact(w http.ResponseWriter, r *http.Request, needCode bool) (*contactRequest, bool) {
	var req contactRequest
	if err := readJSON(w, r, &req, false); err != nil {
		writeError(w, err)
		return nil, false
	}
	if (req.Kind != "email" && req.Kind != "phone") || req.Value == "" || (needCode && req.Code == "") {
		msg := `"kind" ("email" or "phone") and "value" are required`
		if needCode {
			msg = `"kind" ("email" or "phone"), "value" and "code" are required`
		}
		writeError(w, badRequest(msg))
		return nil, false
	}
	return &req, true
}

// GET /contacts → {"contacts": [...]}
func (a *Auth) handleContacts(w http.ResponseWriter, r *http.Request, id *Identity) {
	list, err := a.contacts.Contacts(r.Context(), id.UserID)
	if err != nil {
		writeError(w, err)
		return
	}
	out := make([]contactView, 0, len(list))
	for _, c := range list {
		out = append(out, contactJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": out})
}

// POST /contacts {"kind", "value"} → 202 {"status": "code_sent"}. The answer is the same whether
// or not the address or number belongs to someone else.
func (a *Auth) handleAddContact(w http.ResponseWriter, r *http.Request, id *Identity) {
	req, ok := a.readContact(w, r, false)
	if !ok {
		return
	}
	if _, err := a.contacts.AddContact(r.Context(), id.UserID, req.Kind, req.Value); err != nil {
		a.fail(w, r, "contact_add", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "code_sent"})
}

// POST /contacts/resend {"kind", "value"} → 202: a new code, the old one void.
func (a *Auth) handleResendContact(w http.ResponseWriter, r *http.Request, id *Identity) {
	req, ok := a.readContact(w, r, false)
	if !ok {
		return
	}
	if err := a.contacts.Resend(r.Context(), id.UserID, req.Kind, req.Value); err != nil {
		a.fail(w, r, "contact_resend", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "code_sent"})
}

// POST /contacts/verify {"kind", "value", "code"} → {"contact"}
func (a *Auth) handleVerifyContact(w http.ResponseWriter, r *http.Request, id *Identity) {
	req, ok := a.readContact(w, r, true)
	if !ok {
		return
	}
	c, err := a.contacts.VerifyContact(r.Context(), id.UserID, req.Kind, req.Value, req.Code)
	if err != nil {
		a.fail(w, r, "contact_verify", err)
		return
	}
	a.emit(Event{Type: EventContactVerified, UserID: id.UserID, SessionID: id.SessionID, Contact: c.Value, ContactKind: c.Kind})
	writeJSON(w, http.StatusOK, map[string]any{"contact": contactJSON(c)})
}

// POST /contacts/primary {"kind", "value"} → 204
func (a *Auth) handlePrimaryContact(w http.ResponseWriter, r *http.Request, id *Identity) {
	req, ok := a.readContact(w, r, false)
	if !ok {
		return
	}
	if err := a.contacts.SetPrimary(r.Context(), id.UserID, req.Kind, req.Value); err != nil {
		a.fail(w, r, "contact_primary", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DELETE /contacts/{kind}/{value} → 204
func (a *Auth) handleRemoveContact(w http.ResponseWriter, r *http.Request, id *Identity) {
	if err := a.contacts.RemoveContact(r.Context(), id.UserID, r.PathValue("kind"), r.PathValue("value")); err != nil {
		a.fail(w, r, "contact_remove", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// contactFactors returns the code factors a pending sign-in may use besides TOTP: "email_code"
// and "sms_code" where the user has a verified primary contact and a sender is configured.
func (a *Auth) contactFactors(ctx context.Context, userID string) ([]string, error) {
	if a.contacts == nil {
		return nil, nil
	}
	list, err := a.contacts.Contacts(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range list {
		if !c.Primary || c.VerifiedAt.IsZero() {
			continue
		}
		switch {
		case c.Kind == "email" && a.cfg.Email != nil:
			out = append(out, "email_code")
		case c.Kind == "phone" && a.cfg.SMS != nil:
			out = append(out, "sms_code")
		}
	}
	return out, nil
}

// factorKind maps a factor name to the contact kind it uses.
func factorKind(factor string) (string, bool) {
	switch factor {
	case "email_code":
		return "email", true
	case "sms_code":
		return "phone", true
	}
	return "", false
}

// POST /mfa/send {"factor": "email_code" | "sms_code"} (+ the pending credential) → 202: sends a
// second-factor code to the user's primary email address or phone number.
func (a *Auth) handleSendFactor(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Factor       string `json:"factor"`
		PendingToken string `json:"pendingToken"`
	}
	if err := readJSON(w, r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	kind, ok := factorKind(req.Factor)
	if !ok {
		writeError(w, badRequest(`"factor" must be "email_code" or "sms_code"`))
		return
	}
	pending, err := a.pendingClaims(r, req.PendingToken)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := a.contacts.SendSecondFactor(r.Context(), pending.UserID, kind); err != nil {
		a.fail(w, r, "second_factor_send", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "code_sent"})
}

// pendingClaims verifies the pending credential of a request: from the body, or the cookie.
func (a *Auth) pendingClaims(r *http.Request, fromBody string) (*session.Claims, error) {
	tok := fromBody
	if tok == "" {
		tok = cookieValue(r, a.cookies.pending)
	}
	if tok == "" {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "sign in with your wallet first"}
	}
	return a.sessions.VerifyPending(tok)
}

// checkContactCode checks an emailed or texted second-factor code, under a per-user attempt
// limit like TOTP's.
func (a *Auth) checkContactCode(ctx context.Context, userID, kind, code string) error {
	key := "mfa:contact-attempts:" + userID
	n, reset, err := a.cfg.Store.IncrementCounter(ctx, key, contactCodeWindow, a.cfg.Clock())
	if err != nil {
		return err
	}
	if n > contactCodeAttempts {
		retry := max(int(reset.Sub(a.cfg.Clock()).Seconds()+0.999), 1)
		return &Error{Status: http.StatusTooManyRequests, Code: "mfa_locked", RetryAfter: retry,
			Message: "too many wrong codes; try again in " + strconv.Itoa(retry) + " s"}
	}
	if err := a.contacts.CheckSecondFactor(ctx, userID, kind, code); err != nil {
		return err
	}
	if err := a.cfg.Store.ResetCounter(ctx, key); err != nil {
		a.log.LogAttrs(ctx, slog.LevelError, "walletauth: resetting the code attempts failed", slog.Any("error", err))
	}
	return nil
}

// profileError maps the errors of the profile package.
func profileError(err error) *Error {
	var limited *profile.RateLimitError
	switch {
	case errors.As(err, &limited):
		retry := max(int(limited.RetryAfter.Seconds()+0.999), 1)
		return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: retry, Err: err,
			Message: "too many codes sent; try again in " + strconv.Itoa(retry) + " s"}
	case errors.Is(err, profile.ErrInvalidCode):
		return &Error{Status: http.StatusUnauthorized, Code: "invalid_code", Message: "the code is not valid", Err: err}
	case errors.Is(err, profile.ErrInvalidEmail):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "not an email address", Err: err}
	case errors.Is(err, profile.ErrInvalidPhone):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "not a phone number in international form (+ and 8 to 15 digits)", Err: err}
	case errors.Is(err, profile.ErrInvalidKind):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: `the kind must be "email" or "phone"`, Err: err}
	case errors.Is(err, profile.ErrNotVerified):
		return &Error{Status: http.StatusConflict, Code: "contact_not_verified", Message: "only a verified contact can be primary: verify it first", Err: err}
	case errors.Is(err, profile.ErrNoContact):
		return &Error{Status: http.StatusConflict, Code: "no_contact", Message: "no verified contact of that kind", Err: err}
	case errors.Is(err, profile.ErrSenderMissing):
		return &Error{Status: http.StatusBadRequest, Code: "kind_not_supported", Message: "this server does not send messages of that kind", Err: err}
	}
	return nil
}
