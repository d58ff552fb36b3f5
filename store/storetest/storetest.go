package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

// base is the suite's fake "now": a fixed instant with every nanosecond digit set, so that a store
// which loses precision is caught. Stores are never asked what time it is.
var base = time.Date(2030, time.March, 14, 15, 9, 26, 535897932, time.UTC)

const (
	// address is an EIP-55 address, as the nonce service stores it.
	address = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	// ttl is the lifetime of the suite's nonces.
	ttl = 5 * time.Minute
)

// Run runs the conformance suite for [store.Store] against the stores that newStore returns.
//
// newStore is called once per subtest and must return a fresh, empty store that is safe for
// concurrent use; it registers whatever cleanup the store needs with t.Cleanup. The subtest
// Close/CallsFail closes its store itself, so the cleanup must tolerate a store that is already
// closed.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Nonce", nonceTests},
		{"Counter", counterTests},
		{"Key", keyTests},
		{"Session", sessionTests},
		{"User", userTests},
		{"Wallets", walletTests},
		{"Metadata", metadataTests},
		{"MFA", mfaTests},
		{"Contacts", contactTests},
		{"Codes", codeTests},
		{"OAuth", oauthTests},
		{"Cancelled", cancelledTests},
		{"Concurrent", concurrentTests},
		{"Close", closeTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(t, newStore(t))
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

var nonceTests = []test{
	{"RoundTrip", testNonceRoundTrip},
	{"RoundTripEdgeValues", testNonceRoundTripEdgeValues},
	{"CreateConflict", testNonceCreateConflict},
	{"CreateOverExpired", testNonceCreateOverExpired},
	{"CreateInvalid", testNonceCreateInvalid},
	{"ExpiredIsNotFound", testNonceExpiredIsNotFound},
	{"Absent", testNonceAbsent},
	{"ConsumeOnce", testNonceConsumeOnce},
	{"GetDoesNotConsume", testNonceGetDoesNotConsume},
	{"AddFailure", testNonceAddFailure},
	{"Delete", testNonceDelete},
	{"DeleteExpired", testNonceDeleteExpired},
}

var counterTests = []test{
	{"Window", testCounterWindow},
	{"WindowFixedAtStart", testCounterWindowFixedAtStart},
	{"IndependentKeys", testCounterIndependentKeys},
	{"Reset", testCounterReset},
	{"InvalidWindow", testCounterInvalidWindow},
}

var cancelledTests = []test{
	{"CreateNonce", testCancelledCreateNonce},
	{"GetNonce", testCancelledGetNonce},
	{"ConsumeNonce", testCancelledConsumeNonce},
	{"AddNonceFailure", testCancelledAddNonceFailure},
	{"DeleteNonce", testCancelledDeleteNonce},
	{"IncrementCounter", testCancelledIncrementCounter},
	{"ResetCounter", testCancelledResetCounter},
	{"CreateKey", testCancelledCreateKey},
	{"ListKeys", testCancelledListKeys},
	{"DeleteKey", testCancelledDeleteKey},
	{"CreateSession", testCancelledCreateSession},
	{"GetSession", testCancelledGetSession},
	{"RotateRefresh", testCancelledRotateRefresh},
	{"RevokeSession", testCancelledRevokeSession},
	{"RevokeUserSessions", testCancelledRevokeUserSessions},
	{"ListSessions", testCancelledListSessions},
	{"RevokedSince", testCancelledRevokedSince},
	{"CreateUser", testCancelledCreateUser},
	{"GetUser", testCancelledGetUser},
	{"UserByWallet", testCancelledUserByWallet},
	{"LinkWallet", testCancelledLinkWallet},
	{"UnlinkWallet", testCancelledUnlinkWallet},
	{"GetMetadata", testCancelledGetMetadata},
	{"SetMetadata", testCancelledSetMetadata},
	{"PutTOTP", testCancelledPutTOTP},
	{"GetTOTP", testCancelledGetTOTP},
	{"UseTOTPStep", testCancelledUseTOTPStep},
	{"ResealTOTP", testCancelledResealTOTP},
	{"DeleteTOTP", testCancelledDeleteTOTP},
	{"ReplaceRecoveryCodes", testCancelledReplaceRecoveryCodes},
	{"UseRecoveryCode", testCancelledUseRecoveryCode},
	{"CountRecoveryCodes", testCancelledCountRecoveryCodes},
	{"AddContact", testCancelledAddContact},
	{"ListContacts", testCancelledListContacts},
	{"VerifyContact", testCancelledVerifyContact},
	{"SetPrimaryContact", testCancelledSetPrimaryContact},
	{"DeleteContact", testCancelledDeleteContact},
	{"PutCode", testCancelledPutCode},
	{"GetCode", testCancelledGetCode},
	{"ConsumeCode", testCancelledConsumeCode},
	{"AddCodeFailure", testCancelledAddCodeFailure},
	{"LinkOAuth", testCancelledLinkOAuth},
	{"UnlinkOAuth", testCancelledUnlinkOAuth},
	{"ListOAuth", testCancelledListOAuth},
}

var concurrentTests = []test{
	{"ConsumeOneWinner", testConcurrentConsume},
	{"AddNonceFailure", testConcurrentAddFailure},
	{"CreateDistinct", testConcurrentCreateDistinct},
	{"CreateSameValue", testConcurrentCreateSame},
	{"IncrementCounter", testConcurrentIncrement},
	{"RotateRefreshOneWinner", testConcurrentRotate},
	{"RotateRevoke", testConcurrentRotateRevoke},
	{"CreateSessionSameID", testConcurrentCreateSession},
	{"CreateUserSameAddress", testConcurrentCreateUser},
	{"UseTOTPStepOneWinner", testConcurrentUseTOTPStep},
	{"UseTOTPStepRising", testConcurrentUseTOTPStepRising},
	{"ResealTOTPOneWinner", testConcurrentResealTOTP},
	{"UseRecoveryCodeOneWinner", testConcurrentUseRecoveryCode},
	{"UseRecoveryCodesDistinct", testConcurrentUseRecoveryCodes},
	{"ReplaceRecoveryCodesWhileUsed", testConcurrentReplaceRecoveryCodes},
}

var closeTests = []test{
	{"CallsFail", testCloseCallsFail},
}

// newNonce returns a live nonce issued at base.
func newNonce(value string) store.Nonce {
	return store.Nonce{
		Value:     value,
		Address:   address,
		ChainID:   1,
		IssuedAt:  base,
		ExpiresAt: base.Add(ttl),
	}
}

// nonceValue returns a distinct valid nonce value for i.
func nonceValue(i int) string { return fmt.Sprintf("nonce%08d", i) }

func create(t *testing.T, s store.Store, n store.Nonce, now time.Time) {
	t.Helper()
	if err := s.CreateNonce(t.Context(), n, now); err != nil {
		t.Fatalf("CreateNonce(%q) = %v, want nil", n.Value, err)
	}
}

func get(t *testing.T, s store.Store, value string, now time.Time) store.Nonce {
	t.Helper()
	n, err := s.GetNonce(t.Context(), value, now)
	if err != nil {
		t.Fatalf("GetNonce(%q) = %v, want nil", value, err)
	}
	return n
}

func wantNotFound(t *testing.T, s store.Store, value string, now time.Time) {
	t.Helper()
	if n, err := s.GetNonce(t.Context(), value, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetNonce(%q) = %+v, %v; want ErrNotFound", value, n, err)
	}
}

func wantErrIs(t *testing.T, call string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s = %v, want an error wrapping %v", call, err, target)
	}
}

// sameNonce reports whether a and b are equal field by field, times compared with Equal.
func sameNonce(a, b store.Nonce) bool {
	return a.Value == b.Value && a.Address == b.Address && a.ChainID == b.ChainID &&
		a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.Failures == b.Failures
}

func wantNonce(t *testing.T, call string, got, want store.Nonce) {
	t.Helper()
	if !sameNonce(got, want) {
		t.Errorf("%s = %+v\nwant %+v", call, got, want)
	}
}

func testNonceRoundTrip(t *testing.T, s store.Store) {
	// A zone other than UTC, and nanoseconds everywhere: a store keeps the instant exactly.
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	n := store.Nonce{
		Value:     "RoundTrip42abc",
		Address:   address,
		ChainID:   8453,
		IssuedAt:  base.Add(-time.Second).In(zone),
		ExpiresAt: base.Add(ttl + 1).In(zone),
		Failures:  2,
	}
	create(t, s, n, base)
	wantNonce(t, "GetNonce", get(t, s, n.Value, base), n)
	// Just before expiry the nonce is still live.
	wantNonce(t, "GetNonce just before expiry", get(t, s, n.Value, n.ExpiresAt.Add(-1)), n)
	got, err := s.ConsumeNonce(t.Context(), n.Value, base)
	if err != nil {
		t.Fatalf("ConsumeNonce = %v, want nil", err)
	}
	wantNonce(t, "ConsumeNonce", got, n)
}

func testNonceRoundTripEdgeValues(t *testing.T, s store.Store) {
	tests := []store.Nonce{
		// No address, no chain, no issue time: unbound nonce.
		{Value: "unbound01", ExpiresAt: base.Add(ttl)},
		// The largest chain id a uint64 holds.
		{Value: "maxChain01", Address: address, ChainID: math.MaxUint64, IssuedAt: base, ExpiresAt: base.Add(ttl)},
		// Chain id with the top bit set but not all ones.
		{Value: "topBitChain", ChainID: 1<<63 + 5, IssuedAt: base, ExpiresAt: base.Add(time.Nanosecond)},
		// Many failures already; a long lifetime.
		{Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA0123456789", Address: address, ChainID: 11155111, IssuedAt: base, ExpiresAt: base.Add(240 * time.Hour), Failures: 1000},
	}
	for _, n := range tests {
		create(t, s, n, base)
	}
	for _, n := range tests {
		wantNonce(t, fmt.Sprintf("GetNonce(%q)", n.Value), get(t, s, n.Value, base), n)
	}
}

func testNonceCreateConflict(t *testing.T, s store.Store) {
	n := newNonce("conflict01")
	create(t, s, n, base)
	other := n
	other.Address = ""
	other.ChainID = 10
	other.ExpiresAt = base.Add(2 * ttl)
	wantErrIs(t, "CreateNonce of a live value", s.CreateNonce(t.Context(), other, base.Add(time.Minute)), store.ErrConflict)
	// Just before expiry it is still live.
	wantErrIs(t, "CreateNonce of a value live for 1ns more", s.CreateNonce(t.Context(), other, n.ExpiresAt.Add(-1)), store.ErrConflict)
	// The original is untouched.
	wantNonce(t, "GetNonce after conflict", get(t, s, n.Value, base), n)
}

func testNonceCreateOverExpired(t *testing.T, s store.Store) {
	old := newNonce("reused0001")
	create(t, s, old, base)
	if _, err := s.AddNonceFailure(t.Context(), old.Value, base); err != nil {
		t.Fatalf("AddNonceFailure = %v, want nil", err)
	}
	// At the old record's expiry it no longer exists, so the value can be issued again; nothing of
	// the old record (its failures, its binding) carries over.
	now := old.ExpiresAt
	n := store.Nonce{Value: old.Value, ChainID: 137, IssuedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.CreateNonce(t.Context(), n, now); err != nil {
		t.Fatalf("CreateNonce over an expired record = %v, want nil", err)
	}
	wantNonce(t, "GetNonce", get(t, s, n.Value, now), n)
	// And the new record is live: a third create conflicts.
	wantErrIs(t, "CreateNonce over the new record", s.CreateNonce(t.Context(), old, now), store.ErrConflict)
}

func testNonceCreateInvalid(t *testing.T, s store.Store) {
	empty := newNonce("")
	wantErrIs(t, "CreateNonce with an empty Value", s.CreateNonce(t.Context(), empty, base), store.ErrInvalid)
	noExpiry := newNonce("noExpiry01")
	noExpiry.ExpiresAt = time.Time{}
	wantErrIs(t, "CreateNonce with a zero ExpiresAt", s.CreateNonce(t.Context(), noExpiry, base), store.ErrInvalid)
	wantNotFound(t, s, "", base)
	wantNotFound(t, s, noExpiry.Value, base)
}

func testNonceExpiredIsNotFound(t *testing.T, s store.Store) {
	n := newNonce("expiring01")
	create(t, s, n, base)
	for _, now := range []time.Time{n.ExpiresAt, n.ExpiresAt.Add(1), n.ExpiresAt.Add(time.Hour)} {
		at := now.Sub(n.ExpiresAt)
		if got, err := s.GetNonce(t.Context(), n.Value, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetNonce at expiry+%v = %+v, %v; want ErrNotFound", at, got, err)
		}
		if c, err := s.AddNonceFailure(t.Context(), n.Value, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddNonceFailure at expiry+%v = %d, %v; want ErrNotFound", at, c, err)
		}
		if got, err := s.ConsumeNonce(t.Context(), n.Value, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ConsumeNonce at expiry+%v = %+v, %v; want ErrNotFound", at, got, err)
		}
	}
}

func testNonceAbsent(t *testing.T, s store.Store) {
	create(t, s, newNonce("present001"), base)
	const v = "absent0001"
	if got, err := s.GetNonce(t.Context(), v, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetNonce(absent) = %+v, %v; want ErrNotFound", got, err)
	}
	if got, err := s.ConsumeNonce(t.Context(), v, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeNonce(absent) = %+v, %v; want ErrNotFound", got, err)
	}
	if c, err := s.AddNonceFailure(t.Context(), v, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddNonceFailure(absent) = %d, %v; want ErrNotFound", c, err)
	}
	// Lookups are exact: no prefix or case folding.
	for _, v := range []string{"present00", "present0010", "PRESENT001", "Present001"} {
		wantNotFound(t, s, v, base)
	}
}

func testNonceConsumeOnce(t *testing.T, s store.Store) {
	n := newNonce("consume001")
	create(t, s, n, base)
	got, err := s.ConsumeNonce(t.Context(), n.Value, base.Add(time.Second))
	if err != nil {
		t.Fatalf("ConsumeNonce = %v, want nil", err)
	}
	wantNonce(t, "ConsumeNonce", got, n)
	if got, err := s.ConsumeNonce(t.Context(), n.Value, base.Add(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second ConsumeNonce = %+v, %v; want ErrNotFound", got, err)
	}
	wantNotFound(t, s, n.Value, base.Add(time.Second))
	if c, err := s.AddNonceFailure(t.Context(), n.Value, base.Add(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddNonceFailure after consume = %d, %v; want ErrNotFound", c, err)
	}
	// A consumed value can be issued again.
	create(t, s, n, base.Add(time.Second))
}

func testNonceGetDoesNotConsume(t *testing.T, s store.Store) {
	n := newNonce("getTwice01")
	create(t, s, n, base)
	for range 3 {
		wantNonce(t, "GetNonce", get(t, s, n.Value, base), n)
	}
	got, err := s.ConsumeNonce(t.Context(), n.Value, base)
	if err != nil {
		t.Fatalf("ConsumeNonce after GetNonce = %v, want nil", err)
	}
	wantNonce(t, "ConsumeNonce", got, n)
}

func testNonceAddFailure(t *testing.T, s store.Store) {
	n := newNonce("failures01")
	create(t, s, n, base)
	other := newNonce("failures02")
	create(t, s, other, base)
	for want := 1; want <= 3; want++ {
		c, err := s.AddNonceFailure(t.Context(), n.Value, base.Add(time.Duration(want)*time.Second))
		if err != nil || c != want {
			t.Fatalf("AddNonceFailure #%d = %d, %v; want %d, nil", want, c, err, want)
		}
		if got := get(t, s, n.Value, base); got.Failures != want {
			t.Errorf("GetNonce after %d failures: Failures = %d", want, got.Failures)
		}
	}
	// Only the failures changed, and only on that nonce.
	want := n
	want.Failures = 3
	wantNonce(t, "GetNonce", get(t, s, n.Value, base), want)
	wantNonce(t, "GetNonce of another nonce", get(t, s, other.Value, base), other)
	got, err := s.ConsumeNonce(t.Context(), n.Value, base)
	if err != nil {
		t.Fatalf("ConsumeNonce = %v, want nil", err)
	}
	wantNonce(t, "ConsumeNonce", got, want)
}

func testNonceDelete(t *testing.T, s store.Store) {
	if err := s.DeleteNonce(t.Context(), "neverIssued"); err != nil {
		t.Errorf("DeleteNonce(absent) = %v, want nil", err)
	}
	n := newNonce("delete0001")
	create(t, s, n, base)
	keep := newNonce("delete0002")
	create(t, s, keep, base)
	for i := range 2 {
		if err := s.DeleteNonce(t.Context(), n.Value); err != nil {
			t.Errorf("DeleteNonce #%d = %v, want nil", i+1, err)
		}
	}
	wantNotFound(t, s, n.Value, base)
	if _, err := s.ConsumeNonce(t.Context(), n.Value, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeNonce after delete = %v, want ErrNotFound", err)
	}
	wantNonce(t, "GetNonce of another nonce", get(t, s, keep.Value, base), keep)
	// A deleted value can be issued again.
	create(t, s, n, base)
}

func testNonceDeleteExpired(t *testing.T, s store.Store) {
	n := newNonce("delExpired")
	create(t, s, n, base)
	later := n.ExpiresAt.Add(time.Minute)
	wantNotFound(t, s, n.Value, later)
	if err := s.DeleteNonce(t.Context(), n.Value); err != nil {
		t.Errorf("DeleteNonce(expired) = %v, want nil", err)
	}
	if err := s.DeleteNonce(t.Context(), n.Value); err != nil {
		t.Errorf("DeleteNonce(expired) again = %v, want nil", err)
	}
	// Another, never looked up after its expiry, whose deletion the store cannot tell from a live
	// one's: the record is gone even for a caller whose clock says it would still be live.
	m := newNonce("delExpire2")
	create(t, s, m, base)
	if err := s.DeleteNonce(t.Context(), m.Value); err != nil {
		t.Errorf("DeleteNonce = %v, want nil", err)
	}
	wantNotFound(t, s, m.Value, base)
}

func increment(t *testing.T, s store.Store, key string, window time.Duration, now time.Time, wantCount int64, wantReset time.Time) {
	t.Helper()
	c, r, err := s.IncrementCounter(t.Context(), key, window, now)
	if err != nil || c != wantCount || !r.Equal(wantReset) {
		t.Fatalf("IncrementCounter(%q, %v, base+%v) = %d, %v, %v; want %d, %v, nil",
			key, window, now.Sub(base), c, r, err, wantCount, wantReset)
	}
}

func testCounterWindow(t *testing.T, s store.Store) {
	const key = "rate:ip:192.0.2.1"
	w := time.Minute
	end := base.Add(w)
	increment(t, s, key, w, base, 1, end)
	increment(t, s, key, w, base.Add(30*time.Second), 2, end)
	increment(t, s, key, w, end.Add(-1), 3, end)
	// At the end of the window (resetAt <= now) a new one starts at now.
	increment(t, s, key, w, end, 1, end.Add(w))
	increment(t, s, key, w, end.Add(time.Second), 2, end.Add(w))
	// Long after: a new window starts at that call, not aligned to the old ones.
	late := end.Add(time.Hour + 7*time.Nanosecond)
	increment(t, s, key, w, late, 1, late.Add(w))
	increment(t, s, key, w, late, 2, late.Add(w))
}

func testCounterWindowFixedAtStart(t *testing.T, s store.Store) {
	const key = "attempts:user:1"
	end := base.Add(time.Minute)
	increment(t, s, key, time.Minute, base, 1, end)
	// A different window on a later call does not move the running window's end.
	increment(t, s, key, time.Hour, base.Add(time.Second), 2, end)
	increment(t, s, key, time.Nanosecond, base.Add(2*time.Second), 3, end)
	// The next window has the length given by the call that starts it.
	increment(t, s, key, time.Hour, end, 1, end.Add(time.Hour))
}

func testCounterIndependentKeys(t *testing.T, s store.Store) {
	w := time.Minute
	increment(t, s, "a", w, base, 1, base.Add(w))
	increment(t, s, "a", w, base, 2, base.Add(w))
	increment(t, s, "b", w, base.Add(time.Second), 1, base.Add(time.Second+w))
	increment(t, s, "a", w, base.Add(2*time.Second), 3, base.Add(w))
	increment(t, s, "A", 2*w, base.Add(3*time.Second), 1, base.Add(3*time.Second+2*w))
	increment(t, s, "b", w, base.Add(4*time.Second), 2, base.Add(time.Second+w))
	if err := s.ResetCounter(t.Context(), "a"); err != nil {
		t.Fatalf("ResetCounter = %v, want nil", err)
	}
	increment(t, s, "b", w, base.Add(5*time.Second), 3, base.Add(time.Second+w))
	increment(t, s, "A", w, base.Add(5*time.Second), 2, base.Add(3*time.Second+2*w))
}

func testCounterReset(t *testing.T, s store.Store) {
	const key = "reset:key"
	w := time.Minute
	if err := s.ResetCounter(t.Context(), key); err != nil {
		t.Errorf("ResetCounter(absent) = %v, want nil", err)
	}
	increment(t, s, key, w, base, 1, base.Add(w))
	increment(t, s, key, w, base, 2, base.Add(w))
	for i := range 2 {
		if err := s.ResetCounter(t.Context(), key); err != nil {
			t.Errorf("ResetCounter #%d = %v, want nil", i+1, err)
		}
	}
	// Counting restarts, with a new window from now.
	now := base.Add(10 * time.Second)
	increment(t, s, key, w, now, 1, now.Add(w))
	increment(t, s, key, w, now, 2, now.Add(w))
}

func testCounterInvalidWindow(t *testing.T, s store.Store) {
	const key = "invalid:window"
	for _, w := range []time.Duration{0, -1, -time.Minute} {
		c, r, err := s.IncrementCounter(t.Context(), key, w, base)
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("IncrementCounter(window %v) = %d, %v, %v; want ErrInvalid", w, c, r, err)
		}
	}
	// Nothing was counted.
	increment(t, s, key, time.Minute, base, 1, base.Add(time.Minute))
	// Also not on a running counter.
	if _, _, err := s.IncrementCounter(t.Context(), key, 0, base); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("IncrementCounter(window 0) on a live counter = %v; want ErrInvalid", err)
	}
	increment(t, s, key, time.Minute, base, 2, base.Add(time.Minute))
}

// cancelled returns a context that is already cancelled.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

func wantCanceled(t *testing.T, call string, err error) {
	t.Helper()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s with a cancelled context = %v, want an error wrapping context.Canceled", call, err)
	}
}

func testCancelledCreateNonce(t *testing.T, s store.Store) {
	n := newNonce("cancelled1")
	wantCanceled(t, "CreateNonce", s.CreateNonce(cancelled(t), n, base))
	wantNotFound(t, s, n.Value, base)
	// Not over an expired record either.
	create(t, s, n, base)
	later := n.ExpiresAt
	m := store.Nonce{Value: n.Value, IssuedAt: later, ExpiresAt: later.Add(ttl)}
	wantCanceled(t, "CreateNonce over an expired record", s.CreateNonce(cancelled(t), m, later))
	wantNotFound(t, s, n.Value, later)
}

func testCancelledGetNonce(t *testing.T, s store.Store) {
	n := newNonce("cancelled2")
	create(t, s, n, base)
	_, err := s.GetNonce(cancelled(t), n.Value, base)
	wantCanceled(t, "GetNonce", err)
	_, err = s.GetNonce(cancelled(t), "absent0001", base)
	wantCanceled(t, "GetNonce(absent)", err)
	wantNonce(t, "GetNonce", get(t, s, n.Value, base), n)
}

func testCancelledConsumeNonce(t *testing.T, s store.Store) {
	n := newNonce("cancelled3")
	create(t, s, n, base)
	_, err := s.ConsumeNonce(cancelled(t), n.Value, base)
	wantCanceled(t, "ConsumeNonce", err)
	// Not consumed.
	got, err := s.ConsumeNonce(t.Context(), n.Value, base)
	if err != nil {
		t.Fatalf("ConsumeNonce after a cancelled one = %v, want nil", err)
	}
	wantNonce(t, "ConsumeNonce", got, n)
}

func testCancelledAddNonceFailure(t *testing.T, s store.Store) {
	n := newNonce("cancelled4")
	create(t, s, n, base)
	_, err := s.AddNonceFailure(cancelled(t), n.Value, base)
	wantCanceled(t, "AddNonceFailure", err)
	wantNonce(t, "GetNonce", get(t, s, n.Value, base), n)
	if c, err := s.AddNonceFailure(t.Context(), n.Value, base); err != nil || c != 1 {
		t.Errorf("AddNonceFailure after a cancelled one = %d, %v; want 1, nil", c, err)
	}
}

func testCancelledDeleteNonce(t *testing.T, s store.Store) {
	n := newNonce("cancelled5")
	create(t, s, n, base)
	wantCanceled(t, "DeleteNonce", s.DeleteNonce(cancelled(t), n.Value))
	wantNonce(t, "GetNonce", get(t, s, n.Value, base), n)
}

func testCancelledIncrementCounter(t *testing.T, s store.Store) {
	const key = "cancelled:counter"
	w := time.Minute
	_, _, err := s.IncrementCounter(cancelled(t), key, w, base)
	wantCanceled(t, "IncrementCounter(absent)", err)
	increment(t, s, key, w, base, 1, base.Add(w))
	_, _, err = s.IncrementCounter(cancelled(t), key, w, base)
	wantCanceled(t, "IncrementCounter", err)
	increment(t, s, key, w, base, 2, base.Add(w))
	// Nor does a cancelled call start a new window.
	_, _, err = s.IncrementCounter(cancelled(t), key, w, base.Add(w))
	wantCanceled(t, "IncrementCounter at the window's end", err)
	increment(t, s, key, w, base.Add(w-1), 3, base.Add(w))
}

func testCancelledResetCounter(t *testing.T, s store.Store) {
	const key = "cancelled:reset"
	w := time.Minute
	increment(t, s, key, w, base, 1, base.Add(w))
	wantCanceled(t, "ResetCounter", s.ResetCounter(cancelled(t), key))
	increment(t, s, key, w, base, 2, base.Add(w))
}

// race runs f(i) for i in [0, n) on n goroutines released together.
func race(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

func testConcurrentConsume(t *testing.T, s store.Store) {
	const n = 100
	nonce := newNonce("raceConsume")
	create(t, s, nonce, base)
	errs := make([]error, n)
	got := make([]store.Nonce, n)
	race(n, func(i int) {
		got[i], errs[i] = s.ConsumeNonce(t.Context(), nonce.Value, base)
	})
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			wantNonce(t, "winning ConsumeNonce", got[i], nonce)
		case errors.Is(err, store.ErrNotFound):
		default:
			t.Errorf("ConsumeNonce #%d = %v, want nil or ErrNotFound", i, err)
		}
	}
	if winners != 1 {
		t.Errorf("%d of %d concurrent ConsumeNonce calls succeeded, want exactly 1", winners, n)
	}
	wantNotFound(t, s, nonce.Value, base)
}

func testConcurrentAddFailure(t *testing.T, s store.Store) {
	const n = 50
	nonce := newNonce("raceFailure")
	create(t, s, nonce, base)
	counts := make([]int, n)
	race(n, func(i int) {
		c, err := s.AddNonceFailure(t.Context(), nonce.Value, base)
		if err != nil {
			t.Errorf("AddNonceFailure #%d = %v, want nil", i, err)
		}
		counts[i] = c
	})
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("concurrent AddNonceFailure returned counts %v, want each of 1..%d once", counts, n)
		}
	}
	if got := get(t, s, nonce.Value, base); got.Failures != n {
		t.Errorf("Failures after %d concurrent AddNonceFailure = %d", n, got.Failures)
	}
}

func testConcurrentCreateDistinct(t *testing.T, s store.Store) {
	const n = 100
	race(n, func(i int) {
		if err := s.CreateNonce(t.Context(), newNonce(nonceValue(i)), base); err != nil {
			t.Errorf("concurrent CreateNonce #%d = %v, want nil", i, err)
		}
	})
	for i := range n {
		wantNonce(t, "GetNonce", get(t, s, nonceValue(i), base), newNonce(nonceValue(i)))
	}
}

func testConcurrentCreateSame(t *testing.T, s store.Store) {
	const n = 50
	errs := make([]error, n)
	race(n, func(i int) {
		nonce := newNonce("raceCreate")
		nonce.ChainID = uint64(i + 1)
		errs[i] = s.CreateNonce(t.Context(), nonce, base)
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("concurrent CreateNonce of one value: #%d and #%d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("CreateNonce #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no concurrent CreateNonce of one value succeeded")
	}
	if got := get(t, s, "raceCreate", base); got.ChainID != uint64(winner+1) {
		t.Errorf("stored ChainID = %d, want the winner's %d", got.ChainID, winner+1)
	}
}

func testConcurrentIncrement(t *testing.T, s store.Store) {
	const n = 100
	const key = "race:counter"
	w := time.Minute
	counts := make([]int64, n)
	race(n, func(i int) {
		c, r, err := s.IncrementCounter(t.Context(), key, w, base)
		if err != nil || !r.Equal(base.Add(w)) {
			t.Errorf("concurrent IncrementCounter #%d = %d, %v, %v; want resetAt %v, nil", i, c, r, err, base.Add(w))
		}
		counts[i] = c
	})
	slices.Sort(counts)
	for i, c := range counts {
		if c != int64(i+1) {
			t.Fatalf("concurrent IncrementCounter returned counts %v, want each of 1..%d once", counts, n)
		}
	}
	increment(t, s, key, w, base.Add(time.Second), n+1, base.Add(w))
}

func testCloseCallsFail(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, newNonce("beforeClose"), base)
	createKey(t, s, newKey("beforeClose", base))
	createSession(t, s, newSession("beforeClose", "user"))
	createUser(t, s, newUser("beforeClose", address, address3))
	setMetadata(t, s, "beforeClose", "public", []byte(`{"k":1}`))
	putTOTP(t, s, newTOTP("beforeClose"))
	codes := codeHashes("beforeClose", 2)
	replaceCodes(t, s, "beforeClose", codes, base)
	contact := addContact(t, s, newContact("beforeClose", "email", "a@example.com"))
	addContact(t, s, newContact("beforeClose", "email", "b@example.com"))
	verifyContact(t, s, "beforeClose", "email", "b@example.com", base)
	code := newCode("beforeClose", "123456")
	putCode(t, s, code, base)
	account := newOAuth("beforeClose", "github", "42")
	linkOAuth(t, s, account)
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	closed := func(method string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want store.ErrClosed", method, err)
		}
	}
	closed("CreateNonce", s.CreateNonce(ctx, newNonce("afterClose1"), base))
	_, err := s.GetNonce(ctx, "beforeClose", base)
	closed("GetNonce", err)
	_, err = s.ConsumeNonce(ctx, "beforeClose", base)
	closed("ConsumeNonce", err)
	_, err = s.AddNonceFailure(ctx, "beforeClose", base)
	closed("AddNonceFailure", err)
	closed("DeleteNonce", s.DeleteNonce(ctx, "beforeClose"))
	_, _, err = s.IncrementCounter(ctx, "k", time.Minute, base)
	closed("IncrementCounter", err)
	closed("ResetCounter", s.ResetCounter(ctx, "k"))

	closed("CreateKey", s.CreateKey(ctx, newKey("afterClose", base)))
	_, err = s.ListKeys(ctx, base)
	closed("ListKeys", err)
	closed("DeleteKey", s.DeleteKey(ctx, "beforeClose"))

	v := newSession("beforeClose", "user")
	closed("CreateSession", s.CreateSession(ctx, newSession("afterClose", "user")))
	_, err = s.GetSession(ctx, v.ID, base)
	closed("GetSession", err)
	_, err = s.RotateRefresh(ctx, v.ID, v.RefreshHash, hash("new"), retiredHashes(v.ID, 1), base.Add(idleTTL), base)
	closed("RotateRefresh", err)
	closed("RevokeSession", s.RevokeSession(ctx, v.ID, base))
	_, err = s.RevokeUserSessions(ctx, v.UserID, "", base)
	closed("RevokeUserSessions", err)
	_, err = s.ListSessions(ctx, v.UserID, base)
	closed("ListSessions", err)
	_, err = s.RevokedSince(ctx, base, base)
	closed("RevokedSince", err)

	closed("CreateUser", s.CreateUser(ctx, newUser("afterClose", address2)))
	_, err = s.GetUser(ctx, "beforeClose")
	closed("GetUser", err)
	_, err = s.UserByWallet(ctx, address)
	closed("UserByWallet", err)
	closed("LinkWallet", s.LinkWallet(ctx, "beforeClose", store.Wallet{Address: address4, ChainID: 1, LinkedAt: base}))
	closed("UnlinkWallet", s.UnlinkWallet(ctx, "beforeClose", address3))

	_, err = s.GetMetadata(ctx, "beforeClose")
	closed("GetMetadata", err)
	closed("SetMetadata", s.SetMetadata(ctx, "beforeClose", "private", []byte(`{"k":2}`), base))
	closed("SetMetadata deleting", s.SetMetadata(ctx, "beforeClose", "public", nil, base))

	closed("PutTOTP", s.PutTOTP(ctx, newTOTP("afterClose")))
	_, err = s.GetTOTP(ctx, "beforeClose")
	closed("GetTOTP", err)
	_, err = s.UseTOTPStep(ctx, "beforeClose", newTOTP("beforeClose").Secret, step0, base)
	closed("UseTOTPStep", err)
	closed("ResealTOTP", s.ResealTOTP(ctx, "beforeClose", newTOTP("beforeClose").Secret, hash("new"), "mfa-key-2"))
	closed("DeleteTOTP", s.DeleteTOTP(ctx, "beforeClose"))
	closed("ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, "beforeClose", codeHashes("afterClose", 2), base))
	closed("UseRecoveryCode", s.UseRecoveryCode(ctx, "beforeClose", codes[0]))
	_, err = s.CountRecoveryCodes(ctx, "beforeClose")
	closed("CountRecoveryCodes", err)

	_, err = s.AddContact(ctx, newContact("afterClose", "email", "a@example.com"))
	closed("AddContact", err)
	_, err = s.AddContact(ctx, contact)
	closed("AddContact of a held contact", err)
	_, err = s.ListContacts(ctx, "beforeClose")
	closed("ListContacts", err)
	_, err = s.VerifyContact(ctx, "beforeClose", "email", contact.Value, base)
	closed("VerifyContact", err)
	closed("SetPrimaryContact", s.SetPrimaryContact(ctx, "beforeClose", "email", "b@example.com"))
	closed("DeleteContact", s.DeleteContact(ctx, "beforeClose", "email", contact.Value))

	closed("PutCode", s.PutCode(ctx, newCode("afterClose", "123456"), base))
	_, err = s.GetCode(ctx, code.Key, base)
	closed("GetCode", err)
	closed("ConsumeCode", s.ConsumeCode(ctx, code.Key, code.Hash, base))
	_, err = s.AddCodeFailure(ctx, code.Key, 5, base)
	closed("AddCodeFailure", err)

	closed("LinkOAuth", s.LinkOAuth(ctx, newOAuth("afterClose", "google", "7")))
	closed("LinkOAuth of a linked account", s.LinkOAuth(ctx, account))
	closed("UnlinkOAuth", s.UnlinkOAuth(ctx, account.UserID, account.Provider))
	closed("UnlinkOAuth(absent)", s.UnlinkOAuth(ctx, account.UserID, "google"))
	_, err = s.ListOAuth(ctx, account.UserID)
	closed("ListOAuth", err)
}

func testCancelledCreateKey(t *testing.T, s store.Store) {
	k := newKey("cancelled", base)
	wantCanceled(t, "CreateKey", s.CreateKey(cancelled(t), k))
	if keys := listKeys(t, s, base); len(keys) != 0 {
		t.Errorf("ListKeys after a cancelled CreateKey = %q, want none", keyIDs(keys))
	}
	createKey(t, s, k)
}

func testCancelledListKeys(t *testing.T, s store.Store) {
	k := newKey("cancelled", base)
	createKey(t, s, k)
	_, err := s.ListKeys(cancelled(t), base)
	wantCanceled(t, "ListKeys", err)
	wantKeys(t, "ListKeys", listKeys(t, s, base), []store.SigningKey{k})
}

func testCancelledDeleteKey(t *testing.T, s store.Store) {
	k := newKey("cancelled", base)
	createKey(t, s, k)
	wantCanceled(t, "DeleteKey", s.DeleteKey(cancelled(t), k.ID))
	wantKeys(t, "ListKeys", listKeys(t, s, base), []store.SigningKey{k})
}

func testCancelledCreateSession(t *testing.T, s store.Store) {
	v := newSession("cancelled", "user")
	wantCanceled(t, "CreateSession", s.CreateSession(cancelled(t), v))
	wantNoSession(t, s, v.ID, base)
	if list := listSessions(t, s, v.UserID, base); len(list) != 0 {
		t.Errorf("ListSessions after a cancelled CreateSession = %q, want none", sessionIDs(list))
	}
	createSession(t, s, v)
}

func testCancelledGetSession(t *testing.T, s store.Store) {
	v := newSession("cancelled", "user")
	createSession(t, s, v)
	_, err := s.GetSession(cancelled(t), v.ID, base)
	wantCanceled(t, "GetSession", err)
	_, err = s.GetSession(cancelled(t), "absent", base)
	wantCanceled(t, "GetSession(absent)", err)
	wantSession(t, "GetSession", getSession(t, s, v.ID, base), v)
}

func testCancelledRotateRefresh(t *testing.T, s store.Store) {
	v := newSession("cancelled", "user")
	v.RetiredRefreshHashes = retiredHashes(v.ID, 2)
	createSession(t, s, v)
	now := base.Add(time.Minute)
	_, err := s.RotateRefresh(cancelled(t), v.ID, v.RefreshHash, hash("new"), retiredHashes("lost", 3), now.Add(idleTTL), now)
	wantCanceled(t, "RotateRefresh", err)
	_, err = s.RotateRefresh(cancelled(t), v.ID, hash("wrong"), hash("new"), retiredHashes("lost", 3), now.Add(idleTTL), now)
	wantCanceled(t, "RotateRefresh with a wrong hash", err)
	wantSession(t, "GetSession", getSession(t, s, v.ID, now), v)
	// The old hash still rotates.
	rotate(t, s, v.ID, v.RefreshHash, hash("new"), nil, now.Add(idleTTL), now)
}

func testCancelledRevokeSession(t *testing.T, s store.Store) {
	v := newSession("cancelled", "user")
	createSession(t, s, v)
	wantCanceled(t, "RevokeSession", s.RevokeSession(cancelled(t), v.ID, base))
	wantSession(t, "GetSession", getSession(t, s, v.ID, base), v)
	wantRevocations(t, "RevokedSince", revokedSince(t, s, base, base), nil)
}

func testCancelledRevokeUserSessions(t *testing.T, s store.Store) {
	v := newSession("cancelled", "user")
	createSession(t, s, v)
	n, err := s.RevokeUserSessions(cancelled(t), v.UserID, "", base)
	wantCanceled(t, "RevokeUserSessions", err)
	if n != 0 {
		t.Errorf("RevokeUserSessions with a cancelled context = %d, want 0", n)
	}
	wantSessions(t, "ListSessions", listSessions(t, s, v.UserID, base), []store.Session{v})
}

func testCancelledListSessions(t *testing.T, s store.Store) {
	v := newSession("cancelled", "user")
	createSession(t, s, v)
	_, err := s.ListSessions(cancelled(t), v.UserID, base)
	wantCanceled(t, "ListSessions", err)
	wantSessions(t, "ListSessions", listSessions(t, s, v.UserID, base), []store.Session{v})
}

func testCancelledRevokedSince(t *testing.T, s store.Store) {
	v := newSession("cancelled", "user")
	createSession(t, s, v)
	revoke(t, s, v.ID, base)
	_, err := s.RevokedSince(cancelled(t), base, base)
	wantCanceled(t, "RevokedSince", err)
	wantRevocations(t, "RevokedSince", revokedSince(t, s, base, base), []store.Revocation{revocation(v, base)})
}

func testCancelledCreateUser(t *testing.T, s store.Store) {
	u := newUser("cancelled", address, address2)
	wantCanceled(t, "CreateUser", s.CreateUser(cancelled(t), u))
	wantNoUser(t, s, u.ID)
	wantNoWallet(t, s, address)
	wantNoWallet(t, s, address2)
	createUser(t, s, u)
}

func testCancelledGetUser(t *testing.T, s store.Store) {
	u := newUser("cancelled", address)
	createUser(t, s, u)
	_, err := s.GetUser(cancelled(t), u.ID)
	wantCanceled(t, "GetUser", err)
	_, err = s.GetUser(cancelled(t), "absent")
	wantCanceled(t, "GetUser(absent)", err)
	wantUser(t, "GetUser", getUser(t, s, u.ID), u)
}

func testCancelledUserByWallet(t *testing.T, s store.Store) {
	u := newUser("cancelled", address)
	createUser(t, s, u)
	_, err := s.UserByWallet(cancelled(t), address)
	wantCanceled(t, "UserByWallet", err)
	_, err = s.UserByWallet(cancelled(t), address2)
	wantCanceled(t, "UserByWallet(absent)", err)
	wantUser(t, "UserByWallet", userByWallet(t, s, address), u)
}

// raceRetired is the list of retired hashes that caller i of a race passes: the session's previous
// hash and a hash of the caller's own, so that the stored list tells which caller won.
func raceRetired(v store.Session, i int) [][]byte {
	return [][]byte{v.PrevRefreshHash, hash(fmt.Sprint(v.ID, "/retired", i))[:1+i%32]}
}

func testConcurrentRotate(t *testing.T, s store.Store) {
	const n = 50
	v := newSession("raceRotate", "user")
	v.PrevRefreshHash = hash("raceRotate/prev")
	v.RetiredRefreshHashes = retiredHashes(v.ID, 2)
	createSession(t, s, v)
	now := base.Add(time.Minute)
	errs := make([]error, n)
	got := make([]store.Session, n)
	race(n, func(i int) {
		got[i], errs[i] = s.RotateRefresh(t.Context(), v.ID, v.RefreshHash, hash(fmt.Sprint("raceRotate/new", i)), raceRetired(v, i), now.Add(idleTTL), now)
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("concurrent RotateRefresh with one oldHash: #%d and #%d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("RotateRefresh #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no concurrent RotateRefresh succeeded")
	}
	want := v
	want.PrevRefreshHash = v.RefreshHash
	want.RefreshHash = hash(fmt.Sprint("raceRotate/new", winner))
	want.RetiredRefreshHashes = raceRetired(v, winner)
	want.RotatedAt, want.LastUsedAt = now, now
	want.IdleExpiresAt = now.Add(idleTTL)
	wantSession(t, "winning RotateRefresh", got[winner], want)
	wantSession(t, "GetSession", getSession(t, s, v.ID, now), want)
}

// testConcurrentRotateRevoke races refreshes of a session against its revocation: whatever the
// order, the session ends revoked, at most one refresh wins, and none wins after the revocation.
func testConcurrentRotateRevoke(t *testing.T, s store.Store) {
	const n = 20
	v := newSession("raceRevoke", "user")
	v.PrevRefreshHash = hash("raceRevoke/prev")
	v.RetiredRefreshHashes = retiredHashes(v.ID, 3)
	createSession(t, s, v)
	now := base.Add(time.Minute)
	errs := make([]error, n)
	race(n+1, func(i int) {
		if i == n {
			if err := s.RevokeSession(t.Context(), v.ID, now); err != nil {
				t.Errorf("RevokeSession = %v, want nil", err)
			}
			return
		}
		_, errs[i] = s.RotateRefresh(t.Context(), v.ID, v.RefreshHash, hash(fmt.Sprint("raceRevoke/new", i)), raceRetired(v, i), now.Add(idleTTL), now)
	})
	winners := 0
	want := v // the session as the winner, if any, left it
	want.RevokedAt = now
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			want.PrevRefreshHash, want.RefreshHash = v.RefreshHash, hash(fmt.Sprint("raceRevoke/new", i))
			want.RetiredRefreshHashes = raceRetired(v, i)
			want.RotatedAt, want.LastUsedAt, want.IdleExpiresAt = now, now, now.Add(idleTTL)
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		default:
			t.Errorf("RotateRefresh #%d = %v, want nil, ErrConflict or ErrNotFound", i, err)
		}
	}
	if winners > 1 {
		t.Errorf("%d concurrent RotateRefresh calls with one oldHash succeeded, want at most 1", winners)
	}
	got := getSession(t, s, v.ID, now)
	if !got.RevokedAt.Equal(now) {
		t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, now)
	}
	if winners <= 1 {
		wantSession(t, "GetSession after the race", got, want)
	}
	if _, err := s.RotateRefresh(t.Context(), v.ID, got.RefreshHash, hash("after"), nil, now.Add(idleTTL), now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateRefresh after the revocation = %v, want ErrNotFound", err)
	}
}

func testConcurrentCreateSession(t *testing.T, s store.Store) {
	const n = 50
	errs := make([]error, n)
	race(n, func(i int) {
		v := newSession("raceCreate", fmt.Sprint("user", i))
		errs[i] = s.CreateSession(t.Context(), v)
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("concurrent CreateSession of one ID: #%d and #%d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("CreateSession #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no concurrent CreateSession of one ID succeeded")
	}
	wantSession(t, "GetSession", getSession(t, s, "raceCreate", base), newSession("raceCreate", fmt.Sprint("user", winner)))
	for i := range n {
		want := 0
		if i == winner {
			want = 1
		}
		if list := listSessions(t, s, fmt.Sprint("user", i), base); len(list) != want {
			t.Errorf("ListSessions(user%d) = %q, want %d sessions", i, sessionIDs(list), want)
		}
	}
}

// testConcurrentCreateUser has users with wallets of their own race for one shared address (each
// in a case of its own): exactly one is stored, and the others' own wallets are not claimed.
func testConcurrentCreateUser(t *testing.T, s store.Store) {
	const n = 50
	own := func(i int) string { return fmt.Sprintf("0x%040x", i+1) }
	shared := func(i int) string {
		b := []byte(address)
		for j := 2; j < len(b); j++ { // flip the case of letters as the bits of i say
			if c := b[j]; ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F') && i>>(j%6)&1 == 1 {
				b[j] = c ^ 0x20
			}
		}
		return string(b)
	}
	errs := make([]error, n)
	race(n, func(i int) {
		errs[i] = s.CreateUser(t.Context(), newUser(fmt.Sprint("user", i), own(i), shared(i)))
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("concurrent CreateUser with one address: #%d and #%d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("CreateUser #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no concurrent CreateUser succeeded")
	}
	want := newUser(fmt.Sprint("user", winner), own(winner), shared(winner))
	wantUser(t, "UserByWallet(shared)", userByWallet(t, s, address), want)
	for i := range n {
		if i == winner {
			wantUser(t, "GetUser", getUser(t, s, want.ID), want)
			wantUser(t, "UserByWallet(own)", userByWallet(t, s, own(i)), want)
			continue
		}
		wantNoUser(t, s, fmt.Sprint("user", i))
		wantNoWallet(t, s, own(i))
	}
}
