package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

var mfaTests = []test{
	{"TOTPRoundTrip", testTOTPRoundTrip},
	{"TOTPRoundTripEdgeValues", testTOTPRoundTripEdgeValues},
	{"TOTPCopies", testTOTPCopies},
	{"TOTPAbsent", testTOTPAbsent},
	{"PutReplacesUnconfirmed", testTOTPPutReplacesUnconfirmed},
	{"PutConflictConfirmed", testTOTPPutConflictConfirmed},
	{"PutInvalid", testTOTPPutInvalid},
	{"UseStep", testTOTPUseStep},
	{"UseStepFromLastStep", testTOTPUseStepFromLastStep},
	{"UseStepInvalid", testTOTPUseStepInvalid},
	{"UseStepOtherSecret", testTOTPUseStepOtherSecret},
	{"UseStepAfterReplace", testTOTPUseStepAfterReplace},
	{"Reseal", testTOTPReseal},
	{"ResealInvalid", testTOTPResealInvalid},
	{"ResealStale", testTOTPResealStale},
	{"Delete", testTOTPDelete},
	{"RecoveryCodesUseOnce", testRecoveryCodesUseOnce},
	{"RecoveryCodesAbsent", testRecoveryCodesAbsent},
	{"RecoveryCodesReplace", testRecoveryCodesReplace},
	{"RecoveryCodesEmptyReplace", testRecoveryCodesEmptyReplace},
	{"RecoveryCodesOtherUsers", testRecoveryCodesOtherUsers},
	{"RecoveryCodesValues", testRecoveryCodesValues},
	{"RecoveryCodesCopies", testRecoveryCodesCopies},
	{"RecoveryCodesInvalid", testRecoveryCodesInvalid},
}

// step0 is the RFC 6238 time step (30 s from the Unix epoch) of base.
var step0 = base.Unix() / 30

// newTOTP returns an unconfirmed factor of user enrolled at base, its secret sealed (as far as
// the suite can tell) with the key "mfa-key-1".
func newTOTP(user string) store.TOTP {
	return store.TOTP{
		UserID:    user,
		Secret:    append([]byte{0x01, 0x00, 0xff}, hash(user+"/totp-secret")...),
		KeyID:     "mfa-key-1",
		CreatedAt: base,
	}
}

func putTOTP(t *testing.T, s store.Store, f store.TOTP) {
	t.Helper()
	if err := s.PutTOTP(t.Context(), f); err != nil {
		t.Fatalf("PutTOTP(%q) = %v, want nil", f.UserID, err)
	}
}

func getTOTP(t *testing.T, s store.Store, user string) store.TOTP {
	t.Helper()
	f, err := s.GetTOTP(t.Context(), user)
	if err != nil {
		t.Fatalf("GetTOTP(%q) = %v, want nil", user, err)
	}
	return f
}

func wantNoTOTP(t *testing.T, s store.Store, user string) {
	t.Helper()
	if f, err := s.GetTOTP(t.Context(), user); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTOTP(%q) = %+v, %v; want ErrNotFound", user, f, err)
	}
}

// useStep calls UseTOTPStep with the sealed secret of the caller's check and fails the test
// unless it succeeds.
func useStep(t *testing.T, s store.Store, user string, secret []byte, step int64, now time.Time) store.TOTP {
	t.Helper()
	f, err := s.UseTOTPStep(t.Context(), user, secret, step, now)
	if err != nil {
		t.Fatalf("UseTOTPStep(%q, step0%+d, base+%v) = %v, want nil", user, step-step0, now.Sub(base), err)
	}
	return f
}

// wantStepErr calls UseTOTPStep and checks that it fails with target.
func wantStepErr(t *testing.T, s store.Store, user string, secret []byte, step int64, now time.Time, target error) {
	t.Helper()
	f, err := s.UseTOTPStep(t.Context(), user, secret, step, now)
	if !errors.Is(err, target) {
		t.Errorf("UseTOTPStep(%q, step %d, base+%v) = %+v, %v; want %v", user, step, now.Sub(base), f, err, target)
	}
}

// otherSecrets returns sealed secrets that are not secret, yet close to it: nil, empty, a prefix,
// an extension, one bit flipped, and another user's.
func otherSecrets(secret []byte) [][]byte {
	flipped := bytes.Clone(secret)
	flipped[len(flipped)-1] ^= 1
	return [][]byte{nil, {}, secret[:len(secret)-1], append(bytes.Clone(secret), 0), flipped, newTOTP("someone else").Secret}
}

// sameTOTP reports whether a and b are equal field by field, times compared with Equal.
func sameTOTP(a, b store.TOTP) bool {
	return a.UserID == b.UserID && bytes.Equal(a.Secret, b.Secret) && a.KeyID == b.KeyID &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ConfirmedAt.Equal(b.ConfirmedAt) && a.LastStep == b.LastStep
}

func wantTOTP(t *testing.T, call string, got, want store.TOTP) {
	t.Helper()
	if !sameTOTP(got, want) {
		t.Errorf("%s = %+v\nwant %+v", call, got, want)
	}
}

// confirmed returns f as UseTOTPStep leaves it when it accepts step at now.
func confirmed(f store.TOTP, step int64, now time.Time) store.TOTP {
	if f.ConfirmedAt.IsZero() {
		f.ConfirmedAt = now
	}
	f.LastStep = step
	return f
}

// codeHashes returns n recovery code hashes made from prefix, as the mfa package would store them.
func codeHashes(prefix string, n int) [][]byte {
	list := make([][]byte, n)
	for i := range list {
		list[i] = hash(fmt.Sprint(prefix, "/recovery", i))
	}
	return list
}

func replaceCodes(t *testing.T, s store.Store, user string, hashes [][]byte, now time.Time) {
	t.Helper()
	if err := s.ReplaceRecoveryCodes(t.Context(), user, hashes, now); err != nil {
		t.Fatalf("ReplaceRecoveryCodes(%q, %d hashes) = %v, want nil", user, len(hashes), err)
	}
}

func useCode(t *testing.T, s store.Store, user string, h []byte) {
	t.Helper()
	if err := s.UseRecoveryCode(t.Context(), user, h); err != nil {
		t.Fatalf("UseRecoveryCode(%q, %x) = %v, want nil", user, h, err)
	}
}

func wantNoCode(t *testing.T, s store.Store, user string, h []byte) {
	t.Helper()
	if err := s.UseRecoveryCode(t.Context(), user, h); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseRecoveryCode(%q, %x) = %v, want ErrNotFound", user, h, err)
	}
}

func wantCount(t *testing.T, s store.Store, user string, want int) {
	t.Helper()
	n, err := s.CountRecoveryCodes(t.Context(), user)
	if err != nil || n != want {
		t.Errorf("CountRecoveryCodes(%q) = %d, %v; want %d, nil", user, n, err, want)
	}
}

func testTOTPRoundTrip(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC-9:30", -(9*3600 + 1800))
	f := store.TOTP{
		UserID: "user-TOTP-01HZX4",
		// Arbitrary bytes, as a store keeps the sealed secret as given.
		Secret:      append([]byte{0, 0xff, '\n', 0x80, '"', '\\'}, hash("sealed")...),
		KeyID:       "mfa-2030-03/ABC def:ü",
		CreatedAt:   base.Add(-time.Hour + 1).In(zone),
		ConfirmedAt: base.Add(-time.Minute + 3).In(zone),
		LastStep:    step0 - 2,
	}
	putTOTP(t, s, f)
	wantTOTP(t, "GetTOTP", getTOTP(t, s, f.UserID), f)
	// An unconfirmed factor keeps its zero ConfirmedAt.
	u := newTOTP("user-unconfirmed")
	u.CreatedAt = base.Add(7).In(zone)
	putTOTP(t, s, u)
	got := getTOTP(t, s, u.UserID)
	wantTOTP(t, "GetTOTP of an unconfirmed factor", got, u)
	if !got.ConfirmedAt.IsZero() {
		t.Errorf("GetTOTP of an unconfirmed factor: ConfirmedAt = %v, want the zero time", got.ConfirmedAt)
	}
	// What UseTOTPStep returns is the whole factor, as GetTOTP then gives it.
	now := base.Add(time.Second + 5).In(zone)
	want := confirmed(f, step0, now)
	wantTOTP(t, "UseTOTPStep", useStep(t, s, f.UserID, f.Secret, step0, now), want)
	wantTOTP(t, "GetTOTP after UseTOTPStep", getTOTP(t, s, f.UserID), want)
	wantTOTP(t, "GetTOTP of the other factor", getTOTP(t, s, u.UserID), u)
}

func testTOTPRoundTripEdgeValues(t *testing.T, s store.Store) {
	factors := []store.TOTP{
		// Only the required fields: no times, no step.
		{UserID: "minimal", Secret: []byte{0}, KeyID: "k"},
		// The largest step; a long secret; times 1ns apart.
		{UserID: "maxStep", Secret: bytes.Repeat([]byte{0xa5}, 4096), KeyID: "key", CreatedAt: base, ConfirmedAt: base.Add(1), LastStep: math.MaxInt64},
		// A user ID and key ID with the characters that SQL and text encodings quote; an
		// unconfirmed factor with a step already accepted.
		{UserID: "ユーザー 'quoted' \"x\"; --", Secret: []byte("'); DROP TABLE totp; --"), KeyID: "key\t'\"", CreatedAt: base.Add(-1), LastStep: 1},
	}
	for _, f := range factors {
		putTOTP(t, s, f)
	}
	for _, f := range factors {
		wantTOTP(t, fmt.Sprintf("GetTOTP(%q)", f.UserID), getTOTP(t, s, f.UserID), f)
	}
	// At the largest step no code is ever accepted again.
	wantStepErr(t, s, "maxStep", factors[1].Secret, math.MaxInt64, base, store.ErrConflict)
}

func testTOTPCopies(t *testing.T, s store.Store) {
	f := newTOTP("copies")
	want := f
	want.Secret = bytes.Clone(f.Secret)
	putTOTP(t, s, f)
	// The store keeps what it was given, not the caller's slice.
	f.Secret[0] ^= 0xff
	got := getTOTP(t, s, f.UserID)
	wantTOTP(t, "GetTOTP after the caller changed its secret", got, want)
	// Nor does it hand out its own.
	got.Secret[0] ^= 0xff
	used := useStep(t, s, f.UserID, want.Secret, step0, base)
	want = confirmed(want, step0, base)
	wantTOTP(t, "UseTOTPStep after the caller changed a factor", used, want)
	used.Secret[1] ^= 0xff
	wantTOTP(t, "GetTOTP after the caller changed a used factor", getTOTP(t, s, f.UserID), want)
	// ResealTOTP keeps a copy of the secret it is given.
	secret := hash("resealed")
	if err := s.ResealTOTP(t.Context(), f.UserID, want.Secret, secret, "mfa-key-2"); err != nil {
		t.Fatalf("ResealTOTP = %v, want nil", err)
	}
	want.Secret, want.KeyID = bytes.Clone(secret), "mfa-key-2"
	secret[0] ^= 0xff
	wantTOTP(t, "GetTOTP after the caller changed a resealed secret", getTOTP(t, s, f.UserID), want)
}

func testTOTPAbsent(t *testing.T, s store.Store) {
	f := newTOTP("present")
	putTOTP(t, s, f)
	// User IDs are exact: no case folding, no prefixes.
	for _, user := range []string{"absent", "", "PRESENT", "presen", "present0", " present"} {
		wantNoTOTP(t, s, user)
		wantStepErr(t, s, user, f.Secret, step0, base, store.ErrNotFound)
		wantErrIs(t, fmt.Sprintf("ResealTOTP(%q)", user), s.ResealTOTP(t.Context(), user, f.Secret, hash("secret"), "k"), store.ErrNotFound)
		// None of them made a factor.
		wantNoTOTP(t, s, user)
	}
	wantTOTP(t, "GetTOTP", getTOTP(t, s, f.UserID), f)
}

func testTOTPPutReplacesUnconfirmed(t *testing.T, s store.Store) {
	old := newTOTP("user")
	old.LastStep = step0 // unconfirmed, yet with a step: nothing of it carries over
	putTOTP(t, s, old)
	keep := newTOTP("other")
	putTOTP(t, s, keep)
	n := store.TOTP{UserID: "user", Secret: hash("second enrolment"), KeyID: "mfa-key-2", CreatedAt: base.Add(time.Minute)}
	putTOTP(t, s, n)
	wantTOTP(t, "GetTOTP after replacing an unconfirmed factor", getTOTP(t, s, n.UserID), n)
	// The new factor starts from its own LastStep: the old one's step is accepted.
	wantTOTP(t, "UseTOTPStep of the old factor's step", useStep(t, s, n.UserID, n.Secret, step0, base.Add(2*time.Minute)), confirmed(n, step0, base.Add(2*time.Minute)))
	wantTOTP(t, "GetTOTP of another user", getTOTP(t, s, keep.UserID), keep)

	// A factor that comes confirmed (as from an import) replaces an unconfirmed one too, and is
	// then protected.
	c := newTOTP("other")
	c.Secret = hash("imported")
	c.ConfirmedAt = base.Add(-time.Hour)
	c.LastStep = step0 - 100
	putTOTP(t, s, c)
	wantTOTP(t, "GetTOTP after replacing with a confirmed factor", getTOTP(t, s, c.UserID), c)
	wantErrIs(t, "PutTOTP over a factor that came confirmed", s.PutTOTP(t.Context(), newTOTP("other")), store.ErrConflict)
	wantTOTP(t, "GetTOTP after the conflict", getTOTP(t, s, c.UserID), c)
}

func testTOTPPutConflictConfirmed(t *testing.T, s store.Store) {
	f := newTOTP("user")
	putTOTP(t, s, f)
	now := base.Add(time.Second)
	want := confirmed(f, step0, now)
	useStep(t, s, f.UserID, f.Secret, step0, now)
	others := []store.TOTP{newTOTP("user"), newTOTP("user"), newTOTP("user")}
	others[0].Secret, others[0].KeyID, others[0].CreatedAt = hash("other"), "mfa-key-2", base.Add(time.Hour)
	others[1].ConfirmedAt, others[1].LastStep = base.Add(time.Hour), step0+1000
	others[2].LastStep = 0
	for i, o := range others {
		wantErrIs(t, fmt.Sprintf("PutTOTP #%d over a confirmed factor", i), s.PutTOTP(t.Context(), o), store.ErrConflict)
		wantTOTP(t, "GetTOTP after the conflict", getTOTP(t, s, f.UserID), want)
	}
	// The confirmed factor goes on from where it was: its step stays used, the next is accepted.
	wantStepErr(t, s, f.UserID, f.Secret, step0, now, store.ErrConflict)
	want = confirmed(want, step0+1, now.Add(30*time.Second))
	wantTOTP(t, "UseTOTPStep after the conflicts", useStep(t, s, f.UserID, f.Secret, step0+1, now.Add(30*time.Second)), want)
	// Disabled first, the user may enrol again.
	if err := s.DeleteTOTP(t.Context(), f.UserID); err != nil {
		t.Fatalf("DeleteTOTP = %v, want nil", err)
	}
	putTOTP(t, s, others[0])
	wantTOTP(t, "GetTOTP after DeleteTOTP and PutTOTP", getTOTP(t, s, f.UserID), others[0])
}

func testTOTPPutInvalid(t *testing.T, s store.Store) {
	valid := newTOTP("user")
	mod := func(f func(v *store.TOTP)) store.TOTP {
		v := valid
		v.Secret = bytes.Clone(valid.Secret)
		f(&v)
		return v
	}
	tests := []struct {
		name string
		f    store.TOTP
	}{
		{"an empty UserID", mod(func(v *store.TOTP) { v.UserID = "" })},
		{"a nil Secret", mod(func(v *store.TOTP) { v.Secret = nil })},
		{"an empty Secret", mod(func(v *store.TOTP) { v.Secret = []byte{} })},
		{"an empty KeyID", mod(func(v *store.TOTP) { v.KeyID = "" })},
		{"a negative LastStep", mod(func(v *store.TOTP) { v.LastStep = -1 })},
		{"the least LastStep", mod(func(v *store.TOTP) { v.LastStep = math.MinInt64 })},
		{"a CreatedAt after 2262", mod(func(v *store.TOTP) { v.CreatedAt = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"a ConfirmedAt before 1678", mod(func(v *store.TOTP) { v.ConfirmedAt = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) })},
	}
	for _, tc := range tests {
		wantErrIs(t, "PutTOTP with "+tc.name, s.PutTOTP(t.Context(), tc.f), store.ErrInvalid)
	}
	wantNoTOTP(t, s, valid.UserID)
	wantNoTOTP(t, s, "")
	// Nor does an invalid factor replace an unconfirmed one.
	putTOTP(t, s, valid)
	for _, tc := range tests[1:] {
		wantErrIs(t, "PutTOTP over an unconfirmed factor with "+tc.name, s.PutTOTP(t.Context(), tc.f), store.ErrInvalid)
	}
	wantTOTP(t, "GetTOTP after invalid puts", getTOTP(t, s, valid.UserID), valid)
}

func testTOTPUseStep(t *testing.T, s store.Store) {
	f := newTOTP("user")
	putTOTP(t, s, f)
	other := newTOTP("other")
	putTOTP(t, s, other)
	// The first accepted step confirms the factor at now.
	now := base.Add(30 * time.Second)
	want := confirmed(f, step0, now)
	wantTOTP(t, "UseTOTPStep of an unconfirmed factor", useStep(t, s, f.UserID, f.Secret, step0, now), want)
	wantTOTP(t, "GetTOTP", getTOTP(t, s, f.UserID), want)
	// The same step again (a replayed code), an earlier one, or any step not greater: refused,
	// whatever the time, and nothing changes.
	for i, step := range []int64{step0, step0 - 1, 1, 0, -1, math.MinInt64} {
		wantStepErr(t, s, f.UserID, f.Secret, step, now.Add(time.Duration(i)*time.Second), store.ErrConflict)
	}
	wantTOTP(t, "GetTOTP after refused steps", getTOTP(t, s, f.UserID), want)
	// A greater step is accepted; ConfirmedAt does not move, not even for a later now.
	later := now.Add(30 * time.Second)
	want = confirmed(want, step0+1, later)
	wantTOTP(t, "UseTOTPStep of the next step", useStep(t, s, f.UserID, f.Secret, step0+1, later), want)
	// A step ahead (a clock that drifts) is accepted, and the steps skipped are refused from then.
	want = confirmed(want, step0+3, later.Add(time.Second))
	wantTOTP(t, "UseTOTPStep two steps ahead", useStep(t, s, f.UserID, f.Secret, step0+3, later.Add(time.Second)), want)
	wantStepErr(t, s, f.UserID, f.Secret, step0+2, later.Add(2*time.Second), store.ErrConflict)
	// ConfirmedAt does not move for an earlier now either.
	want = confirmed(want, step0+4, base)
	wantTOTP(t, "UseTOTPStep with an earlier now", useStep(t, s, f.UserID, f.Secret, step0+4, base), want)
	// The largest step is accepted once, and then nothing more.
	want = confirmed(want, math.MaxInt64, later)
	wantTOTP(t, "UseTOTPStep of the largest step", useStep(t, s, f.UserID, f.Secret, math.MaxInt64, later), want)
	wantStepErr(t, s, f.UserID, f.Secret, math.MaxInt64, later, store.ErrConflict)
	wantTOTP(t, "GetTOTP at the end", getTOTP(t, s, f.UserID), want)
	// The other user's factor was never touched: its first step is still to come.
	wantTOTP(t, "GetTOTP of another user", getTOTP(t, s, other.UserID), other)
	wantTOTP(t, "UseTOTPStep of another user", useStep(t, s, other.UserID, other.Secret, step0, now), confirmed(other, step0, now))
}

// testTOTPUseStepFromLastStep starts from factors put with a LastStep, confirmed or not.
func testTOTPUseStepFromLastStep(t *testing.T, s store.Store) {
	c := newTOTP("confirmed")
	c.ConfirmedAt = base.Add(-time.Hour)
	c.LastStep = step0 - 10
	u := newTOTP("unconfirmed")
	u.LastStep = 100
	putTOTP(t, s, c)
	putTOTP(t, s, u)
	wantStepErr(t, s, c.UserID, c.Secret, c.LastStep, base, store.ErrConflict)
	wantTOTP(t, "UseTOTPStep of a factor put confirmed", useStep(t, s, c.UserID, c.Secret, c.LastStep+1, base), confirmed(c, c.LastStep+1, base))
	wantStepErr(t, s, u.UserID, u.Secret, 100, base, store.ErrConflict)
	wantStepErr(t, s, u.UserID, u.Secret, 99, base, store.ErrConflict)
	wantTOTP(t, "GetTOTP after refused steps", getTOTP(t, s, u.UserID), u)
	wantTOTP(t, "UseTOTPStep of an unconfirmed factor put with a step", useStep(t, s, u.UserID, u.Secret, 101, base), confirmed(u, 101, base))
}

// testTOTPUseStepInvalid checks that an accepted step at the zero time, which would leave a factor
// it confirms looking unconfirmed, or at a time out of range, fails rather than report success,
// and uses up nothing.
func testTOTPUseStepInvalid(t *testing.T, s store.Store) {
	u := newTOTP("unconfirmed")
	c := newTOTP("confirmed")
	c.ConfirmedAt, c.LastStep = base, step0
	putTOTP(t, s, u)
	putTOTP(t, s, c)
	for _, now := range []time.Time{{}, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)} {
		wantStepErr(t, s, u.UserID, u.Secret, step0, now, store.ErrInvalid)
		wantStepErr(t, s, c.UserID, c.Secret, step0+1, now, store.ErrInvalid)
	}
	wantTOTP(t, "GetTOTP of the unconfirmed factor", getTOTP(t, s, u.UserID), u)
	wantTOTP(t, "GetTOTP of the confirmed factor", getTOTP(t, s, c.UserID), c)
	// The steps were not used up.
	now := base.Add(time.Minute)
	wantTOTP(t, "UseTOTPStep", useStep(t, s, u.UserID, u.Secret, step0, now), confirmed(u, step0, now))
	wantTOTP(t, "UseTOTPStep", useStep(t, s, c.UserID, c.Secret, step0+1, now), confirmed(c, step0+1, now))
}

// testTOTPUseStepOtherSecret checks the compare-and-set on the secret: a step presented with a
// sealed secret other than the factor's (a code checked against a secret the factor no longer
// has) is [store.ErrConflict], however good the step, and changes nothing: it neither confirms
// the factor nor uses the step up.
func testTOTPUseStepOtherSecret(t *testing.T, s store.Store) {
	u := newTOTP("unconfirmed")
	c := newTOTP("confirmed")
	c.Secret = hash("confirmed secret")
	c.ConfirmedAt, c.LastStep = base.Add(-time.Hour), step0-1
	putTOTP(t, s, u)
	putTOTP(t, s, c)
	now := base.Add(time.Minute)
	for _, pair := range [][2]store.TOTP{{u, c}, {c, u}} {
		f, other := pair[0], pair[1]
		for i, secret := range otherSecrets(f.Secret) {
			wantStepErr(t, s, f.UserID, secret, step0+int64(i), now, store.ErrConflict)
		}
		// Nor with the secret of the other factor held, even at the largest step.
		wantStepErr(t, s, f.UserID, other.Secret, math.MaxInt64, now, store.ErrConflict)
		// Nothing changed: LastStep, ConfirmedAt and the rest are as put.
		got := getTOTP(t, s, f.UserID)
		wantTOTP(t, "GetTOTP after UseTOTPStep with other secrets", got, f)
		if f.UserID == u.UserID && !got.ConfirmedAt.IsZero() {
			t.Errorf("UseTOTPStep with another secret confirmed the factor at %v", got.ConfirmedAt)
		}
	}
	// The steps were not used up: with the factor's own secret, step0 is accepted.
	wantTOTP(t, "UseTOTPStep with the factor's secret", useStep(t, s, u.UserID, u.Secret, step0, now), confirmed(u, step0, now))
	wantTOTP(t, "UseTOTPStep with the factor's secret", useStep(t, s, c.UserID, c.Secret, step0, now), confirmed(c, step0, now))
}

// testTOTPUseStepAfterReplace is the race of a check with a re-enrolment: a code was checked
// against the secret of an unconfirmed factor that PutTOTP then replaced. Spending its step with
// the old secret is [store.ErrConflict] and leaves the new factor unconfirmed, with no step used.
func testTOTPUseStepAfterReplace(t *testing.T, s store.Store) {
	old := newTOTP("user")
	putTOTP(t, s, old)
	n := store.TOTP{UserID: "user", Secret: hash("second enrolment"), KeyID: "mfa-key-1", CreatedAt: base.Add(time.Minute)}
	putTOTP(t, s, n)
	now := base.Add(2 * time.Minute)
	wantStepErr(t, s, old.UserID, old.Secret, step0, now, store.ErrConflict)
	got := getTOTP(t, s, n.UserID)
	wantTOTP(t, "GetTOTP after UseTOTPStep with the replaced secret", got, n)
	if !got.ConfirmedAt.IsZero() || got.LastStep != 0 {
		t.Errorf("the new factor after UseTOTPStep with the replaced secret: ConfirmedAt %v, LastStep %d; want unconfirmed, 0", got.ConfirmedAt, got.LastStep)
	}
	// The same after Delete and a new PutTOTP of a confirmed factor: the old secret confirms
	// nothing and uses no step.
	wantTOTP(t, "UseTOTPStep with the new secret", useStep(t, s, n.UserID, n.Secret, step0, now), confirmed(n, step0, now))
	if err := s.DeleteTOTP(t.Context(), n.UserID); err != nil {
		t.Fatalf("DeleteTOTP = %v, want nil", err)
	}
	putTOTP(t, s, old)
	wantStepErr(t, s, old.UserID, n.Secret, step0+1, now, store.ErrConflict)
	wantTOTP(t, "GetTOTP after UseTOTPStep with the deleted factor's secret", getTOTP(t, s, old.UserID), old)
	wantTOTP(t, "UseTOTPStep with the factor's own secret", useStep(t, s, old.UserID, old.Secret, step0+1, now), confirmed(old, step0+1, now))
}

func testTOTPReseal(t *testing.T, s store.Store) {
	f := newTOTP("user")
	putTOTP(t, s, f)
	now := base.Add(time.Minute)
	want := confirmed(f, step0, now)
	useStep(t, s, f.UserID, f.Secret, step0, now)
	other := newTOTP("other")
	putTOTP(t, s, other)
	// Only the secret and its key change: CreatedAt, ConfirmedAt and LastStep stay.
	secret := append([]byte{0}, hash("resealed with key 2")...)
	if err := s.ResealTOTP(t.Context(), f.UserID, f.Secret, secret, "mfa-key-2"); err != nil {
		t.Fatalf("ResealTOTP = %v, want nil", err)
	}
	want.Secret, want.KeyID = secret, "mfa-key-2"
	wantTOTP(t, "GetTOTP after ResealTOTP", getTOTP(t, s, f.UserID), want)
	// The used step stays used; the next is accepted, with the new secret only.
	wantStepErr(t, s, f.UserID, want.Secret, step0, now, store.ErrConflict)
	wantStepErr(t, s, f.UserID, f.Secret, step0+1, now, store.ErrConflict)
	want = confirmed(want, step0+1, now)
	wantTOTP(t, "UseTOTPStep after ResealTOTP", useStep(t, s, f.UserID, want.Secret, step0+1, now), want)
	// Resealing again, even with the same key, sets what it is given.
	if err := s.ResealTOTP(t.Context(), f.UserID, want.Secret, []byte{7}, "mfa-key-2"); err != nil {
		t.Fatalf("ResealTOTP again = %v, want nil", err)
	}
	want.Secret = []byte{7}
	wantTOTP(t, "GetTOTP after ResealTOTP again", getTOTP(t, s, f.UserID), want)
	// Resealing to the very same secret changes only the key ID.
	if err := s.ResealTOTP(t.Context(), f.UserID, []byte{7}, []byte{7}, "mfa-key-3"); err != nil {
		t.Fatalf("ResealTOTP to the same secret = %v, want nil", err)
	}
	want.KeyID = "mfa-key-3"
	wantTOTP(t, "GetTOTP after ResealTOTP to the same secret", getTOTP(t, s, f.UserID), want)
	// An unconfirmed factor stays unconfirmed.
	if err := s.ResealTOTP(t.Context(), other.UserID, other.Secret, hash("other resealed"), "mfa-key-3"); err != nil {
		t.Fatalf("ResealTOTP of an unconfirmed factor = %v, want nil", err)
	}
	wantOther := other
	wantOther.Secret, wantOther.KeyID = hash("other resealed"), "mfa-key-3"
	wantTOTP(t, "GetTOTP of a resealed unconfirmed factor", getTOTP(t, s, other.UserID), wantOther)
	// And may still be replaced.
	putTOTP(t, s, other)
	wantTOTP(t, "GetTOTP after replacing a resealed unconfirmed factor", getTOTP(t, s, other.UserID), other)
}

// testTOTPResealInvalid checks that a reseal to an empty secret or key ID, which PutTOTP would
// refuse, fails and changes nothing.
func testTOTPResealInvalid(t *testing.T, s store.Store) {
	f := newTOTP("user")
	putTOTP(t, s, f)
	for _, tc := range []struct {
		name   string
		secret []byte
		keyID  string
	}{
		{"a nil secret", nil, "mfa-key-2"},
		{"an empty secret", []byte{}, "mfa-key-2"},
		{"an empty key ID", hash("new"), ""},
	} {
		wantErrIs(t, "ResealTOTP with "+tc.name, s.ResealTOTP(t.Context(), f.UserID, f.Secret, tc.secret, tc.keyID), store.ErrInvalid)
	}
	wantTOTP(t, "GetTOTP after invalid reseals", getTOTP(t, s, f.UserID), f)
}

// testTOTPResealStale checks the compare-and-set of ResealTOTP: a reseal of a secret the factor
// no longer has (it was replaced, or resealed meanwhile) is [store.ErrConflict] and changes
// nothing.
func testTOTPResealStale(t *testing.T, s store.Store) {
	// A pending enrolment replaced after the reseal read it.
	old := newTOTP("pending")
	putTOTP(t, s, old)
	n := store.TOTP{UserID: old.UserID, Secret: hash("second enrolment"), KeyID: "mfa-key-1", CreatedAt: base.Add(time.Minute)}
	putTOTP(t, s, n)
	wantErrIs(t, "ResealTOTP of a replaced factor", s.ResealTOTP(t.Context(), old.UserID, old.Secret, hash("old resealed"), "mfa-key-2"), store.ErrConflict)
	wantTOTP(t, "GetTOTP after a stale ResealTOTP", getTOTP(t, s, n.UserID), n)

	// A confirmed factor resealed by another caller first.
	f := newTOTP("confirmed")
	putTOTP(t, s, f)
	now := base.Add(time.Minute)
	want := confirmed(f, step0, now)
	useStep(t, s, f.UserID, f.Secret, step0, now)
	if err := s.ResealTOTP(t.Context(), f.UserID, f.Secret, hash("first reseal"), "mfa-key-2"); err != nil {
		t.Fatalf("ResealTOTP = %v, want nil", err)
	}
	want.Secret, want.KeyID = hash("first reseal"), "mfa-key-2"
	wantErrIs(t, "ResealTOTP of a resealed factor", s.ResealTOTP(t.Context(), f.UserID, f.Secret, hash("second reseal"), "mfa-key-3"), store.ErrConflict)
	for i, other := range otherSecrets(want.Secret) {
		wantErrIs(t, fmt.Sprintf("ResealTOTP with other secret #%d", i), s.ResealTOTP(t.Context(), f.UserID, other, hash("second reseal"), "mfa-key-3"), store.ErrConflict)
	}
	wantTOTP(t, "GetTOTP after stale ResealTOTPs", getTOTP(t, s, f.UserID), want)
	// The factor goes on as it was.
	want = confirmed(want, step0+1, now)
	wantTOTP(t, "UseTOTPStep after stale ResealTOTPs", useStep(t, s, f.UserID, want.Secret, step0+1, now), want)
	wantTOTP(t, "GetTOTP of the replacing factor", getTOTP(t, s, n.UserID), n)
}

func testTOTPDelete(t *testing.T, s store.Store) {
	if err := s.DeleteTOTP(t.Context(), "absent"); err != nil {
		t.Errorf("DeleteTOTP(absent) = %v, want nil", err)
	}
	f := newTOTP("user")
	putTOTP(t, s, f)
	useStep(t, s, f.UserID, f.Secret, step0, base)
	// Other users' factors, their IDs before and after the user's, one of them the user's with
	// more: DeleteTOTP leaves them.
	var keep []store.TOTP
	for _, user := range []string{"keep", "user0", "usr", "USER"} {
		keep = append(keep, newTOTP(user))
		putTOTP(t, s, keep[len(keep)-1])
	}
	codes := codeHashes(f.UserID, 3)
	replaceCodes(t, s, f.UserID, codes, base)
	for i := range 2 {
		if err := s.DeleteTOTP(t.Context(), f.UserID); err != nil {
			t.Errorf("DeleteTOTP #%d = %v, want nil", i+1, err)
		}
	}
	wantNoTOTP(t, s, f.UserID)
	wantStepErr(t, s, f.UserID, f.Secret, step0+1, base, store.ErrNotFound)
	wantErrIs(t, "ResealTOTP after DeleteTOTP", s.ResealTOTP(t.Context(), f.UserID, f.Secret, hash("x"), "k"), store.ErrNotFound)
	wantNoTOTP(t, s, f.UserID)
	for _, k := range keep {
		wantTOTP(t, "GetTOTP of another user", getTOTP(t, s, k.UserID), k)
	}
	// Recovery codes are records of their own: DeleteTOTP leaves them.
	wantCount(t, s, f.UserID, 3)
	useCode(t, s, f.UserID, codes[0])
	// A new factor starts afresh: the old factor's steps are not remembered.
	putTOTP(t, s, f)
	wantTOTP(t, "GetTOTP after enrolling again", getTOTP(t, s, f.UserID), f)
	wantTOTP(t, "UseTOTPStep after enrolling again", useStep(t, s, f.UserID, f.Secret, step0, base), confirmed(f, step0, base))
}

func testRecoveryCodesUseOnce(t *testing.T, s store.Store) {
	codes := codeHashes("user", 10)
	replaceCodes(t, s, "user", codes, base)
	wantCount(t, s, "user", 10)
	// Out of order: each code once.
	for i, j := range []int{3, 0, 9, 1, 2, 8, 4, 7, 5, 6} {
		useCode(t, s, "user", codes[j])
		wantNoCode(t, s, "user", codes[j])
		wantCount(t, s, "user", 10-i-1)
	}
	for _, h := range codes {
		wantNoCode(t, s, "user", h)
	}
	wantCount(t, s, "user", 0)
}

func testRecoveryCodesAbsent(t *testing.T, s store.Store) {
	wantCount(t, s, "nobody", 0)
	wantCount(t, s, "", 0)
	wantNoCode(t, s, "nobody", hash("x"))
	codes := codeHashes("present", 2)
	replaceCodes(t, s, "present", codes, base)
	h := codes[0]
	// User IDs are exact, and so are hashes: no prefixes, no extensions, no other case.
	for _, user := range []string{"", "PRESENT", "presen", "present0"} {
		wantNoCode(t, s, user, h)
		wantCount(t, s, user, 0)
	}
	for _, other := range [][]byte{nil, {}, h[:len(h)-1], append(bytes.Clone(h), 0), hash("never given")} {
		wantNoCode(t, s, "present", other)
	}
	wantCount(t, s, "present", 2)
	useCode(t, s, "present", h)
	wantCount(t, s, "present", 1)
}

func testRecoveryCodesReplace(t *testing.T, s store.Store) {
	first := codeHashes("first", 10)
	replaceCodes(t, s, "user", first, base)
	useCode(t, s, "user", first[0])
	// A new set, which happens to hold one code of the old: the old set is void at once, except
	// that code, which is a code of the new set.
	second := append(codeHashes("second", 5), first[1])
	replaceCodes(t, s, "user", second, base.Add(time.Minute))
	wantCount(t, s, "user", 6)
	for _, h := range first[2:] {
		wantNoCode(t, s, "user", h)
	}
	wantNoCode(t, s, "user", first[0])
	wantCount(t, s, "user", 6)
	for i, h := range second {
		useCode(t, s, "user", h)
		wantCount(t, s, "user", 5-i)
	}
	// Once all are used, a new set works as the first did.
	third := codeHashes("third", 3)
	replaceCodes(t, s, "user", third, base.Add(time.Hour))
	wantCount(t, s, "user", 3)
	useCode(t, s, "user", third[2])
	wantNoCode(t, s, "user", second[0])
	wantCount(t, s, "user", 2)
	// Replacing with the very same set restores the used code.
	replaceCodes(t, s, "user", third, base.Add(2*time.Hour))
	wantCount(t, s, "user", 3)
	useCode(t, s, "user", third[2])
}

func testRecoveryCodesEmptyReplace(t *testing.T, s store.Store) {
	f := newTOTP("user")
	putTOTP(t, s, f)
	for _, empty := range [][][]byte{nil, {}} {
		codes := codeHashes(fmt.Sprint("user", len(empty)), 5)
		replaceCodes(t, s, "user", codes, base)
		wantCount(t, s, "user", 5)
		replaceCodes(t, s, "user", empty, base.Add(time.Minute))
		wantCount(t, s, "user", 0)
		for _, h := range codes {
			wantNoCode(t, s, "user", h)
		}
	}
	// Of a user with none, it is no error.
	replaceCodes(t, s, "nobody", nil, base)
	replaceCodes(t, s, "nobody", [][]byte{}, base)
	wantCount(t, s, "nobody", 0)
	// The factor is another record: replacing the codes leaves it.
	wantTOTP(t, "GetTOTP after ReplaceRecoveryCodes", getTOTP(t, s, f.UserID), f)
}

func testRecoveryCodesOtherUsers(t *testing.T, s store.Store) {
	shared := hash("one hash in three users' sets")
	users := []string{"u1", "U1", "u", "u10"}
	sets := make(map[string][][]byte)
	for i, user := range users {
		sets[user] = append(codeHashes(user, 2+i), shared)
		replaceCodes(t, s, user, sets[user], base)
	}
	counts := func(want ...int) {
		t.Helper()
		for i, user := range users {
			wantCount(t, s, user, want[i])
		}
	}
	counts(3, 4, 5, 6)
	// Using a code takes it from its user only.
	useCode(t, s, "u1", shared)
	wantNoCode(t, s, "u1", shared)
	counts(2, 4, 5, 6)
	// Another user's code is not the user's.
	wantNoCode(t, s, "u1", sets["U1"][0])
	wantNoCode(t, s, "u", sets["u10"][0])
	counts(2, 4, 5, 6)
	// Replacing or emptying one user's set leaves the others.
	replaceCodes(t, s, "U1", codeHashes("U1/new", 1), base.Add(time.Minute))
	replaceCodes(t, s, "u10", nil, base.Add(time.Minute))
	counts(2, 1, 5, 0)
	useCode(t, s, "u", shared)
	useCode(t, s, "u1", sets["u1"][1])
	useCode(t, s, "u", sets["u"][0])
	counts(1, 1, 3, 0)
}

func testRecoveryCodesValues(t *testing.T, s store.Store) {
	// Hashes of any bytes and lengths, one the prefix of another, a store keeps as given.
	codes := [][]byte{
		{0},
		{0, 0},
		{0xff, 0x00, '"', '\\', ',', '[', ']', '\n', '\''},
		{1, 2},
		{1, 2, 3},
		append(hash("a"), hash("b")...),
		bytes.Repeat([]byte{0x80}, 1024),
	}
	replaceCodes(t, s, "user", codes, base)
	wantCount(t, s, "user", len(codes))
	useCode(t, s, "user", []byte{1, 2})
	wantNoCode(t, s, "user", []byte{1, 2})
	useCode(t, s, "user", []byte{1, 2, 3})
	useCode(t, s, "user", []byte{0})
	useCode(t, s, "user", []byte{0, 0})
	wantCount(t, s, "user", len(codes)-4)
	for _, h := range [][]byte{codes[2], codes[5], codes[6]} {
		useCode(t, s, "user", h)
	}
	wantCount(t, s, "user", 0)
}

func testRecoveryCodesCopies(t *testing.T, s store.Store) {
	codes := codeHashes("copies", 4)
	want := cloneHashes(codes)
	replaceCodes(t, s, "user", codes, base)
	// The store keeps what it was given, not the caller's list or its hashes.
	codes[0][0] ^= 0xff
	codes[1] = hash("swapped")
	codes[2] = nil
	wantCount(t, s, "user", 4)
	wantNoCode(t, s, "user", hash("swapped"))
	for i, h := range want {
		useCode(t, s, "user", h)
		wantCount(t, s, "user", len(want)-i-1)
	}
}

// testRecoveryCodesInvalid checks the sets that a store cannot keep as given: an empty user ID,
// an empty hash (which no code has), and a hash given twice (which would be one code counted
// twice). They fail and leave the old set.
func testRecoveryCodesInvalid(t *testing.T, s store.Store) {
	old := codeHashes("old", 3)
	replaceCodes(t, s, "user", old, base)
	good := codeHashes("new", 3)
	for _, tc := range []struct {
		name   string
		user   string
		hashes [][]byte
	}{
		{"an empty user ID", "", good},
		{"an empty user ID and no hashes", "", nil},
		{"a nil hash", "user", [][]byte{good[0], nil, good[1]}},
		{"an empty hash", "user", [][]byte{{}, good[0]}},
		{"a hash twice", "user", [][]byte{good[0], good[1], bytes.Clone(good[0])}},
		{"an old hash twice", "user", [][]byte{old[0], old[0]}},
	} {
		err := s.ReplaceRecoveryCodes(t.Context(), tc.user, tc.hashes, base.Add(time.Minute))
		wantErrIs(t, "ReplaceRecoveryCodes with "+tc.name, err, store.ErrInvalid)
	}
	wantCount(t, s, "", 0)
	wantCount(t, s, "user", 3)
	wantNoCode(t, s, "user", good[0])
	for _, h := range old {
		useCode(t, s, "user", h)
	}
}

// ---- Cancelled

func testCancelledPutTOTP(t *testing.T, s store.Store) {
	f := newTOTP("cancelled")
	wantCanceled(t, "PutTOTP", s.PutTOTP(cancelled(t), f))
	wantNoTOTP(t, s, f.UserID)
	putTOTP(t, s, f)
	// Nor does it replace an unconfirmed factor.
	other := newTOTP("cancelled")
	other.Secret, other.KeyID = hash("other"), "mfa-key-2"
	wantCanceled(t, "PutTOTP over an unconfirmed factor", s.PutTOTP(cancelled(t), other))
	wantTOTP(t, "GetTOTP", getTOTP(t, s, f.UserID), f)
}

func testCancelledGetTOTP(t *testing.T, s store.Store) {
	f := newTOTP("cancelled")
	putTOTP(t, s, f)
	_, err := s.GetTOTP(cancelled(t), f.UserID)
	wantCanceled(t, "GetTOTP", err)
	_, err = s.GetTOTP(cancelled(t), "absent")
	wantCanceled(t, "GetTOTP(absent)", err)
	wantTOTP(t, "GetTOTP", getTOTP(t, s, f.UserID), f)
}

func testCancelledUseTOTPStep(t *testing.T, s store.Store) {
	f := newTOTP("cancelled")
	putTOTP(t, s, f)
	_, err := s.UseTOTPStep(cancelled(t), f.UserID, f.Secret, step0, base)
	wantCanceled(t, "UseTOTPStep", err)
	_, err = s.UseTOTPStep(cancelled(t), f.UserID, f.Secret, 0, base)
	wantCanceled(t, "UseTOTPStep of a used step", err)
	_, err = s.UseTOTPStep(cancelled(t), "absent", f.Secret, step0, base)
	wantCanceled(t, "UseTOTPStep(absent)", err)
	wantTOTP(t, "GetTOTP", getTOTP(t, s, f.UserID), f)
	// The step was not used up.
	useStep(t, s, f.UserID, f.Secret, step0, base)
}

func testCancelledResealTOTP(t *testing.T, s store.Store) {
	f := newTOTP("cancelled")
	putTOTP(t, s, f)
	wantCanceled(t, "ResealTOTP", s.ResealTOTP(cancelled(t), f.UserID, f.Secret, hash("lost"), "mfa-key-2"))
	wantTOTP(t, "GetTOTP", getTOTP(t, s, f.UserID), f)
}

func testCancelledDeleteTOTP(t *testing.T, s store.Store) {
	f := newTOTP("cancelled")
	putTOTP(t, s, f)
	wantCanceled(t, "DeleteTOTP", s.DeleteTOTP(cancelled(t), f.UserID))
	wantTOTP(t, "GetTOTP", getTOTP(t, s, f.UserID), f)
}

func testCancelledReplaceRecoveryCodes(t *testing.T, s store.Store) {
	wantCanceled(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(cancelled(t), "cancelled", codeHashes("lost", 2), base))
	wantCount(t, s, "cancelled", 0)
	old := codeHashes("cancelled", 3)
	replaceCodes(t, s, "cancelled", old, base)
	wantCanceled(t, "ReplaceRecoveryCodes over a set", s.ReplaceRecoveryCodes(cancelled(t), "cancelled", codeHashes("lost", 2), base))
	wantCanceled(t, "ReplaceRecoveryCodes with no hashes", s.ReplaceRecoveryCodes(cancelled(t), "cancelled", nil, base))
	wantCount(t, s, "cancelled", 3)
	wantNoCode(t, s, "cancelled", codeHashes("lost", 2)[0])
	useCode(t, s, "cancelled", old[0])
}

func testCancelledUseRecoveryCode(t *testing.T, s store.Store) {
	codes := codeHashes("cancelled", 2)
	replaceCodes(t, s, "cancelled", codes, base)
	wantCanceled(t, "UseRecoveryCode", s.UseRecoveryCode(cancelled(t), "cancelled", codes[0]))
	wantCanceled(t, "UseRecoveryCode(absent)", s.UseRecoveryCode(cancelled(t), "cancelled", hash("absent")))
	wantCount(t, s, "cancelled", 2)
	useCode(t, s, "cancelled", codes[0])
}

func testCancelledCountRecoveryCodes(t *testing.T, s store.Store) {
	replaceCodes(t, s, "cancelled", codeHashes("cancelled", 2), base)
	n, err := s.CountRecoveryCodes(cancelled(t), "cancelled")
	wantCanceled(t, "CountRecoveryCodes", err)
	if n != 0 {
		t.Errorf("CountRecoveryCodes with a cancelled context = %d, want 0", n)
	}
	wantCount(t, s, "cancelled", 2)
}

// ---- Concurrent

// testConcurrentUseTOTPStep has 20 callers present the same code at once: one is accepted, the
// others are replays.
func testConcurrentUseTOTPStep(t *testing.T, s store.Store) {
	const n = 20
	f := newTOTP("raceStep")
	putTOTP(t, s, f)
	errs := make([]error, n)
	got := make([]store.TOTP, n)
	race(n, func(i int) {
		got[i], errs[i] = s.UseTOTPStep(t.Context(), f.UserID, f.Secret, step0, base.Add(time.Duration(i)))
	})
	winner, conflicts := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("concurrent UseTOTPStep of one step: #%d and #%d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, store.ErrConflict):
			conflicts++
		default:
			t.Errorf("UseTOTPStep #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 || conflicts != n-1 {
		t.Fatalf("concurrent UseTOTPStep of one step: winner #%d, %d conflicts; want one winner and %d conflicts", winner, conflicts, n-1)
	}
	want := confirmed(f, step0, base.Add(time.Duration(winner)))
	wantTOTP(t, "winning UseTOTPStep", got[winner], want)
	wantTOTP(t, "GetTOTP", getTOTP(t, s, f.UserID), want)
}

// testConcurrentUseTOTPStepRising has 20 callers present codes of 20 steps at once: whatever
// the order, the greatest step is accepted and ends as LastStep, each accepted call returns its
// own step, and ConfirmedAt is the now of the first.
func testConcurrentUseTOTPStepRising(t *testing.T, s store.Store) {
	const n = 20
	f := newTOTP("raceRising")
	putTOTP(t, s, f)
	errs := make([]error, n)
	got := make([]store.TOTP, n)
	race(n, func(i int) {
		got[i], errs[i] = s.UseTOTPStep(t.Context(), f.UserID, f.Secret, step0+int64(i), base.Add(time.Duration(i)))
	})
	var confirmations []time.Time
	for i, err := range errs {
		switch {
		case err == nil:
			if got[i].LastStep != step0+int64(i) {
				t.Errorf("UseTOTPStep #%d returned LastStep step0%+d, want its own step", i, got[i].LastStep-step0)
			}
			confirmations = append(confirmations, got[i].ConfirmedAt)
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("UseTOTPStep #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if errs[n-1] != nil {
		t.Errorf("UseTOTPStep of the greatest step = %v, want nil", errs[n-1])
	}
	final := getTOTP(t, s, f.UserID)
	if final.LastStep != step0+n-1 {
		t.Errorf("LastStep after the race = step0%+d, want step0%+d", final.LastStep-step0, n-1)
	}
	for _, c := range confirmations {
		if !c.Equal(final.ConfirmedAt) {
			t.Errorf("accepted calls returned ConfirmedAt %v and %v, want one ConfirmedAt", c, final.ConfirmedAt)
		}
	}
}

// testConcurrentResealTOTP has 20 callers reseal one secret at once, each to a secret of its
// own: one wins, the others find the secret changed, and the factor holds the winner's.
func testConcurrentResealTOTP(t *testing.T, s store.Store) {
	const n = 20
	f := newTOTP("raceReseal")
	putTOTP(t, s, f)
	errs := make([]error, n)
	race(n, func(i int) {
		errs[i] = s.ResealTOTP(t.Context(), f.UserID, f.Secret, hash(fmt.Sprint("reseal", i)), fmt.Sprint("mfa-key-", i))
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("concurrent ResealTOTP of one secret: #%d and #%d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("ResealTOTP #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("concurrent ResealTOTP of one secret: none succeeded")
	}
	want := f
	want.Secret, want.KeyID = hash(fmt.Sprint("reseal", winner)), fmt.Sprint("mfa-key-", winner)
	wantTOTP(t, "GetTOTP after the race", getTOTP(t, s, f.UserID), want)
}

func testConcurrentUseRecoveryCode(t *testing.T, s store.Store) {
	const n = 20
	codes := codeHashes("raceCode", 3)
	replaceCodes(t, s, "user", codes, base)
	errs := make([]error, n)
	race(n, func(i int) {
		errs[i] = s.UseRecoveryCode(t.Context(), "user", codes[1])
	})
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case errors.Is(err, store.ErrNotFound):
		default:
			t.Errorf("UseRecoveryCode #%d = %v, want nil or ErrNotFound", i, err)
		}
	}
	if winners != 1 {
		t.Errorf("%d of %d concurrent UseRecoveryCode calls with one hash succeeded, want exactly 1", winners, n)
	}
	wantCount(t, s, "user", 2)
	wantNoCode(t, s, "user", codes[1])
}

// testConcurrentUseRecoveryCodes has 20 callers use 20 codes of one user at once: none is lost.
func testConcurrentUseRecoveryCodes(t *testing.T, s store.Store) {
	const n = 20
	codes := codeHashes("raceCodes", n)
	replaceCodes(t, s, "user", codes, base)
	race(n, func(i int) {
		if err := s.UseRecoveryCode(t.Context(), "user", codes[i]); err != nil {
			t.Errorf("UseRecoveryCode #%d = %v, want nil", i, err)
		}
	})
	wantCount(t, s, "user", 0)
}

// testConcurrentReplaceRecoveryCodes has callers use the codes of a set while it is replaced: a
// use either comes before the replacement or finds its code gone, and the new set is whole.
func testConcurrentReplaceRecoveryCodes(t *testing.T, s store.Store) {
	const n = 20
	old, next := codeHashes("raceOld", n), codeHashes("raceNew", 10)
	replaceCodes(t, s, "user", old, base)
	errs := make([]error, n)
	race(n+1, func(i int) {
		if i == n {
			if err := s.ReplaceRecoveryCodes(t.Context(), "user", next, base); err != nil {
				t.Errorf("ReplaceRecoveryCodes = %v, want nil", err)
			}
			return
		}
		errs[i] = s.UseRecoveryCode(t.Context(), "user", old[i])
	})
	for i, err := range errs {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UseRecoveryCode #%d = %v, want nil or ErrNotFound", i, err)
		}
	}
	wantCount(t, s, "user", len(next))
	for _, h := range old {
		wantNoCode(t, s, "user", h)
	}
	for _, h := range next {
		useCode(t, s, "user", h)
	}
}
