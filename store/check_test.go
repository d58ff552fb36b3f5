package store_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
)

var (
	now      = time.Date(2030, time.January, 1, 12, 0, 0, 0, time.UTC)
	tooLate  = time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC)
	tooEarly = time.Date(1600, time.January, 1, 0, 0, 0, 0, time.UTC)
	// The ends of the range of times, which are in it.
	first = time.Unix(0, math.MinInt64)
	last  = time.Unix(0, math.MaxInt64)
)

// check is one case of a table: the error of a check, and whether it must be nil.
type check struct {
	name  string
	err   error
	valid bool
}

// runChecks fails t for each case whose error is not what it wants: nil for a valid input, else
// an error that wraps store.ErrInvalid with a message starting "store: ".
func runChecks(t *testing.T, cases []check) {
	t.Helper()
	for _, c := range cases {
		switch {
		case c.valid && c.err != nil:
			t.Errorf("%s: %v, want nil", c.name, c.err)
		case c.valid:
		case !errors.Is(c.err, store.ErrInvalid):
			t.Errorf("%s: %v, want an error wrapping ErrInvalid", c.name, c.err)
		case !strings.HasPrefix(c.err.Error(), "store: "):
			t.Errorf("%s: message %q does not start with \"store: \"", c.name, c.err)
		}
	}
}

func TestCheckTime(t *testing.T) {
	runChecks(t, []check{
		{"CheckTime(now)", store.CheckTime("x", now), true},
		{"CheckTime(first of the range)", store.CheckTime("x", first), true},
		{"CheckTime(last of the range)", store.CheckTime("x", last), true},
		{"CheckTime(now with a monotonic reading)", store.CheckTime("x", time.Now()), true},
		{"CheckTime(zero)", store.CheckTime("x", time.Time{}), false},
		{"CheckTime(after 2262)", store.CheckTime("x", tooLate), false},
		{"CheckTime(before 1677)", store.CheckTime("x", tooEarly), false},
		{"CheckTime(a nanosecond after the range)", store.CheckTime("x", last.Add(1)), false},
		{"CheckTime(a nanosecond before the range)", store.CheckTime("x", first.Add(-1)), false},
		{"CheckOptionalTime(zero)", store.CheckOptionalTime("x", time.Time{}), true},
		{"CheckOptionalTime(now)", store.CheckOptionalTime("x", now), true},
		{"CheckOptionalTime(last of the range)", store.CheckOptionalTime("x", last), true},
		{"CheckOptionalTime(after 2262)", store.CheckOptionalTime("x", tooLate), false},
		{"CheckOptionalTime(before 1677)", store.CheckOptionalTime("x", tooEarly), false},
	})
	// The message names the time.
	if err := store.CheckTime("session expiry", time.Time{}); !strings.Contains(err.Error(), "session expiry") {
		t.Errorf("CheckTime message %q does not name the time", err)
	}
}

func TestValidKeyID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"k", true},
		{"key-2030_01-AZaz09", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"key id", false},
		{"key.1", false},
		{"key/1", false},
		{"clé", false},
		{"key\x00", false},
	} {
		if got := store.ValidKeyID(tc.id); got != tc.want {
			t.Errorf("ValidKeyID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestFoldAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"0xabcdef0123", "0xabcdef0123"},
		{"0xAbCdEf0123", "0xabcdef0123"},
		{"0XABCDEF", "0xabcdef"},
		{"ÄÖÜ-Z", "ÄÖÜ-z"}, // only ASCII letters fold
	} {
		if got := store.FoldAddress(tc.in); got != tc.want {
			t.Errorf("FoldAddress(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCheckNonce(t *testing.T) {
	ok := store.Nonce{Value: "abcdefgh", ExpiresAt: now.Add(time.Minute)}
	mod := func(f func(*store.Nonce)) store.Nonce { n := ok; f(&n); return n }
	runChecks(t, []check{
		{"a nonce", store.CheckNonce(ok), true},
		{"a nonce with every field", store.CheckNonce(mod(func(n *store.Nonce) {
			n.Address, n.ChainID, n.IssuedAt, n.Failures = "0xAb", math.MaxUint64, now, 3
		})), true},
		{"an empty Value", store.CheckNonce(mod(func(n *store.Nonce) { n.Value = "" })), false},
		{"a zero ExpiresAt", store.CheckNonce(mod(func(n *store.Nonce) { n.ExpiresAt = time.Time{} })), false},
		{"an ExpiresAt after 2262", store.CheckNonce(mod(func(n *store.Nonce) { n.ExpiresAt = tooLate })), false},
		{"an IssuedAt before 1677", store.CheckNonce(mod(func(n *store.Nonce) { n.IssuedAt = tooEarly })), false},
	})
}

func TestCheckSigningKey(t *testing.T) {
	ok := store.SigningKey{ID: "k1", Algorithm: "EdDSA", Private: []byte(`{"kty":"OKP"}`), ExpiresAt: now.Add(time.Hour)}
	mod := func(f func(*store.SigningKey)) store.SigningKey { k := ok; f(&k); return k }
	runChecks(t, []check{
		{"an EdDSA key", store.CheckSigningKey(ok), true},
		{"an ES256 key", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.Algorithm = "ES256" })), true},
		{"an HS256 key with its times", store.CheckSigningKey(mod(func(k *store.SigningKey) {
			k.Algorithm, k.CreatedAt, k.NotBefore = "HS256", now, now.Add(time.Minute)
		})), true},
		{"an empty ID", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.ID = "" })), false},
		{"an ID with a space", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.ID = "k 1" })), false},
		{"an ID of 65 bytes", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.ID = strings.Repeat("k", 65) })), false},
		{"an empty Algorithm", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.Algorithm = "" })), false},
		{"the algorithm none", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.Algorithm = "none" })), false},
		{"the algorithm eddsa", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.Algorithm = "eddsa" })), false},
		{"no Private", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.Private = nil })), false},
		{"a zero ExpiresAt", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.ExpiresAt = time.Time{} })), false},
		{"an ExpiresAt after 2262", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.ExpiresAt = tooLate })), false},
		{"a CreatedAt before 1677", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.CreatedAt = tooEarly })), false},
		{"a NotBefore after 2262", store.CheckSigningKey(mod(func(k *store.SigningKey) { k.NotBefore = tooLate })), false},
	})
	// The private key stays out of the message.
	k := mod(func(k *store.SigningKey) { k.Algorithm = "none"; k.Private = []byte("SECRET") })
	if err := store.CheckSigningKey(k); strings.Contains(err.Error(), "SECRET") {
		t.Errorf("CheckSigningKey message %q shows the private key", err)
	}
}

func TestCheckSession(t *testing.T) {
	ok := store.Session{ID: "s1", UserID: "u1", RefreshHash: []byte("h"), IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour)}
	mod := func(f func(*store.Session)) store.Session { v := ok; f(&v); return v }
	runChecks(t, []check{
		{"a session", store.CheckSession(ok), true},
		{"a session with every time", store.CheckSession(mod(func(v *store.Session) {
			v.RotatedAt, v.CreatedAt, v.LastUsedAt, v.RevokedAt = now, now, now, now
		})), true},
		{"an empty ID", store.CheckSession(mod(func(v *store.Session) { v.ID = "" })), false},
		{"an empty UserID", store.CheckSession(mod(func(v *store.Session) { v.UserID = "" })), false},
		{"no RefreshHash", store.CheckSession(mod(func(v *store.Session) { v.RefreshHash = nil })), false},
		{"an empty RefreshHash", store.CheckSession(mod(func(v *store.Session) { v.RefreshHash = []byte{} })), false},
		{"a zero IdleExpiresAt", store.CheckSession(mod(func(v *store.Session) { v.IdleExpiresAt = time.Time{} })), false},
		{"a zero ExpiresAt", store.CheckSession(mod(func(v *store.Session) { v.ExpiresAt = time.Time{} })), false},
		{"an ExpiresAt after 2262", store.CheckSession(mod(func(v *store.Session) { v.ExpiresAt = tooLate })), false},
		{"a RotatedAt after 2262", store.CheckSession(mod(func(v *store.Session) { v.RotatedAt = tooLate })), false},
		{"a CreatedAt before 1677", store.CheckSession(mod(func(v *store.Session) { v.CreatedAt = tooEarly })), false},
		{"a LastUsedAt after 2262", store.CheckSession(mod(func(v *store.Session) { v.LastUsedAt = tooLate })), false},
		{"a RevokedAt after 2262", store.CheckSession(mod(func(v *store.Session) { v.RevokedAt = tooLate })), false},
	})
}

func TestCheckRefreshRotation(t *testing.T) {
	idle := now.Add(time.Hour)
	runChecks(t, []check{
		{"a rotation", store.CheckRefreshRotation([]byte("new"), idle, now), true},
		{"no new hash", store.CheckRefreshRotation(nil, idle, now), false},
		{"an empty new hash", store.CheckRefreshRotation([]byte{}, idle, now), false},
		{"a zero idle expiry", store.CheckRefreshRotation([]byte("new"), time.Time{}, now), false},
		{"an idle expiry after 2262", store.CheckRefreshRotation([]byte("new"), tooLate, now), false},
		{"a zero now", store.CheckRefreshRotation([]byte("new"), idle, time.Time{}), false},
		{"a now before 1677", store.CheckRefreshRotation([]byte("new"), idle, tooEarly), false},
	})
}

func TestCheckUser(t *testing.T) {
	w1 := store.Wallet{Address: "0xAbC1", ChainID: 1, LinkedAt: now}
	w2 := store.Wallet{Address: "0xdef2", ChainID: 10}
	user := func(ws ...store.Wallet) store.User { return store.User{ID: "u1", CreatedAt: now, Wallets: ws} }
	runChecks(t, []check{
		{"a user with a wallet", store.CheckUser(user(w1)), true},
		{"a user with two wallets and no times", store.CheckUser(store.User{ID: "u1", Wallets: []store.Wallet{w2, {Address: "0xabc1"}}}), true},
		{"an empty ID", store.CheckUser(store.User{Wallets: []store.Wallet{w1}}), false},
		{"no wallet", store.CheckUser(user()), false},
		{"a wallet without an address", store.CheckUser(user(w1, store.Wallet{})), false},
		{"an address twice", store.CheckUser(user(w1, w2, w1)), false},
		{"an address twice in other cases", store.CheckUser(user(w1, store.Wallet{Address: "0XABC1"})), false},
		{"a CreatedAt after 2262", store.CheckUser(store.User{ID: "u1", CreatedAt: tooLate, Wallets: []store.Wallet{w1}}), false},
		{"a LinkedAt before 1677", store.CheckUser(user(w1, store.Wallet{Address: "0x3", LinkedAt: tooEarly})), false},
	})
}

func TestCheckWallet(t *testing.T) {
	runChecks(t, []check{
		{"a wallet", store.CheckWallet("u1", store.Wallet{Address: "0xAbC1", ChainID: 1, LinkedAt: now}), true},
		{"a wallet without a link time", store.CheckWallet("u1", store.Wallet{Address: "0xAbC1"}), true},
		{"no address", store.CheckWallet("u1", store.Wallet{LinkedAt: now}), false},
		{"a LinkedAt after 2262", store.CheckWallet("u1", store.Wallet{Address: "0xAbC1", LinkedAt: tooLate}), false},
	})
}

func TestCheckMetadata(t *testing.T) {
	doc := []byte(`{"a":1}`)
	runChecks(t, []check{
		{"public", store.CheckMetadata("u1", "public", doc, 64, now), true},
		{"private", store.CheckMetadata("u1", "private", doc, 64, now), true},
		{"unsafe", store.CheckMetadata("u1", "unsafe", doc, 64, now), true},
		{"a nil document", store.CheckMetadata("u1", "public", nil, 64, now), true},
		{"a document of the most bytes", store.CheckMetadata("u1", "public", doc, len(doc), now), true},
		{"a zero now", store.CheckMetadata("u1", "public", doc, 64, time.Time{}), true},
		{"an empty user ID", store.CheckMetadata("", "public", doc, 64, now), false},
		{"an empty member", store.CheckMetadata("u1", "", doc, 64, now), false},
		{"the member Public", store.CheckMetadata("u1", "Public", doc, 64, now), false},
		{"the member public with a space", store.CheckMetadata("u1", "public ", doc, 64, now), false},
		{"an unknown member with a nil document", store.CheckMetadata("u1", "other", nil, 64, now), false},
		{"a document a byte too long", store.CheckMetadata("u1", "public", doc, len(doc)-1, now), false},
		{"a now after 2262", store.CheckMetadata("u1", "public", doc, 64, tooLate), false},
	})
}

func TestCheckTOTP(t *testing.T) {
	ok := store.TOTP{UserID: "u1", Secret: []byte("sealed"), KeyID: "k1"}
	mod := func(f func(*store.TOTP)) store.TOTP { v := ok; f(&v); return v }
	runChecks(t, []check{
		{"a factor", store.CheckTOTP(ok), true},
		{"a confirmed factor", store.CheckTOTP(mod(func(f *store.TOTP) {
			f.CreatedAt, f.ConfirmedAt, f.LastStep = now, now, math.MaxInt64
		})), true},
		{"an empty UserID", store.CheckTOTP(mod(func(f *store.TOTP) { f.UserID = "" })), false},
		{"no Secret", store.CheckTOTP(mod(func(f *store.TOTP) { f.Secret = nil })), false},
		{"an empty KeyID", store.CheckTOTP(mod(func(f *store.TOTP) { f.KeyID = "" })), false},
		{"a negative LastStep", store.CheckTOTP(mod(func(f *store.TOTP) { f.LastStep = -1 })), false},
		{"the least LastStep", store.CheckTOTP(mod(func(f *store.TOTP) { f.LastStep = math.MinInt64 })), false},
		{"a CreatedAt after 2262", store.CheckTOTP(mod(func(f *store.TOTP) { f.CreatedAt = tooLate })), false},
		{"a ConfirmedAt before 1677", store.CheckTOTP(mod(func(f *store.TOTP) { f.ConfirmedAt = tooEarly })), false},
	})
	// The sealed secret stays out of the message.
	if err := store.CheckTOTP(mod(func(f *store.TOTP) { f.Secret, f.KeyID = []byte("SECRET"), "" })); strings.Contains(err.Error(), "SECRET") {
		t.Errorf("CheckTOTP message %q shows the secret", err)
	}
}

func TestCheckTOTPReseal(t *testing.T) {
	runChecks(t, []check{
		{"a reseal", store.CheckTOTPReseal("u1", []byte("sealed"), "k2"), true},
		{"no new secret", store.CheckTOTPReseal("u1", nil, "k2"), false},
		{"an empty new secret", store.CheckTOTPReseal("u1", []byte{}, "k2"), false},
		{"an empty key ID", store.CheckTOTPReseal("u1", []byte("sealed"), ""), false},
	})
}

func TestCheckRecoveryCodes(t *testing.T) {
	codes := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	runChecks(t, []check{
		{"three codes", store.CheckRecoveryCodes("u1", codes, 3, now), true},
		{"no codes", store.CheckRecoveryCodes("u1", nil, 3, now), true},
		{"an empty list", store.CheckRecoveryCodes("u1", [][]byte{}, 0, now), true},
		{"a zero now", store.CheckRecoveryCodes("u1", codes, 3, time.Time{}), true},
		{"an empty user ID", store.CheckRecoveryCodes("", codes, 3, now), false},
		{"an empty user ID and no codes", store.CheckRecoveryCodes("", nil, 3, now), false},
		{"more codes than the most", store.CheckRecoveryCodes("u1", codes, 2, now), false},
		{"a nil hash", store.CheckRecoveryCodes("u1", [][]byte{[]byte("a"), nil}, 3, now), false},
		{"an empty hash", store.CheckRecoveryCodes("u1", [][]byte{{}}, 3, now), false},
		{"a hash twice", store.CheckRecoveryCodes("u1", [][]byte{[]byte("a"), []byte("b"), []byte("a")}, 3, now), false},
		{"a now after 2262", store.CheckRecoveryCodes("u1", codes, 3, tooLate), false},
	})
	// The hashes stay out of the message.
	if err := store.CheckRecoveryCodes("u1", [][]byte{[]byte("SECRET"), []byte("SECRET")}, 3, now); strings.Contains(err.Error(), "SECRET") {
		t.Errorf("CheckRecoveryCodes message %q shows a hash", err)
	}
}

func TestCheckContact(t *testing.T) {
	ok := store.Contact{UserID: "u1", Kind: "email", Value: "a@b.example", AddedAt: now}
	mod := func(f func(*store.Contact)) store.Contact { c := ok; f(&c); return c }
	runChecks(t, []check{
		{"an email address", store.CheckContact(ok), true},
		{"a phone number without a time", store.CheckContact(store.Contact{UserID: "u1", Kind: "phone", Value: "+15550100"}), true},
		{"a contact with VerifiedAt and Primary, which AddContact ignores", store.CheckContact(mod(func(c *store.Contact) {
			c.VerifiedAt, c.Primary = tooLate, true
		})), true},
		{"an empty UserID", store.CheckContact(mod(func(c *store.Contact) { c.UserID = "" })), false},
		{"an empty Kind", store.CheckContact(mod(func(c *store.Contact) { c.Kind = "" })), false},
		{"the kind Email", store.CheckContact(mod(func(c *store.Contact) { c.Kind = "Email" })), false},
		{"the kind sms", store.CheckContact(mod(func(c *store.Contact) { c.Kind = "sms" })), false},
		{"an empty Value", store.CheckContact(mod(func(c *store.Contact) { c.Value = "" })), false},
		{"an AddedAt after 2262", store.CheckContact(mod(func(c *store.Contact) { c.AddedAt = tooLate })), false},
	})
}

func TestCheckVerificationCode(t *testing.T) {
	ok := store.VerificationCode{Key: "verify:email:u1:a@b.example", Hash: []byte("h"), ExpiresAt: now.Add(10 * time.Minute)}
	mod := func(f func(*store.VerificationCode)) store.VerificationCode { c := ok; f(&c); return c }
	runChecks(t, []check{
		{"a code", store.CheckVerificationCode(ok), true},
		{"a code with failures", store.CheckVerificationCode(mod(func(c *store.VerificationCode) { c.Failures = 2 })), true},
		{"an empty Key", store.CheckVerificationCode(mod(func(c *store.VerificationCode) { c.Key = "" })), false},
		{"no Hash", store.CheckVerificationCode(mod(func(c *store.VerificationCode) { c.Hash = nil })), false},
		{"an empty Hash", store.CheckVerificationCode(mod(func(c *store.VerificationCode) { c.Hash = []byte{} })), false},
		{"negative Failures", store.CheckVerificationCode(mod(func(c *store.VerificationCode) { c.Failures = -1 })), false},
		{"a zero ExpiresAt", store.CheckVerificationCode(mod(func(c *store.VerificationCode) { c.ExpiresAt = time.Time{} })), false},
		{"an ExpiresAt after 2262", store.CheckVerificationCode(mod(func(c *store.VerificationCode) { c.ExpiresAt = tooLate })), false},
	})
}

func TestCheckMaxFailures(t *testing.T) {
	runChecks(t, []check{
		{"1", store.CheckMaxFailures("k", 1), true},
		{"5", store.CheckMaxFailures("k", 5), true},
		{"0", store.CheckMaxFailures("k", 0), false},
		{"-1", store.CheckMaxFailures("k", -1), false},
		{"the least int", store.CheckMaxFailures("k", math.MinInt), false},
	})
}

func TestCheckOAuthAccount(t *testing.T) {
	ok := store.OAuthAccount{UserID: "u1", Provider: "github", Subject: "12345", Email: "a@b.example", Username: "a", LinkedAt: now}
	mod := func(f func(*store.OAuthAccount)) store.OAuthAccount { a := ok; f(&a); return a }
	runChecks(t, []check{
		{"an account", store.CheckOAuthAccount(ok), true},
		{"an account without Email, Username and LinkedAt", store.CheckOAuthAccount(store.OAuthAccount{UserID: "u1", Provider: "google", Subject: "s"}), true},
		{"an empty UserID", store.CheckOAuthAccount(mod(func(a *store.OAuthAccount) { a.UserID = "" })), false},
		{"an empty Provider", store.CheckOAuthAccount(mod(func(a *store.OAuthAccount) { a.Provider = "" })), false},
		{"an empty Subject", store.CheckOAuthAccount(mod(func(a *store.OAuthAccount) { a.Subject = "" })), false},
		{"a LinkedAt after 2262", store.CheckOAuthAccount(mod(func(a *store.OAuthAccount) { a.LinkedAt = tooLate })), false},
	})
}

func TestMetadataMember(t *testing.T) {
	var m store.Metadata
	for name, want := range map[string]*[]byte{"public": &m.Public, "private": &m.Private, "unsafe": &m.Unsafe} {
		if got := m.Member(name); got != want {
			t.Errorf("Member(%q) is not the %s field", name, name)
		}
	}
	for _, name := range []string{"", "Public", "other", "public "} {
		if m.Member(name) != nil {
			t.Errorf("Member(%q) is not nil", name)
		}
	}
}
