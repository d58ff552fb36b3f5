package memstore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"time"

	"github.com/walletauth/walletauth/store"
)

var (
	errKeyCapacity     = fmt.Errorf("memstore: signing key limit reached: %w", store.ErrCapacity)
	errSessionCapacity = fmt.Errorf("memstore: session limit reached: %w", store.ErrCapacity)
	errUserCapacity    = fmt.Errorf("memstore: user limit reached: %w", store.ErrCapacity)
)

// sessionEnd is when a session stops existing: the earlier of its two expiries.
func sessionEnd(v *store.Session) time.Time {
	if v.IdleExpiresAt.Before(v.ExpiresAt) {
		return v.IdleExpiresAt
	}
	return v.ExpiresAt
}

func cloneSession(v store.Session) store.Session {
	v.AMR = slices.Clone(v.AMR)
	v.RefreshHash = bytes.Clone(v.RefreshHash)
	v.PrevRefreshHash = bytes.Clone(v.PrevRefreshHash)
	v.RetiredRefreshHashes = cloneHashes(v.RetiredRefreshHashes)
	return v
}

// cloneHashes returns a deep copy of hashes: a new list of new slices (nil stays nil).
func cloneHashes(hashes [][]byte) [][]byte {
	if hashes == nil {
		return nil
	}
	c := make([][]byte, len(hashes))
	for i, h := range hashes {
		c[i] = bytes.Clone(h)
	}
	return c
}

// dropSession takes a session that the sessions table removes out of the indexes beside it.
func (s *Store) dropSession(e *entry[store.Session]) {
	if m := s.byUser[e.val.UserID]; m != nil {
		delete(m, e.key)
		if len(m) == 0 {
			delete(s.byUser, e.val.UserID)
		}
	}
	delete(s.revoked, e.key)
}

// CreateSession implements [store.SessionStore.CreateSession]. A time out of range also gives an
// error wrapping [store.ErrInvalid].
//
// CreateSession takes no now: the new session's CreatedAt stands for the caller's clock. A held
// session with the same ID that has expired by then is replaced (nothing of it carries over); any
// other held session with the same ID, revoked or not, and any at all when CreatedAt is zero, is a
// conflict. Up to 32 sessions expired at CreatedAt are purged first; when the store holds its
// maximum of sessions and none of them has, it returns an error wrapping [store.ErrCapacity].
func (s *Store) CreateSession(ctx context.Context, v store.Session) error {
	if err := store.CheckSession(v); err != nil {
		return err
	}
	v = cloneSession(v)
	for _, t := range []*time.Time{&v.RotatedAt, &v.CreatedAt, &v.LastUsedAt, &v.IdleExpiresAt, &v.ExpiresAt, &v.RevokedAt} {
		*t = t.Round(0)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t := &s.sessions
	clock := v.CreatedAt
	if !clock.IsZero() {
		t.purge(clock, purgeBatch)
	}
	if e, ok := t.m[v.ID]; ok {
		if clock.IsZero() || e.expires.After(clock) {
			return store.ErrConflict
		}
		t.remove(e) // expired: the new session takes its place, and its room
	}
	e := t.insert(v.ID, v, sessionEnd(&v))
	if e == nil {
		return errSessionCapacity
	}
	m := s.byUser[v.UserID]
	if m == nil {
		m = make(map[string]*entry[store.Session])
		s.byUser[v.UserID] = m
	}
	m[v.ID] = e
	if !v.RevokedAt.IsZero() {
		s.revoked[v.ID] = e
	}
	return nil
}

// GetSession implements [store.SessionStore.GetSession].
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	if err := s.lock(ctx); err != nil {
		return store.Session{}, err
	}
	defer s.mu.Unlock()
	e := s.sessions.live(id, now)
	if e == nil {
		return store.Session{}, store.ErrNotFound
	}
	return cloneSession(e.val), nil
}

// RotateRefresh implements [store.SessionStore.RotateRefresh]. The hashes are compared in
// constant time. An empty newHash, or a zero or out-of-range idleExpiresAt or now (which the
// session would keep), gives an error wrapping [store.ErrInvalid] and changes nothing. The session
// keeps a copy of retired (nil and empty alike leave it with no retired hashes).
func (s *Store) RotateRefresh(ctx context.Context, id string, oldHash, newHash []byte, retired [][]byte, idleExpiresAt, now time.Time) (store.Session, error) {
	if err := store.CheckRefreshRotation(newHash, idleExpiresAt, now); err != nil {
		return store.Session{}, err
	}
	newHash = bytes.Clone(newHash)
	retired = cloneHashes(retired) // before the lock: the copy costs the other callers nothing
	idleExpiresAt, now = idleExpiresAt.Round(0), now.Round(0)
	if err := s.lock(ctx); err != nil {
		return store.Session{}, err
	}
	defer s.mu.Unlock()
	e := s.sessions.live(id, now)
	if e == nil || !e.val.RevokedAt.IsZero() {
		return store.Session{}, store.ErrNotFound
	}
	if subtle.ConstantTimeCompare(e.val.RefreshHash, oldHash) != 1 {
		return store.Session{}, store.ErrConflict
	}
	v := e.val
	// The stored RefreshHash equals oldHash and is the store's own copy: it becomes the previous.
	v.PrevRefreshHash = v.RefreshHash
	v.RefreshHash = newHash
	v.RetiredRefreshHashes = retired
	v.RotatedAt, v.LastUsedAt = now, now
	v.IdleExpiresAt = idleExpiresAt
	s.sessions.update(e, v, sessionEnd(&v))
	return cloneSession(v), nil
}

// revokeTime checks the now of a revocation, which the session keeps as RevokedAt: a zero now
// would leave the session looking unrevoked.
func revokeTime(now time.Time) error {
	return store.CheckTime("session revocation time", now)
}

// RevokeSession implements [store.SessionStore.RevokeSession]. A zero or out-of-range now gives
// an error wrapping [store.ErrInvalid] and changes nothing.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if err := revokeTime(now); err != nil {
		return err
	}
	now = now.Round(0)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	e := s.sessions.live(id, now)
	if e == nil || !e.val.RevokedAt.IsZero() {
		return nil
	}
	e.val.RevokedAt = now
	s.revoked[id] = e
	s.feed.publish(store.ChangeRevoked)
	return nil
}

// RevokeUserSessions implements [store.SessionStore.RevokeUserSessions]. A zero or out-of-range
// now gives an error wrapping [store.ErrInvalid] and changes nothing.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, exceptID string, now time.Time) (int, error) {
	if err := revokeTime(now); err != nil {
		return 0, err
	}
	now = now.Round(0)
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for id, e := range s.byUser[userID] {
		switch {
		case !e.expires.After(now):
			s.sessions.remove(e) // deleting from the map being ranged over is allowed
		case id == exceptID || !e.val.RevokedAt.IsZero():
		default:
			e.val.RevokedAt = now
			s.revoked[id] = e
			n++
		}
	}
	if n > 0 {
		s.feed.publish(store.ChangeRevoked)
	}
	return n, nil
}

// ListSessions implements [store.SessionStore.ListSessions]. Sessions created at the same instant
// come the greater ID first.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	var list []store.Session
	for _, e := range s.byUser[userID] {
		switch {
		case !e.expires.After(now):
			s.sessions.remove(e)
		case e.val.RevokedAt.IsZero():
			list = append(list, cloneSession(e.val))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(list, func(a, b store.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return list, nil
}

// RevokedSince implements [store.SessionStore.RevokedSince]. Revocations at the same instant come
// in order of session ID. It scans the revoked sessions held, not all sessions.
func (s *Store) RevokedSince(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	var list []store.Revocation
	for _, e := range s.revoked {
		switch {
		case !e.expires.After(now):
			s.sessions.remove(e)
		case !e.val.RevokedAt.Before(since):
			list = append(list, store.Revocation{SessionID: e.key, RevokedAt: e.val.RevokedAt, ExpiresAt: e.val.ExpiresAt})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(list, func(a, b store.Revocation) int {
		if c := a.RevokedAt.Compare(b.RevokedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.SessionID, b.SessionID)
	})
	return list, nil
}
