package session

import "time"

// RevokedLen returns how many sessions the in-memory revoked set holds.
func RevokedLen(m *Manager) int {
	m.revoked.mu.RLock()
	defer m.revoked.mu.RUnlock()
	return len(m.revoked.m)
}

// RetriesLen returns how many revocations wait for the store to accept them.
func RetriesLen(m *Manager) int { return m.retries.len() }

// RevokedUntil returns when the in-memory revoked set forgets a session (zero: not in it).
func RevokedUntil(m *Manager, id string) time.Time {
	m.revoked.mu.RLock()
	defer m.revoked.mu.RUnlock()
	return m.revoked.m[id]
}

// MaxRetries is how many revocations the retry queue holds.
const MaxRetries = maxRetries

// MaxHeld bounds the revoked set for revocations held beyond the retry queue.
const MaxHeld = maxHeld
