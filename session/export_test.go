package session

// RevokedLen returns how many sessions the in-memory revoked set holds.
func RevokedLen(m *Manager) int {
	m.revoked.mu.RLock()
	defer m.revoked.mu.RUnlock()
	return len(m.revoked.m)
}
