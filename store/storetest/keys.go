package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

// keyTTL is the lifetime of the suite's signing keys.
const keyTTL = 7 * 24 * time.Hour

var keyTests = []test{
	{"RoundTrip", testKeyRoundTrip},
	{"RoundTripEdgeValues", testKeyRoundTripEdgeValues},
	{"Copies", testKeyCopies},
	{"ListOrder", testKeyListOrder},
	{"Expiry", testKeyExpiry},
	{"CreateConflict", testKeyCreateConflict},
	{"CreateOverExpired", testKeyCreateOverExpired},
	{"CreateInvalid", testKeyCreateInvalid},
	{"Delete", testKeyDelete},
}

// newKey returns a key made at base that signs from notBefore and lives keyTTL.
func newKey(id string, notBefore time.Time) store.SigningKey {
	return store.SigningKey{
		ID:        id,
		Algorithm: "EdDSA",
		Private:   []byte(`{"kty":"OKP","crv":"Ed25519","kid":"` + id + `","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`),
		CreatedAt: base,
		NotBefore: notBefore,
		ExpiresAt: base.Add(keyTTL),
	}
}

func createKey(t *testing.T, s store.Store, k store.SigningKey) {
	t.Helper()
	if err := s.CreateKey(t.Context(), k); err != nil {
		t.Fatalf("CreateKey(%q) = %v, want nil", k.ID, err)
	}
}

func listKeys(t *testing.T, s store.Store, now time.Time) []store.SigningKey {
	t.Helper()
	keys, err := s.ListKeys(t.Context(), now)
	if err != nil {
		t.Fatalf("ListKeys(base+%v) = %v, want nil", now.Sub(base), err)
	}
	return keys
}

func sameKey(a, b store.SigningKey) bool {
	return a.ID == b.ID && a.Algorithm == b.Algorithm && bytes.Equal(a.Private, b.Private) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.NotBefore.Equal(b.NotBefore) && a.ExpiresAt.Equal(b.ExpiresAt)
}

func keyIDs(keys []store.SigningKey) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids
}

// wantKeys checks that got holds the keys of want, field by field, in the same order.
func wantKeys(t *testing.T, call string, got, want []store.SigningKey) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = keys %q, want %q", call, keyIDs(got), keyIDs(want))
		return
	}
	for i := range got {
		if !sameKey(got[i], want[i]) {
			t.Errorf("%s: key #%d = %+v\nwant %+v", call, i, got[i], want[i])
		}
	}
}

func testKeyRoundTrip(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC-3:30", -(3*3600 + 1800))
	k := store.SigningKey{
		ID:        "k-2030_03_14-ABCdef0123456789",
		Algorithm: "ES256",
		// Arbitrary bytes, as a store keeps Private as given: NUL, invalid UTF-8, all bit patterns.
		Private:   append([]byte{0, 0xff, 0xfe, '\n', 0x80}, newKey("x", base).Private...),
		CreatedAt: base.Add(-time.Hour).In(zone),
		NotBefore: base.Add(time.Minute + 1).In(zone),
		ExpiresAt: base.Add(keyTTL + 3).In(zone),
	}
	createKey(t, s, k)
	wantKeys(t, "ListKeys", listKeys(t, s, base), []store.SigningKey{k})
	// Keys are listed from before they start signing until just before they expire.
	wantKeys(t, "ListKeys before CreatedAt", listKeys(t, s, k.CreatedAt.Add(-time.Hour)), []store.SigningKey{k})
	wantKeys(t, "ListKeys just before expiry", listKeys(t, s, k.ExpiresAt.Add(-1)), []store.SigningKey{k})
}

func testKeyRoundTripEdgeValues(t *testing.T, s store.Store) {
	keys := []store.SigningKey{
		// Only the required fields: no creation or start time.
		{ID: "minimal", Algorithm: "HS256", Private: []byte{1}, ExpiresAt: base.Add(time.Hour)},
		// The longest ID, of every allowed kind of character.
		{ID: strings.Repeat("aZ09-_", 10) + "abcd", Algorithm: "EdDSA", Private: bytes.Repeat([]byte{0xa5}, 4096), CreatedAt: base, NotBefore: base, ExpiresAt: base.Add(time.Nanosecond)},
	}
	for _, k := range keys {
		createKey(t, s, k)
	}
	// minimal starts at the zero time, so it lists last.
	wantKeys(t, "ListKeys", listKeys(t, s, base), []store.SigningKey{keys[1], keys[0]})
}

func testKeyCopies(t *testing.T, s store.Store) {
	k := newKey("copies", base)
	want := k
	want.Private = bytes.Clone(k.Private)
	createKey(t, s, k)
	// The store keeps what it was given, not the caller's slice.
	k.Private[0] ^= 0xff
	got := listKeys(t, s, base)
	wantKeys(t, "ListKeys after the caller changed its slice", got, []store.SigningKey{want})
	// Nor does it hand out its own.
	got[0].Private[0] ^= 0xff
	wantKeys(t, "ListKeys after the caller changed a listed key", listKeys(t, s, base), []store.SigningKey{want})
}

func testKeyListOrder(t *testing.T, s store.Store) {
	if keys := listKeys(t, s, base); len(keys) != 0 {
		t.Errorf("ListKeys of an empty store = %q, want none", keyIDs(keys))
	}
	// Newest NotBefore first; ties by the greater ID first (byte order: "B" < "a" < "b").
	a := newKey("a", base.Add(time.Hour))
	b := newKey("b", base.Add(time.Hour))
	bUpper := newKey("B", base.Add(time.Hour))
	older := newKey("z", base.Add(-time.Hour))
	newest := newKey("m", base.Add(2*time.Hour+1))
	nsLater := newKey("0", base.Add(time.Hour+1))
	for _, k := range []store.SigningKey{a, older, b, newest, bUpper, nsLater} {
		createKey(t, s, k)
	}
	wantKeys(t, "ListKeys", listKeys(t, s, base), []store.SigningKey{newest, nsLater, b, a, bUpper, older})
}

func testKeyExpiry(t *testing.T, s store.Store) {
	short := newKey("short", base)
	short.ExpiresAt = base.Add(time.Hour)
	long := newKey("long", base.Add(-time.Minute))
	createKey(t, s, short)
	createKey(t, s, long)
	wantKeys(t, "ListKeys 1ns before the first expiry", listKeys(t, s, short.ExpiresAt.Add(-1)), []store.SigningKey{short, long})
	// At and after ExpiresAt the key does not exist.
	for _, now := range []time.Time{short.ExpiresAt, short.ExpiresAt.Add(1), long.ExpiresAt.Add(-1)} {
		wantKeys(t, fmt.Sprintf("ListKeys at base+%v", now.Sub(base)), listKeys(t, s, now), []store.SigningKey{long})
	}
	if keys := listKeys(t, s, long.ExpiresAt); len(keys) != 0 {
		t.Errorf("ListKeys when every key has expired = %q, want none", keyIDs(keys))
	}
}

func testKeyCreateConflict(t *testing.T, s store.Store) {
	k := newKey("conflict", base)
	createKey(t, s, k)
	other := newKey("conflict", base.Add(time.Hour))
	other.Algorithm = "HS256"
	other.Private = []byte("another secret")
	other.CreatedAt = base.Add(time.Minute)
	other.ExpiresAt = base.Add(2 * keyTTL)
	wantErrIs(t, "CreateKey of a live ID", s.CreateKey(t.Context(), other), store.ErrConflict)
	// Live for 1ns more.
	other.CreatedAt = k.ExpiresAt.Add(-1)
	wantErrIs(t, "CreateKey of an ID live for 1ns more", s.CreateKey(t.Context(), other), store.ErrConflict)
	// Without a creation time, a store cannot tell that the key has expired.
	other.CreatedAt = time.Time{}
	wantErrIs(t, "CreateKey of a held ID without CreatedAt", s.CreateKey(t.Context(), other), store.ErrConflict)
	// IDs are exact: no case folding.
	upper := newKey("CONFLICT", base)
	createKey(t, s, upper)
	wantKeys(t, "ListKeys after conflicts", listKeys(t, s, base), []store.SigningKey{k, upper})
}

// testKeyCreateOverExpired creates a key whose ID an expired key has. CreateKey has no now, so a
// store may refuse it (ErrConflict) as long as it holds the old record; one that takes it keeps the
// new key whole.
func testKeyCreateOverExpired(t *testing.T, s store.Store) {
	old := newKey("reused", base)
	createKey(t, s, old)
	k := newKey("reused", old.ExpiresAt.Add(time.Hour))
	k.Algorithm = "HS256"
	k.Private = []byte("new secret")
	k.CreatedAt = old.ExpiresAt
	k.ExpiresAt = old.ExpiresAt.Add(keyTTL)
	switch err := s.CreateKey(t.Context(), k); {
	case err == nil:
		wantKeys(t, "ListKeys", listKeys(t, s, k.CreatedAt), []store.SigningKey{k})
	case errors.Is(err, store.ErrConflict):
		t.Logf("CreateKey over an expired key = %v (allowed)", err)
	default:
		t.Errorf("CreateKey over an expired key = %v, want nil or ErrConflict", err)
	}
}

func testKeyCreateInvalid(t *testing.T, s store.Store) {
	valid := newKey("valid", base)
	mod := func(f func(k *store.SigningKey)) store.SigningKey {
		k := valid
		f(&k)
		return k
	}
	tests := []struct {
		name string
		k    store.SigningKey
	}{
		{"empty ID", mod(func(k *store.SigningKey) { k.ID = "" })},
		{"ID of 65 characters", mod(func(k *store.SigningKey) { k.ID = strings.Repeat("k", 65) })},
		{"ID with a space", mod(func(k *store.SigningKey) { k.ID = "key 1" })},
		{"ID with a slash", mod(func(k *store.SigningKey) { k.ID = "../key" })},
		{"ID with a dot", mod(func(k *store.SigningKey) { k.ID = "key.1" })},
		{"ID with a non-ASCII letter", mod(func(k *store.SigningKey) { k.ID = "clé" })},
		{"empty Algorithm", mod(func(k *store.SigningKey) { k.Algorithm = "" })},
		{"Algorithm none", mod(func(k *store.SigningKey) { k.Algorithm = "none" })},
		{"Algorithm in another case", mod(func(k *store.SigningKey) { k.Algorithm = "hs256" })},
		{"nil Private", mod(func(k *store.SigningKey) { k.Private = nil })},
		{"empty Private", mod(func(k *store.SigningKey) { k.Private = []byte{} })},
		{"zero ExpiresAt", mod(func(k *store.SigningKey) { k.ExpiresAt = time.Time{} })},
		{"ExpiresAt after 2262", mod(func(k *store.SigningKey) { k.ExpiresAt = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"NotBefore before 1678", mod(func(k *store.SigningKey) { k.NotBefore = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) })},
	}
	for _, tc := range tests {
		wantErrIs(t, "CreateKey with "+tc.name, s.CreateKey(t.Context(), tc.k), store.ErrInvalid)
	}
	if keys := listKeys(t, s, base); len(keys) != 0 {
		t.Errorf("ListKeys after invalid creates = %q, want none", keyIDs(keys))
	}
	createKey(t, s, valid)
}

func testKeyDelete(t *testing.T, s store.Store) {
	if err := s.DeleteKey(t.Context(), "absent"); err != nil {
		t.Errorf("DeleteKey(absent) = %v, want nil", err)
	}
	k := newKey("delete", base)
	keep := newKey("keep", base)
	createKey(t, s, k)
	createKey(t, s, keep)
	for i := range 2 {
		if err := s.DeleteKey(t.Context(), k.ID); err != nil {
			t.Errorf("DeleteKey #%d = %v, want nil", i+1, err)
		}
	}
	wantKeys(t, "ListKeys after delete", listKeys(t, s, base), []store.SigningKey{keep})
	// Deleting an expired key is not an error either, whether a store has dropped it or not.
	gone := newKey("expired", base)
	gone.ExpiresAt = base.Add(time.Minute)
	createKey(t, s, gone)
	if err := s.DeleteKey(t.Context(), gone.ID); err != nil {
		t.Errorf("DeleteKey(expired, never listed) = %v, want nil", err)
	}
	createKey(t, s, gone)
	wantKeys(t, "ListKeys after its expiry", listKeys(t, s, gone.ExpiresAt), []store.SigningKey{keep})
	if err := s.DeleteKey(t.Context(), gone.ID); err != nil {
		t.Errorf("DeleteKey(expired) = %v, want nil", err)
	}
	if err := s.DeleteKey(t.Context(), keep.ID); err != nil {
		t.Errorf("DeleteKey = %v, want nil", err)
	}
	if keys := listKeys(t, s, base); len(keys) != 0 {
		t.Errorf("ListKeys after deleting all = %q, want none", keyIDs(keys))
	}
	// A deleted ID can be used again.
	createKey(t, s, k)
	wantKeys(t, "ListKeys after re-creating", listKeys(t, s, base), []store.SigningKey{k})
}
