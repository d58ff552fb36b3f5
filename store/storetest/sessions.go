package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

const (
	// idleTTL and sessionTTL are the idle timeout and absolute lifetime of the suite's sessions.
	idleTTL    = 30 * time.Minute
	sessionTTL = 24 * time.Hour
)

var sessionTests = []test{
	{"RoundTrip", testSessionRoundTrip},
	{"RoundTripEdgeValues", testSessionRoundTripEdgeValues},
	{"Copies", testSessionCopies},
	{"CreateConflict", testSessionCreateConflict},
	{"CreateOverExpired", testSessionCreateOverExpired},
	{"CreateInvalid", testSessionCreateInvalid},
	{"CreateRevoked", testSessionCreateRevoked},
	{"Expiry", testSessionExpiry},
	{"Absent", testSessionAbsent},
	{"Rotate", testSessionRotate},
	{"RotatePastExpiry", testSessionRotatePastExpiry},
	{"RotateConflict", testSessionRotateConflict},
	{"RotateRevoked", testSessionRotateRevoked},
	{"RotateExpired", testSessionRotateExpired},
	{"RotateInvalid", testSessionRotateInvalid},
	{"RetiredHashes", testSessionRetiredHashes},
	{"RetiredHashesLong", testSessionRetiredHashesLong},
	{"Revoke", testSessionRevoke},
	{"RevokeExpiredOrAbsent", testSessionRevokeExpiredOrAbsent},
	{"RevokeZeroTime", testSessionRevokeZeroTime},
	{"RevokeUser", testSessionRevokeUser},
	{"List", testSessionList},
	{"RevokedSince", testSessionRevokedSince},
	{"RevokedSinceExpiry", testSessionRevokedSinceExpiry},
}

// hash returns a refresh hash made from s, as a SHA-256 of a token secret would be.
func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// retiredHashes returns a list of n retired hashes made from prefix, the newest first, as the
// session package would keep them.
func retiredHashes(prefix string, n int) [][]byte {
	list := make([][]byte, n)
	for i := range list {
		list[i] = hash(fmt.Sprint(prefix, "/retired", n-i))
	}
	return list
}

// cloneHashes returns a deep copy of a list of hashes.
func cloneHashes(list [][]byte) [][]byte {
	if list == nil {
		return nil
	}
	c := make([][]byte, len(list))
	for i, h := range list {
		c[i] = bytes.Clone(h)
	}
	return c
}

// newSession returns a live session of user signed in at base.
func newSession(id, user string) store.Session {
	return store.Session{
		ID:            id,
		UserID:        user,
		Address:       address,
		ChainID:       1,
		AAL:           "aal1",
		AMR:           []string{"siwe"},
		RefreshHash:   hash(id + "/0"),
		CreatedAt:     base,
		LastUsedAt:    base,
		IdleExpiresAt: base.Add(idleTTL),
		ExpiresAt:     base.Add(sessionTTL),
		UserAgent:     "Mozilla/5.0 (X11; Linux x86_64)",
		IP:            "192.0.2.1",
	}
}

func createSession(t *testing.T, s store.Store, v store.Session) {
	t.Helper()
	if err := s.CreateSession(t.Context(), v); err != nil {
		t.Fatalf("CreateSession(%q) = %v, want nil", v.ID, err)
	}
}

func getSession(t *testing.T, s store.Store, id string, now time.Time) store.Session {
	t.Helper()
	v, err := s.GetSession(t.Context(), id, now)
	if err != nil {
		t.Fatalf("GetSession(%q, base+%v) = %v, want nil", id, now.Sub(base), err)
	}
	return v
}

func wantNoSession(t *testing.T, s store.Store, id string, now time.Time) {
	t.Helper()
	if v, err := s.GetSession(t.Context(), id, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(%q, base+%v) = %+v, %v; want ErrNotFound", id, now.Sub(base), v, err)
	}
}

// sameSession reports whether a and b are equal field by field: times compared with Equal, and
// nil and empty slices (AMR, PrevRefreshHash, RetiredRefreshHashes and each of its hashes) taken as
// equal.
func sameSession(a, b store.Session) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Address == b.Address && a.ChainID == b.ChainID &&
		a.AAL == b.AAL && slices.Equal(a.AMR, b.AMR) &&
		bytes.Equal(a.RefreshHash, b.RefreshHash) && bytes.Equal(a.PrevRefreshHash, b.PrevRefreshHash) &&
		slices.EqualFunc(a.RetiredRefreshHashes, b.RetiredRefreshHashes, bytes.Equal) &&
		a.RotatedAt.Equal(b.RotatedAt) && a.CreatedAt.Equal(b.CreatedAt) && a.LastUsedAt.Equal(b.LastUsedAt) &&
		a.IdleExpiresAt.Equal(b.IdleExpiresAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.RevokedAt.Equal(b.RevokedAt) &&
		a.UserAgent == b.UserAgent && a.IP == b.IP
}

func wantSession(t *testing.T, call string, got, want store.Session) {
	t.Helper()
	if !sameSession(got, want) {
		t.Errorf("%s = %+v\nwant %+v", call, got, want)
	}
}

func sessionIDs(list []store.Session) []string {
	ids := make([]string, len(list))
	for i, v := range list {
		ids[i] = v.ID
	}
	return ids
}

func listSessions(t *testing.T, s store.Store, user string, now time.Time) []store.Session {
	t.Helper()
	list, err := s.ListSessions(t.Context(), user, now)
	if err != nil {
		t.Fatalf("ListSessions(%q, base+%v) = %v, want nil", user, now.Sub(base), err)
	}
	return list
}

// wantSessions checks that got holds the sessions of want, field by field, in the same order.
func wantSessions(t *testing.T, call string, got, want []store.Session) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = sessions %q, want %q", call, sessionIDs(got), sessionIDs(want))
		return
	}
	for i := range got {
		wantSession(t, fmt.Sprintf("%s: session #%d", call, i), got[i], want[i])
	}
}

func rotate(t *testing.T, s store.Store, id string, oldHash, newHash []byte, retired [][]byte, idle, now time.Time) store.Session {
	t.Helper()
	v, err := s.RotateRefresh(t.Context(), id, oldHash, newHash, retired, idle, now)
	if err != nil {
		t.Fatalf("RotateRefresh(%q, base+%v) = %v, want nil", id, now.Sub(base), err)
	}
	return v
}

func revoke(t *testing.T, s store.Store, id string, now time.Time) {
	t.Helper()
	if err := s.RevokeSession(t.Context(), id, now); err != nil {
		t.Fatalf("RevokeSession(%q, base+%v) = %v, want nil", id, now.Sub(base), err)
	}
}

func revokedSince(t *testing.T, s store.Store, since, now time.Time) []store.Revocation {
	t.Helper()
	list, err := s.RevokedSince(t.Context(), since, now)
	if err != nil {
		t.Fatalf("RevokedSince(base+%v, base+%v) = %v, want nil", since.Sub(base), now.Sub(base), err)
	}
	return list
}

// wantRevocations checks that got is in order of RevokedAt and holds the revocations of want, which
// is in order of RevokedAt and then of SessionID. The order of revocations at one instant is not
// checked.
func wantRevocations(t *testing.T, call string, got, want []store.Revocation) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i].RevokedAt.Before(got[i-1].RevokedAt) {
			t.Errorf("%s is not in order of RevokedAt: %+v", call, got)
			break
		}
	}
	got = slices.Clone(got)
	slices.SortStableFunc(got, func(a, b store.Revocation) int {
		if c := a.RevokedAt.Compare(b.RevokedAt); c != 0 {
			return c
		}
		return strings.Compare(a.SessionID, b.SessionID)
	})
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].SessionID == want[i].SessionID && got[i].RevokedAt.Equal(want[i].RevokedAt) &&
			got[i].ExpiresAt.Equal(want[i].ExpiresAt)
	}
	if !ok {
		t.Errorf("%s = %+v\nwant %+v", call, got, want)
	}
}

func revocation(v store.Session, at time.Time) store.Revocation {
	return store.Revocation{SessionID: v.ID, RevokedAt: at, ExpiresAt: v.ExpiresAt}
}

func testSessionRoundTrip(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC+5:45", 5*3600+45*60)
	v := store.Session{
		ID:              "sess-RoundTrip-0123456789abcdef",
		UserID:          "user-0001",
		Address:         address,
		ChainID:         8453,
		AAL:             "aal2",
		AMR:             []string{"siwe", "totp", "", "a,b;c\"d"},
		RefreshHash:     append([]byte{0, 0xff}, hash("rt/1")...),
		PrevRefreshHash: hash("rt/0"),
		// Hashes of several lengths, with the bytes that text encodings quote or split on.
		RetiredRefreshHashes: [][]byte{
			hash("rt/-1"),
			{0},
			append(hash("rt/-2"), hash("rt/-3")...),
			{0xff, 0x00, '"', '\\', ',', '[', ']', '\n'},
			[]byte("\"],[\\'; --"),
			{0x80, 0xc0},
		},
		RotatedAt:     base.Add(-time.Minute + 1).In(zone),
		CreatedAt:     base.Add(-time.Hour + 3).In(zone),
		LastUsedAt:    base.Add(-time.Minute + 7).In(zone),
		IdleExpiresAt: base.Add(idleTTL + 11).In(zone),
		ExpiresAt:     base.Add(sessionTTL + 13).In(zone),
		UserAgent:     "Mozilla/5.0 (Macintosh) \"quoted\" ünïcødé",
		IP:            "2001:db8::1",
	}
	createSession(t, s, v)
	wantSession(t, "GetSession", getSession(t, s, v.ID, base), v)
	wantSession(t, "GetSession just before idle expiry", getSession(t, s, v.ID, v.IdleExpiresAt.Add(-1)), v)
	wantSessions(t, "ListSessions", listSessions(t, s, v.UserID, base), []store.Session{v})
}

func testSessionRoundTripEdgeValues(t *testing.T, s store.Store) {
	tests := []store.Session{
		// Only the required fields: no times but the expiries, no AMR, no previous or retired hash.
		{ID: "minimal", UserID: "u", RefreshHash: []byte{0}, IdleExpiresAt: base.Add(time.Hour), ExpiresAt: base.Add(2 * time.Hour)},
		// An empty, non-nil AMR and retired list; the largest chain id; an idle expiry after the
		// absolute one.
		{ID: "edges", UserID: "u", ChainID: math.MaxUint64, AMR: []string{}, RetiredRefreshHashes: [][]byte{}, RefreshHash: hash("edges"), CreatedAt: base, IdleExpiresAt: base.Add(sessionTTL), ExpiresAt: base.Add(time.Hour)},
		// A chain id with the top bit set; a session already revoked at creation; times 1ns apart;
		// retired hashes that are empty or one byte, which a store keeps as given.
		{ID: "topBit", UserID: "u", ChainID: 1<<63 + 5, RefreshHash: hash("topBit"), RetiredRefreshHashes: [][]byte{{}, {0}, {}}, CreatedAt: base.Add(-1), RevokedAt: base, IdleExpiresAt: base.Add(1), ExpiresAt: base.Add(2)},
		// One retired hash, a single zero byte.
		{ID: "oneRetired", UserID: "u", RefreshHash: hash("oneRetired"), RetiredRefreshHashes: [][]byte{{0}}, IdleExpiresAt: base.Add(time.Hour), ExpiresAt: base.Add(2 * time.Hour)},
	}
	for _, v := range tests {
		createSession(t, s, v)
	}
	for _, v := range tests {
		wantSession(t, fmt.Sprintf("GetSession(%q)", v.ID), getSession(t, s, v.ID, base), v)
	}
}

func testSessionCopies(t *testing.T, s store.Store) {
	v := newSession("copies", "user")
	v.AMR = []string{"siwe", "totp"}
	v.PrevRefreshHash = hash("prev")
	v.RetiredRefreshHashes = [][]byte{hash("retired/2"), hash("retired/1")[:16], {7}}
	want := v
	want.AMR = slices.Clone(v.AMR)
	want.RefreshHash = bytes.Clone(v.RefreshHash)
	want.PrevRefreshHash = bytes.Clone(v.PrevRefreshHash)
	want.RetiredRefreshHashes = cloneHashes(v.RetiredRefreshHashes)
	createSession(t, s, v)
	// The store keeps what it was given, not the caller's slices: neither the list of retired
	// hashes nor the hashes in it.
	v.AMR[0] = "changed"
	v.RefreshHash[0] ^= 0xff
	v.PrevRefreshHash[0] ^= 0xff
	v.RetiredRefreshHashes[0][0] ^= 0xff
	v.RetiredRefreshHashes[1] = hash("swapped")
	v.RetiredRefreshHashes[2] = nil
	got := getSession(t, s, v.ID, base)
	wantSession(t, "GetSession after the caller changed its slices", got, want)
	// Nor does it hand out its own.
	got.AMR[0] = "changed"
	got.RefreshHash[0] ^= 0xff
	got.PrevRefreshHash[0] ^= 0xff
	got.RetiredRefreshHashes[0][0] ^= 0xff
	got.RetiredRefreshHashes[1] = hash("swapped")
	got.RetiredRefreshHashes[2] = nil
	list := listSessions(t, s, v.UserID, base)
	wantSessions(t, "ListSessions after the caller changed a session", list, []store.Session{want})
	list[0].AMR[1] = "changed"
	list[0].RefreshHash[1] ^= 0xff
	list[0].RetiredRefreshHashes[1][0] ^= 0xff
	list[0].RetiredRefreshHashes[0] = hash("swapped")
	wantSession(t, "GetSession after the caller changed a listed session", getSession(t, s, v.ID, base), want)
	// RotateRefresh keeps copies of the hashes it is given, and returns copies of its own.
	oldHash, newHash := bytes.Clone(want.RefreshHash), hash("new")
	retired := [][]byte{bytes.Clone(want.PrevRefreshHash), bytes.Clone(want.RetiredRefreshHashes[0]), {1, 2, 3}}
	wantRetired := cloneHashes(retired)
	rotated := rotate(t, s, v.ID, oldHash, newHash, retired, base.Add(idleTTL), base)
	oldHash[0] ^= 0xff
	newHash[0] ^= 0xff
	retired[0][0] ^= 0xff
	retired[1] = hash("swapped")
	retired[2] = nil
	rotated.PrevRefreshHash[0] ^= 0xff
	rotated.AMR[0] = "changed"
	rotated.RetiredRefreshHashes[0][1] ^= 0xff
	rotated.RetiredRefreshHashes[2] = hash("swapped")
	want.PrevRefreshHash = want.RefreshHash
	want.RefreshHash = hash("new")
	want.RetiredRefreshHashes = wantRetired
	want.RotatedAt, want.LastUsedAt = base, base
	wantSession(t, "GetSession after the caller changed a rotated session", getSession(t, s, v.ID, base), want)
}

func testSessionCreateConflict(t *testing.T, s store.Store) {
	v := newSession("conflict", "user1")
	createSession(t, s, v)
	other := newSession("conflict", "user2")
	other.RefreshHash = hash("other")
	other.CreatedAt = base.Add(time.Minute)
	other.IdleExpiresAt = base.Add(2 * sessionTTL)
	other.ExpiresAt = base.Add(2 * sessionTTL)
	wantErrIs(t, "CreateSession of a live ID", s.CreateSession(t.Context(), other), store.ErrConflict)
	other.CreatedAt = v.IdleExpiresAt.Add(-1)
	wantErrIs(t, "CreateSession of an ID live for 1ns more", s.CreateSession(t.Context(), other), store.ErrConflict)
	other.CreatedAt = time.Time{}
	wantErrIs(t, "CreateSession of a held ID without CreatedAt", s.CreateSession(t.Context(), other), store.ErrConflict)
	// Revoked, the session still exists.
	revoke(t, s, v.ID, base.Add(time.Second))
	other.CreatedAt = base.Add(2 * time.Second)
	wantErrIs(t, "CreateSession of a revoked ID", s.CreateSession(t.Context(), other), store.ErrConflict)
	want := v
	want.RevokedAt = base.Add(time.Second)
	wantSession(t, "GetSession after conflicts", getSession(t, s, v.ID, base), want)
	if list := listSessions(t, s, "user2", base); len(list) != 0 {
		t.Errorf("ListSessions of the conflicting user = %q, want none", sessionIDs(list))
	}
}

// testSessionCreateOverExpired creates a session whose ID an expired session has. CreateSession
// has no now, so a store may refuse it (ErrConflict) as long as it holds the old record; one that
// takes it keeps the new session whole, and nothing of the old one (its revocation, its user).
func testSessionCreateOverExpired(t *testing.T, s store.Store) {
	old := newSession("reused", "user1")
	old.PrevRefreshHash = hash("reused/old/prev")
	old.RetiredRefreshHashes = retiredHashes("reused/old", 2)
	createSession(t, s, old)
	revoke(t, s, old.ID, base.Add(time.Second))
	now := old.IdleExpiresAt
	v := newSession("reused", "user2")
	v.RefreshHash = hash("new")
	v.CreatedAt, v.LastUsedAt = now, now
	v.IdleExpiresAt, v.ExpiresAt = now.Add(idleTTL), now.Add(sessionTTL)
	switch err := s.CreateSession(t.Context(), v); {
	case err == nil:
		wantSession(t, "GetSession", getSession(t, s, v.ID, now), v)
		wantSessions(t, "ListSessions", listSessions(t, s, "user2", now), []store.Session{v})
		if list := listSessions(t, s, "user1", now); len(list) != 0 {
			t.Errorf("ListSessions of the old session's user = %q, want none", sessionIDs(list))
		}
		wantRevocations(t, "RevokedSince", revokedSince(t, s, base, now), nil)
	case errors.Is(err, store.ErrConflict):
		t.Logf("CreateSession over an expired session = %v (allowed)", err)
		wantNoSession(t, s, v.ID, now)
	default:
		t.Errorf("CreateSession over an expired session = %v, want nil or ErrConflict", err)
	}
}

func testSessionCreateInvalid(t *testing.T, s store.Store) {
	valid := newSession("valid", "user")
	mod := func(f func(v *store.Session)) store.Session {
		v := valid
		f(&v)
		return v
	}
	tests := []struct {
		name string
		v    store.Session
	}{
		{"empty ID", mod(func(v *store.Session) { v.ID = "" })},
		{"empty UserID", mod(func(v *store.Session) { v.UserID = "" })},
		{"nil RefreshHash", mod(func(v *store.Session) { v.RefreshHash = nil })},
		{"empty RefreshHash", mod(func(v *store.Session) { v.RefreshHash = []byte{} })},
		{"zero IdleExpiresAt", mod(func(v *store.Session) { v.IdleExpiresAt = time.Time{} })},
		{"zero ExpiresAt", mod(func(v *store.Session) { v.ExpiresAt = time.Time{} })},
		{"ExpiresAt after 2262", mod(func(v *store.Session) { v.ExpiresAt = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"CreatedAt before 1678", mod(func(v *store.Session) { v.CreatedAt = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) })},
	}
	for _, tc := range tests {
		wantErrIs(t, "CreateSession with "+tc.name, s.CreateSession(t.Context(), tc.v), store.ErrInvalid)
	}
	wantNoSession(t, s, "", base)
	wantNoSession(t, s, valid.ID, base)
	if list := listSessions(t, s, valid.UserID, base); len(list) != 0 {
		t.Errorf("ListSessions after invalid creates = %q, want none", sessionIDs(list))
	}
	createSession(t, s, valid)
}

// testSessionCreateRevoked checks that a session created with RevokedAt set is revoked.
func testSessionCreateRevoked(t *testing.T, s store.Store) {
	v := newSession("createdRevoked", "user")
	v.RevokedAt = base.Add(-time.Second)
	v.RetiredRefreshHashes = retiredHashes(v.ID, 2)
	createSession(t, s, v)
	wantSession(t, "GetSession", getSession(t, s, v.ID, base), v)
	if _, err := s.RotateRefresh(t.Context(), v.ID, v.RefreshHash, hash("new"), retiredHashes(v.ID, 1), base.Add(idleTTL), base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateRefresh of a session created revoked = %v, want ErrNotFound", err)
	}
	if list := listSessions(t, s, v.UserID, base); len(list) != 0 {
		t.Errorf("ListSessions = %q, want none", sessionIDs(list))
	}
	if n, err := s.RevokeUserSessions(t.Context(), v.UserID, "", base); err != nil || n != 0 {
		t.Errorf("RevokeUserSessions = %d, %v; want 0, nil", n, err)
	}
	wantRevocations(t, "RevokedSince", revokedSince(t, s, v.RevokedAt, base), []store.Revocation{revocation(v, v.RevokedAt)})
	wantSession(t, "GetSession at the end", getSession(t, s, v.ID, base), v)
}

func testSessionExpiry(t *testing.T, s store.Store) {
	// One ends at its idle expiry, the other at its absolute expiry, whichever is earlier.
	idle := newSession("idleFirst", "user")
	idle.IdleExpiresAt = base.Add(time.Hour)
	idle.ExpiresAt = base.Add(2 * time.Hour)
	abs := newSession("absFirst", "user")
	abs.CreatedAt = base.Add(1)
	abs.IdleExpiresAt = base.Add(4 * time.Hour)
	abs.ExpiresAt = base.Add(3 * time.Hour)
	createSession(t, s, idle)
	createSession(t, s, abs)
	wantSessions(t, "ListSessions", listSessions(t, s, "user", base), []store.Session{abs, idle})
	// Times only go forward from here, as a store may drop what has expired.
	for _, v := range []store.Session{idle, abs} {
		stop := end(v)
		wantSession(t, "GetSession 1ns before the end", getSession(t, s, v.ID, stop.Add(-1)), v)
		if ids := sessionIDs(listSessions(t, s, v.UserID, stop.Add(-1))); !slices.Contains(ids, v.ID) {
			t.Errorf("ListSessions 1ns before %q ends = %q, want it listed", v.ID, ids)
		}
		// At and after the earlier expiry the session does not exist.
		for _, now := range []time.Time{stop, stop.Add(1), stop.Add(time.Minute)} {
			at := fmt.Sprintf("%q at its end+%v", v.ID, now.Sub(stop))
			if got, err := s.GetSession(t.Context(), v.ID, now); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetSession(%s) = %+v, %v; want ErrNotFound", at, got, err)
			}
			if _, err := s.RotateRefresh(t.Context(), v.ID, v.RefreshHash, hash("new"), nil, now.Add(idleTTL), now); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("RotateRefresh(%s) = %v, want ErrNotFound", at, err)
			}
			if slices.Contains(sessionIDs(listSessions(t, s, v.UserID, now)), v.ID) {
				t.Errorf("ListSessions lists %s", at)
			}
		}
	}
}

// end returns when v stops existing: the earlier of its expiries.
func end(v store.Session) time.Time {
	if v.IdleExpiresAt.Before(v.ExpiresAt) {
		return v.IdleExpiresAt
	}
	return v.ExpiresAt
}

func testSessionAbsent(t *testing.T, s store.Store) {
	v := newSession("present", "user")
	createSession(t, s, v)
	// Lookups are exact: no prefix or case folding.
	for _, id := range []string{"absent", "", "presen", "present0", "PRESENT", "Present"} {
		wantNoSession(t, s, id, base)
		if _, err := s.RotateRefresh(t.Context(), id, v.RefreshHash, hash("new"), retiredHashes(id, 1), base.Add(idleTTL), base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RotateRefresh(%q) = %v, want ErrNotFound", id, err)
		}
		if err := s.RevokeSession(t.Context(), id, base); err != nil {
			t.Errorf("RevokeSession(%q) = %v, want nil", id, err)
		}
	}
	for _, user := range []string{"absent", "", "USER", "use"} {
		if list := listSessions(t, s, user, base); len(list) != 0 {
			t.Errorf("ListSessions(%q) = %q, want none", user, sessionIDs(list))
		}
		if n, err := s.RevokeUserSessions(t.Context(), user, "", base); err != nil || n != 0 {
			t.Errorf("RevokeUserSessions(%q) = %d, %v; want 0, nil", user, n, err)
		}
	}
	// The session is untouched.
	wantSession(t, "GetSession", getSession(t, s, v.ID, base), v)
	wantRevocations(t, "RevokedSince", revokedSince(t, s, time.Time{}, base), nil)
}

func testSessionRotate(t *testing.T, s store.Store) {
	v := newSession("rotate", "user")
	other := newSession("other", "user")
	createSession(t, s, v)
	createSession(t, s, other)
	// Near the end of the idle timeout, a refresh moves it on.
	now := v.IdleExpiresAt.Add(-time.Second)
	idle := now.Add(idleTTL)
	h1 := hash("rotate/1")
	want := v
	want.PrevRefreshHash = v.RefreshHash
	want.RefreshHash = h1
	want.RotatedAt, want.LastUsedAt = now, now
	want.IdleExpiresAt = idle
	// The first rotation has no hash to retire.
	wantSession(t, "RotateRefresh", rotate(t, s, v.ID, v.RefreshHash, h1, nil, idle, now), want)
	wantSession(t, "GetSession after RotateRefresh", getSession(t, s, v.ID, now), want)
	// The other session was not touched.
	wantSession(t, "GetSession of another session", getSession(t, s, other.ID, now), other)
	// The session lives on past its old idle expiry.
	wantSession(t, "GetSession at the old idle expiry", getSession(t, s, v.ID, v.IdleExpiresAt), want)
	// A second rotation: the previous hash is the one just replaced, and the one before retires.
	now2 := now.Add(time.Minute + 1)
	idle2 := now2.Add(idleTTL)
	h2 := hash("rotate/2")
	want.PrevRefreshHash = h1
	want.RefreshHash = h2
	want.RetiredRefreshHashes = [][]byte{v.RefreshHash}
	want.RotatedAt, want.LastUsedAt = now2, now2
	want.IdleExpiresAt = idle2
	wantSession(t, "second RotateRefresh", rotate(t, s, v.ID, h1, h2, [][]byte{v.RefreshHash}, idle2, now2), want)
	wantSession(t, "GetSession after the second RotateRefresh", getSession(t, s, v.ID, now2), want)
	// The session ends at the new idle expiry.
	wantSession(t, "GetSession 1ns before the new idle expiry", getSession(t, s, v.ID, idle2.Add(-1)), want)
	wantNoSession(t, s, v.ID, idle2)
}

// testSessionRotatePastExpiry checks that an idle expiry past the absolute one does not extend
// the session.
func testSessionRotatePastExpiry(t *testing.T, s store.Store) {
	v := newSession("shortLived", "user")
	v.ExpiresAt = base.Add(time.Hour)
	createSession(t, s, v)
	now := base.Add(time.Minute)
	h1 := hash("shortLived/1")
	want := v
	want.PrevRefreshHash, want.RefreshHash = v.RefreshHash, h1
	want.RotatedAt, want.LastUsedAt = now, now
	want.IdleExpiresAt = v.ExpiresAt.Add(time.Hour)
	wantSession(t, "RotateRefresh", rotate(t, s, v.ID, v.RefreshHash, h1, nil, want.IdleExpiresAt, now), want)
	wantSession(t, "GetSession 1ns before the absolute expiry", getSession(t, s, v.ID, v.ExpiresAt.Add(-1)), want)
	wantNoSession(t, s, v.ID, v.ExpiresAt)
}

func testSessionRotateConflict(t *testing.T, s store.Store) {
	v := newSession("rotateConflict", "user")
	v.PrevRefreshHash = hash("rotateConflict/-1")
	v.RetiredRefreshHashes = retiredHashes(v.ID, 2)
	createSession(t, s, v)
	now := base.Add(time.Minute)
	// A call that loses changes nothing, the retired hashes included.
	for _, old := range [][]byte{hash("wrong"), v.RefreshHash[:len(v.RefreshHash)-1], append(bytes.Clone(v.RefreshHash), 0), nil, {}} {
		if got, err := s.RotateRefresh(t.Context(), v.ID, old, hash("new"), retiredHashes("lost", 3), now.Add(idleTTL), now); !errors.Is(err, store.ErrConflict) {
			t.Errorf("RotateRefresh with oldHash %x = %+v, %v; want ErrConflict", old, got, err)
		}
	}
	wantSession(t, "GetSession after conflicts", getSession(t, s, v.ID, now), v)
	// Once rotated, the old hash conflicts: another refresh won.
	h1 := hash("rotateConflict/1")
	rotated := rotate(t, s, v.ID, v.RefreshHash, h1, append([][]byte{v.PrevRefreshHash}, v.RetiredRefreshHashes...), now.Add(idleTTL), now)
	later := now.Add(time.Second)
	if got, err := s.RotateRefresh(t.Context(), v.ID, v.RefreshHash, hash("late"), nil, later.Add(idleTTL), later); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RotateRefresh with the replaced hash = %+v, %v; want ErrConflict", got, err)
	}
	wantSession(t, "GetSession after a late refresh", getSession(t, s, v.ID, later), rotated)
}

func testSessionRotateRevoked(t *testing.T, s store.Store) {
	v := newSession("rotateRevoked", "user")
	v.RetiredRefreshHashes = retiredHashes(v.ID, 1)
	createSession(t, s, v)
	revoke(t, s, v.ID, base.Add(time.Second))
	want := v
	want.RevokedAt = base.Add(time.Second)
	now := base.Add(2 * time.Second)
	// Revoked: not found, whether the hash matches or not.
	for _, old := range [][]byte{v.RefreshHash, hash("wrong")} {
		if got, err := s.RotateRefresh(t.Context(), v.ID, old, hash("new"), retiredHashes("lost", 2), now.Add(idleTTL), now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RotateRefresh of a revoked session with oldHash %x = %+v, %v; want ErrNotFound", old, got, err)
		}
	}
	wantSession(t, "GetSession", getSession(t, s, v.ID, now), want)
}

func testSessionRotateExpired(t *testing.T, s store.Store) {
	v := newSession("rotateExpired", "user")
	createSession(t, s, v)
	// Not even a refresh that would move the idle timeout on revives an expired session.
	for _, now := range []time.Time{v.IdleExpiresAt, v.IdleExpiresAt.Add(time.Hour), v.ExpiresAt} {
		if got, err := s.RotateRefresh(t.Context(), v.ID, v.RefreshHash, hash("new"), retiredHashes(v.ID, 1), now.Add(idleTTL), now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RotateRefresh at base+%v = %+v, %v; want ErrNotFound", now.Sub(base), got, err)
		}
		if got, err := s.RotateRefresh(t.Context(), v.ID, hash("wrong"), hash("new"), nil, now.Add(idleTTL), now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RotateRefresh with a wrong hash at base+%v = %+v, %v; want ErrNotFound", now.Sub(base), got, err)
		}
	}
}

func testSessionRotateInvalid(t *testing.T, s store.Store) {
	v := newSession("rotateInvalid", "user")
	v.RetiredRefreshHashes = retiredHashes(v.ID, 2)
	createSession(t, s, v)
	now := base.Add(time.Minute)
	tests := []struct {
		name          string
		newHash       []byte
		idle, rotated time.Time
	}{
		{"an empty new hash", []byte{}, now.Add(idleTTL), now},
		{"a nil new hash", nil, now.Add(idleTTL), now},
		{"a zero idle expiry", hash("new"), time.Time{}, now},
		{"an idle expiry after 2262", hash("new"), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), now},
		// RotatedAt and LastUsedAt would be zero: never rotated, never used.
		{"a zero now", hash("new"), now.Add(idleTTL), time.Time{}},
	}
	for _, tc := range tests {
		if got, err := s.RotateRefresh(t.Context(), v.ID, v.RefreshHash, tc.newHash, retiredHashes("lost", 1), tc.idle, tc.rotated); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("RotateRefresh with %s = %+v, %v; want ErrInvalid", tc.name, got, err)
		}
	}
	wantSession(t, "GetSession", getSession(t, s, v.ID, now), v)
}

// testSessionRetiredHashes follows a session's retired hashes from its creation through rotations
// that set lists of other lengths, with hashes of other lengths, and then empty them. Each
// RotateRefresh sets the list it is given, whatever the session held.
func testSessionRetiredHashes(t *testing.T, s store.Store) {
	v := newSession("retired", "user")
	v.PrevRefreshHash = hash("retired/-1")
	v.RetiredRefreshHashes = [][]byte{hash("retired/-2"), {0xab}, hash("retired/-3")[:20]}
	createSession(t, s, v)
	want := v
	wantSession(t, "GetSession of a session created with retired hashes", getSession(t, s, v.ID, base), want)
	wantSessions(t, "ListSessions", listSessions(t, s, v.UserID, base), []store.Session{want})

	steps := []struct {
		name    string
		retired [][]byte
	}{
		// The session package's way: the previous hash retires in front of the list.
		{"a longer list", append([][]byte{want.PrevRefreshHash}, want.RetiredRefreshHashes...)},
		{"a shorter list", [][]byte{append(hash("a"), hash("b")...), {}}},
		{"one hash", [][]byte{{0, 0, 0}}},
		{"an empty list", [][]byte{}},
		{"hashes again", [][]byte{hash("again")[:1], hash("again")}},
		{"nil", nil},
	}
	now := base
	for i, step := range steps {
		now = now.Add(time.Minute + time.Duration(i))
		newHash := hash(fmt.Sprint("retired/", i+1))
		want.PrevRefreshHash, want.RefreshHash = want.RefreshHash, newHash
		want.RetiredRefreshHashes = cloneHashes(step.retired)
		want.RotatedAt, want.LastUsedAt, want.IdleExpiresAt = now, now, now.Add(idleTTL)
		call := "RotateRefresh with " + step.name
		wantSession(t, call, rotate(t, s, v.ID, want.PrevRefreshHash, newHash, step.retired, want.IdleExpiresAt, now), want)
		wantSession(t, "GetSession after "+call, getSession(t, s, v.ID, now), want)
		wantSessions(t, "ListSessions after "+call, listSessions(t, s, v.UserID, now), []store.Session{want})
	}
	// A revoked session keeps its retired hashes.
	revoke(t, s, v.ID, now)
	want.RevokedAt = now
	wantSession(t, "GetSession after RevokeSession", getSession(t, s, v.ID, now), want)
}

// testSessionRetiredHashesLong checks a long list of retired hashes, longer than a session
// package is likely to keep, through CreateSession and RotateRefresh.
func testSessionRetiredHashesLong(t *testing.T, s store.Store) {
	v := newSession("retiredLong", "user")
	v.RetiredRefreshHashes = retiredHashes(v.ID, 100)
	createSession(t, s, v)
	wantSession(t, "GetSession", getSession(t, s, v.ID, base), v)
	retired := append([][]byte{v.RefreshHash}, v.RetiredRefreshHashes[:99]...)
	want := v
	want.PrevRefreshHash, want.RefreshHash, want.RetiredRefreshHashes = v.RefreshHash, hash("retiredLong/1"), retired
	want.RotatedAt, want.LastUsedAt, want.IdleExpiresAt = base, base, base.Add(idleTTL)
	wantSession(t, "RotateRefresh", rotate(t, s, v.ID, v.RefreshHash, want.RefreshHash, retired, want.IdleExpiresAt, base), want)
	wantSession(t, "GetSession after RotateRefresh", getSession(t, s, v.ID, base), want)
}

func testSessionRevoke(t *testing.T, s store.Store) {
	v := newSession("revoke", "user")
	other := newSession("keep", "user")
	other.CreatedAt = base.Add(-time.Second)
	createSession(t, s, v)
	createSession(t, s, other)
	at := base.Add(time.Minute + 1)
	revoke(t, s, v.ID, at)
	want := v
	want.RevokedAt = at
	// A revoked session still exists, with its revocation, until it expires.
	wantSession(t, "GetSession of a revoked session", getSession(t, s, v.ID, at), want)
	wantSession(t, "GetSession 1ns before its end", getSession(t, s, v.ID, v.IdleExpiresAt.Add(-1)), want)
	wantSessions(t, "ListSessions", listSessions(t, s, "user", at), []store.Session{other})
	// Revoking again does not move RevokedAt.
	revoke(t, s, v.ID, at.Add(time.Second))
	revoke(t, s, v.ID, at.Add(-time.Second))
	wantSession(t, "GetSession after revoking again", getSession(t, s, v.ID, at.Add(2*time.Second)), want)
	wantRevocations(t, "RevokedSince", revokedSince(t, s, base, at.Add(2*time.Second)), []store.Revocation{revocation(v, at)})
	wantSession(t, "GetSession of another session", getSession(t, s, other.ID, at), other)
}

func testSessionRevokeExpiredOrAbsent(t *testing.T, s store.Store) {
	v := newSession("revokeExpired", "user")
	createSession(t, s, v)
	end := v.IdleExpiresAt
	for _, now := range []time.Time{end, end.Add(time.Hour)} {
		if err := s.RevokeSession(t.Context(), v.ID, now); err != nil {
			t.Errorf("RevokeSession of an expired session = %v, want nil", err)
		}
		if n, err := s.RevokeUserSessions(t.Context(), v.UserID, "", now); err != nil || n != 0 {
			t.Errorf("RevokeUserSessions of expired sessions = %d, %v; want 0, nil", n, err)
		}
		wantRevocations(t, "RevokedSince", revokedSince(t, s, base, now), nil)
	}
	if err := s.RevokeSession(t.Context(), "neverCreated", base); err != nil {
		t.Errorf("RevokeSession(absent) = %v, want nil", err)
	}
	wantNoSession(t, s, "neverCreated", base)
}

// testSessionRevokeZeroTime checks that a revocation at the zero time, which would leave the
// session looking unrevoked (RevokedAt zero), fails rather than report success.
func testSessionRevokeZeroTime(t *testing.T, s store.Store) {
	v := newSession("revokeZero", "user")
	createSession(t, s, v)
	wantErrIs(t, "RevokeSession at the zero time", s.RevokeSession(t.Context(), v.ID, time.Time{}), store.ErrInvalid)
	n, err := s.RevokeUserSessions(t.Context(), v.UserID, "", time.Time{})
	wantErrIs(t, "RevokeUserSessions at the zero time", err, store.ErrInvalid)
	if n != 0 {
		t.Errorf("RevokeUserSessions at the zero time = %d, want 0", n)
	}
	wantSession(t, "GetSession", getSession(t, s, v.ID, base), v)
	wantSessions(t, "ListSessions", listSessions(t, s, v.UserID, base), []store.Session{v})
}

func testSessionRevokeUser(t *testing.T, s store.Store) {
	var mine []store.Session
	for i := range 4 {
		v := newSession(fmt.Sprintf("mine%d", i), "me")
		v.CreatedAt = base.Add(time.Duration(i) * time.Second)
		mine = append(mine, v)
		createSession(t, s, v)
	}
	revokedEarlier := newSession("mineRevoked", "me")
	revokedEarlier.CreatedAt = base.Add(-time.Hour)
	createSession(t, s, revokedEarlier)
	expired := newSession("mineExpired", "me")
	expired.IdleExpiresAt = base.Add(time.Minute)
	createSession(t, s, expired)
	theirs := newSession("theirs", "them")
	createSession(t, s, theirs)
	prefix := newSession("prefix", "me2")
	createSession(t, s, prefix)
	revoke(t, s, revokedEarlier.ID, base.Add(time.Second))

	now := base.Add(2 * time.Minute)
	// Every live, unrevoked session but the current one: mine0, mine1, mine3.
	n, err := s.RevokeUserSessions(t.Context(), "me", mine[2].ID, now)
	if err != nil || n != 3 {
		t.Fatalf("RevokeUserSessions(me, except %q) = %d, %v; want 3, nil", mine[2].ID, n, err)
	}
	for i, v := range mine {
		want := v
		if i != 2 {
			want.RevokedAt = now
		}
		wantSession(t, "GetSession after RevokeUserSessions", getSession(t, s, v.ID, now), want)
	}
	// An earlier revocation does not move.
	wantEarlier := revokedEarlier
	wantEarlier.RevokedAt = base.Add(time.Second)
	wantSession(t, "GetSession of a session revoked before", getSession(t, s, revokedEarlier.ID, now), wantEarlier)
	// Other users are untouched, and user ids are exact.
	wantSession(t, "GetSession of another user's session", getSession(t, s, theirs.ID, now), theirs)
	wantSession(t, "GetSession of user me2's session", getSession(t, s, prefix.ID, now), prefix)
	wantSessions(t, "ListSessions", listSessions(t, s, "me", now), []store.Session{mine[2]})
	wantRevocations(t, "RevokedSince", revokedSince(t, s, now, now), []store.Revocation{
		revocation(mine[0], now), revocation(mine[1], now), revocation(mine[3], now),
	})

	// Again with the same exception: nothing left to revoke.
	if n, err := s.RevokeUserSessions(t.Context(), "me", mine[2].ID, now.Add(time.Second)); err != nil || n != 0 {
		t.Errorf("RevokeUserSessions again = %d, %v; want 0, nil", n, err)
	}
	// Without an exception: the last one.
	later := now.Add(time.Minute)
	if n, err := s.RevokeUserSessions(t.Context(), "me", "", later); err != nil || n != 1 {
		t.Errorf("RevokeUserSessions(me, no exception) = %d, %v; want 1, nil", n, err)
	}
	want := mine[2]
	want.RevokedAt = later
	wantSession(t, "GetSession of the last session", getSession(t, s, want.ID, later), want)
	wantSession(t, "GetSession of a session revoked before", getSession(t, s, mine[0].ID, later), func() store.Session {
		v := mine[0]
		v.RevokedAt = now
		return v
	}())
	if list := listSessions(t, s, "me", later); len(list) != 0 {
		t.Errorf("ListSessions after revoking all = %q, want none", sessionIDs(list))
	}
	wantSessions(t, "ListSessions of another user", listSessions(t, s, "them", later), []store.Session{theirs})
}

func testSessionList(t *testing.T, s store.Store) {
	// Created out of order of CreatedAt (and of ID), 1ns apart at places.
	offsets := []time.Duration{3 * time.Second, time.Second, 5 * time.Second, 3*time.Second + 1, -time.Hour}
	var all []store.Session
	for i, d := range offsets {
		v := newSession(fmt.Sprintf("list%d", len(offsets)-i), "user")
		v.CreatedAt = base.Add(d)
		v.RefreshHash = hash(v.ID)
		all = append(all, v)
		createSession(t, s, v)
	}
	revoked := newSession("listRevoked", "user")
	revoked.CreatedAt = base.Add(10 * time.Second)
	createSession(t, s, revoked)
	revoke(t, s, revoked.ID, base.Add(10*time.Second))
	expiring := newSession("listExpiring", "user")
	expiring.CreatedAt = base.Add(20 * time.Second)
	expiring.ExpiresAt = base.Add(time.Minute)
	createSession(t, s, expiring)
	createSession(t, s, newSession("otherUser", "user2"))

	byNewest := slices.Clone(all)
	slices.SortFunc(byNewest, func(a, b store.Session) int { return b.CreatedAt.Compare(a.CreatedAt) })
	now := base.Add(time.Minute - 1)
	wantSessions(t, "ListSessions", listSessions(t, s, "user", now), append([]store.Session{expiring}, byNewest...))
	wantSessions(t, "ListSessions after one expired", listSessions(t, s, "user", expiring.ExpiresAt), byNewest)
}

func testSessionRevokedSince(t *testing.T, s store.Store) {
	if list := revokedSince(t, s, time.Time{}, base); len(list) != 0 {
		t.Errorf("RevokedSince of an empty store = %+v, want none", list)
	}
	// Revoked in an order other than that of their IDs or creation; t2 has two.
	var v [5]store.Session
	for i := range v {
		v[i] = newSession(fmt.Sprintf("rs%d", i), fmt.Sprintf("user%d", i%2))
		v[i].ExpiresAt = base.Add(sessionTTL + time.Duration(i))
		createSession(t, s, v[i])
	}
	t1, t2, t3 := base.Add(time.Second), base.Add(2*time.Second+1), base.Add(3*time.Second)
	revoke(t, s, v[3].ID, t1)
	revoke(t, s, v[0].ID, t3)
	revoke(t, s, v[4].ID, t2)
	revoke(t, s, v[1].ID, t2)
	now := base.Add(time.Minute)
	want := []store.Revocation{revocation(v[3], t1), revocation(v[1], t2), revocation(v[4], t2), revocation(v[0], t3)}
	wantRevocations(t, "RevokedSince(base)", revokedSince(t, s, base, now), want)
	// since is inclusive: at t2 the revocations at t2 are in, 1ns later they are out.
	wantRevocations(t, "RevokedSince(t1+1ns)", revokedSince(t, s, t1.Add(1), now), want[1:])
	wantRevocations(t, "RevokedSince(t2)", revokedSince(t, s, t2, now), want[1:])
	wantRevocations(t, "RevokedSince(t2+1ns)", revokedSince(t, s, t2.Add(1), now), []store.Revocation{revocation(v[0], t3)})
	wantRevocations(t, "RevokedSince(t3)", revokedSince(t, s, t3, now), []store.Revocation{revocation(v[0], t3)})
	wantRevocations(t, "RevokedSince(t3+1ns)", revokedSince(t, s, t3.Add(1), now), nil)
	wantRevocations(t, "RevokedSince(t1)", revokedSince(t, s, t1, now), want)
	// The zero time and a time before 1678 take every revocation; the unrevoked session never
	// shows.
	wantRevocations(t, "RevokedSince(zero)", revokedSince(t, s, time.Time{}, now), want)
	wantRevocations(t, "RevokedSince(1600)", revokedSince(t, s, time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), now), want)
}

func testSessionRevokedSinceExpiry(t *testing.T, s store.Store) {
	short := newSession("shortIdle", "user")
	short.IdleExpiresAt = base.Add(10 * time.Minute)
	long := newSession("long", "user")
	long.ExpiresAt = base.Add(time.Hour)
	long.IdleExpiresAt = base.Add(2 * time.Hour)
	createSession(t, s, short)
	createSession(t, s, long)
	at := base.Add(time.Minute)
	revoke(t, s, short.ID, at)
	revoke(t, s, long.ID, at.Add(1))
	both := []store.Revocation{revocation(short, at), revocation(long, at.Add(1))}
	wantRevocations(t, "RevokedSince 1ns before the first end", revokedSince(t, s, base, short.IdleExpiresAt.Add(-1)), both)
	// A revocation is reported as long as its session exists: until the earlier expiry.
	wantRevocations(t, "RevokedSince at the idle expiry of one", revokedSince(t, s, base, short.IdleExpiresAt), both[1:])
	wantRevocations(t, "RevokedSince 1ns before the absolute expiry of the other", revokedSince(t, s, base, long.ExpiresAt.Add(-1)), both[1:])
	wantRevocations(t, "RevokedSince at the absolute expiry of the other", revokedSince(t, s, base, long.ExpiresAt), nil)
}
