package pgstore

import (
	"strings"
	"testing"
)

func TestSchemaName(t *testing.T) {
	if got, err := (Options{}).schemaName(); got != DefaultSchema || err != nil {
		t.Errorf("schema of Options{} = %q, %v; want %q, nil", got, err, DefaultSchema)
	}
	for _, name := range []string{"walletauth", "a", "_", "_auth", "auth_2", "pgx", "p_g", strings.Repeat("z", MaxSchemaLen)} {
		if got, err := (Options{Schema: name}).schemaName(); got != name || err != nil {
			t.Errorf("schema of %q = %q, %v; want it as it is", name, got, err)
		}
	}
	for _, name := range []string{"Auth", "wallet-auth", "wallet auth", "1auth", "pg_auth", "pg_", "wallet\"auth",
		"walletäuth", "auth\x00", strings.Repeat("z", MaxSchemaLen+1)} {
		if got, err := (Options{Schema: name}).schemaName(); err == nil {
			t.Errorf("schema of %q = %q, nil; want an error", name, got)
		}
	}
}

func TestLockKey(t *testing.T) {
	keys := map[int64]string{}
	for _, parts := range [][]string{{"a", "migrate"}, {"b", "migrate"}, {"a", "contacts", "u", "email"}, {"a", "contacts", "u", "phone"}, {"a", "contacts", "ue", "mail"}} {
		k := lockKey(parts[0], parts[1:]...)
		if other, ok := keys[k]; ok {
			t.Errorf("lockKey(%q) = lockKey(%s)", parts, other)
		}
		keys[k] = strings.Join(parts, ",")
		if again := lockKey(parts[0], parts[1:]...); again != k {
			t.Errorf("lockKey(%q) changes: %d, then %d", parts, k, again)
		}
	}
}

func TestDecodeChange(t *testing.T) {
	for payload, want := range map[string]bool{"revoked": true, "keys": true, "": false, "Keys": false, "subscribed": false, "revoked ": false} {
		if _, ok := decodeChange(payload); ok != want {
			t.Errorf("decodeChange(%q) ok = %v, want %v", payload, ok, want)
		}
	}
}
