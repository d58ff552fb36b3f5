package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

var contactTests = []test{
	{"RoundTrip", testContactRoundTrip},
	{"ListOrder", testContactListOrder},
	{"AddIdempotent", testContactAddIdempotent},
	{"AddInvalid", testContactAddInvalid},
	{"Absent", testContactAbsent},
	{"Verify", testContactVerify},
	{"VerifyNotFound", testContactVerifyNotFound},
	{"VerifyConflict", testContactVerifyConflict},
	{"VerifyAgain", testContactVerifyAgain},
	{"VerifyZeroTime", testContactVerifyZeroTime},
	{"SetPrimary", testContactSetPrimary},
	{"SetPrimaryErrors", testContactSetPrimaryErrors},
	{"Delete", testContactDelete},
	{"DeletePrimary", testContactDeletePrimary},
	{"UnverifiedClaims", testContactUnverifiedClaims},
	{"ConcurrentClaims", testContactConcurrentClaims},
	{"ConcurrentVerify", testContactConcurrentVerify},
	{"ConcurrentAdd", testContactConcurrentAdd},
	{"ConcurrentSetPrimary", testContactConcurrentSetPrimary},
}

// newContact returns an unverified contact of user added at base.
func newContact(user, kind, value string) store.Contact {
	return store.Contact{UserID: user, Kind: kind, Value: value, AddedAt: base}
}

func addContact(t *testing.T, s store.Store, c store.Contact) store.Contact {
	t.Helper()
	got, err := s.AddContact(t.Context(), c)
	if err != nil {
		t.Fatalf("AddContact(%q, %s %q) = %v, want nil", c.UserID, c.Kind, c.Value, err)
	}
	return got
}

func listContacts(t *testing.T, s store.Store, user string) []store.Contact {
	t.Helper()
	list, err := s.ListContacts(t.Context(), user)
	if err != nil {
		t.Fatalf("ListContacts(%q) = %v, want nil", user, err)
	}
	return list
}

func verifyContact(t *testing.T, s store.Store, user, kind, value string, now time.Time) store.Contact {
	t.Helper()
	c, err := s.VerifyContact(t.Context(), user, kind, value, now)
	if err != nil {
		t.Fatalf("VerifyContact(%q, %s %q) = %v, want nil", user, kind, value, err)
	}
	return c
}

func setPrimary(t *testing.T, s store.Store, user, kind, value string) {
	t.Helper()
	if err := s.SetPrimaryContact(t.Context(), user, kind, value); err != nil {
		t.Fatalf("SetPrimaryContact(%q, %s %q) = %v, want nil", user, kind, value, err)
	}
}

func deleteContact(t *testing.T, s store.Store, user, kind, value string) {
	t.Helper()
	if err := s.DeleteContact(t.Context(), user, kind, value); err != nil {
		t.Fatalf("DeleteContact(%q, %s %q) = %v, want nil", user, kind, value, err)
	}
}

// sameContact reports whether a and b are equal field by field, times compared with Equal.
func sameContact(a, b store.Contact) bool {
	return a.UserID == b.UserID && a.Kind == b.Kind && a.Value == b.Value && a.AddedAt.Equal(b.AddedAt) &&
		a.VerifiedAt.Equal(b.VerifiedAt) && a.Primary == b.Primary
}

func wantContact(t *testing.T, call string, got, want store.Contact) {
	t.Helper()
	if !sameContact(got, want) {
		t.Errorf("%s = %+v\nwant %+v", call, got, want)
	}
}

func wantContacts(t *testing.T, call string, got, want []store.Contact) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = sameContact(got[i], want[i])
	}
	if !ok {
		var b strings.Builder
		fmt.Fprintf(&b, "%s = %d contacts:\n", call, len(got))
		for _, c := range got {
			fmt.Fprintf(&b, "\t%+v\n", c)
		}
		fmt.Fprintf(&b, "want %d:\n", len(want))
		for _, c := range want {
			fmt.Fprintf(&b, "\t%+v\n", c)
		}
		t.Error(b.String())
	}
}

// verified returns c as VerifyContact leaves it at now.
func verified(c store.Contact, now time.Time, primary bool) store.Contact {
	c.VerifiedAt, c.Primary = now, primary
	return c
}

// primaries returns the values of the user's primary contacts of kind.
func primaries(t *testing.T, s store.Store, user, kind string) []string {
	t.Helper()
	var values []string
	for _, c := range listContacts(t, s, user) {
		if c.Kind == kind && c.Primary {
			values = append(values, c.Value)
		}
	}
	return values
}

func testContactRoundTrip(t *testing.T, s store.Store) {
	// A zone other than UTC and nanoseconds: a store keeps the instant exactly.
	zone := time.FixedZone("UTC-3:30", -(3*3600 + 1800))
	email := store.Contact{UserID: "user", Kind: "email", Value: "zoë+tag@例え.example", AddedAt: base.Add(-time.Second).In(zone)}
	phone := store.Contact{UserID: "user", Kind: "phone", Value: "+441632960961"}
	for _, c := range []store.Contact{email, phone} {
		wantContact(t, "AddContact", addContact(t, s, c), c)
	}
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{email, phone})
	now := base.Add(time.Minute + 1).In(zone)
	v := verifyContact(t, s, "user", "email", email.Value, now)
	wantContact(t, "VerifyContact", v, verified(email, now, true))
	wantContacts(t, "ListContacts after VerifyContact", listContacts(t, s, "user"), []store.Contact{verified(email, now, true), phone})
	// A contact is added unverified and not primary, whatever the record given says.
	claimed := store.Contact{UserID: "user", Kind: "email", Value: "claimed@example.com", AddedAt: base, VerifiedAt: base, Primary: true}
	want := store.Contact{UserID: "user", Kind: "email", Value: "claimed@example.com", AddedAt: base}
	wantContact(t, "AddContact of a record marked verified and primary", addContact(t, s, claimed), want)
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{verified(email, now, true), phone, want})
	if got := primaries(t, s, "user", "email"); len(got) != 1 || got[0] != email.Value {
		t.Errorf("primary emails = %q, want only %q", got, email.Value)
	}
}

func testContactListOrder(t *testing.T, s store.Store) {
	// The order of addition, not of AddedAt, kind or value.
	var want []store.Contact
	for i, v := range []string{"c@example.com", "+15550100", "a@example.com", "+15550099", "b@example.com"} {
		kind := "email"
		if strings.HasPrefix(v, "+") {
			kind = "phone"
		}
		c := store.Contact{UserID: "user", Kind: kind, Value: v, AddedAt: base.Add(-time.Duration(i) * time.Minute)}
		addContact(t, s, c)
		want = append(want, c)
		// Another user's contacts in between are not the user's.
		addContact(t, s, newContact("other", kind, fmt.Sprint(i, v)))
	}
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), want)
	// Verifying or making primary does not move a contact.
	want[4] = verified(want[4], base, true)
	verifyContact(t, s, "user", "email", want[4].Value, base)
	want[2] = verified(want[2], base.Add(1), false)
	verifyContact(t, s, "user", "email", want[2].Value, base.Add(1))
	setPrimary(t, s, "user", "email", want[2].Value)
	want[2].Primary, want[4].Primary = true, false
	wantContacts(t, "ListContacts after verifications", listContacts(t, s, "user"), want)
	// Deleting one keeps the order of the rest; a contact added again goes last, even after the
	// last was deleted.
	deleteContact(t, s, "user", "phone", want[1].Value)
	deleteContact(t, s, "user", "email", want[4].Value)
	want = []store.Contact{want[0], want[2], want[3]}
	wantContacts(t, "ListContacts after deletions", listContacts(t, s, "user"), want)
	again := newContact("user", "email", "b@example.com")
	addContact(t, s, again)
	want = append(want, again)
	wantContacts(t, "ListContacts after adding again", listContacts(t, s, "user"), want)
}

func testContactAddIdempotent(t *testing.T, s store.Store) {
	c := newContact("user", "email", "a@example.com")
	addContact(t, s, c)
	// Adding it again changes nothing and returns the stored one.
	later := c
	later.AddedAt = base.Add(time.Hour)
	wantContact(t, "AddContact again", addContact(t, s, later), c)
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{c})
	// Also once it is verified and primary.
	v := verifyContact(t, s, "user", "email", c.Value, base.Add(time.Minute))
	wantContact(t, "AddContact of a verified contact", addContact(t, s, later), v)
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{v})
	// The same value of the other kind, or of another user, is another contact.
	phone := newContact("user", "phone", c.Value)
	wantContact(t, "AddContact of the other kind", addContact(t, s, phone), phone)
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{v, phone})
}

func testContactAddInvalid(t *testing.T, s store.Store) {
	for _, c := range []store.Contact{
		newContact("", "email", "a@example.com"),
		newContact("user", "", "a@example.com"),
		newContact("user", "email", ""),
		newContact("user", "Email", "a@example.com"),
		newContact("user", "EMAIL", "a@example.com"),
		newContact("user", "sms", "+15550100"),
		newContact("user", "phone ", "+15550100"),
		newContact("user", "mail", "a@example.com"),
	} {
		got, err := s.AddContact(t.Context(), c)
		wantErrIs(t, fmt.Sprintf("AddContact(%q, %q, %q)", c.UserID, c.Kind, c.Value), err, store.ErrInvalid)
		if err == nil {
			t.Errorf("AddContact returned %+v", got)
		}
	}
	for _, user := range []string{"user", ""} {
		if list := listContacts(t, s, user); len(list) != 0 {
			t.Errorf("ListContacts(%q) after invalid additions = %+v, want none", user, list)
		}
	}
}

func testContactAbsent(t *testing.T, s store.Store) {
	// A user without contacts, and no user at all: no contacts, no error.
	for _, user := range []string{"nobody", ""} {
		if list := listContacts(t, s, user); len(list) != 0 {
			t.Errorf("ListContacts(%q) = %+v, want none", user, list)
		}
	}
	// User IDs are exact.
	c := newContact("user", "email", "a@example.com")
	addContact(t, s, c)
	for _, user := range []string{"USER", "User", "use", "user0", " user"} {
		if list := listContacts(t, s, user); len(list) != 0 {
			t.Errorf("ListContacts(%q) = %+v, want none", user, list)
		}
	}
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{c})
}

func testContactVerify(t *testing.T, s store.Store) {
	emails := []store.Contact{newContact("user", "email", "a@example.com"), newContact("user", "email", "b@example.com")}
	phones := []store.Contact{newContact("user", "phone", "+15550100"), newContact("user", "phone", "+15550101")}
	for _, c := range append(append([]store.Contact(nil), emails...), phones...) {
		addContact(t, s, c)
	}
	// The first verified contact of its kind becomes primary; the second does not.
	now := base.Add(time.Minute)
	wantContact(t, "VerifyContact of the second email", verifyContact(t, s, "user", "email", emails[1].Value, now), verified(emails[1], now, true))
	wantContact(t, "VerifyContact of the first email", verifyContact(t, s, "user", "email", emails[0].Value, now.Add(1)), verified(emails[0], now.Add(1), false))
	// Kinds are apart: the first phone verified becomes primary too.
	wantContact(t, "VerifyContact of a phone", verifyContact(t, s, "user", "phone", phones[0].Value, now.Add(2)), verified(phones[0], now.Add(2), true))
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{
		verified(emails[0], now.Add(1), false), verified(emails[1], now, true), verified(phones[0], now.Add(2), true), phones[1],
	})
	// Another user's first verified contact is that user's primary.
	other := newContact("other", "email", "c@example.com")
	addContact(t, s, other)
	wantContact(t, "VerifyContact of another user's email", verifyContact(t, s, "other", "email", other.Value, now), verified(other, now, true))
}

func testContactVerifyNotFound(t *testing.T, s store.Store) {
	c := newContact("user", "email", "a@example.com")
	addContact(t, s, c)
	addContact(t, s, newContact("other", "email", "b@example.com"))
	for _, k := range []struct{ user, kind, value string }{
		{"user", "email", "b@example.com"},   // another user's
		{"other", "email", "a@example.com"},  // not that user's
		{"user", "phone", "a@example.com"},   // another kind
		{"user", "email", "A@example.com"},   // values are exact
		{"user", "email", "a@example.com "},  //
		{"USER", "email", "a@example.com"},   // user IDs are exact
		{"nobody", "email", "x@example.com"}, // nothing at all
		{"", "", ""},
	} {
		got, err := s.VerifyContact(t.Context(), k.user, k.kind, k.value, base)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("VerifyContact(%q, %q, %q) = %+v, %v; want ErrNotFound", k.user, k.kind, k.value, got, err)
		}
	}
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{c})
	if list := listContacts(t, s, "nobody"); len(list) != 0 {
		t.Errorf("ListContacts(nobody) after VerifyContact = %+v, want none", list)
	}
}

func testContactVerifyConflict(t *testing.T, s store.Store) {
	const value = "shared@example.com"
	a, b := newContact("alice", "email", value), newContact("bob", "email", value)
	addContact(t, s, a)
	addContact(t, s, b)
	va := verifyContact(t, s, "alice", "email", value, base)
	// Bob's claim cannot be verified while Alice has it verified, and nothing changes.
	for _, now := range []time.Time{base, base.Add(time.Hour)} {
		got, err := s.VerifyContact(t.Context(), "bob", "email", value, now)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("VerifyContact of a value another user has verified = %+v, %v; want ErrConflict", got, err)
		}
	}
	wantContacts(t, "ListContacts(bob)", listContacts(t, s, "bob"), []store.Contact{b})
	wantContacts(t, "ListContacts(alice)", listContacts(t, s, "alice"), []store.Contact{va})
	// Nor can Bob make it primary.
	wantErrIs(t, "SetPrimaryContact of Bob's unverified claim", s.SetPrimaryContact(t.Context(), "bob", "email", value), store.ErrConflict)
	// The same value of the other kind is another contact.
	bp := newContact("bob", "phone", value)
	addContact(t, s, bp)
	wantContact(t, "VerifyContact of the value as the other kind", verifyContact(t, s, "bob", "phone", value, base), verified(bp, base, true))
	// Once Alice deletes hers, Bob may verify his.
	deleteContact(t, s, "alice", "email", value)
	now := base.Add(2 * time.Hour)
	wantContact(t, "VerifyContact after the other user deleted it", verifyContact(t, s, "bob", "email", value, now), verified(b, now, true))
	// And now Alice's new claim is the one refused.
	addContact(t, s, a)
	got, err := s.VerifyContact(t.Context(), "alice", "email", value, now)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("VerifyContact of the value Bob verified = %+v, %v; want ErrConflict", got, err)
	}
	wantContacts(t, "ListContacts(alice)", listContacts(t, s, "alice"), []store.Contact{a})
}

func testContactVerifyAgain(t *testing.T, s store.Store) {
	a, b := newContact("user", "email", "a@example.com"), newContact("user", "email", "b@example.com")
	addContact(t, s, a)
	addContact(t, s, b)
	verifyContact(t, s, "user", "email", a.Value, base)
	verifyContact(t, s, "user", "email", b.Value, base)
	// Verifying a verified contact again is no error and does not change which one is primary.
	// (Whether VerifiedAt moves is left open.)
	for _, v := range []string{b.Value, a.Value} {
		got := verifyContact(t, s, "user", "email", v, base.Add(time.Hour))
		if got.VerifiedAt.IsZero() || got.Primary != (v == a.Value) {
			t.Errorf("VerifyContact of verified %q again = %+v, want it verified, primary %v", v, got, v == a.Value)
		}
	}
	if got := primaries(t, s, "user", "email"); len(got) != 1 || got[0] != a.Value {
		t.Errorf("primary emails = %q, want only %q", got, a.Value)
	}
}

func testContactVerifyZeroTime(t *testing.T, s store.Store) {
	c := newContact("user", "email", "a@example.com")
	addContact(t, s, c)
	// A contact verified at the zero time would look unverified.
	got, err := s.VerifyContact(t.Context(), "user", "email", c.Value, time.Time{})
	wantErrIs(t, "VerifyContact at the zero time", err, store.ErrInvalid)
	if err == nil {
		t.Errorf("VerifyContact at the zero time returned %+v", got)
	}
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{c})
}

func testContactSetPrimary(t *testing.T, s store.Store) {
	cs := []store.Contact{
		newContact("user", "email", "a@example.com"),
		newContact("user", "email", "b@example.com"),
		newContact("user", "email", "c@example.com"),
		newContact("user", "phone", "+15550100"),
	}
	for i, c := range cs {
		addContact(t, s, c)
		if i != 2 {
			cs[i] = verifyContact(t, s, "user", c.Kind, c.Value, base)
		}
	}
	other := newContact("other", "email", "o@example.com")
	addContact(t, s, other)
	other = verifyContact(t, s, "other", "email", other.Value, base)
	// Making b primary makes a not; the phone and the other user are left alone.
	setPrimary(t, s, "user", "email", cs[1].Value)
	cs[0].Primary, cs[1].Primary = false, true
	wantContacts(t, "ListContacts after SetPrimaryContact(b)", listContacts(t, s, "user"), cs)
	// Again is no error and changes nothing.
	setPrimary(t, s, "user", "email", cs[1].Value)
	wantContacts(t, "ListContacts after SetPrimaryContact(b) again", listContacts(t, s, "user"), cs)
	// Back to a.
	setPrimary(t, s, "user", "email", cs[0].Value)
	cs[0].Primary, cs[1].Primary = true, false
	wantContacts(t, "ListContacts after SetPrimaryContact(a)", listContacts(t, s, "user"), cs)
	// The phone was primary already.
	setPrimary(t, s, "user", "phone", cs[3].Value)
	wantContacts(t, "ListContacts after SetPrimaryContact(phone)", listContacts(t, s, "user"), cs)
	wantContacts(t, "ListContacts(other)", listContacts(t, s, "other"), []store.Contact{other})
	// A verified contact that is not primary (after the primary was deleted) can be made so.
	deleteContact(t, s, "user", "email", cs[0].Value)
	setPrimary(t, s, "user", "email", cs[1].Value)
	cs[1].Primary = true
	wantContacts(t, "ListContacts after deleting a and SetPrimaryContact(b)", listContacts(t, s, "user"), cs[1:])
}

func testContactSetPrimaryErrors(t *testing.T, s store.Store) {
	p, u := newContact("user", "email", "p@example.com"), newContact("user", "email", "u@example.com")
	addContact(t, s, p)
	addContact(t, s, u)
	p = verifyContact(t, s, "user", "email", p.Value, base)
	addContact(t, s, newContact("other", "email", "o@example.com"))
	verifyContact(t, s, "other", "email", "o@example.com", base)
	// Unverified: ErrConflict, and the primary stays.
	wantErrIs(t, "SetPrimaryContact of an unverified contact", s.SetPrimaryContact(t.Context(), "user", "email", u.Value), store.ErrConflict)
	// Unknown: ErrNotFound.
	for _, k := range []struct{ user, kind, value string }{
		{"user", "email", "o@example.com"},   // another user's
		{"user", "phone", p.Value},           // another kind
		{"user", "email", "P@example.com"},   // values are exact
		{"USER", "email", p.Value},           // user IDs are exact
		{"nobody", "email", "x@example.com"}, // nothing at all
	} {
		err := s.SetPrimaryContact(t.Context(), k.user, k.kind, k.value)
		wantErrIs(t, fmt.Sprintf("SetPrimaryContact(%q, %q, %q)", k.user, k.kind, k.value), err, store.ErrNotFound)
	}
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{p, u})
	if got := primaries(t, s, "other", "email"); len(got) != 1 {
		t.Errorf("other's primary emails = %q, want one", got)
	}
}

func testContactDelete(t *testing.T, s store.Store) {
	a, b := newContact("user", "email", "a@example.com"), newContact("user", "phone", "+15550100")
	addContact(t, s, a)
	addContact(t, s, b)
	addContact(t, s, newContact("other", "email", a.Value))
	// Deleting what is not there is no error and changes nothing.
	for _, k := range []struct{ user, kind, value string }{
		{"user", "phone", a.Value}, {"user", "email", "A@example.com"}, {"USER", "email", a.Value}, {"nobody", "email", "x"}, {"", "", ""},
	} {
		deleteContact(t, s, k.user, k.kind, k.value)
	}
	wantContacts(t, "ListContacts", listContacts(t, s, "user"), []store.Contact{a, b})
	deleteContact(t, s, "user", "email", a.Value)
	wantContacts(t, "ListContacts after DeleteContact", listContacts(t, s, "user"), []store.Contact{b})
	// Again: no error.
	deleteContact(t, s, "user", "email", a.Value)
	// The other user's claim of the same value stays.
	wantContacts(t, "ListContacts(other)", listContacts(t, s, "other"), []store.Contact{newContact("other", "email", a.Value)})
	// A deleted contact is gone for the other calls.
	if got, err := s.VerifyContact(t.Context(), "user", "email", a.Value, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("VerifyContact of a deleted contact = %+v, %v; want ErrNotFound", got, err)
	}
	wantErrIs(t, "SetPrimaryContact of a deleted contact", s.SetPrimaryContact(t.Context(), "user", "email", a.Value), store.ErrNotFound)
	deleteContact(t, s, "user", "phone", b.Value)
	if list := listContacts(t, s, "user"); len(list) != 0 {
		t.Errorf("ListContacts after deleting every contact = %+v, want none", list)
	}
}

func testContactDeletePrimary(t *testing.T, s store.Store) {
	a, b := newContact("user", "email", "a@example.com"), newContact("user", "email", "b@example.com")
	phone := newContact("user", "phone", "+15550100")
	for _, c := range []store.Contact{a, b, phone} {
		addContact(t, s, c)
	}
	va := verifyContact(t, s, "user", "email", a.Value, base)
	vb := verifyContact(t, s, "user", "email", b.Value, base)
	vp := verifyContact(t, s, "user", "phone", phone.Value, base)
	if !va.Primary || vb.Primary || !vp.Primary {
		t.Fatalf("primaries after verifying = %v, %v, %v; want true, false, true", va.Primary, vb.Primary, vp.Primary)
	}
	// Deleting the primary email leaves no primary email: b stays as it was.
	deleteContact(t, s, "user", "email", a.Value)
	wantContacts(t, "ListContacts after deleting the primary", listContacts(t, s, "user"), []store.Contact{vb, vp})
	if got := primaries(t, s, "user", "email"); len(got) != 0 {
		t.Errorf("primary emails after deleting the primary = %q, want none", got)
	}
	// Deleting the last contact of a kind takes its primary with it.
	deleteContact(t, s, "user", "phone", phone.Value)
	if got := primaries(t, s, "user", "phone"); len(got) != 0 {
		t.Errorf("primary phones after deleting the phone = %q, want none", got)
	}
	// A verified value deleted is free: another user may verify it.
	addContact(t, s, newContact("other", "phone", phone.Value))
	verifyContact(t, s, "other", "phone", phone.Value, base.Add(time.Minute))
}

// testContactUnverifiedClaims has two users claim one value: both keep their claim, unverified,
// until one proves it.
func testContactUnverifiedClaims(t *testing.T, s store.Store) {
	const value = "+15550123"
	a, b := newContact("alice", "phone", value), newContact("bob", "phone", value)
	wantContact(t, "AddContact(alice)", addContact(t, s, a), a)
	wantContact(t, "AddContact(bob)", addContact(t, s, b), b)
	wantContacts(t, "ListContacts(alice)", listContacts(t, s, "alice"), []store.Contact{a})
	wantContacts(t, "ListContacts(bob)", listContacts(t, s, "bob"), []store.Contact{b})
	vb := verifyContact(t, s, "bob", "phone", value, base)
	wantContact(t, "VerifyContact(bob)", vb, verified(b, base, true))
	// Alice's claim stays, unverified.
	wantContacts(t, "ListContacts(alice) after Bob verified", listContacts(t, s, "alice"), []store.Contact{a})
}

// testContactConcurrentClaims has two users claim one value at once: both claims are kept.
func testContactConcurrentClaims(t *testing.T, s store.Store) {
	const value = "race@example.com"
	users := []string{"alice", "bob"}
	errs := make([]error, len(users))
	race(len(users), func(i int) {
		_, errs[i] = s.AddContact(t.Context(), newContact(users[i], "email", value))
	})
	for i, user := range users {
		if errs[i] != nil {
			t.Errorf("AddContact(%s) = %v, want nil", user, errs[i])
		}
		wantContacts(t, fmt.Sprintf("ListContacts(%s)", user), listContacts(t, s, user), []store.Contact{newContact(user, "email", value)})
	}
}

// testContactConcurrentVerify has 20 users who claimed one value verify it at once: exactly one
// wins, the others get ErrConflict and keep an unverified claim.
func testContactConcurrentVerify(t *testing.T, s store.Store) {
	const n = 20
	const value = "contested@example.com"
	user := func(i int) string { return fmt.Sprint("user", i) }
	for i := range n {
		addContact(t, s, newContact(user(i), "email", value))
	}
	errs := make([]error, n)
	got := make([]store.Contact, n)
	race(n, func(i int) {
		got[i], errs[i] = s.VerifyContact(t.Context(), user(i), "email", value, base.Add(time.Duration(i)))
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("concurrent VerifyContact of one value: #%d and #%d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("VerifyContact #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no concurrent VerifyContact of one value succeeded")
	}
	want := verified(newContact(user(winner), "email", value), base.Add(time.Duration(winner)), true)
	wantContact(t, "winning VerifyContact", got[winner], want)
	for i := range n {
		w := newContact(user(i), "email", value)
		if i == winner {
			w = want
		}
		wantContacts(t, fmt.Sprintf("ListContacts(%s)", user(i)), listContacts(t, s, user(i)), []store.Contact{w})
	}
}

// testContactConcurrentAdd has 20 callers add one contact of one user at once: the user has it
// once, and every caller gets the stored one.
func testContactConcurrentAdd(t *testing.T, s store.Store) {
	const n = 20
	got := make([]store.Contact, n)
	race(n, func(i int) {
		c := newContact("user", "email", "same@example.com")
		c.AddedAt = base.Add(time.Duration(i))
		var err error
		if got[i], err = s.AddContact(t.Context(), c); err != nil {
			t.Errorf("AddContact #%d = %v, want nil", i, err)
		}
	})
	list := listContacts(t, s, "user")
	if len(list) != 1 {
		t.Fatalf("ListContacts after %d concurrent AddContact of one contact = %+v, want one", n, list)
	}
	for i, c := range got {
		wantContact(t, fmt.Sprintf("AddContact #%d", i), c, list[0])
	}
}

// testContactConcurrentSetPrimary has callers make each of a user's verified emails primary at
// once: exactly one is primary after.
func testContactConcurrentSetPrimary(t *testing.T, s store.Store) {
	const n = 10
	value := func(i int) string { return fmt.Sprintf("e%d@example.com", i) }
	for i := range n {
		addContact(t, s, newContact("user", "email", value(i)))
		verifyContact(t, s, "user", "email", value(i), base)
	}
	race(2*n, func(i int) {
		if err := s.SetPrimaryContact(t.Context(), "user", "email", value(i%n)); err != nil {
			t.Errorf("SetPrimaryContact #%d = %v, want nil", i, err)
		}
	})
	if got := primaries(t, s, "user", "email"); len(got) != 1 {
		t.Errorf("primary emails after concurrent SetPrimaryContact = %q, want exactly one", got)
	}
}

// ---- Cancelled

func testCancelledAddContact(t *testing.T, s store.Store) {
	c := newContact("cancelled", "email", "a@example.com")
	_, err := s.AddContact(cancelled(t), c)
	wantCanceled(t, "AddContact", err)
	if list := listContacts(t, s, "cancelled"); len(list) != 0 {
		t.Errorf("ListContacts after a cancelled AddContact = %+v, want none", list)
	}
	addContact(t, s, c)
	_, err = s.AddContact(cancelled(t), c)
	wantCanceled(t, "AddContact of a held contact", err)
	wantContacts(t, "ListContacts", listContacts(t, s, "cancelled"), []store.Contact{c})
}

func testCancelledListContacts(t *testing.T, s store.Store) {
	c := newContact("cancelled", "email", "a@example.com")
	addContact(t, s, c)
	list, err := s.ListContacts(cancelled(t), "cancelled")
	wantCanceled(t, "ListContacts", err)
	if len(list) != 0 {
		t.Errorf("ListContacts with a cancelled context = %+v, want none", list)
	}
	wantContacts(t, "ListContacts", listContacts(t, s, "cancelled"), []store.Contact{c})
}

func testCancelledVerifyContact(t *testing.T, s store.Store) {
	c := newContact("cancelled", "email", "a@example.com")
	addContact(t, s, c)
	_, err := s.VerifyContact(cancelled(t), c.UserID, c.Kind, c.Value, base)
	wantCanceled(t, "VerifyContact", err)
	_, err = s.VerifyContact(cancelled(t), "absent", c.Kind, c.Value, base)
	wantCanceled(t, "VerifyContact(absent)", err)
	wantContacts(t, "ListContacts", listContacts(t, s, "cancelled"), []store.Contact{c})
	verifyContact(t, s, c.UserID, c.Kind, c.Value, base)
}

func testCancelledSetPrimaryContact(t *testing.T, s store.Store) {
	a, b := newContact("cancelled", "email", "a@example.com"), newContact("cancelled", "email", "b@example.com")
	addContact(t, s, a)
	addContact(t, s, b)
	a = verifyContact(t, s, a.UserID, a.Kind, a.Value, base)
	b = verifyContact(t, s, b.UserID, b.Kind, b.Value, base)
	wantCanceled(t, "SetPrimaryContact", s.SetPrimaryContact(cancelled(t), b.UserID, b.Kind, b.Value))
	wantContacts(t, "ListContacts", listContacts(t, s, "cancelled"), []store.Contact{a, b})
}

func testCancelledDeleteContact(t *testing.T, s store.Store) {
	c := newContact("cancelled", "email", "a@example.com")
	addContact(t, s, c)
	wantCanceled(t, "DeleteContact", s.DeleteContact(cancelled(t), c.UserID, c.Kind, c.Value))
	wantContacts(t, "ListContacts", listContacts(t, s, "cancelled"), []store.Contact{c})
}
