package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/walletauth/walletauth/store"
)

const (
	sessionIDBytes   = 16 // 128 bits, 22 characters
	refreshBytes     = 32 // 256 bits, 43 characters
	sessionIDLen     = 22
	refreshSecretLen = 43
	maxUserAgent     = 512
	maxIP            = 64
	maxRefreshTries  = 3
)

// newRefresh returns the refresh token of a session with a random secret, and the hash of the
// secret.
func newRefresh(sessionID string, secret *[refreshBytes]byte) (token string, hash []byte) {
	var enc [refreshSecretLen]byte
	base64.RawURLEncoding.Encode(enc[:], secret[:])
	sum := sha256.Sum256(secret[:])
	return sessionID + "." + string(enc[:]), sum[:]
}

// parseRefresh splits a refresh token into its session id and the hash of its secret.
func parseRefresh(token string) (sessionID string, hash []byte, ok bool) {
	if len(token) != sessionIDLen+1+refreshSecretLen || token[sessionIDLen] != '.' {
		return "", nil, false
	}
	sessionID, enc := token[:sessionIDLen], token[sessionIDLen+1:]
	var id [sessionIDBytes]byte
	if n, err := base64.RawURLEncoding.Strict().Decode(id[:], []byte(sessionID)); err != nil || n != sessionIDBytes {
		return "", nil, false
	}
	var secret [refreshBytes]byte
	if n, err := base64.RawURLEncoding.Strict().Decode(secret[:], []byte(enc)); err != nil || n != refreshBytes {
		return "", nil, false
	}
	sum := sha256.Sum256(secret[:])
	return sessionID, sum[:], true
}

func hashEqual(a, b []byte) bool {
	return len(b) > 0 && subtle.ConstantTimeCompare(a, b) == 1
}

// hadToken reports whether hash is of a refresh token the session has or had: its current, its
// previous or one of its retired ones (a copy of a rotated-out token still names its owner's
// session: presenting it to refresh ends the session, and so does signing out with it).
func hadToken(s *store.Session, hash []byte) bool {
	return hashEqual(hash, s.RefreshHash) || hashEqual(hash, s.PrevRefreshHash) ||
		slices.ContainsFunc(s.RetiredRefreshHashes, func(h []byte) bool { return hashEqual(hash, h) })
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// sessionEnd is when a session ends unless refreshed.
func sessionEnd(s *store.Session) time.Time {
	if s.IdleExpiresAt.Before(s.ExpiresAt) {
		return s.IdleExpiresAt
	}
	return s.ExpiresAt
}

// Create starts a refresh session for s and returns its first tokens.
func (m *Manager) Create(ctx context.Context, s Subject) (*Tokens, error) {
	if s.UserID == "" {
		return nil, errors.New("session: Create: Subject.UserID is required")
	}
	if s.AAL == "" {
		s.AAL = "aal1"
	}
	if s.AMR == nil {
		s.AMR = []string{"siwe"}
	}
	now := m.now()
	// The session id, the refresh secret and the access token's jti, in one read.
	var rnd [sessionIDBytes + refreshBytes + jtiBytes]byte
	_, _ = rand.Read(rnd[:]) // never fails (crypto/rand)
	id := base64.RawURLEncoding.EncodeToString(rnd[:sessionIDBytes])
	refresh, hash := newRefresh(id, (*[refreshBytes]byte)(rnd[sessionIDBytes:]))
	jti := (*[jtiBytes]byte)(rnd[sessionIDBytes+refreshBytes:])
	sess := store.Session{
		ID:            id,
		UserID:        s.UserID,
		Address:       s.Address,
		ChainID:       s.ChainID,
		AAL:           s.AAL,
		AMR:           append([]string(nil), s.AMR...),
		RefreshHash:   hash,
		CreatedAt:     now,
		LastUsedAt:    now,
		ExpiresAt:     now.Add(m.cfg.RefreshLifetime),
		IdleExpiresAt: now.Add(min(m.cfg.RefreshIdleTimeout, m.cfg.RefreshLifetime)),
		UserAgent:     truncate(s.UserAgent, maxUserAgent),
		IP:            truncate(s.IP, maxIP),
	}
	// Mint first: a failure (of the claims hook, say) then leaves nothing behind.
	access, exp, err := m.mintAccess(ctx, &sess, now, jti)
	if err != nil {
		return nil, err
	}
	if err := m.cfg.Sessions.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("session: creating session: %w", err)
	}
	m.log.LogAttrs(ctx, slog.LevelDebug, "session: created",
		slog.String("session_id", id), slog.String("user_id", s.UserID))
	return &Tokens{
		SessionID:        id,
		AccessToken:      access,
		AccessExpiresAt:  exp,
		RefreshToken:     refresh,
		RefreshExpiresAt: sessionEnd(&sess),
	}, nil
}

// Refresh exchanges a refresh token for a new access token and a new refresh token (the
// presented one is rotated out), extending the idle timeout up to the absolute lifetime.
//
// Grace: the immediately previous refresh token, presented within RefreshGrace of its rotation
// (two tabs refreshing at once), gets a new access token and NO new refresh token:
// [Tokens.RefreshToken] is empty and the session is not rotated again. The client keeps the
// refresh token it holds; a browser's cookie jar already holds the current one, set by the
// concurrent refresh, which must not be overwritten or cleared. Rotating again instead would
// leave whichever response arrives last holding a token already rotated out.
//
// Reuse: the previous token after the grace, or any older token of the session (a well-formed
// token of the session that is neither its current nor its previous one, once it has rotated),
// revokes the whole session and fails with [ErrRefreshReused]: a rotated token in use means it
// was copied.
//
// A malformed or unknown token, or one of an expired session (idle timeout or lifetime), fails
// with [ErrRefreshInvalid]; a token of a revoked session with [ErrSessionRevoked].
func (m *Manager) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	id, hash, ok := parseRefresh(refreshToken)
	if !ok {
		return nil, errRefreshMalform
	}
	if m.revoked.has(id) {
		return nil, errRevoked
	}
	for range maxRefreshTries {
		now := m.now()
		s, err := m.cfg.Sessions.GetSession(ctx, id, now)
		if errors.Is(err, store.ErrNotFound) {
			return nil, errRefreshUnknown
		}
		if err != nil {
			return nil, fmt.Errorf("session: refresh: %w", err)
		}
		if !s.RevokedAt.IsZero() {
			return nil, errRevoked
		}
		if !now.Before(sessionEnd(&s)) {
			return nil, errRefreshUnknown
		}
		switch {
		case hashEqual(hash, s.RefreshHash):
			t, err := m.rotate(ctx, &s, hash, now)
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				continue // another refresh won, or the session ended meanwhile: look again
			}
			return t, err
		case hashEqual(hash, s.PrevRefreshHash) && !now.After(s.RotatedAt.Add(m.cfg.RefreshGrace)):
			access, exp, err := m.mintAccess(ctx, &s, now, nil)
			if err != nil {
				return nil, err
			}
			m.log.LogAttrs(ctx, slog.LevelInfo, "session: refreshed within the grace period",
				slog.String("session_id", id), slog.String("user_id", s.UserID))
			return &Tokens{SessionID: id, AccessToken: access, AccessExpiresAt: exp, RefreshExpiresAt: sessionEnd(&s)}, nil
		case hashEqual(hash, s.PrevRefreshHash) || slices.ContainsFunc(s.RetiredRefreshHashes, func(h []byte) bool { return hashEqual(hash, h) }):
			// A token the session really had, rotated out: it was copied.
			return nil, m.reused(ctx, &s, now)
		default:
			// No token the session ever had (within the last MaxRetiredRefreshTokens): a guess or
			// a forgery. Refused, but it does not end the session — else anyone who learnt a
			// session id could sign its owner out.
			return nil, errRefreshMismatch
		}
	}
	return nil, fmt.Errorf("%w: too many concurrent refreshes", ErrRefreshInvalid)
}

// rotate replaces the session's refresh token (compare-and-set on hash) and mints an access
// token. The store's ErrConflict and ErrNotFound are returned as they are for the caller to
// look again.
func (m *Manager) rotate(ctx context.Context, s *store.Session, hash []byte, now time.Time) (*Tokens, error) {
	// The refresh secret and the access token's jti, in one read.
	var rnd [refreshBytes + jtiBytes]byte
	_, _ = rand.Read(rnd[:]) // never fails (crypto/rand)
	refresh, newHash := newRefresh(s.ID, (*[refreshBytes]byte)(rnd[:]))
	next := *s
	next.PrevRefreshHash, next.RefreshHash = hash, newHash
	next.RetiredRefreshHashes = retire(s.PrevRefreshHash, s.RetiredRefreshHashes)
	next.RotatedAt, next.LastUsedAt = now, now
	next.IdleExpiresAt = now.Add(m.cfg.RefreshIdleTimeout)
	if next.IdleExpiresAt.After(next.ExpiresAt) {
		next.IdleExpiresAt = next.ExpiresAt
	}
	// Mint before rotating: a failure then leaves the presented token current, so the client
	// can retry (after rotating, a retry past the grace would count as reuse).
	access, exp, err := m.mintAccess(ctx, &next, now, (*[jtiBytes]byte)(rnd[refreshBytes:]))
	if err != nil {
		return nil, err
	}
	updated, err := m.cfg.Sessions.RotateRefresh(ctx, s.ID, hash, newHash, next.RetiredRefreshHashes, next.IdleExpiresAt, now)
	if err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("session: refresh: %w", err)
	}
	m.log.LogAttrs(ctx, slog.LevelDebug, "session: refreshed",
		slog.String("session_id", s.ID), slog.String("user_id", s.UserID))
	return &Tokens{
		SessionID:        s.ID,
		AccessToken:      access,
		AccessExpiresAt:  exp,
		RefreshToken:     refresh,
		RefreshExpiresAt: sessionEnd(&updated),
	}, nil
}

// MaxRetiredRefreshTokens is how many refresh tokens rotated out before the previous one a session
// remembers (as hashes): presenting one of them revokes the session as reuse. A token older than
// that is refused as unknown.
const MaxRetiredRefreshTokens = 16

// retire returns the retired hashes after a rotation: prev (when there is one) in front of the
// old list, which is cut to MaxRetiredRefreshTokens.
func retire(prev []byte, retired [][]byte) [][]byte {
	if prev == nil {
		return retired
	}
	out := make([][]byte, 0, min(len(retired)+1, MaxRetiredRefreshTokens))
	out = append(out, prev)
	for _, h := range retired {
		if len(out) == MaxRetiredRefreshTokens {
			break
		}
		out = append(out, h)
	}
	return out
}

// reused revokes a session whose rotated refresh token was presented.
func (m *Manager) reused(ctx context.Context, s *store.Session, now time.Time) error {
	m.log.LogAttrs(ctx, slog.LevelWarn, "session: refresh token reuse; session revoked",
		slog.String("session_id", s.ID), slog.String("user_id", s.UserID))
	if err := m.revokeDurably(ctx, s.ID, s.ExpiresAt, now); err != nil {
		return fmt.Errorf("session: revoking after refresh token reuse: %w", err)
	}
	return ErrRefreshReused
}

// Revoke ends a session: this instance refuses its access tokens at once, the store marks it
// revoked (so it cannot refresh), and the other instances refuse its access tokens after their
// next Sync. Revoking a revoked, expired or unknown session is not an error.
//
// When the store fails, Revoke returns its error, but the revocation does not fail open: this
// instance keeps refusing the session (its access tokens and its refresh) for as long as it can
// live, and [Manager.Sync] retries the store until it records the revocation (logging at Error
// while it has not, at Info once it has). The other instances learn of it only then. The retries
// are kept in memory, at most 10 000 of them.
func (m *Manager) Revoke(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return errors.New("session: Revoke: empty session id")
	}
	return m.revoke(ctx, sessionID, time.Time{}, m.now())
}

// revoke is Revoke of a session whose absolute expiry is expiresAt (zero when not known).
func (m *Manager) revoke(ctx context.Context, id string, expiresAt, now time.Time) error {
	if err := m.revokeDurably(ctx, id, expiresAt, now); err != nil {
		return fmt.Errorf("session: revoking: %w", err)
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "session: revoked", slog.String("session_id", id))
	return nil
}

// revokeUnchecked holds, for a sign-out whose token nobody could check (the store could not be
// read), the session it names: on this instance at once, within bounds (maxHeld, then the retry
// queue), as the id is only the caller's word; and it writes nothing to the store — not even when
// the store would take the write — until the retry has checked the token (holdRevocation).
// readErr is why the token could not be checked; it is returned.
func (m *Manager) revokeUnchecked(ctx context.Context, id string, hash []byte, now time.Time, readErr error) error {
	if !m.revoked.addUnchecked(id, m.revokedUntil(now), maxHeld) {
		m.log.LogAttrs(ctx, slog.LevelError, "session: too many unchecked sign-outs held on this instance; this one is only queued",
			slog.String("session_id", id), slog.Int("held", maxHeld))
	}
	m.holdRevocation(ctx, id, time.Time{}, now, readErr, hash)
	return fmt.Errorf("session: revoking: %w", readErr)
}

// RevokeByRefreshToken revokes the session of a refresh token (sign-out with the refresh
// token). It revokes only when the token is or was the session's (current, previous or retired).
// A malformed or unknown token, or a session already ended, is not an error: signing out is
// idempotent.
//
// When the store cannot be read, the token cannot be checked: the session it names is revoked
// anyway (by id, as [Manager.Revoke] does, including its handling of a store that fails), so that
// signing out during an outage still holds. Only then: a token that the store shows is not the
// session's never revokes it, and when the store answers again the retry checks the token
// before it revokes: a made-up one ends nothing — unless another instance has refreshed the
// session since, when no one can tell a made-up token from one rotated out since, and the
// sign-out holds. What an instance keeps of such unchecked
// sign-outs while the store fails is bounded (half of the retry queue, then short holds): a
// flood of made-up tokens can neither grow memory nor push out the revocations of
// [Manager.Revoke], which a sign-out with a valid access token makes (the HTTP logout does both).
func (m *Manager) RevokeByRefreshToken(ctx context.Context, refreshToken string) error {
	_, err := m.SignOut(ctx, refreshToken)
	return err
}

// SignOut is [Manager.RevokeByRefreshToken], and also returns the id of the session it revoked
// because the token was its own: "" when the token named no live session of which it is the
// current, previous or a retired token, and "" too when the store could not be read (the
// session the token names is then revoked by id, unchecked). An app can trust the id, to tell
// others of the sign-out, as it could not trust the first part of a token anyone may make up.
func (m *Manager) SignOut(ctx context.Context, refreshToken string) (string, error) {
	id, hash, ok := parseRefresh(refreshToken)
	if !ok {
		return "", nil
	}
	now := m.now()
	s, err := m.cfg.Sessions.GetSession(ctx, id, now)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		// Revoking a session by id asks nothing of the token: at worst, someone who knows a
		// session id signs its owner out, and only while the store is failing.
		m.log.LogAttrs(ctx, slog.LevelWarn, "session: sign-out while the store cannot be read; revoking by session id",
			slog.String("session_id", id), slog.String("error", err.Error()))
		return "", m.revokeUnchecked(ctx, id, hash, now, err)
	}
	if !hadToken(&s, hash) {
		return "", nil
	}
	if !s.RevokedAt.IsZero() { // signed out already (here at once, whatever Sync has seen)
		m.revokeLocal(id, now)
		return "", nil
	}
	return id, m.revoke(ctx, id, s.ExpiresAt, now)
}

// RevokeOthers revokes every session of the user but keepSessionID ("sign out other devices";
// keepSessionID may be empty to revoke all) and returns how many it revoked. When the store
// fails to revoke them, the sessions listed are held revoked on this instance and retried as
// [Manager.Revoke] does.
func (m *Manager) RevokeOthers(ctx context.Context, userID, keepSessionID string) (int, error) {
	if userID == "" {
		return 0, errors.New("session: RevokeOthers: empty user id")
	}
	now := m.now()
	list, err := m.cfg.Sessions.ListSessions(ctx, userID, now)
	if err != nil {
		return 0, fmt.Errorf("session: revoking: %w", err)
	}
	for _, s := range list {
		if s.ID != keepSessionID {
			m.revokeLocal(s.ID, now)
		}
	}
	n, err := m.cfg.Sessions.RevokeUserSessions(ctx, userID, keepSessionID, now)
	if err != nil {
		for _, s := range list {
			if s.ID != keepSessionID {
				m.holdRevocation(ctx, s.ID, s.ExpiresAt, now, err, nil)
			}
		}
		return 0, fmt.Errorf("session: revoking: %w", err)
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "session: other sessions revoked",
		slog.String("user_id", userID), slog.String("kept_session_id", keepSessionID), slog.Int("count", n))
	return n, nil
}

// List returns the user's live, unrevoked sessions, the newest first, for a "your devices"
// page. The refresh hashes are left out.
func (m *Manager) List(ctx context.Context, userID string) ([]store.Session, error) {
	list, err := m.cfg.Sessions.ListSessions(ctx, userID, m.now())
	if err != nil {
		return nil, fmt.Errorf("session: listing: %w", err)
	}
	for i := range list {
		list[i].RefreshHash, list[i].PrevRefreshHash, list[i].RetiredRefreshHashes = nil, nil, nil
	}
	return list, nil
}
