package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

var walletTests = []test{
	{"Link", testWalletLink},
	{"LinkOrder", testWalletLinkOrder},
	{"LinkCopies", testWalletLinkCopies},
	{"LinkConflictOtherUser", testWalletLinkConflictOtherUser},
	{"LinkConflictSameUser", testWalletLinkConflictSameUser},
	{"LinkUnknownUser", testWalletLinkUnknownUser},
	{"LinkInvalid", testWalletLinkInvalid},
	{"UnlinkLast", testWalletUnlinkLast},
	{"UnlinkFrees", testWalletUnlinkFrees},
	{"UnlinkAbsent", testWalletUnlinkAbsent},
	{"LinkRaceOneAddress", testWalletLinkRace},
	{"LinkRaceOneUser", testWalletLinkRaceOneUser},
	{"UnlinkRace", testWalletUnlinkRace},
}

// caseVariants returns a in its own case and in others: all lower, all upper after "0x", and
// all upper.
func caseVariants(a string) []string {
	return []string{a, strings.ToLower(a), "0x" + strings.ToUpper(a[2:]), strings.ToUpper(a)}
}

// flipCase returns a with the case of its hexadecimal letters flipped as the bits of i say, so
// that callers with different i spell one address differently.
func flipCase(a string, i int) string {
	b := []byte(a)
	for j := 2; j < len(b); j++ {
		if c := b[j]; ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F') && i>>(j%6)&1 == 1 {
			b[j] = c ^ 0x20
		}
	}
	return string(b)
}

func linkWallet(t *testing.T, s store.Store, userID string, w store.Wallet) {
	t.Helper()
	if err := s.LinkWallet(t.Context(), userID, w); err != nil {
		t.Fatalf("LinkWallet(%q, %s) = %v, want nil", userID, w.Address, err)
	}
}

func unlinkWallet(t *testing.T, s store.Store, userID, address string) {
	t.Helper()
	if err := s.UnlinkWallet(t.Context(), userID, address); err != nil {
		t.Fatalf("UnlinkWallet(%q, %s) = %v, want nil", userID, address, err)
	}
}

// wantUserEverywhere checks that GetUser, and UserByWallet of each of the user's wallets in any
// case, return u.
func wantUserEverywhere(t *testing.T, s store.Store, u store.User) {
	t.Helper()
	wantUser(t, fmt.Sprintf("GetUser(%q)", u.ID), getUser(t, s, u.ID), u)
	for _, w := range u.Wallets {
		for _, a := range caseVariants(w.Address) {
			wantUser(t, fmt.Sprintf("UserByWallet(%q)", a), userByWallet(t, s, a), u)
		}
	}
}

func testWalletLink(t *testing.T, s store.Store) {
	u := newUser("linker", address)
	createUser(t, s, u)
	zone := time.FixedZone("UTC-3", -3*3600)
	// Every field survives, to the nanosecond, the full range of chain ids included.
	for _, w := range []store.Wallet{
		{Address: address2, ChainID: 8453, LinkedAt: base.Add(time.Hour + 1).In(zone)},
		{Address: address3, ChainID: 1<<64 - 1, LinkedAt: base.Add(-time.Hour + 7)},
		{Address: address4},
	} {
		linkWallet(t, s, u.ID, w)
		u.Wallets = append(u.Wallets, w)
		wantUserEverywhere(t, s, u)
	}
	// An address linked in any case is found in every case, and kept as given.
	lower := store.Wallet{Address: strings.ToLower("0xAbCdEf0123456789aBcDeF0123456789AbCdEf01"), ChainID: 10, LinkedAt: base}
	linkWallet(t, s, u.ID, lower)
	u.Wallets = append(u.Wallets, lower)
	wantUserEverywhere(t, s, u)
	upper := store.Wallet{Address: "0xABCDEF0123456789ABCDEF0123456789ABCDEF02", ChainID: 10, LinkedAt: base}
	linkWallet(t, s, u.ID, upper)
	u.Wallets = append(u.Wallets, upper)
	wantUserEverywhere(t, s, u)
}

// testWalletLinkOrder checks that wallets come back in the order linked — neither that of their
// addresses nor that of their link times — also after an unlinking made a gap or freed the last
// place.
func testWalletLinkOrder(t *testing.T, s store.Store) {
	u := newUser("order", address4)
	createUser(t, s, u)
	for i, a := range []string{address2, address, address3} {
		w := store.Wallet{Address: a, ChainID: uint64(i), LinkedAt: base.Add(-time.Duration(i) * time.Minute)}
		linkWallet(t, s, u.ID, w)
		u.Wallets = append(u.Wallets, w)
	}
	wantUserEverywhere(t, s, u)
	// Unlink one in the middle: the others keep their order, and the next goes last.
	unlinkWallet(t, s, u.ID, address)
	u.Wallets = append(u.Wallets[:2:2], u.Wallets[3])
	wantUserEverywhere(t, s, u)
	w := store.Wallet{Address: address, ChainID: 99, LinkedAt: base.Add(time.Hour)}
	linkWallet(t, s, u.ID, w)
	u.Wallets = append(u.Wallets, w)
	wantUserEverywhere(t, s, u)
	// Unlink the last and the first: a wallet linked after goes last still.
	unlinkWallet(t, s, u.ID, address)
	unlinkWallet(t, s, u.ID, address4)
	u.Wallets = u.Wallets[1:3:3]
	wantUserEverywhere(t, s, u)
	w = store.Wallet{Address: address4, ChainID: 5, LinkedAt: base}
	linkWallet(t, s, u.ID, w)
	u.Wallets = append(u.Wallets, w)
	wantUserEverywhere(t, s, u)
	wantNoWallet(t, s, address)
}

func testWalletLinkCopies(t *testing.T, s store.Store) {
	u := newUser("copies", address)
	createUser(t, s, u)
	// A user read before the link: had the store handed out its own list of wallets, growing the
	// caller's would write over the wallet linked since.
	before := getUser(t, s, u.ID)
	w := store.Wallet{Address: address2, ChainID: 1, LinkedAt: base}
	linkWallet(t, s, u.ID, w)
	want := newUser("copies", address)
	want.Wallets = append(want.Wallets, w)
	before.Wallets = append(before.Wallets, store.Wallet{Address: address3, ChainID: 3})
	before.Wallets[0].ChainID = 77
	wantUserEverywhere(t, s, want)
	// Nor does a user read after the link share the store's list.
	after := getUser(t, s, u.ID)
	after.Wallets[1].Address = address4
	after.Wallets = append(after.Wallets[:1], store.Wallet{Address: address3})
	wantUserEverywhere(t, s, want)
	wantNoWallet(t, s, address3)
	wantNoWallet(t, s, address4)
}

func testWalletLinkConflictOtherUser(t *testing.T, s store.Store) {
	owner := newUser("owner", address, address2)
	other := newUser("other", address3)
	createUser(t, s, owner)
	createUser(t, s, other)
	for _, w := range owner.Wallets {
		for _, a := range caseVariants(w.Address) {
			err := s.LinkWallet(t.Context(), other.ID, store.Wallet{Address: a, ChainID: 7, LinkedAt: base.Add(time.Hour)})
			wantErrIs(t, fmt.Sprintf("LinkWallet(%q, %s) of an address of %q", other.ID, a, owner.ID), err, store.ErrConflict)
		}
	}
	// Nothing changed, for either user.
	wantUserEverywhere(t, s, owner)
	wantUserEverywhere(t, s, other)
}

func testWalletLinkConflictSameUser(t *testing.T, s store.Store) {
	u := newUser("same", address, address2)
	createUser(t, s, u)
	for _, w := range u.Wallets {
		for _, a := range caseVariants(w.Address) {
			err := s.LinkWallet(t.Context(), u.ID, store.Wallet{Address: a, ChainID: 7, LinkedAt: base.Add(time.Hour)})
			wantErrIs(t, fmt.Sprintf("LinkWallet(%q, %s) of its own address", u.ID, a), err, store.ErrConflict)
		}
	}
	wantUserEverywhere(t, s, u)
}

func testWalletLinkUnknownUser(t *testing.T, s store.Store) {
	u := newUser("known", address)
	createUser(t, s, u)
	// User IDs are exact.
	for _, id := range []string{"unknown", "", "KNOWN", "know", "known0", address} {
		err := s.LinkWallet(t.Context(), id, store.Wallet{Address: address2, ChainID: 1, LinkedAt: base})
		wantErrIs(t, fmt.Sprintf("LinkWallet(%q) of an unknown user", id), err, store.ErrNotFound)
		wantNoUser(t, s, id)
	}
	wantNoWallet(t, s, address2)
	wantUserEverywhere(t, s, u)
	// The address is free.
	linkWallet(t, s, u.ID, store.Wallet{Address: address2, ChainID: 1, LinkedAt: base})
	u.Wallets = append(u.Wallets, store.Wallet{Address: address2, ChainID: 1, LinkedAt: base})
	wantUserEverywhere(t, s, u)
}

func testWalletLinkInvalid(t *testing.T, s store.Store) {
	u := newUser("invalid", address)
	createUser(t, s, u)
	tests := []struct {
		name string
		w    store.Wallet
	}{
		{"an empty address", store.Wallet{ChainID: 1, LinkedAt: base}},
		{"a link time after 2262", store.Wallet{Address: address2, LinkedAt: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"a link time before 1678", store.Wallet{Address: address2, LinkedAt: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tc := range tests {
		wantErrIs(t, "LinkWallet with "+tc.name, s.LinkWallet(t.Context(), u.ID, tc.w), store.ErrInvalid)
	}
	wantNoWallet(t, s, "")
	wantNoWallet(t, s, address2)
	wantUserEverywhere(t, s, u)
}

func testWalletUnlinkLast(t *testing.T, s store.Store) {
	u := newUser("last", address, address2)
	createUser(t, s, u)
	unlinkWallet(t, s, u.ID, strings.ToLower(address2))
	u.Wallets = u.Wallets[:1]
	for _, a := range caseVariants(address) {
		wantErrIs(t, fmt.Sprintf("UnlinkWallet(%s) of the last wallet", a), s.UnlinkWallet(t.Context(), u.ID, a), store.ErrConflict)
	}
	wantUserEverywhere(t, s, u)
	// A user created with one wallet.
	v := newUser("single", address3)
	createUser(t, s, v)
	wantErrIs(t, "UnlinkWallet of a user's only wallet", s.UnlinkWallet(t.Context(), v.ID, address3), store.ErrConflict)
	wantUserEverywhere(t, s, v)
	// Once another is linked, the first may go.
	w := store.Wallet{Address: address4, ChainID: 1, LinkedAt: base}
	linkWallet(t, s, v.ID, w)
	unlinkWallet(t, s, v.ID, address3)
	v.Wallets = []store.Wallet{w}
	wantUserEverywhere(t, s, v)
	wantNoWallet(t, s, address3)
}

func testWalletUnlinkFrees(t *testing.T, s store.Store) {
	u := newUser("first", address, address2, address3)
	createUser(t, s, u)
	// Unlinked in another case than it was linked in.
	unlinkWallet(t, s, u.ID, "0x"+strings.ToUpper(address2[2:]))
	u.Wallets = []store.Wallet{u.Wallets[0], u.Wallets[2]}
	wantUserEverywhere(t, s, u)
	for _, a := range caseVariants(address2) {
		wantNoWallet(t, s, a)
	}
	// Unlinking it again finds nothing.
	wantErrIs(t, "UnlinkWallet of an unlinked wallet", s.UnlinkWallet(t.Context(), u.ID, address2), store.ErrNotFound)
	// The address is free for another user, through LinkWallet ...
	v := newUser("second", address4)
	createUser(t, s, v)
	w := store.Wallet{Address: strings.ToLower(address2), ChainID: 137, LinkedAt: base.Add(time.Minute)}
	linkWallet(t, s, v.ID, w)
	v.Wallets = append(v.Wallets, w)
	wantUserEverywhere(t, s, v)
	wantUserEverywhere(t, s, u)
	// ... and through CreateUser.
	unlinkWallet(t, s, u.ID, address3)
	u.Wallets = u.Wallets[:1]
	x := newUser("third", address3)
	createUser(t, s, x)
	wantUserEverywhere(t, s, x)
	wantUserEverywhere(t, s, u)
}

func testWalletUnlinkAbsent(t *testing.T, s store.Store) {
	u := newUser("holder", address, address2)
	other := newUser("other", address3, address4)
	createUser(t, s, u)
	createUser(t, s, other)
	tests := []struct {
		name, userID, address string
	}{
		{"an address of another user", u.ID, address3},
		{"an address of another user in another case", u.ID, strings.ToLower(address4)},
		{"an unknown address", u.ID, "0x0000000000000000000000000000000000000001"},
		{"an empty address", u.ID, ""},
		{"a part of an address", u.ID, address[:len(address)-1]},
		{"an address without 0x", u.ID, address[2:]},
		{"an unknown user", "nobody", address},
		{"a user ID in another case", "HOLDER", address},
		{"an empty user ID", "", address},
	}
	for _, tc := range tests {
		wantErrIs(t, "UnlinkWallet of "+tc.name, s.UnlinkWallet(t.Context(), tc.userID, tc.address), store.ErrNotFound)
	}
	wantUserEverywhere(t, s, u)
	wantUserEverywhere(t, s, other)
}

// testWalletLinkRace has 20 users race to link one address (each in a case of its own): exactly
// one gets it.
func testWalletLinkRace(t *testing.T, s store.Store) {
	const n = 20
	own := func(i int) string { return fmt.Sprintf("0x%040x", i+1) }
	for i := range n {
		createUser(t, s, newUser(fmt.Sprint("user", i), own(i)))
	}
	wallet := func(i int) store.Wallet {
		return store.Wallet{Address: flipCase(address, i), ChainID: uint64(i), LinkedAt: base.Add(time.Duration(i))}
	}
	errs := make([]error, n)
	race(n, func(i int) {
		errs[i] = s.LinkWallet(t.Context(), fmt.Sprint("user", i), wallet(i))
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("concurrent LinkWallet of one address: #%d and #%d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("LinkWallet #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no concurrent LinkWallet succeeded")
	}
	for i := range n {
		want := newUser(fmt.Sprint("user", i), own(i))
		if i == winner {
			want.Wallets = append(want.Wallets, wallet(i))
		}
		wantUserEverywhere(t, s, want)
	}
}

// testWalletLinkRaceOneUser has 10 callers link 10 addresses to one user at once: all succeed,
// each wallet once, after the user's first.
func testWalletLinkRaceOneUser(t *testing.T, s store.Store) {
	const n = 10
	u := newUser("busy", address)
	createUser(t, s, u)
	wallet := func(i int) store.Wallet {
		return store.Wallet{Address: fmt.Sprintf("0x%040x", i+1), ChainID: uint64(i), LinkedAt: base}
	}
	race(n, func(i int) {
		if err := s.LinkWallet(t.Context(), u.ID, wallet(i)); err != nil {
			t.Errorf("LinkWallet #%d = %v, want nil", i, err)
		}
	})
	got := getUser(t, s, u.ID)
	if len(got.Wallets) != n+1 {
		t.Fatalf("GetUser after %d concurrent links = %d wallets, want %d", n, len(got.Wallets), n+1)
	}
	if got.Wallets[0].Address != address {
		t.Errorf("first wallet after concurrent links = %s, want %s", got.Wallets[0].Address, address)
	}
	seen := make(map[string]bool)
	for _, w := range got.Wallets[1:] {
		seen[w.Address] = true
	}
	for i := range n {
		w := wallet(i)
		if !seen[w.Address] {
			t.Errorf("wallet %s of link #%d missing from %+v", w.Address, i, got.Wallets)
		}
		wantUser(t, fmt.Sprintf("UserByWallet(%s)", w.Address), userByWallet(t, s, w.Address), got)
	}
}

// testWalletUnlinkRace has two callers each unlink one of a user's two wallets at once: exactly
// one succeeds, and the other wallet remains.
func testWalletUnlinkRace(t *testing.T, s store.Store) {
	for round := range 10 {
		u := newUser(fmt.Sprint("pair", round), fmt.Sprintf("0x%040x", 2*round+1), fmt.Sprintf("0x%040x", 2*round+2))
		createUser(t, s, u)
		errs := make([]error, 2)
		race(2, func(i int) {
			errs[i] = s.UnlinkWallet(t.Context(), u.ID, u.Wallets[i].Address)
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: both concurrent UnlinkWallet calls succeeded, leaving no wallet", round)
				}
				winner = i
			case errors.Is(err, store.ErrConflict):
			default:
				t.Errorf("round %d: UnlinkWallet #%d = %v, want nil or ErrConflict", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: neither concurrent UnlinkWallet succeeded", round)
		}
		want := u
		want.Wallets = []store.Wallet{u.Wallets[1-winner]}
		wantUserEverywhere(t, s, want)
		wantNoWallet(t, s, u.Wallets[winner].Address)
	}
}

// ---- Cancelled

func testCancelledLinkWallet(t *testing.T, s store.Store) {
	u := newUser("cancelled", address)
	createUser(t, s, u)
	w := store.Wallet{Address: address2, ChainID: 1, LinkedAt: base}
	wantCanceled(t, "LinkWallet", s.LinkWallet(cancelled(t), u.ID, w))
	wantCanceled(t, "LinkWallet of a taken address", s.LinkWallet(cancelled(t), u.ID, store.Wallet{Address: address}))
	wantCanceled(t, "LinkWallet(absent)", s.LinkWallet(cancelled(t), "absent", w))
	wantNoWallet(t, s, address2)
	wantUserEverywhere(t, s, u)
	linkWallet(t, s, u.ID, w)
}

func testCancelledUnlinkWallet(t *testing.T, s store.Store) {
	u := newUser("cancelled", address, address2)
	createUser(t, s, u)
	wantCanceled(t, "UnlinkWallet", s.UnlinkWallet(cancelled(t), u.ID, address2))
	wantCanceled(t, "UnlinkWallet(absent)", s.UnlinkWallet(cancelled(t), u.ID, address3))
	wantUserEverywhere(t, s, u)
	unlinkWallet(t, s, u.ID, address2)
}
