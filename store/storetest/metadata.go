package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

var metadataTests = []test{
	{"RoundTrip", testMetadataRoundTrip},
	{"ReplaceOne", testMetadataReplaceOne},
	{"NilDeletes", testMetadataNilDeletes},
	{"UnknownMember", testMetadataUnknownMember},
	{"Invalid", testMetadataInvalid},
	{"Absent", testMetadataAbsent},
	{"Copies", testMetadataCopies},
	{"ConcurrentMembers", testMetadataConcurrentMembers},
}

// members are the names of the members of store.Metadata, as SetMetadata takes them.
var members = []string{"public", "private", "unsafe"}

// member returns the member of m that name names (store.Metadata.Member, which a name of this
// suite always finds).
func member(m *store.Metadata, name string) *[]byte {
	if p := m.Member(name); p != nil {
		return p
	}
	panic("storetest: unknown metadata member " + name)
}

// bigDoc returns a JSON object of about n bytes.
func bigDoc(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < n-32; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"i":%d,"s":"%x"}`, i, i*7919)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func setMetadata(t *testing.T, s store.Store, userID, name string, doc []byte) {
	t.Helper()
	if err := s.SetMetadata(t.Context(), userID, name, doc, base); err != nil {
		t.Fatalf("SetMetadata(%q, %q) = %v, want nil", userID, name, err)
	}
}

func getMetadata(t *testing.T, s store.Store, userID string) store.Metadata {
	t.Helper()
	m, err := s.GetMetadata(t.Context(), userID)
	if err != nil {
		t.Fatalf("GetMetadata(%q) = %v, want nil", userID, err)
	}
	return m
}

// sameMetadata reports whether a and b hold the same bytes in each member (nil and empty are
// equal).
func sameMetadata(a, b store.Metadata) bool {
	return bytes.Equal(a.Public, b.Public) && bytes.Equal(a.Private, b.Private) && bytes.Equal(a.Unsafe, b.Unsafe)
}

func wantMetadata(t *testing.T, call string, got, want store.Metadata) {
	t.Helper()
	if !sameMetadata(got, want) {
		t.Errorf("%s = {Public: %q, Private: %q, Unsafe: %q}\nwant {Public: %q, Private: %q, Unsafe: %q}",
			call, got.Public, got.Private, got.Unsafe, want.Public, want.Private, want.Unsafe)
	}
}

// metadataUser creates a user for the metadata tests; the stores are not asked whether
// SetMetadata checks that the user exists.
func metadataUser(t *testing.T, s store.Store, id string, n int) {
	t.Helper()
	createUser(t, s, newUser(id, fmt.Sprintf("0x%040x", n+1)))
}

func testMetadataRoundTrip(t *testing.T, s store.Store) {
	metadataUser(t, s, "meta", 0)
	docs := map[string][]byte{
		// Kept byte for byte: spaces, key order, escapes, non-ASCII text, numbers as written.
		"public":  []byte(`{ "plan" : "pro", "seats": 3, "ratio": 1.50, "a": [1, 2, {"b": null}] }`),
		"private": []byte(`{"name":"Zoë 🦊","quote":"\"hi\"\n\u00e9\\","nested":{"deep":{"x":true,"y":false}},"big":12345678901234567890}`),
		"unsafe":  bigDoc(16 << 10),
	}
	var want store.Metadata
	for _, name := range members {
		setMetadata(t, s, "meta", name, docs[name])
		*member(&want, name) = docs[name]
		wantMetadata(t, fmt.Sprintf("GetMetadata after setting %s", name), getMetadata(t, s, "meta"), want)
	}
	// The smallest object, in each member.
	metadataUser(t, s, "small", 1)
	want = store.Metadata{}
	for _, name := range members {
		setMetadata(t, s, "small", name, []byte(`{}`))
		*member(&want, name) = []byte(`{}`)
	}
	wantMetadata(t, "GetMetadata of {} members", getMetadata(t, s, "small"), want)
	// A zero now is not an error.
	if err := s.SetMetadata(t.Context(), "small", "public", []byte(`{"at":0}`), time.Time{}); err != nil {
		t.Errorf("SetMetadata at the zero time = %v, want nil", err)
	}
	want.Public = []byte(`{"at":0}`)
	wantMetadata(t, "GetMetadata", getMetadata(t, s, "small"), want)
}

func testMetadataReplaceOne(t *testing.T, s store.Store) {
	metadataUser(t, s, "meta", 0)
	var want store.Metadata
	for i, name := range members {
		doc := fmt.Appendf(nil, `{"v":%d}`, i)
		setMetadata(t, s, "meta", name, doc)
		*member(&want, name) = doc
	}
	// Replacing one member, with a longer or a shorter document, leaves the others alone.
	for round, size := range []int{4 << 10, 0} {
		for _, name := range members {
			doc := fmt.Appendf(nil, `{"round":%d,"member":%q}`, round, name)
			if size > 0 {
				doc = bigDoc(size)
			}
			if err := s.SetMetadata(t.Context(), "meta", name, doc, base.Add(time.Duration(round+1)*time.Minute)); err != nil {
				t.Fatalf("SetMetadata(%s) = %v, want nil", name, err)
			}
			*member(&want, name) = doc
			wantMetadata(t, fmt.Sprintf("GetMetadata after replacing %s", name), getMetadata(t, s, "meta"), want)
		}
	}
}

func testMetadataNilDeletes(t *testing.T, s store.Store) {
	metadataUser(t, s, "meta", 0)
	metadataUser(t, s, "bare", 1)
	full := store.Metadata{Public: []byte(`{"p":1}`), Private: []byte(`{"q":2}`), Unsafe: []byte(`{"u":3}`)}
	for _, name := range members {
		setMetadata(t, s, "meta", name, *member(&full, name))
	}
	// Each member alone: nil deletes it, and an empty document, which is no JSON object, does
	// the same (a nil member means {}); the others stay.
	for _, del := range [][]byte{nil, {}} {
		for _, name := range members {
			setMetadata(t, s, "meta", name, del)
			want := full
			*member(&want, name) = nil
			wantMetadata(t, fmt.Sprintf("GetMetadata after deleting %s with %#v", name, del), getMetadata(t, s, "meta"), want)
			setMetadata(t, s, "meta", name, *member(&full, name))
		}
	}
	wantMetadata(t, "GetMetadata after restoring", getMetadata(t, s, "meta"), full)
	// Deleting every member leaves none; deleting again, or for a user without metadata, is
	// not an error.
	for _, name := range members {
		setMetadata(t, s, "meta", name, nil)
		setMetadata(t, s, "meta", name, nil)
		setMetadata(t, s, "bare", name, nil)
	}
	wantMetadata(t, "GetMetadata after deleting every member", getMetadata(t, s, "meta"), store.Metadata{})
	wantMetadata(t, "GetMetadata of a user never set", getMetadata(t, s, "bare"), store.Metadata{})
	// A deleted member can be set again.
	setMetadata(t, s, "meta", "private", []byte(`{"again":true}`))
	wantMetadata(t, "GetMetadata after setting a member again", getMetadata(t, s, "meta"), store.Metadata{Private: []byte(`{"again":true}`)})
}

func testMetadataUnknownMember(t *testing.T, s store.Store) {
	metadataUser(t, s, "meta", 0)
	want := store.Metadata{Public: []byte(`{"p":1}`)}
	setMetadata(t, s, "meta", "public", want.Public)
	// Member names are exact.
	for _, name := range []string{"", "Public", "PUBLIC", "publi", "public ", " private", "unsafe\x00", "other", "metadata", "app"} {
		for _, doc := range [][]byte{[]byte(`{"x":1}`), nil} {
			err := s.SetMetadata(t.Context(), "meta", name, doc, base)
			wantErrIs(t, fmt.Sprintf("SetMetadata(member %q, %q)", name, doc), err, store.ErrInvalid)
		}
	}
	wantMetadata(t, "GetMetadata after SetMetadata of unknown members", getMetadata(t, s, "meta"), want)
}

func testMetadataInvalid(t *testing.T, s store.Store) {
	// An empty user ID is no user's.
	for _, name := range members {
		wantErrIs(t, fmt.Sprintf("SetMetadata(\"\", %s)", name), s.SetMetadata(t.Context(), "", name, []byte(`{"x":1}`), base), store.ErrInvalid)
	}
	wantMetadata(t, `GetMetadata("")`, getMetadata(t, s, ""), store.Metadata{})
}

func testMetadataAbsent(t *testing.T, s store.Store) {
	// A user without metadata, and no user at all: all members nil, no error.
	metadataUser(t, s, "bare", 0)
	for _, id := range []string{"bare", "absent", ""} {
		got := getMetadata(t, s, id)
		if got.Public != nil || got.Private != nil || got.Unsafe != nil {
			t.Errorf("GetMetadata(%q) of a user without metadata = %+v, want all members nil", id, got)
		}
	}
	// User IDs are exact, and one user's metadata is not another's.
	metadataUser(t, s, "meta", 1)
	metadataUser(t, s, "META", 2)
	want := store.Metadata{Public: []byte(`{"who":"meta"}`), Unsafe: []byte(`{"u":1}`)}
	setMetadata(t, s, "meta", "public", want.Public)
	setMetadata(t, s, "meta", "unsafe", want.Unsafe)
	wantMetadata(t, `GetMetadata("meta")`, getMetadata(t, s, "meta"), want)
	for _, id := range []string{"META", "bare", "Meta", "met", "meta0", " meta"} {
		wantMetadata(t, fmt.Sprintf("GetMetadata(%q)", id), getMetadata(t, s, id), store.Metadata{})
	}
	other := store.Metadata{Public: []byte(`{"who":"META"}`)}
	setMetadata(t, s, "META", "public", other.Public)
	wantMetadata(t, `GetMetadata("META")`, getMetadata(t, s, "META"), other)
	wantMetadata(t, `GetMetadata("meta")`, getMetadata(t, s, "meta"), want)
}

func testMetadataCopies(t *testing.T, s store.Store) {
	metadataUser(t, s, "copies", 0)
	var want store.Metadata
	for _, name := range members {
		doc := fmt.Appendf(nil, `{"m":%q}`, name)
		*member(&want, name) = bytes.Clone(doc)
		setMetadata(t, s, "copies", name, doc)
		// The store keeps what it was given, not the caller's slice.
		doc[2] = 'X'
	}
	wantMetadata(t, "GetMetadata after the caller changed its documents", getMetadata(t, s, "copies"), want)
	// Nor does it hand out its own.
	got := getMetadata(t, s, "copies")
	for _, name := range members {
		(*member(&got, name))[2] = 'Y'
	}
	wantMetadata(t, "GetMetadata after the caller changed what it read", getMetadata(t, s, "copies"), want)
}

// testMetadataConcurrentMembers has callers set the three members of one user at once, many
// times each: no write to one member loses a write to another.
func testMetadataConcurrentMembers(t *testing.T, s store.Store) {
	const perMember = 10
	metadataUser(t, s, "busy", 0)
	doc := func(name string, i int) []byte { return fmt.Appendf(nil, `{"member":%q,"i":%d}`, name, i) }
	race(len(members)*perMember, func(i int) {
		name := members[i%len(members)]
		if err := s.SetMetadata(t.Context(), "busy", name, doc(name, i/len(members)), base); err != nil {
			t.Errorf("SetMetadata #%d (%s) = %v, want nil", i, name, err)
		}
	})
	got := getMetadata(t, s, "busy")
	for _, name := range members {
		v := *member(&got, name)
		found := false
		for i := range perMember {
			found = found || bytes.Equal(v, doc(name, i))
		}
		if !found {
			t.Errorf("member %s after concurrent SetMetadata = %q, want one of the documents written to it", name, v)
		}
	}
}

// ---- Cancelled

func testCancelledGetMetadata(t *testing.T, s store.Store) {
	metadataUser(t, s, "cancelled", 0)
	want := store.Metadata{Private: []byte(`{"k":1}`)}
	setMetadata(t, s, "cancelled", "private", want.Private)
	_, err := s.GetMetadata(cancelled(t), "cancelled")
	wantCanceled(t, "GetMetadata", err)
	_, err = s.GetMetadata(cancelled(t), "absent")
	wantCanceled(t, "GetMetadata(absent)", err)
	wantMetadata(t, "GetMetadata", getMetadata(t, s, "cancelled"), want)
}

func testCancelledSetMetadata(t *testing.T, s store.Store) {
	metadataUser(t, s, "cancelled", 0)
	wantCanceled(t, "SetMetadata", s.SetMetadata(cancelled(t), "cancelled", "public", []byte(`{"lost":1}`), base))
	wantMetadata(t, "GetMetadata", getMetadata(t, s, "cancelled"), store.Metadata{})
	want := store.Metadata{Public: []byte(`{"k":1}`)}
	setMetadata(t, s, "cancelled", "public", want.Public)
	wantCanceled(t, "SetMetadata replacing a member", s.SetMetadata(cancelled(t), "cancelled", "public", []byte(`{"lost":2}`), base))
	wantCanceled(t, "SetMetadata deleting a member", s.SetMetadata(cancelled(t), "cancelled", "public", nil, base))
	wantMetadata(t, "GetMetadata", getMetadata(t, s, "cancelled"), want)
}
