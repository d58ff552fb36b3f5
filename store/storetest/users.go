package storetest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

// More EIP-55 addresses (from the test vectors of EIP-55).
const (
	address2 = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
	address3 = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"
	address4 = "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"
)

var userTests = []test{
	{"RoundTrip", testUserRoundTrip},
	{"Copies", testUserCopies},
	{"CreateConflictID", testUserCreateConflictID},
	{"CreateConflictWallet", testUserCreateConflictWallet},
	{"CreateInvalid", testUserCreateInvalid},
	{"Absent", testUserAbsent},
}

// newUser returns a user created at base with a wallet on chain 1 for each address, linked in
// order a second apart.
func newUser(id string, addresses ...string) store.User {
	u := store.User{ID: id, CreatedAt: base}
	for i, a := range addresses {
		u.Wallets = append(u.Wallets, store.Wallet{Address: a, ChainID: 1, LinkedAt: base.Add(time.Duration(i) * time.Second)})
	}
	return u
}

func createUser(t *testing.T, s store.Store, u store.User) {
	t.Helper()
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q) = %v, want nil", u.ID, err)
	}
}

func getUser(t *testing.T, s store.Store, id string) store.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), id)
	if err != nil {
		t.Fatalf("GetUser(%q) = %v, want nil", id, err)
	}
	return u
}

func userByWallet(t *testing.T, s store.Store, address string) store.User {
	t.Helper()
	u, err := s.UserByWallet(t.Context(), address)
	if err != nil {
		t.Fatalf("UserByWallet(%q) = %v, want nil", address, err)
	}
	return u
}

func wantNoUser(t *testing.T, s store.Store, id string) {
	t.Helper()
	if u, err := s.GetUser(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser(%q) = %+v, %v; want ErrNotFound", id, u, err)
	}
}

func wantNoWallet(t *testing.T, s store.Store, address string) {
	t.Helper()
	if u, err := s.UserByWallet(t.Context(), address); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByWallet(%q) = %+v, %v; want ErrNotFound", address, u, err)
	}
}

// sameUser reports whether a and b are equal field by field, times compared with Equal and the
// wallets in order.
func sameUser(a, b store.User) bool {
	if a.ID != b.ID || !a.CreatedAt.Equal(b.CreatedAt) || len(a.Wallets) != len(b.Wallets) {
		return false
	}
	for i, w := range a.Wallets {
		v := b.Wallets[i]
		if w.Address != v.Address || w.ChainID != v.ChainID || !w.LinkedAt.Equal(v.LinkedAt) {
			return false
		}
	}
	return true
}

func wantUser(t *testing.T, call string, got, want store.User) {
	t.Helper()
	if !sameUser(got, want) {
		t.Errorf("%s = %+v\nwant %+v", call, got, want)
	}
}

func testUserRoundTrip(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC+9", 9*3600)
	// Wallets in an order that is neither that of their addresses nor of their link times: the
	// order given is the order linked.
	u := store.User{
		ID:        "user-RoundTrip-01HZX4",
		CreatedAt: base.Add(-time.Hour + 1).In(zone),
		Wallets: []store.Wallet{
			{Address: address3, ChainID: 8453, LinkedAt: base.Add(7).In(zone)},
			{Address: address, ChainID: math.MaxUint64, LinkedAt: base.Add(-time.Hour + 1).In(zone)},
			{Address: address2, ChainID: 1<<63 + 5},
			{Address: address4, ChainID: 0, LinkedAt: base.Add(3)},
		},
	}
	createUser(t, s, u)
	wantUser(t, "GetUser", getUser(t, s, u.ID), u)
	// Any wallet finds the user, whatever the case of the address.
	for _, w := range u.Wallets {
		for _, a := range []string{w.Address, strings.ToLower(w.Address), "0x" + strings.ToUpper(w.Address[2:]), strings.ToUpper(w.Address)} {
			wantUser(t, fmt.Sprintf("UserByWallet(%q)", a), userByWallet(t, s, a), u)
		}
	}
	// A user without a creation time.
	v := store.User{ID: "u", Wallets: []store.Wallet{{Address: "0x0000000000000000000000000000000000000001"}}}
	createUser(t, s, v)
	wantUser(t, "GetUser of a minimal user", getUser(t, s, v.ID), v)
	wantUser(t, "UserByWallet of a minimal user", userByWallet(t, s, v.Wallets[0].Address), v)
}

func testUserCopies(t *testing.T, s store.Store) {
	u := newUser("copies", address, address2)
	want := newUser("copies", address, address2)
	createUser(t, s, u)
	// The store keeps what it was given, not the caller's slice.
	u.Wallets[0].Address = address3
	u.Wallets[1].ChainID = 99
	got := getUser(t, s, u.ID)
	wantUser(t, "GetUser after the caller changed its wallets", got, want)
	wantNoWallet(t, s, address3)
	// Nor does it hand out its own.
	got.Wallets[0].Address = address4
	got = userByWallet(t, s, address2)
	wantUser(t, "UserByWallet after the caller changed a user", got, want)
	got.Wallets[1].LinkedAt = time.Time{}
	wantUser(t, "GetUser after the caller changed a user", getUser(t, s, u.ID), want)
}

func testUserCreateConflictID(t *testing.T, s store.Store) {
	u := newUser("taken", address)
	createUser(t, s, u)
	// The same ID with other wallets: nothing of it is stored.
	other := newUser("taken", address2, address3)
	other.CreatedAt = base.Add(time.Hour)
	wantErrIs(t, "CreateUser of a taken ID", s.CreateUser(t.Context(), other), store.ErrConflict)
	wantUser(t, "GetUser after a conflict", getUser(t, s, u.ID), u)
	wantNoWallet(t, s, address2)
	wantNoWallet(t, s, address3)
	// IDs are exact: no case folding.
	createUser(t, s, newUser("TAKEN", address2))
	wantUser(t, "UserByWallet", userByWallet(t, s, address2), newUser("TAKEN", address2))
}

func testUserCreateConflictWallet(t *testing.T, s store.Store) {
	owner := newUser("owner", address2)
	createUser(t, s, owner)
	// The second wallet's address belongs to owner (in another case): the user is not stored,
	// and its first wallet is not claimed.
	for _, taken := range []string{address2, strings.ToLower(address2), strings.ToUpper(address2), "0x" + strings.ToUpper(address2[2:])} {
		u := newUser("latecomer", address, taken, address3)
		wantErrIs(t, fmt.Sprintf("CreateUser with the taken address %s", taken), s.CreateUser(t.Context(), u), store.ErrConflict)
		wantNoUser(t, s, u.ID)
		wantNoWallet(t, s, address)
		wantNoWallet(t, s, address3)
		wantUser(t, "UserByWallet of the taken address", userByWallet(t, s, taken), owner)
	}
	wantUser(t, "GetUser of the owner", getUser(t, s, owner.ID), owner)
	// The first wallet, and the ID, are free for another user.
	u := newUser("latecomer", address, address3)
	createUser(t, s, u)
	wantUser(t, "UserByWallet", userByWallet(t, s, address), u)
	wantUser(t, "UserByWallet", userByWallet(t, s, address3), u)
}

func testUserCreateInvalid(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		u    store.User
	}{
		{"an empty ID", newUser("", address)},
		{"no wallet", newUser("noWallet")},
		{"an empty wallet list", store.User{ID: "emptyWallets", Wallets: []store.Wallet{}}},
		{"a wallet without an address", newUser("emptyAddress", address, "")},
		// An address belongs to one user at most, and only once.
		{"one address twice", newUser("twice", address, address2, address)},
		{"one address twice in two cases", newUser("twiceCase", address, strings.ToLower(address))},
		{"a creation time after 2262", store.User{ID: "future", CreatedAt: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), Wallets: newUser("", address).Wallets}},
		{"a link time before 1678", store.User{ID: "past", Wallets: []store.Wallet{{Address: address, LinkedAt: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}}}},
	}
	for _, tc := range tests {
		wantErrIs(t, "CreateUser with "+tc.name, s.CreateUser(t.Context(), tc.u), store.ErrInvalid)
		wantNoUser(t, s, tc.u.ID)
	}
	wantNoWallet(t, s, address)
	wantNoWallet(t, s, address2)
	wantNoWallet(t, s, "")
	createUser(t, s, newUser("valid", address, address2))
}

func testUserAbsent(t *testing.T, s store.Store) {
	u := newUser("present", address)
	createUser(t, s, u)
	for _, id := range []string{"absent", "", "presen", "present0", "PRESENT", address} {
		wantNoUser(t, s, id)
	}
	// Addresses are compared whole, in any case, but nothing else is folded.
	for _, a := range []string{address2, "", address[:len(address)-1], address + "0", address[2:], " " + address} {
		wantNoWallet(t, s, a)
	}
	wantUser(t, "GetUser", getUser(t, s, u.ID), u)
}
