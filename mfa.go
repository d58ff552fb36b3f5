package walletauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/walletauth/walletauth/mfa"
	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
)

// Defaults of the MFA settings of [Config].
const (
	// DefaultPendingTTL is how long a sign-in may wait for its second factor.
	DefaultPendingTTL = 5 * time.Minute
	// DefaultFreshFactor is how recent a second factor must be to disable MFA or regenerate
	// recovery codes.
	DefaultFreshFactor = 10 * time.Minute
)

// Assurance levels and authentication methods in tokens (RFC 8176 names where there is one).
const (
	AAL1 = "aal1"
	AAL2 = "aal2"

	amrWallet   = "siwe"
	amrTOTP     = "otp"
	amrRecovery = "recovery_code"
	amrEmail    = "email"
	amrSMS      = "sms"
)

// The factors a pending sign-in may complete with.
var pendingFactors = []string{"totp", "recovery_code"}

// codeRequest is the body of the routes that take a second factor.
type codeRequest struct {
	Code               string `json:"code"`
	RecoveryCode       string `json:"recoveryCode"`
	EmailCode          string `json:"emailCode"`
	SMSCode            string `json:"smsCode"`
	PendingToken       string `json:"pendingToken"`
	RefreshTokenInBody bool   `json:"refreshTokenInBody"`
	SignOutOthers      bool   `json:"signOutOthers"`
}

// checkFactor checks a TOTP code, a recovery code, or a code sent by email or SMS, and returns
// the method used.
func (a *Auth) checkFactor(ctx context.Context, userID string, req *codeRequest) (string, error) {
	given := 0
	for _, v := range []string{req.Code, req.RecoveryCode, req.EmailCode, req.SMSCode} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return "", badRequest(`send exactly one of "code", "recoveryCode", "emailCode" and "smsCode"`)
	}
	switch {
	case req.Code != "":
		return amrTOTP, a.mfa.Verify(ctx, userID, req.Code)
	case req.RecoveryCode != "":
		return amrRecovery, a.mfa.UseRecoveryCode(ctx, userID, req.RecoveryCode)
	case a.contacts == nil:
		return "", badRequest("this server does not send codes by email or SMS")
	case req.EmailCode != "":
		return amrEmail, a.checkContactCode(ctx, userID, "email", req.EmailCode)
	default:
		return amrSMS, a.checkContactCode(ctx, userID, "phone", req.SMSCode)
	}
}

// mfaEnabled reports whether the user has a confirmed second factor. Without MFA configured
// nobody has.
func (a *Auth) mfaEnabled(ctx context.Context, userID string) (bool, error) {
	if a.mfa == nil {
		return false, nil
	}
	return a.mfa.Enabled(ctx, userID)
}

// startPending answers a sign-in of a user with MFA on: a short-lived pending credential that
// unlocks nothing but POST mfa/verify.
func (a *Auth) startPending(w http.ResponseWriter, r *http.Request, subj session.Subject, inBody bool) {
	tok, exp, err := a.sessions.MintPending(subj, a.cfg.PendingTTL)
	if err != nil {
		a.fail(w, r, "sign_in", err)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "walletauth: second factor required", slog.String("event", "sign_in_pending"),
		slog.String("user", subj.UserID), slog.String("address", subj.Address), slog.String("ip", subj.IP))
	factors := pendingFactors
	extra, err := a.contactFactors(r.Context(), subj.UserID)
	if err != nil {
		a.fail(w, r, "sign_in", err)
		return
	}
	factors = append(append([]string(nil), factors...), extra...)
	resp := map[string]any{"status": "needs_second_factor", "factors": factors, "expiresAt": exp.UTC().Format(time.RFC3339)}
	if inBody {
		resp["pendingToken"] = tok
	} else {
		a.setCookie(w, a.cookies.pending, tok, a.cfg.BasePath+"/mfa", exp)
	}
	writeJSON(w, http.StatusOK, resp)
}

// POST /mfa/verify {"code"} or {"recoveryCode"} (+ the pending credential) → the signed-in
// session at aal2, as verify answers.
func (a *Auth) handleMFAVerify(w http.ResponseWriter, r *http.Request) {
	var req codeRequest
	if err := readJSON(w, r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	tok := req.PendingToken
	if tok == "" {
		tok = cookieValue(r, a.cookies.pending)
	}
	pending, err := a.pendingClaims(r, req.PendingToken)
	if err != nil {
		writeError(w, err)
		return
	}
	// The pending credential is single use: claim it, atomically, for longer than it can live,
	// before the factor is checked — so that a second submission never spends a code — and give
	// the claim back if the factor fails, so that a mistyped code can be corrected.
	mark := "pending:" + pendingKey(pending, tok)
	n, _, err := a.cfg.Store.IncrementCounter(ctx, mark, a.cfg.PendingTTL+session.MaxClockSkew, a.cfg.Clock())
	if err != nil {
		a.fail(w, r, "second_factor", err)
		return
	}
	if n > 1 {
		writeError(w, &Error{Status: http.StatusUnauthorized, Code: "token_invalid", Message: "this sign-in is being completed or was completed already; sign in again if it failed"})
		return
	}
	method, err := a.checkFactor(ctx, pending.UserID, &req)
	if err != nil {
		if rerr := a.cfg.Store.ResetCounter(ctx, mark); rerr != nil {
			a.log.LogAttrs(ctx, slog.LevelError, "walletauth: releasing a pending sign-in failed", slog.Any("error", rerr))
		}
		a.fail(w, r, "second_factor", err)
		return
	}
	user, err := a.cfg.Store.GetUser(ctx, pending.UserID)
	if err != nil {
		a.fail(w, r, "second_factor", err)
		return
	}
	tokens, err := a.sessions.Create(ctx, session.Subject{
		UserID: pending.UserID, Address: pending.Address, ChainID: pending.ChainID,
		AAL: AAL2, AMR: []string{amrWallet, method}, UserAgent: r.UserAgent(), IP: a.clientIP(r).String(),
	})
	if err != nil {
		a.fail(w, r, "second_factor", err)
		return
	}
	if req.PendingToken == "" {
		a.clearCookie(w, a.cookies.pending, a.cfg.BasePath+"/mfa")
	}
	a.emit(Event{Type: EventSessionCreated, UserID: pending.UserID, SessionID: tokens.SessionID, Address: pending.Address, ChainID: pending.ChainID})
	a.log.LogAttrs(ctx, slog.LevelInfo, "walletauth: signed in with a second factor", slog.String("event", "sign_in"),
		slog.String("user", pending.UserID), slog.String("session", tokens.SessionID), slog.String("method", method),
		slog.String("address", pending.Address), slog.String("ip", a.clientIP(r).String()))
	uv := userJSON(user)
	a.writeTokens(w, tokens, req.RefreshTokenInBody, &tokenResponse{Status: "complete", User: &uv})
}

// pendingKey identifies a pending credential for its single use: its token id, which its
// signature covers (so a re-encoding of the same token is the same credential).
func pendingKey(c *session.Claims, tok string) string {
	if c.TokenID != "" {
		return c.TokenID
	}
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:16])
}

// POST /mfa/step-up {"code"} or {"recoveryCode"} → a new session at aal2 in place of the caller's,
// for actions that want a fresh second factor.
func (a *Auth) handleStepUp(w http.ResponseWriter, r *http.Request, id *Identity) {
	var req codeRequest
	if err := readJSON(w, r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	// The access token may come from a session another instance revoked moments ago: ask the
	// store before minting a fresh session from it.
	if s, err := a.cfg.Store.GetSession(ctx, id.SessionID, a.cfg.Clock()); err != nil || !s.RevokedAt.IsZero() {
		if err == nil || errors.Is(err, store.ErrNotFound) {
			err = &Error{Status: http.StatusUnauthorized, Code: "session_revoked", Message: "this session has ended; sign in again"}
		}
		a.fail(w, r, "step_up", err)
		return
	}
	method, err := a.checkFactor(ctx, id.UserID, &req)
	if err != nil {
		a.fail(w, r, "step_up", err)
		return
	}
	tokens, err := a.sessions.Create(ctx, session.Subject{
		UserID: id.UserID, Address: id.Address, ChainID: id.ChainID,
		AAL: AAL2, AMR: []string{amrWallet, method}, UserAgent: r.UserAgent(), IP: a.clientIP(r).String(),
	})
	if err != nil {
		a.fail(w, r, "step_up", err)
		return
	}
	if err := a.sessions.Revoke(ctx, id.SessionID); err != nil {
		a.log.LogAttrs(ctx, slog.LevelError, "walletauth: revoking the session replaced by a step-up failed",
			slog.String("session", id.SessionID), slog.Any("error", err))
	}
	a.emit(Event{Type: EventSessionCreated, UserID: id.UserID, SessionID: tokens.SessionID, Address: id.Address, ChainID: id.ChainID})
	a.emit(Event{Type: EventSessionRevoked, UserID: id.UserID, SessionID: id.SessionID})
	a.log.LogAttrs(ctx, slog.LevelInfo, "walletauth: stepped up", slog.String("event", "step_up"), slog.String("user", id.UserID),
		slog.String("session", tokens.SessionID), slog.String("replaced", id.SessionID), slog.String("method", method))
	a.writeTokens(w, tokens, req.RefreshTokenInBody, &tokenResponse{Status: "complete"})
}

// GET /mfa → {"totp": enabled, "recoveryCodesLeft": n}
func (a *Auth) handleMFAStatus(w http.ResponseWriter, r *http.Request, id *Identity) {
	ctx := r.Context()
	on, err := a.mfa.Enabled(ctx, id.UserID)
	if err != nil {
		writeError(w, err)
		return
	}
	left := 0
	if on {
		if left, err = a.mfa.RecoveryCodesLeft(ctx, id.UserID); err != nil {
			writeError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"totp": on, "recoveryCodesLeft": left, "aal": id.AAL})
}

// POST /mfa/totp → {"secret", "otpauthUrl", "qrPng"}: starts (or restarts) a TOTP enrolment.
func (a *Auth) handleEnroll(w http.ResponseWriter, r *http.Request, id *Identity) {
	e, err := a.mfa.Enroll(r.Context(), id.UserID, shortAddress(id.Address))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"secret": e.Secret, "otpauthUrl": e.URL, "qrPng": base64.StdEncoding.EncodeToString(e.QRPNG)})
}

// POST /mfa/totp/confirm {"code"} → {"recoveryCodes"}: the first valid code turns MFA on.
func (a *Auth) handleConfirm(w http.ResponseWriter, r *http.Request, id *Identity) {
	var req codeRequest
	if err := readJSON(w, r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	if req.Code == "" {
		writeError(w, badRequest(`"code" is required`))
		return
	}
	codes, err := a.mfa.Confirm(r.Context(), id.UserID, req.Code)
	if err != nil {
		a.fail(w, r, "mfa_confirm", err)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "walletauth: MFA turned on", slog.String("event", "mfa_enabled"), slog.String("user", id.UserID))
	a.emit(Event{Type: EventMFAEnabled, UserID: id.UserID, SessionID: id.SessionID})
	writeJSON(w, http.StatusOK, map[string]any{"recoveryCodes": codes})
}

// POST /mfa/disable {"signOutOthers"?} → {"signedOut": n}; needs a fresh second factor.
func (a *Auth) handleDisable(w http.ResponseWriter, r *http.Request, id *Identity) {
	var req codeRequest
	if err := readJSON(w, r, &req, true); err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	// The other devices first: when that fails, the answer is an error and the second factor is
	// still on, rather than off with an error the user would take for "nothing happened".
	n, err := a.signOutOthers(ctx, id, req.SignOutOthers)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := a.mfa.Disable(ctx, id.UserID); err != nil {
		writeError(w, err)
		return
	}
	a.log.LogAttrs(ctx, slog.LevelWarn, "walletauth: MFA turned off", slog.String("event", "mfa_disabled"), slog.String("user", id.UserID))
	a.emit(Event{Type: EventMFADisabled, UserID: id.UserID, SessionID: id.SessionID})
	writeJSON(w, http.StatusOK, map[string]any{"signedOut": n})
}

// POST /mfa/recovery-codes {"signOutOthers"?} → {"recoveryCodes", "signedOut"}: a new set, the
// old one void; needs a fresh second factor.
func (a *Auth) handleRegenerate(w http.ResponseWriter, r *http.Request, id *Identity) {
	var req codeRequest
	if err := readJSON(w, r, &req, true); err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	// The other devices first: the new codes void the old ones, so once they are made they must
	// reach the user — no failure may come after them.
	n, err := a.signOutOthers(ctx, id, req.SignOutOthers)
	if err != nil {
		writeError(w, err)
		return
	}
	codes, err := a.mfa.RegenerateRecoveryCodes(ctx, id.UserID)
	if err != nil {
		writeError(w, err)
		return
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "walletauth: recovery codes regenerated", slog.String("event", "recovery_codes_regenerated"), slog.String("user", id.UserID))
	writeJSON(w, http.StatusOK, map[string]any{"recoveryCodes": codes, "signedOut": n})
}

func (a *Auth) signOutOthers(ctx context.Context, id *Identity, yes bool) (int, error) {
	if !yes {
		return 0, nil
	}
	return a.sessions.RevokeOthers(ctx, id.UserID, id.SessionID)
}

// RequireAAL2 is middleware that lets through only requests whose session passed a second
// factor (aal2); others get 401 without a valid token and 403 insufficient_assurance with one.
func (a *Auth) RequireAAL2(next http.Handler) http.Handler { return a.RequireFreshFactor(0, next) }

// RequireFreshFactor is middleware for sensitive actions: it lets through only requests whose
// session passed a second factor no more than maxAge ago (any time, when maxAge is 0). Others get
// 403 insufficient_assurance; the client steps up with POST mfa/step-up and retries.
func (a *Auth) RequireFreshFactor(maxAge time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.guard(r)
		if err == nil {
			err = a.checkAssurance(id, maxAge)
		}
		if err != nil {
			a.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// checkAssurance refuses an identity without a second factor within maxAge (0: any time).
func (a *Auth) checkAssurance(id *Identity, maxAge time.Duration) error {
	if id.AAL != AAL2 {
		return &Error{Status: http.StatusForbidden, Code: "insufficient_assurance", Message: "a second factor is required: step up first"}
	}
	if maxAge > 0 && a.cfg.Clock().Sub(id.Claims.AuthTime) > maxAge {
		return &Error{Status: http.StatusForbidden, Code: "insufficient_assurance",
			Message: fmt.Sprintf("a second factor within the last %v is required: step up first", maxAge)}
	}
	return nil
}

// fresh wraps a handler that needs a second factor within Config.FreshFactor.
func (a *Auth) fresh(h func(http.ResponseWriter, *http.Request, *Identity)) http.HandlerFunc {
	return a.authenticated(func(w http.ResponseWriter, r *http.Request, id *Identity) {
		if err := a.checkAssurance(id, a.cfg.FreshFactor); err != nil {
			writeError(w, err)
			return
		}
		h(w, r, id)
	})
}

// freshIfMFA wraps a handler that changes where second-factor codes go (a contact's
// verification, the primary contact, its removal): once the user has a second factor, it needs
// that factor within Config.FreshFactor, as turning it off does. Else a session that never
// passed the factor (one from before it was turned on, say) could verify an address of its own
// choosing, receive the email code of a new sign-in there, and so stand in for the factor.
func (a *Auth) freshIfMFA(h func(http.ResponseWriter, *http.Request, *Identity)) http.HandlerFunc {
	return a.authenticated(func(w http.ResponseWriter, r *http.Request, id *Identity) {
		switch on, err := a.mfaEnabled(r.Context(), id.UserID); {
		case err != nil:
			a.fail(w, r, "mfa_check", err)
			return
		case on:
			if err := a.checkAssurance(id, a.cfg.FreshFactor); err != nil {
				writeError(w, err)
				return
			}
		}
		h(w, r, id)
	})
}

// mfaError maps the errors of the mfa package; now is the time Retry-After counts from.
func mfaError(err error, now time.Time) *Error {
	var locked *mfa.LockedError
	switch {
	case errors.As(err, &locked):
		retry := int(locked.Until.Sub(now).Seconds() + 0.999)
		return &Error{Status: http.StatusTooManyRequests, Code: "mfa_locked", RetryAfter: max(retry, 1), Err: err,
			Message: "too many wrong codes; try again in " + strconv.Itoa(max(retry, 1)) + " s"}
	case errors.Is(err, mfa.ErrInvalidCode):
		return &Error{Status: http.StatusUnauthorized, Code: "invalid_code", Message: "the code is not valid", Err: err}
	case errors.Is(err, mfa.ErrNotEnrolled):
		return &Error{Status: http.StatusConflict, Code: "mfa_not_enrolled", Message: "no second factor is set up (start the enrolment first)", Err: err}
	case errors.Is(err, mfa.ErrAlreadyEnabled):
		return &Error{Status: http.StatusConflict, Code: "mfa_already_enabled", Message: "a second factor is on already; turn it off first", Err: err}
	}
	return nil
}

// shortAddress is how an authenticator app lists the account: 0x1234…abcd.
func shortAddress(addr string) string {
	if len(addr) < 12 {
		return addr
	}
	return addr[:6] + "…" + addr[len(addr)-4:]
}
