package mfa_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/walletauth/walletauth/mfa"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

func TestSecretIsSealed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	enr := e.enroll(t, "alice")
	f, err := e.st.GetTOTP(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
	if f.KeyID != "k1" || len(f.Secret) == 0 || bytes.Contains(f.Secret, raw) || bytes.Contains(f.Secret, []byte(enr.Secret)) ||
		bytes.Contains(bytes.ToLower(f.Secret), bytes.ToLower([]byte(enr.Secret))) {
		t.Fatalf("stored secret %x (key %q) shows the plain secret %x", f.Secret, f.KeyID, raw)
	}
	// The same secret sealed twice differs (a random nonce per sealing).
	rot := e.cfg
	rot.EncryptionKeys = map[string][]byte{"k1": testKey(1), "k2": testKey(2)}
	rot.CurrentKeyID = "k2"
	svc2 := e.newService(t, rot)
	if err := svc2.Reseal(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	f2, _ := e.st.GetTOTP(ctx, "alice")
	if f2.KeyID != "k2" || bytes.Equal(f2.Secret, f.Secret) {
		t.Fatalf("resealed record: key %q, secret unchanged %v", f2.KeyID, bytes.Equal(f2.Secret, f.Secret))
	}
}

// TestSecretMovedToAnotherUser: the user id is bound to the sealed secret, so a secret copied
// into another user's record does not open — and that is a server fault, not a wrong code.
func TestSecretMovedToAnotherUser(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	aliceSecret, _ := e.enable(t, "alice")
	bobSecret, _ := e.enable(t, "bob")
	alice, _ := e.st.GetTOTP(ctx, "alice")
	bob, _ := e.st.GetTOTP(ctx, "bob")
	if err := e.st.ResealTOTP(ctx, "bob", bob.Secret, alice.Secret, alice.KeyID); err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"alice's": aliceSecret, "bob's": bobSecret} {
		err := e.svc.Verify(ctx, "bob", e.code(t, secret, 0))
		if !errors.Is(err, mfa.ErrSecretUnreadable) || isSentinel(err) {
			t.Errorf("bob with alice's sealed secret, %s code: %v; want ErrSecretUnreadable", name, err)
		}
	}
	if !strings.Contains(e.logs.String(), `"event":"mfa_unseal_failed"`) {
		t.Error("the unreadable secret was not logged")
	}
	// Alice's record is untouched.
	if err := e.svc.Verify(ctx, "alice", e.code(t, aliceSecret, 0)); err != nil {
		t.Fatalf("alice: %v", err)
	}
}

// TestKeyRotation follows the documented rotation: add a key, make it current, reseal, remove
// the old key.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil) // k1 only
	secret, _ := e.enable(t, "alice")
	pending := e.enroll(t, "carol") // an unconfirmed factor is resealed too

	both := e.cfg
	both.EncryptionKeys = map[string][]byte{"k1": testKey(1), "k2": testKey(2)}
	both.CurrentKeyID = "k2"
	svc2 := e.newService(t, both)
	// Before resealing, the old key still opens the secret.
	if err := svc2.Verify(ctx, "alice", e.code(t, secret, 0)); err != nil {
		t.Fatalf("Verify with both keys, before Reseal: %v", err)
	}
	for _, user := range []string{"alice", "carol"} {
		if err := svc2.Reseal(ctx, user); err != nil {
			t.Fatalf("Reseal(%s): %v", user, err)
		}
		if f, _ := e.st.GetTOTP(ctx, user); f.KeyID != "k2" {
			t.Fatalf("%s's secret is sealed with %q after Reseal", user, f.KeyID)
		}
		// Idempotent: a second run leaves it alone.
		before, _ := e.st.GetTOTP(ctx, user)
		if err := svc2.Reseal(ctx, user); err != nil {
			t.Fatalf("Reseal(%s) again: %v", user, err)
		}
		if after, _ := e.st.GetTOTP(ctx, user); !bytes.Equal(before.Secret, after.Secret) {
			t.Fatalf("a second Reseal(%s) changed the record", user)
		}
	}
	if err := svc2.Reseal(ctx, "nobody"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("Reseal of a user without a factor: %v; want ErrNotEnrolled", err)
	}

	onlyNew := e.cfg
	onlyNew.EncryptionKeys = map[string][]byte{"k2": testKey(2)}
	onlyNew.CurrentKeyID = "k2"
	svc3 := e.newService(t, onlyNew)
	e.clk.Advance(30 * time.Second)
	if err := svc3.Verify(ctx, "alice", e.code(t, secret, 0)); err != nil {
		t.Fatalf("Verify with the old key removed: %v", err)
	}
	if _, err := svc3.Confirm(ctx, "carol", e.code(t, pending.Secret, 0)); err != nil {
		t.Fatalf("Confirm of the resealed pending factor: %v", err)
	}
}

// TestUnknownKeyIDFailsClosed: a secret sealed with a key the service does not have is never
// accepted, and is not reported as a wrong code.
func TestUnknownKeyIDFailsClosed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	secret, _ := e.enable(t, "alice")

	other := e.cfg
	other.EncryptionKeys = map[string][]byte{"k3": testKey(3)}
	other.CurrentKeyID = "k3"
	svc := e.newService(t, other)
	if err := svc.Verify(ctx, "alice", e.code(t, secret, 0)); !errors.Is(err, mfa.ErrSecretUnreadable) || isSentinel(err) {
		t.Fatalf("Verify with an unknown key id: %v; want ErrSecretUnreadable", err)
	}
	if err := svc.Reseal(ctx, "alice"); !errors.Is(err, mfa.ErrSecretUnreadable) {
		t.Fatalf("Reseal with an unknown key id: %v; want ErrSecretUnreadable", err)
	}
	// The same key id with other key material does not open it either.
	other.EncryptionKeys = map[string][]byte{"k1": testKey(9)}
	other.CurrentKeyID = "k1"
	svc = e.newService(t, other)
	if err := svc.Verify(ctx, "alice", e.code(t, secret, 0)); !errors.Is(err, mfa.ErrSecretUnreadable) {
		t.Fatalf("Verify with the wrong key material: %v; want ErrSecretUnreadable", err)
	}
	// Nothing was spent: the right service still accepts the code.
	if err := e.svc.Verify(ctx, "alice", e.code(t, secret, 0)); err != nil {
		t.Fatalf("Verify with the right key: %v", err)
	}
}

// TestConfigKeysCopied: changing the caller's key map after New changes nothing.
func TestConfigKeysCopied(t *testing.T) {
	ctx := context.Background()
	keys := map[string][]byte{"k1": testKey(1)}
	e := newEnv(t, func(c *mfa.Config) { c.EncryptionKeys = keys })
	secret, _ := e.enable(t, "alice")
	keys["k1"][0] ^= 0xff
	delete(keys, "k1")
	if err := e.svc.Verify(ctx, "alice", e.code(t, secret, 0)); err != nil {
		t.Fatalf("Verify after the caller changed its key map: %v", err)
	}
}

// TestLogsHoldNoSecrets runs every operation, failures included, and looks for every code and
// the secret in the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *mfa.Config) { c.MaxAttempts = 3 })
	var secrets []string
	enr := e.enroll(t, "alice")
	secrets = append(secrets, enr.Secret, strings.ToLower(enr.Secret))
	first := e.code(t, enr.Secret, 0)
	secrets = append(secrets, first)
	codes, err := e.svc.Confirm(ctx, "alice", first)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		secrets = append(secrets, c, strings.ReplaceAll(c, "-", ""))
	}
	_ = e.svc.Verify(ctx, "alice", first) // replay
	e.clk.Advance(30 * time.Second)
	next := e.code(t, enr.Secret, 0)
	secrets = append(secrets, next)
	if err := e.svc.Verify(ctx, "alice", next); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UseRecoveryCode(ctx, "alice", codes[0]); err != nil {
		t.Fatal(err)
	}
	_ = e.svc.UseRecoveryCode(ctx, "alice", codes[0]) // used
	fresh, err := e.svc.RegenerateRecoveryCodes(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range fresh {
		secrets = append(secrets, c, strings.ReplaceAll(c, "-", ""))
	}
	wrong := e.code(t, enr.Secret, 5*30*time.Second) // a real code, of a step too far ahead
	secrets = append(secrets, wrong)
	for range 4 { // wrong, wrong, locked, locked
		_ = e.svc.Verify(ctx, "alice", wrong)
	}
	rot := e.cfg
	rot.EncryptionKeys = map[string][]byte{"k1": testKey(1), "k2": testKey(2)}
	rot.CurrentKeyID = "k2"
	if err := e.newService(t, rot).Reseal(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	rot.EncryptionKeys = map[string][]byte{"k3": testKey(3)}
	rot.CurrentKeyID = "k3"
	e.clk.Advance(time.Hour)
	_ = e.newService(t, rot).Verify(ctx, "alice", e.code(t, enr.Secret, 0)) // unreadable secret
	if err := e.svc.Disable(ctx, "alice"); err != nil {
		t.Fatal(err)
	}

	logs := e.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log contains the code or secret %q:\n%s", s, logs)
		}
	}
	for _, event := range []string{"mfa_enroll", "mfa_confirm", "mfa_verify", "mfa_invalid_code", "mfa_recovery_code_used",
		"mfa_recovery_codes_regenerated", "mfa_locked", "mfa_reseal", "mfa_unseal_failed", "mfa_disable"} {
		if !strings.Contains(logs, `"event":"`+event+`"`) {
			t.Errorf("no %s event in the log", event)
		}
	}
}

// resealRace is a service over a failingStore with key k1, a second service that has k1 and k2
// and seals with k2, and a counter of ResealTOTP calls.
type resealRace struct {
	*env
	fs      *failingStore
	rotated *mfa.Service
	reseals int
}

func newResealRace(t *testing.T) *resealRace {
	fs := &failingStore{Store: memstore.New()}
	r := &resealRace{env: newEnv(t, func(c *mfa.Config) { c.Store = fs }), fs: fs}
	both := r.cfg
	both.EncryptionKeys = map[string][]byte{"k1": testKey(1), "k2": testKey(2)}
	both.CurrentKeyID = "k2"
	r.rotated = r.newService(t, both)
	return r
}

// TestResealFactorReplacedMeanwhile: an enrolment that replaces the factor between Reseal's read
// and its write is not overwritten with the old secret; Reseal reads again and reseals the new.
func TestResealFactorReplacedMeanwhile(t *testing.T) {
	ctx := context.Background()
	r := newResealRace(t)
	first := r.enroll(t, "alice")
	var second *mfa.Enrollment
	r.fs.beforeReseal = func() {
		if r.reseals++; r.reseals == 1 {
			second = r.enroll(t, "alice")
		}
	}
	if err := r.rotated.Reseal(ctx, "alice"); err != nil {
		t.Fatalf("Reseal with an enrolment in between: %v", err)
	}
	if r.reseals != 2 {
		t.Fatalf("Reseal wrote %d times, want 2 (a conflict, then the new factor)", r.reseals)
	}
	if f, _ := r.fs.GetTOTP(ctx, "alice"); f.KeyID != "k2" || !f.ConfirmedAt.IsZero() {
		t.Fatalf("after Reseal: key %q, confirmed at %v; want k2, unconfirmed", f.KeyID, f.ConfirmedAt)
	}
	// The stored secret is the new enrolment's: the old one's code is refused, the new one's
	// confirms.
	if _, err := r.rotated.Confirm(ctx, "alice", r.code(t, first.Secret, 0)); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("Confirm with the replaced enrolment's code: %v; want ErrInvalidCode", err)
	}
	if _, err := r.rotated.Confirm(ctx, "alice", r.code(t, second.Secret, 0)); err != nil {
		t.Fatalf("Confirm of the new enrolment after Reseal: %v", err)
	}
}

// TestResealFactorResealedMeanwhile: another instance resealing first leaves nothing to do.
func TestResealFactorResealedMeanwhile(t *testing.T) {
	ctx := context.Background()
	r := newResealRace(t)
	secret, _ := r.enable(t, "alice")
	var resealed []byte
	r.fs.beforeReseal = func() {
		if r.reseals++; r.reseals == 1 {
			if err := r.rotated.Reseal(ctx, "alice"); err != nil {
				t.Errorf("the other instance's Reseal: %v", err)
			}
			f, _ := r.fs.GetTOTP(ctx, "alice")
			resealed = f.Secret
		}
	}
	if err := r.rotated.Reseal(ctx, "alice"); err != nil {
		t.Fatalf("Reseal racing another: %v", err)
	}
	if r.reseals != 2 {
		t.Fatalf("%d ResealTOTP calls, want 2 (the other instance's, and the conflicting one)", r.reseals)
	}
	if f, _ := r.fs.GetTOTP(ctx, "alice"); f.KeyID != "k2" || !bytes.Equal(f.Secret, resealed) {
		t.Fatalf("after the race: key %q, the other instance's secret kept %v; want k2, true", f.KeyID, bytes.Equal(f.Secret, resealed))
	}
	if err := r.rotated.Verify(ctx, "alice", r.code(t, secret, 0)); err != nil {
		t.Fatalf("Verify after the race: %v", err)
	}
}

// TestResealFactorKeepsChanging: Reseal retries once; a factor that changes again meanwhile gives
// the store's conflict, and the latest enrolment stays as it was.
func TestResealFactorKeepsChanging(t *testing.T) {
	ctx := context.Background()
	r := newResealRace(t)
	r.enroll(t, "alice")
	var last *mfa.Enrollment
	r.fs.beforeReseal = func() {
		r.reseals++
		last = r.enroll(t, "alice")
	}
	err := r.rotated.Reseal(ctx, "alice")
	if !errors.Is(err, store.ErrConflict) || isSentinel(err) {
		t.Fatalf("Reseal of a factor that keeps changing: %v; want the store's ErrConflict, wrapped", err)
	}
	if r.reseals != 2 {
		t.Fatalf("Reseal wrote %d times, want 2", r.reseals)
	}
	if f, _ := r.fs.GetTOTP(ctx, "alice"); f.KeyID != "k1" {
		t.Fatalf("after the failed Reseal: key %q, want k1 (the latest enrolment as it was)", f.KeyID)
	}
	// Run again without the race, it reseals the latest enrolment, which then confirms.
	r.fs.beforeReseal = nil
	if err := r.rotated.Reseal(ctx, "alice"); err != nil {
		t.Fatalf("Reseal again: %v", err)
	}
	if f, _ := r.fs.GetTOTP(ctx, "alice"); f.KeyID != "k2" {
		t.Fatalf("after Reseal again: key %q, want k2", f.KeyID)
	}
	if _, err := r.rotated.Confirm(ctx, "alice", r.code(t, last.Secret, 0)); err != nil {
		t.Fatalf("Confirm of the latest enrolment: %v", err)
	}
}
