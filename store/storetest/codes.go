package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

var codeTests = []test{
	{"RoundTrip", testCodeRoundTrip},
	{"Copies", testCodeCopies},
	{"Replace", testCodeReplace},
	{"ReplaceExpired", testCodeReplaceExpired},
	{"PutInvalid", testCodePutInvalid},
	{"ExpiredIsNotFound", testCodeExpiredIsNotFound},
	{"Absent", testCodeAbsent},
	{"ConsumeOnce", testCodeConsumeOnce},
	{"ConsumeWrongHash", testCodeConsumeWrongHash},
	{"AddFailure", testCodeAddFailure},
	{"AddFailureFromCount", testCodeAddFailureFromCount},
	{"ConcurrentConsume", testCodeConcurrentConsume},
	{"ConcurrentFailures", testCodeConcurrentFailures},
	{"ConcurrentConsumeAndFailures", testCodeConcurrentConsumeAndFailures},
}

// codeTTL is the lifetime of the suite's verification codes.
const codeTTL = 10 * time.Minute

// newCode returns a code under key that expires codeTTL after base, its hash made from secret.
func newCode(key, secret string) store.VerificationCode {
	return store.VerificationCode{Key: key, Hash: hash(key + "/" + secret), ExpiresAt: base.Add(codeTTL)}
}

func putCode(t *testing.T, s store.Store, c store.VerificationCode, now time.Time) {
	t.Helper()
	if err := s.PutCode(t.Context(), c, now); err != nil {
		t.Fatalf("PutCode(%q) = %v, want nil", c.Key, err)
	}
}

func getCode(t *testing.T, s store.Store, key string, now time.Time) store.VerificationCode {
	t.Helper()
	c, err := s.GetCode(t.Context(), key, now)
	if err != nil {
		t.Fatalf("GetCode(%q) = %v, want nil", key, err)
	}
	return c
}

func wantCodeGone(t *testing.T, s store.Store, key string, now time.Time) {
	t.Helper()
	if c, err := s.GetCode(t.Context(), key, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCode(%q) = %+v, %v; want ErrNotFound", key, c, err)
	}
}

func consumeCode(t *testing.T, s store.Store, key string, h []byte, now time.Time) {
	t.Helper()
	if err := s.ConsumeCode(t.Context(), key, h, now); err != nil {
		t.Fatalf("ConsumeCode(%q) = %v, want nil", key, err)
	}
}

func addCodeFailure(t *testing.T, s store.Store, key string, maxFailures int, now time.Time, want int) {
	t.Helper()
	if n, err := s.AddCodeFailure(t.Context(), key, maxFailures, now); err != nil || n != want {
		t.Fatalf("AddCodeFailure(%q, %d) = %d, %v; want %d, nil", key, maxFailures, n, err, want)
	}
}

// sameCode reports whether a and b are equal field by field, times compared with Equal.
func sameCode(a, b store.VerificationCode) bool {
	return a.Key == b.Key && bytes.Equal(a.Hash, b.Hash) && a.ExpiresAt.Equal(b.ExpiresAt) && a.Failures == b.Failures
}

func wantCode(t *testing.T, call string, got, want store.VerificationCode) {
	t.Helper()
	if !sameCode(got, want) {
		t.Errorf("%s = %+v\nwant %+v", call, got, want)
	}
}

func testCodeRoundTrip(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC+5:45", 5*3600+45*60)
	cs := []store.VerificationCode{
		// Arbitrary bytes, nanoseconds, a zone other than UTC, failures already counted.
		{Key: "verify:email:usr_1:a@b.example", Hash: []byte{0x00, 0xff, 0x00, 0x80}, ExpiresAt: base.Add(codeTTL + 1).In(zone), Failures: 3},
		// Expires 1ns after now.
		{Key: "verify:phone:usr_1:+15550100", Hash: hash("x"), ExpiresAt: base.Add(1)},
		// A one-byte hash, a long key.
		{Key: "reset:" + string(bytes.Repeat([]byte("k"), 300)), Hash: []byte{7}, ExpiresAt: base.Add(24 * time.Hour)},
	}
	for _, c := range cs {
		putCode(t, s, c, base)
	}
	for _, c := range cs {
		wantCode(t, fmt.Sprintf("GetCode(%.20q)", c.Key), getCode(t, s, c.Key, base), c)
		// Just before expiry it is live.
		wantCode(t, fmt.Sprintf("GetCode(%.20q) 1ns before expiry", c.Key), getCode(t, s, c.Key, c.ExpiresAt.Add(-1)), c)
	}
	// Reading does not use a code up.
	consumeCode(t, s, cs[0].Key, cs[0].Hash, base)
	wantCodeGone(t, s, cs[0].Key, base)
}

func testCodeCopies(t *testing.T, s store.Store) {
	c := newCode("copies", "123456")
	given := bytes.Clone(c.Hash)
	putCode(t, s, store.VerificationCode{Key: c.Key, Hash: given, ExpiresAt: c.ExpiresAt}, base)
	// The store keeps what it was given, not the caller's slice.
	given[0] ^= 0xff
	wantCode(t, "GetCode after the caller changed its hash", getCode(t, s, c.Key, base), c)
	// Nor does it hand out its own.
	got := getCode(t, s, c.Key, base)
	got.Hash[0] ^= 0xff
	wantCode(t, "GetCode after the caller changed what it read", getCode(t, s, c.Key, base), c)
	consumeCode(t, s, c.Key, c.Hash, base)
}

func testCodeReplace(t *testing.T, s store.Store) {
	old := newCode("verify:email:u:a@example.com", "111111")
	putCode(t, s, old, base)
	addCodeFailure(t, s, old.Key, 5, base, 1)
	// A resend replaces the code whole: the old hash is void, the failures start again.
	now := base.Add(time.Minute)
	next := store.VerificationCode{Key: old.Key, Hash: hash("resent"), ExpiresAt: now.Add(codeTTL)}
	putCode(t, s, next, now)
	wantCode(t, "GetCode after the resend", getCode(t, s, old.Key, now), next)
	wantErrIs(t, "ConsumeCode with the old hash", s.ConsumeCode(t.Context(), old.Key, old.Hash, now), store.ErrNotFound)
	wantCode(t, "GetCode after trying the old hash", getCode(t, s, old.Key, now), next)
	// The new code lives to its own expiry, past the old one's.
	consumeCode(t, s, old.Key, next.Hash, old.ExpiresAt.Add(time.Second))
	// A shorter expiry replaces a longer one, too.
	putCode(t, s, next, now)
	short := store.VerificationCode{Key: old.Key, Hash: hash("short"), ExpiresAt: now.Add(time.Second)}
	putCode(t, s, short, now)
	wantCodeGone(t, s, old.Key, now.Add(time.Second))
	// Other keys are untouched.
	other := newCode("verify:email:v:a@example.com", "111111")
	putCode(t, s, other, base)
	putCode(t, s, newCode(old.Key, "222222"), base)
	wantCode(t, "GetCode of another key", getCode(t, s, other.Key, base), other)
}

func testCodeReplaceExpired(t *testing.T, s store.Store) {
	old := newCode("expired", "111111")
	putCode(t, s, old, base)
	now := old.ExpiresAt
	wantCodeGone(t, s, old.Key, now)
	next := store.VerificationCode{Key: old.Key, Hash: hash("again"), ExpiresAt: now.Add(codeTTL)}
	putCode(t, s, next, now)
	wantCode(t, "GetCode of a code put over an expired one", getCode(t, s, old.Key, now), next)
	consumeCode(t, s, old.Key, next.Hash, now)
}

func testCodePutInvalid(t *testing.T, s store.Store) {
	for _, c := range []store.VerificationCode{
		{Key: "", Hash: hash("x"), ExpiresAt: base.Add(codeTTL)},
		{Key: "noHash", ExpiresAt: base.Add(codeTTL)},
		{Key: "emptyHash", Hash: []byte{}, ExpiresAt: base.Add(codeTTL)},
		{Key: "noExpiry", Hash: hash("x")},
	} {
		wantErrIs(t, fmt.Sprintf("PutCode(%q, %d-byte hash, expiry %v)", c.Key, len(c.Hash), c.ExpiresAt), s.PutCode(t.Context(), c, base), store.ErrInvalid)
		wantCodeGone(t, s, c.Key, base)
	}
	// An invalid code does not replace a held one.
	held := newCode("held", "123456")
	putCode(t, s, held, base)
	wantErrIs(t, "PutCode over a held code without a hash", s.PutCode(t.Context(), store.VerificationCode{Key: held.Key, ExpiresAt: base.Add(codeTTL)}, base), store.ErrInvalid)
	wantErrIs(t, "PutCode over a held code without an expiry", s.PutCode(t.Context(), store.VerificationCode{Key: held.Key, Hash: hash("x")}, base), store.ErrInvalid)
	wantCode(t, "GetCode", getCode(t, s, held.Key, base), held)
}

func testCodeExpiredIsNotFound(t *testing.T, s store.Store) {
	c := newCode("expiring", "123456")
	putCode(t, s, c, base)
	for _, now := range []time.Time{c.ExpiresAt, c.ExpiresAt.Add(1), c.ExpiresAt.Add(time.Hour)} {
		at := now.Sub(c.ExpiresAt)
		if got, err := s.GetCode(t.Context(), c.Key, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetCode at expiry+%v = %+v, %v; want ErrNotFound", at, got, err)
		}
		if n, err := s.AddCodeFailure(t.Context(), c.Key, 5, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddCodeFailure at expiry+%v = %d, %v; want ErrNotFound", at, n, err)
		}
		if err := s.ConsumeCode(t.Context(), c.Key, c.Hash, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ConsumeCode with the right hash at expiry+%v = %v; want ErrNotFound", at, err)
		}
	}
}

func testCodeAbsent(t *testing.T, s store.Store) {
	c := newCode("present", "123456")
	putCode(t, s, c, base)
	// Keys are exact: no prefix or case folding.
	for _, key := range []string{"absent", "presen", "present0", "PRESENT", "Present", " present", ""} {
		wantCodeGone(t, s, key, base)
		if err := s.ConsumeCode(t.Context(), key, c.Hash, base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ConsumeCode(%q) = %v, want ErrNotFound", key, err)
		}
		if n, err := s.AddCodeFailure(t.Context(), key, 5, base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddCodeFailure(%q) = %d, %v; want ErrNotFound", key, n, err)
		}
	}
	wantCode(t, "GetCode", getCode(t, s, c.Key, base), c)
}

func testCodeConsumeOnce(t *testing.T, s store.Store) {
	c := newCode("once", "123456")
	putCode(t, s, c, base)
	consumeCode(t, s, c.Key, c.Hash, base.Add(time.Second))
	wantErrIs(t, "second ConsumeCode", s.ConsumeCode(t.Context(), c.Key, c.Hash, base.Add(time.Second)), store.ErrNotFound)
	wantCodeGone(t, s, c.Key, base.Add(time.Second))
	if n, err := s.AddCodeFailure(t.Context(), c.Key, 5, base.Add(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddCodeFailure after ConsumeCode = %d, %v; want ErrNotFound", n, err)
	}
	// A consumed key can hold a code again.
	putCode(t, s, c, base.Add(time.Second))
	consumeCode(t, s, c.Key, c.Hash, base.Add(time.Second))
}

func testCodeConsumeWrongHash(t *testing.T, s store.Store) {
	c := newCode("wrong", "123456")
	c.Failures = 1
	putCode(t, s, c, base)
	other := newCode("otherKey", "654321")
	putCode(t, s, other, base)
	// Close to the hash but not it, and another key's hash: ErrNotFound, and the code remains as
	// it was (a wrong hash is no failure until the caller adds one).
	for i, h := range append(otherSecrets(c.Hash), other.Hash, hash("wrong/654321")) {
		if err := s.ConsumeCode(t.Context(), c.Key, h, base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ConsumeCode with wrong hash #%d %x = %v, want ErrNotFound", i, h, err)
		}
	}
	wantCode(t, "GetCode after wrong hashes", getCode(t, s, c.Key, base), c)
	consumeCode(t, s, c.Key, c.Hash, base)
	wantCode(t, "GetCode of the other key", getCode(t, s, other.Key, base), other)
}

func testCodeAddFailure(t *testing.T, s store.Store) {
	const limit = 3
	c := newCode("failures", "123456")
	putCode(t, s, c, base)
	other := newCode("untouched", "123456")
	putCode(t, s, other, base)
	for i := 1; i < limit; i++ {
		addCodeFailure(t, s, c.Key, limit, base, i)
		want := c
		want.Failures = i
		wantCode(t, fmt.Sprintf("GetCode after %d failures", i), getCode(t, s, c.Key, base), want)
	}
	// The failure that reaches the maximum returns its count and deletes the code: it is dead,
	// even for the right hash.
	addCodeFailure(t, s, c.Key, limit, base, limit)
	wantCodeGone(t, s, c.Key, base)
	wantErrIs(t, "ConsumeCode of a code dead from failures", s.ConsumeCode(t.Context(), c.Key, c.Hash, base), store.ErrNotFound)
	if n, err := s.AddCodeFailure(t.Context(), c.Key, limit, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddCodeFailure of a dead code = %d, %v; want ErrNotFound", n, err)
	}
	wantCode(t, "GetCode of another key", getCode(t, s, other.Key, base), other)
	// A maximum of 1 kills a code at its first failure.
	addCodeFailure(t, s, other.Key, 1, base, 1)
	wantCodeGone(t, s, other.Key, base)
	// A resend after the code died holds a new code.
	putCode(t, s, c, base)
	addCodeFailure(t, s, c.Key, limit, base, 1)
	consumeCode(t, s, c.Key, c.Hash, base)
}

func testCodeAddFailureFromCount(t *testing.T, s store.Store) {
	// Failures given to PutCode count; a count at or past the maximum kills the code at the next
	// failure.
	c := newCode("counted", "123456")
	c.Failures = 3
	putCode(t, s, c, base)
	addCodeFailure(t, s, c.Key, 5, base, 4)
	wantCode(t, "GetCode", getCode(t, s, c.Key, base), store.VerificationCode{Key: c.Key, Hash: c.Hash, ExpiresAt: c.ExpiresAt, Failures: 4})
	addCodeFailure(t, s, c.Key, 5, base, 5)
	wantCodeGone(t, s, c.Key, base)
	c.Failures = 7
	putCode(t, s, c, base)
	addCodeFailure(t, s, c.Key, 5, base, 8)
	wantCodeGone(t, s, c.Key, base)
}

// testCodeConcurrentConsume has 20 callers consume one code with its hash at once: exactly one
// succeeds.
func testCodeConcurrentConsume(t *testing.T, s store.Store) {
	const n = 20
	c := newCode("raceConsume", "123456")
	putCode(t, s, c, base)
	errs := make([]error, n)
	race(n, func(i int) {
		errs[i] = s.ConsumeCode(t.Context(), c.Key, c.Hash, base)
	})
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case errors.Is(err, store.ErrNotFound):
		default:
			t.Errorf("ConsumeCode #%d = %v, want nil or ErrNotFound", i, err)
		}
	}
	if winners != 1 {
		t.Errorf("%d of %d concurrent ConsumeCode calls succeeded, want exactly 1", winners, n)
	}
	wantCodeGone(t, s, c.Key, base)
}

// testCodeConcurrentFailures has 20 callers add a failure to one code with a maximum of 5 at
// once: the successful calls return 1 to 5, each once, the rest ErrNotFound, and the code is
// dead after.
func testCodeConcurrentFailures(t *testing.T, s store.Store) {
	const n, limit = 20, 5
	c := newCode("raceFailures", "123456")
	putCode(t, s, c, base)
	counts := make([]int, n)
	errs := make([]error, n)
	race(n, func(i int) {
		counts[i], errs[i] = s.AddCodeFailure(t.Context(), c.Key, limit, base)
	})
	var ok []int
	for i, err := range errs {
		switch {
		case err == nil:
			ok = append(ok, counts[i])
		case errors.Is(err, store.ErrNotFound):
		default:
			t.Errorf("AddCodeFailure #%d = %v, want nil or ErrNotFound", i, err)
		}
	}
	slices.Sort(ok)
	if !slices.Equal(ok, []int{1, 2, 3, 4, 5}) {
		t.Errorf("concurrent AddCodeFailure with a maximum of %d returned counts %v, want each of 1..%d once", limit, ok, limit)
	}
	wantCodeGone(t, s, c.Key, base)
	wantErrIs(t, "ConsumeCode after the code died", s.ConsumeCode(t.Context(), c.Key, c.Hash, base), store.ErrNotFound)
}

// testCodeConcurrentConsumeAndFailures has callers consume one code while others add failures
// to it: at most one consumes it, and only while fewer failures than the maximum were counted.
func testCodeConcurrentConsumeAndFailures(t *testing.T, s store.Store) {
	const n, limit = 20, 3
	c := newCode("raceMixed", "123456")
	putCode(t, s, c, base)
	errs := make([]error, n)
	counts := make([]int, n)
	race(n, func(i int) {
		if i%2 == 0 {
			errs[i] = s.ConsumeCode(t.Context(), c.Key, c.Hash, base)
		} else {
			counts[i], errs[i] = s.AddCodeFailure(t.Context(), c.Key, limit, base)
		}
	})
	consumed, failures := 0, 0
	for i, err := range errs {
		switch {
		case err == nil && i%2 == 0:
			consumed++
		case err == nil:
			failures++
			if counts[i] < 1 || counts[i] > limit {
				t.Errorf("AddCodeFailure #%d = %d, want 1..%d", i, counts[i], limit)
			}
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("call #%d = %v, want nil or ErrNotFound", i, err)
		}
	}
	if consumed > 1 || consumed == 1 && failures >= limit || consumed == 0 && failures != limit {
		t.Errorf("%d consumed and %d failures counted with a maximum of %d: want one consumed after fewer than %d failures, or none after %d", consumed, failures, limit, limit, limit)
	}
	wantCodeGone(t, s, c.Key, base)
}

// ---- Cancelled

func testCancelledPutCode(t *testing.T, s store.Store) {
	c := newCode("cancelled", "123456")
	wantCanceled(t, "PutCode", s.PutCode(cancelled(t), c, base))
	wantCodeGone(t, s, c.Key, base)
	putCode(t, s, c, base)
	wantCanceled(t, "PutCode over a held code", s.PutCode(cancelled(t), newCode(c.Key, "654321"), base))
	wantCode(t, "GetCode", getCode(t, s, c.Key, base), c)
}

func testCancelledGetCode(t *testing.T, s store.Store) {
	c := newCode("cancelled", "123456")
	putCode(t, s, c, base)
	_, err := s.GetCode(cancelled(t), c.Key, base)
	wantCanceled(t, "GetCode", err)
	_, err = s.GetCode(cancelled(t), "absent", base)
	wantCanceled(t, "GetCode(absent)", err)
	wantCode(t, "GetCode", getCode(t, s, c.Key, base), c)
}

func testCancelledConsumeCode(t *testing.T, s store.Store) {
	c := newCode("cancelled", "123456")
	putCode(t, s, c, base)
	wantCanceled(t, "ConsumeCode", s.ConsumeCode(cancelled(t), c.Key, c.Hash, base))
	wantCanceled(t, "ConsumeCode with a wrong hash", s.ConsumeCode(cancelled(t), c.Key, hash("wrong"), base))
	wantCode(t, "GetCode", getCode(t, s, c.Key, base), c)
	consumeCode(t, s, c.Key, c.Hash, base)
}

func testCancelledAddCodeFailure(t *testing.T, s store.Store) {
	c := newCode("cancelled", "123456")
	c.Failures = 4
	putCode(t, s, c, base)
	_, err := s.AddCodeFailure(cancelled(t), c.Key, 5, base)
	wantCanceled(t, "AddCodeFailure reaching the maximum", err)
	wantCode(t, "GetCode", getCode(t, s, c.Key, base), c)
	addCodeFailure(t, s, c.Key, 6, base, 5)
}
