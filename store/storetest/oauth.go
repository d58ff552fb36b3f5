package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

var oauthTests = []test{
	{"RoundTrip", testOAuthRoundTrip},
	{"ListOrder", testOAuthListOrder},
	{"LinkConflict", testOAuthLinkConflict},
	{"LinkInvalid", testOAuthLinkInvalid},
	{"KeyExact", testOAuthKeyExact},
	{"Unlink", testOAuthUnlink},
	{"UnlinkNotFound", testOAuthUnlinkNotFound},
	{"ConcurrentLinkOneWinner", testOAuthConcurrentLink},
	{"ConcurrentLinkSameProvider", testOAuthConcurrentLinkSameProvider},
}

// newOAuth returns an account of user at provider linked at base.
func newOAuth(user, provider, subject string) store.OAuthAccount {
	return store.OAuthAccount{
		UserID:   user,
		Provider: provider,
		Subject:  subject,
		Email:    subject + "@" + provider + ".example",
		Username: provider + "-" + subject,
		LinkedAt: base,
	}
}

func linkOAuth(t *testing.T, s store.Store, a store.OAuthAccount) {
	t.Helper()
	if err := s.LinkOAuth(t.Context(), a); err != nil {
		t.Fatalf("LinkOAuth(%q, %s %q) = %v, want nil", a.UserID, a.Provider, a.Subject, err)
	}
}

func unlinkOAuth(t *testing.T, s store.Store, user, provider string) {
	t.Helper()
	if err := s.UnlinkOAuth(t.Context(), user, provider); err != nil {
		t.Fatalf("UnlinkOAuth(%q, %s) = %v, want nil", user, provider, err)
	}
}

func listOAuth(t *testing.T, s store.Store, user string) []store.OAuthAccount {
	t.Helper()
	list, err := s.ListOAuth(t.Context(), user)
	if err != nil {
		t.Fatalf("ListOAuth(%q) = %v, want nil", user, err)
	}
	return list
}

// sameOAuth reports whether a and b are equal field by field, times compared with Equal.
func sameOAuth(a, b store.OAuthAccount) bool {
	return a.UserID == b.UserID && a.Provider == b.Provider && a.Subject == b.Subject &&
		a.Email == b.Email && a.Username == b.Username && a.LinkedAt.Equal(b.LinkedAt)
}

func wantOAuth(t *testing.T, call string, got, want []store.OAuthAccount) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = sameOAuth(got[i], want[i])
	}
	if !ok {
		var b strings.Builder
		fmt.Fprintf(&b, "%s = %d accounts:\n", call, len(got))
		for _, a := range got {
			fmt.Fprintf(&b, "\t%+v\n", a)
		}
		fmt.Fprintf(&b, "want %d:\n", len(want))
		for _, a := range want {
			fmt.Fprintf(&b, "\t%+v\n", a)
		}
		t.Error(b.String())
	}
}

func testOAuthRoundTrip(t *testing.T, s store.Store) {
	// A zone other than UTC and nanoseconds: a store keeps the instant exactly.
	zone := time.FixedZone("UTC+5:45", 5*3600+45*60)
	full := store.OAuthAccount{
		UserID:   "user",
		Provider: "google",
		Subject:  "1098765432109876543210",
		Email:    "zoë+tag@例え.example",
		Username: "Zoë \"Z\" O'Brien\x00",
		LinkedAt: base.Add(-time.Second).In(zone),
	}
	// Only the required fields: empty strings and a zero LinkedAt stay so.
	bare := store.OAuthAccount{UserID: "user", Provider: "github", Subject: "583231"}
	linkOAuth(t, s, full)
	linkOAuth(t, s, bare)
	list := listOAuth(t, s, "user")
	wantOAuth(t, "ListOAuth", list, []store.OAuthAccount{full, bare})
	for _, a := range list {
		if a.LinkedAt.IsZero() != (a.Provider == "github") {
			t.Errorf("ListOAuth: %s LinkedAt = %v", a.Provider, a.LinkedAt)
		}
	}
	// The list is the caller's own.
	if len(list) > 0 {
		list[0].Subject, list[0].Email = "changed", "changed"
	}
	wantOAuth(t, "ListOAuth after changing a returned list", listOAuth(t, s, "user"), []store.OAuthAccount{full, bare})
	if list := listOAuth(t, s, "nobody"); len(list) != 0 {
		t.Errorf("ListOAuth(absent user) = %+v, want none", list)
	}
}

func testOAuthListOrder(t *testing.T, s store.Store) {
	// Linked out of alphabetical order and with link times that do not follow the order of linking.
	a := newOAuth("user", "zeta", "1")
	b := newOAuth("user", "alpha", "2")
	b.LinkedAt = base.Add(-time.Hour)
	c := newOAuth("user", "mid", "3")
	c.LinkedAt = time.Time{}
	other := newOAuth("other", "alpha", "4")
	for _, x := range []store.OAuthAccount{a, other, b, c} {
		linkOAuth(t, s, x)
	}
	wantOAuth(t, "ListOAuth", listOAuth(t, s, "user"), []store.OAuthAccount{a, b, c})
	wantOAuth(t, "ListOAuth(other)", listOAuth(t, s, "other"), []store.OAuthAccount{other})
	// Unlinking keeps the others' order; linking again puts the account last.
	unlinkOAuth(t, s, "user", "zeta")
	wantOAuth(t, "ListOAuth after unlinking the first", listOAuth(t, s, "user"), []store.OAuthAccount{b, c})
	linkOAuth(t, s, a)
	wantOAuth(t, "ListOAuth after linking it again", listOAuth(t, s, "user"), []store.OAuthAccount{b, c, a})
	unlinkOAuth(t, s, "user", "mid")
	d := newOAuth("user", "delta", "5")
	linkOAuth(t, s, d)
	wantOAuth(t, "ListOAuth after unlinking one in the middle", listOAuth(t, s, "user"), []store.OAuthAccount{b, a, d})
}

func testOAuthLinkConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newOAuth("user1", "github", "42")
	linkOAuth(t, s, a)
	u2 := newOAuth("user2", "google", "7")
	linkOAuth(t, s, u2)

	// The provider account is linked to another user.
	taken := a
	taken.UserID, taken.Email, taken.Username, taken.LinkedAt = "user2", "x@example.com", "x", base.Add(time.Hour)
	wantErrIs(t, "LinkOAuth of an account linked to another user", s.LinkOAuth(ctx, taken), store.ErrConflict)
	// ... to another user who has no account yet.
	taken.UserID = "user3"
	wantErrIs(t, "LinkOAuth of an account linked to another user (who has none)", s.LinkOAuth(ctx, taken), store.ErrConflict)
	// ... to this user already, even with other details.
	again := a
	again.Email, again.LinkedAt = "new@example.com", base.Add(time.Hour)
	wantErrIs(t, "LinkOAuth of an account linked to the user already", s.LinkOAuth(ctx, again), store.ErrConflict)
	wantErrIs(t, "LinkOAuth of the same account again", s.LinkOAuth(ctx, a), store.ErrConflict)
	// A second account of the same provider for one user.
	second := newOAuth("user1", "github", "43")
	wantErrIs(t, "LinkOAuth of a second account of the provider", s.LinkOAuth(ctx, second), store.ErrConflict)
	// Both at once: an account of user2's provider that user1 holds.
	both := newOAuth("user2", "github", "42")
	wantErrIs(t, "LinkOAuth conflicting both ways", s.LinkOAuth(ctx, both), store.ErrConflict)

	// Nothing changed.
	wantOAuth(t, "ListOAuth(user1)", listOAuth(t, s, "user1"), []store.OAuthAccount{a})
	wantOAuth(t, "ListOAuth(user2)", listOAuth(t, s, "user2"), []store.OAuthAccount{u2})
	if list := listOAuth(t, s, "user3"); len(list) != 0 {
		t.Errorf("ListOAuth(user3) = %+v, want none", list)
	}
	// The refused second account is free: another user may link it.
	other := second
	other.UserID = "user3"
	linkOAuth(t, s, other)
	wantOAuth(t, "ListOAuth(user3)", listOAuth(t, s, "user3"), []store.OAuthAccount{other})
}

func testOAuthLinkInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		edit func(*store.OAuthAccount)
	}{
		{"no user id", func(a *store.OAuthAccount) { a.UserID = "" }},
		{"no provider", func(a *store.OAuthAccount) { a.Provider = "" }},
		{"no subject", func(a *store.OAuthAccount) { a.Subject = "" }},
	} {
		a := newOAuth("user", "github", "42")
		tc.edit(&a)
		wantErrIs(t, "LinkOAuth("+tc.name+")", s.LinkOAuth(ctx, a), store.ErrInvalid)
	}
	if list := listOAuth(t, s, "user"); len(list) != 0 {
		t.Errorf("ListOAuth after invalid links = %+v, want none", list)
	}
	if list := listOAuth(t, s, ""); len(list) != 0 {
		t.Errorf("ListOAuth(\"\") after invalid links = %+v, want none", list)
	}
	// Nothing was kept that blocks the valid account.
	a := newOAuth("user", "github", "42")
	linkOAuth(t, s, a)
	wantOAuth(t, "ListOAuth", listOAuth(t, s, "user"), []store.OAuthAccount{a})
}

func testOAuthKeyExact(t *testing.T, s store.Store) {
	// The same subject at two providers is two accounts, and subjects and providers are compared
	// exactly: "Abc" and "abc" are different subjects.
	a := newOAuth("user1", "github", "Abc")
	b := newOAuth("user2", "github", "abc")
	c := newOAuth("user3", "gitlab", "Abc")
	d := newOAuth("user1", "GitHub", "xyz")
	for _, x := range []store.OAuthAccount{a, b, c, d} {
		linkOAuth(t, s, x)
	}
	wantOAuth(t, "ListOAuth(user1)", listOAuth(t, s, "user1"), []store.OAuthAccount{a, d})
	wantOAuth(t, "ListOAuth(user2)", listOAuth(t, s, "user2"), []store.OAuthAccount{b})
	wantOAuth(t, "ListOAuth(user3)", listOAuth(t, s, "user3"), []store.OAuthAccount{c})
}

func testOAuthUnlink(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newOAuth("user1", "github", "42")
	g := newOAuth("user1", "google", "7")
	linkOAuth(t, s, a)
	linkOAuth(t, s, g)
	unlinkOAuth(t, s, "user1", "github")
	wantOAuth(t, "ListOAuth after UnlinkOAuth", listOAuth(t, s, "user1"), []store.OAuthAccount{g})
	wantErrIs(t, "UnlinkOAuth again", s.UnlinkOAuth(ctx, "user1", "github"), store.ErrNotFound)

	// The account can now be linked to another user, and the user can link another account of the
	// provider.
	moved := a
	moved.UserID, moved.LinkedAt = "user2", base.Add(time.Minute)
	linkOAuth(t, s, moved)
	wantOAuth(t, "ListOAuth(user2)", listOAuth(t, s, "user2"), []store.OAuthAccount{moved})
	wantErrIs(t, "LinkOAuth of the moved account to its former user", s.LinkOAuth(ctx, a), store.ErrConflict)
	fresh := newOAuth("user1", "github", "43")
	linkOAuth(t, s, fresh)
	wantOAuth(t, "ListOAuth(user1)", listOAuth(t, s, "user1"), []store.OAuthAccount{g, fresh})

	// Unlinking the last account leaves none.
	unlinkOAuth(t, s, "user2", "github")
	if list := listOAuth(t, s, "user2"); len(list) != 0 {
		t.Errorf("ListOAuth after unlinking the last = %+v, want none", list)
	}
}

func testOAuthUnlinkNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newOAuth("user1", "github", "42")
	linkOAuth(t, s, a)
	for _, tc := range []struct{ name, user, provider string }{
		{"absent user", "nobody", "github"},
		{"another user's provider", "user2", "github"},
		{"a provider the user has not", "user1", "google"},
		{"the provider in another case", "user1", "GitHub"},
		{"the subject for the provider", "user1", "42"},
		{"empty", "", ""},
	} {
		wantErrIs(t, "UnlinkOAuth("+tc.name+")", s.UnlinkOAuth(ctx, tc.user, tc.provider), store.ErrNotFound)
	}
	wantOAuth(t, "ListOAuth", listOAuth(t, s, "user1"), []store.OAuthAccount{a})
}

func testOAuthConcurrentLink(t *testing.T, s store.Store) {
	const n = 20
	errs := make([]error, n)
	race(n, func(i int) {
		a := newOAuth(fmt.Sprint("racer", i), "github", "42")
		errs[i] = s.LinkOAuth(t.Context(), a)
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("LinkOAuth: users %d and %d both linked the account", winner, i)
			}
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("LinkOAuth #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("LinkOAuth: no user linked the account")
	}
	for i := range n {
		list := listOAuth(t, s, fmt.Sprint("racer", i))
		if i == winner {
			wantOAuth(t, "ListOAuth(winner)", list, []store.OAuthAccount{newOAuth(fmt.Sprint("racer", i), "github", "42")})
		} else if len(list) != 0 {
			t.Errorf("ListOAuth(racer%d), a loser = %+v, want none", i, list)
		}
	}
}

func testOAuthConcurrentLinkSameProvider(t *testing.T, s store.Store) {
	const n = 20
	errs := make([]error, n)
	race(n, func(i int) {
		errs[i] = s.LinkOAuth(t.Context(), newOAuth("user", "github", fmt.Sprint(i)))
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("LinkOAuth: accounts %d and %d both linked to one user", winner, i)
			}
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("LinkOAuth #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("LinkOAuth: no account linked")
	}
	wantOAuth(t, "ListOAuth", listOAuth(t, s, "user"), []store.OAuthAccount{newOAuth("user", "github", fmt.Sprint(winner))})
}

func testCancelledLinkOAuth(t *testing.T, s store.Store) {
	a := newOAuth("cancelled", "github", "42")
	wantCanceled(t, "LinkOAuth", s.LinkOAuth(cancelled(t), a))
	if list := listOAuth(t, s, "cancelled"); len(list) != 0 {
		t.Errorf("ListOAuth after a cancelled LinkOAuth = %+v, want none", list)
	}
	linkOAuth(t, s, a)
	// A cancelled call that would conflict reports the cancellation.
	wantCanceled(t, "LinkOAuth of a linked account", s.LinkOAuth(cancelled(t), a))
	wantOAuth(t, "ListOAuth", listOAuth(t, s, "cancelled"), []store.OAuthAccount{a})
}

func testCancelledUnlinkOAuth(t *testing.T, s store.Store) {
	a := newOAuth("cancelled", "github", "42")
	linkOAuth(t, s, a)
	wantCanceled(t, "UnlinkOAuth", s.UnlinkOAuth(cancelled(t), a.UserID, a.Provider))
	wantCanceled(t, "UnlinkOAuth(absent)", s.UnlinkOAuth(cancelled(t), a.UserID, "google"))
	wantOAuth(t, "ListOAuth", listOAuth(t, s, "cancelled"), []store.OAuthAccount{a})
	unlinkOAuth(t, s, a.UserID, a.Provider)
}

func testCancelledListOAuth(t *testing.T, s store.Store) {
	a := newOAuth("cancelled", "github", "42")
	linkOAuth(t, s, a)
	list, err := s.ListOAuth(cancelled(t), a.UserID)
	wantCanceled(t, "ListOAuth", err)
	if len(list) != 0 {
		t.Errorf("ListOAuth with a cancelled context = %+v, want none", list)
	}
	wantOAuth(t, "ListOAuth", listOAuth(t, s, "cancelled"), []store.OAuthAccount{a})
}
