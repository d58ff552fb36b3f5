package walletauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/web3auth"
)

// Limits of metadata.
const (
	// MaxUnsafeMetadata caps the unsafe metadata a user may write: a JSON object of at most 8 KiB.
	MaxUnsafeMetadata = 8 << 10
	// MaxMetadata caps the public and private metadata the server writes.
	MaxMetadata = 64 << 10
	// DefaultMaxTokenMetadata is how large public metadata may be and still be copied into access
	// tokens (Config.PublicMetadataInToken).
	DefaultMaxTokenMetadata = 1 << 10
)

// Metadata members.
const (
	metaPublic  = "public"
	metaPrivate = "private"
	metaUnsafe  = "unsafe"
)

// errMetadata is returned for metadata that is not a JSON object or is too large.
var errMetadata = errors.New("walletauth: metadata must be a JSON object within its size limit")

// checkObject reports whether doc is one JSON object of at most max bytes.
func checkObject(doc []byte, max int) error {
	doc = bytes.TrimSpace(doc)
	if len(doc) > max {
		return fmt.Errorf("%w (%d bytes, at most %d)", errMetadata, len(doc), max)
	}
	var obj map[string]json.RawMessage
	if len(doc) == 0 || doc[0] != '{' || json.Unmarshal(doc, &obj) != nil {
		return fmt.Errorf("%w (not a JSON object)", errMetadata)
	}
	return nil
}

// Metadata returns the user's metadata: public, private and unsafe, each a JSON object ({} when
// none was set).
func (a *Auth) Metadata(ctx context.Context, userID string) (public, private, unsafe json.RawMessage, err error) {
	m, err := a.cfg.Store.GetMetadata(ctx, userID)
	if err != nil {
		return nil, nil, nil, err
	}
	return orEmpty(m.Public), orEmpty(m.Private), orEmpty(m.Unsafe), nil
}

// SetPublicMetadata replaces the user's public metadata (the user may read it; it may travel in
// access tokens) with v encoded as JSON, which must be an object of at most MaxMetadata bytes.
// nil clears it.
func (a *Auth) SetPublicMetadata(ctx context.Context, userID string, v any) error {
	return a.setMetadata(ctx, userID, metaPublic, v, MaxMetadata)
}

// SetPrivateMetadata replaces the user's private metadata (the server's alone), as
// SetPublicMetadata does.
func (a *Auth) SetPrivateMetadata(ctx context.Context, userID string, v any) error {
	return a.setMetadata(ctx, userID, metaPrivate, v, MaxMetadata)
}

func (a *Auth) setMetadata(ctx context.Context, userID, member string, v any, max int) error {
	if v == nil {
		return a.cfg.Store.SetMetadata(ctx, userID, member, nil, a.cfg.Clock())
	}
	doc, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if doc, err = json.Marshal(v); err != nil {
			return fmt.Errorf("walletauth: encoding metadata: %w", err)
		}
	}
	if err := checkObject(doc, max); err != nil {
		return err
	}
	if err := a.cfg.Store.SetMetadata(ctx, userID, member, bytes.TrimSpace(doc), a.cfg.Clock()); err != nil {
		return err
	}
	a.emit(Event{Type: EventUserUpdated, UserID: userID})
	return nil
}

func orEmpty(doc []byte) json.RawMessage {
	if len(doc) == 0 {
		return json.RawMessage("{}")
	}
	return doc
}

// tokenMetadata is the session claims hook that copies public metadata into access tokens, as
// the claim "public_metadata", when it is at most Config.MaxTokenMetadata bytes; larger
// metadata is left out (and logged), so that tokens stay small.
func (a *Auth) tokenMetadata(ctx context.Context, s store.Session) (map[string]any, error) {
	m, err := a.cfg.Store.GetMetadata(ctx, s.UserID)
	if err != nil {
		return nil, err
	}
	if len(m.Public) == 0 {
		return nil, nil
	}
	if len(m.Public) > a.cfg.MaxTokenMetadata {
		a.log.LogAttrs(ctx, slog.LevelWarn, "walletauth: public metadata too large for the access token; left out",
			slog.String("user", s.UserID), slog.Int("bytes", len(m.Public)), slog.Int("limit", a.cfg.MaxTokenMetadata))
		return nil, nil
	}
	return map[string]any{"public_metadata": json.RawMessage(m.Public)}, nil
}

// GET /user → {"user": {"id", "wallets", "createdAt", "publicMetadata", "unsafeMetadata"}}
func (a *Auth) handleUser(w http.ResponseWriter, r *http.Request, id *Identity) {
	ctx := r.Context()
	u, err := a.cfg.Store.GetUser(ctx, id.UserID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = errUnauthenticated
		}
		writeError(w, err)
		return
	}
	public, _, unsafe, err := a.Metadata(ctx, id.UserID)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userWithMetadata{userJSON(u), public, unsafe}})
}

type userWithMetadata struct {
	userView
	PublicMetadata json.RawMessage `json:"publicMetadata"`
	UnsafeMetadata json.RawMessage `json:"unsafeMetadata"`
}

// PUT /user/metadata {"unsafeMetadata": {...}} → {"unsafeMetadata"}: the one member users write.
func (a *Auth) handleUnsafeMetadata(w http.ResponseWriter, r *http.Request, id *Identity) {
	var req struct {
		UnsafeMetadata json.RawMessage `json:"unsafeMetadata"`
	}
	if err := readJSON(w, r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	doc := req.UnsafeMetadata
	if len(doc) == 0 || string(doc) == "null" {
		writeError(w, badRequest(`"unsafeMetadata" (a JSON object) is required`))
		return
	}
	if err := checkObject(doc, MaxUnsafeMetadata); err != nil {
		if len(bytes.TrimSpace(doc)) > MaxUnsafeMetadata {
			writeError(w, &Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Message: "unsafe metadata is limited to 8 KiB"})
			return
		}
		writeError(w, badRequest(`"unsafeMetadata" must be a JSON object`))
		return
	}
	if err := a.cfg.Store.SetMetadata(r.Context(), id.UserID, metaUnsafe, bytes.TrimSpace(doc), a.cfg.Clock()); err != nil {
		writeError(w, err)
		return
	}
	a.emit(Event{Type: EventUserUpdated, UserID: id.UserID, SessionID: id.SessionID})
	writeJSON(w, http.StatusOK, map[string]any{"unsafeMetadata": json.RawMessage(bytes.TrimSpace(doc))})
}

// POST /wallets {"message", "signature"} → {"user"}: links the wallet that signed a fresh sign-in
// message (from POST nonce) to the caller.
func (a *Auth) handleLinkWallet(w http.ResponseWriter, r *http.Request, id *Identity) {
	_, acct, ok := a.verifySigned(w, r, "link_wallet")
	if !ok {
		return
	}
	ctx := r.Context()
	addr := acct.AddressHex
	err := a.cfg.Store.LinkWallet(ctx, id.UserID, store.Wallet{Address: addr, ChainID: acct.ChainID, LinkedAt: a.cfg.Clock()})
	switch {
	case errors.Is(err, store.ErrConflict):
		// Only the wallet's owner, who just proved it by signing, learns that it is taken.
		writeError(w, &Error{Status: http.StatusConflict, Code: "wallet_taken", Message: "this wallet belongs to an account already (sign in with it, or unlink it there)", Err: err})
		return
	case err != nil:
		a.fail(w, r, "link_wallet", err)
		return
	}
	a.emit(Event{Type: EventWalletLinked, UserID: id.UserID, SessionID: id.SessionID, Address: addr, ChainID: acct.ChainID})
	a.log.LogAttrs(ctx, slog.LevelInfo, "walletauth: wallet linked", slog.String("event", "wallet_linked"),
		slog.String("user", id.UserID), slog.String("address", addr), slog.Uint64("chain", acct.ChainID))
	a.writeUser(w, r, id.UserID, http.StatusOK)
}

// DELETE /wallets/{address} → {"user", "signedOut"}: unlinks one of the caller's wallets (not the
// last) and signs out the sessions that signed in with it.
func (a *Auth) handleUnlinkWallet(w http.ResponseWriter, r *http.Request, id *Identity) {
	ctx := r.Context()
	addr, err := web3auth.ParseAddressAnyCase(r.PathValue("address"))
	if err != nil {
		writeError(w, errNotFound)
		return
	}
	switch err := a.cfg.Store.UnlinkWallet(ctx, id.UserID, addr.Hex()); {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, errNotFound)
		return
	case errors.Is(err, store.ErrConflict):
		writeError(w, &Error{Status: http.StatusConflict, Code: "last_wallet", Message: "this is your last wallet: link another before unlinking it", Err: err})
		return
	case err != nil:
		writeError(w, err)
		return
	}
	signedOut := 0
	list, err := a.sessions.List(ctx, id.UserID)
	if err == nil {
		for _, s := range list {
			if strings.EqualFold(s.Address, addr.Hex()) {
				if err = a.sessions.Revoke(ctx, s.ID); err != nil {
					break
				}
				a.emit(Event{Type: EventSessionRevoked, UserID: id.UserID, SessionID: s.ID, Address: s.Address})
				signedOut++
			}
		}
	}
	if err != nil {
		a.log.LogAttrs(ctx, slog.LevelError, "walletauth: signing out an unlinked wallet's sessions failed",
			slog.String("user", id.UserID), slog.Any("error", err))
	}
	a.emit(Event{Type: EventWalletUnlinked, UserID: id.UserID, SessionID: id.SessionID, Address: addr.Hex()})
	a.log.LogAttrs(ctx, slog.LevelInfo, "walletauth: wallet unlinked", slog.String("event", "wallet_unlinked"),
		slog.String("user", id.UserID), slog.String("address", addr.Hex()), slog.Int("signed_out", signedOut))
	a.writeUser(w, r, id.UserID, http.StatusOK, "signedOut", signedOut)
}

// writeUser answers with the user, and extra members as name, value pairs.
func (a *Auth) writeUser(w http.ResponseWriter, r *http.Request, userID string, status int, extra ...any) {
	u, err := a.cfg.Store.GetUser(r.Context(), userID)
	if err != nil {
		writeError(w, err)
		return
	}
	resp := map[string]any{"user": userJSON(u)}
	for i := 0; i+1 < len(extra); i += 2 {
		resp[extra[i].(string)] = extra[i+1]
	}
	writeJSON(w, status, resp)
}
