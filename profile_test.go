package walletauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/walletauth/walletauth"
)

// linkBody asks for a message for the key's wallet and signs it with that key.
func (c *client) linkBody(key *client) map[string]any {
	c.t.Helper()
	r := c.do("POST", "/auth/nonce", map[string]any{"address": key.addr().Hex(), "chainId": 8453}, nil)
	if r.status != 200 {
		c.t.Fatalf("nonce: %d %s", r.status, r.raw)
	}
	msg := r.body["message"].(string)
	return map[string]any{"message": msg, "signature": key.sign(msg)}
}

func wallets(r *response) []string {
	var out []string
	for _, w := range r.body["user"].(map[string]any)["wallets"].([]any) {
		out = append(out, w.(map[string]any)["address"].(string))
	}
	return out
}

func TestLinkAndUnlinkWallets(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	userID := c.signIn().body["user"].(map[string]any)["id"].(string)
	second := s.client(t) // only its key is used: the second wallet

	r := c.do("POST", "/auth/wallets", c.linkBody(second), nil)
	if r.status != 200 || len(wallets(r)) != 2 || wallets(r)[1] != second.addr().Hex() {
		t.Fatalf("link: %d %s", r.status, r.raw)
	}
	// The second wallet now signs in to the same user.
	if got := second.signIn().body["user"].(map[string]any)["id"]; got != userID {
		t.Fatalf("second wallet signs in as %v, want %s", got, userID)
	}
	// Linking a wallet that belongs to someone (here: already to us) is refused.
	if r := c.do("POST", "/auth/wallets", c.linkBody(second), nil); r.status != 409 || r.errCode() != "wallet_taken" {
		t.Errorf("link twice: %d %s", r.status, r.raw)
	}
	stranger := s.client(t)
	stranger.signIn()
	if r := c.do("POST", "/auth/wallets", c.linkBody(stranger), nil); r.status != 409 || r.errCode() != "wallet_taken" {
		t.Errorf("link another user's wallet: %d %s", r.status, r.raw)
	}
	// A signature by another key than the message's address proves nothing.
	body := c.linkBody(s.client(t))
	body["signature"] = c.sign(body["message"].(string))
	if r := c.do("POST", "/auth/wallets", body, nil); r.status != 401 || r.errCode() != "signature_mismatch" {
		t.Errorf("link with a wrong signature: %d %s", r.status, r.raw)
	}
	if r := s.client(t).do("POST", "/auth/wallets", c.linkBody(s.client(t)), nil); r.status != 401 {
		t.Errorf("link without a session: %d", r.status)
	}

	// Unlinking the second wallet signs out its sessions; the first wallet's stay.
	r = c.do("DELETE", "/auth/wallets/"+strings.ToLower(second.addr().Hex()), nil, nil)
	if r.status != 200 || len(wallets(r)) != 1 || r.body["signedOut"] != float64(1) {
		t.Fatalf("unlink: %d %s", r.status, r.raw)
	}
	if r := second.do("GET", "/api/me", nil, nil); r.status != 401 {
		t.Errorf("the unlinked wallet's session: %d", r.status)
	}
	if r := c.do("GET", "/api/me", nil, nil); r.status != 200 {
		t.Errorf("the remaining wallet's session: %d", r.status)
	}
	// The last wallet cannot go; another user's or an unknown one is not found.
	if r := c.do("DELETE", "/auth/wallets/"+c.addr().Hex(), nil, nil); r.status != 409 || r.errCode() != "last_wallet" {
		t.Errorf("unlink the last wallet: %d %s", r.status, r.raw)
	}
	if r := c.do("DELETE", "/auth/wallets/"+stranger.addr().Hex(), nil, nil); r.status != 404 {
		t.Errorf("unlink another user's wallet: %d", r.status)
	}
	if r := c.do("DELETE", "/auth/wallets/nonsense", nil, nil); r.status != 404 {
		t.Errorf("unlink garbage: %d", r.status)
	}
	// The unlinked wallet is free again: it signs in as a new user.
	if got := second.signIn().body["user"].(map[string]any)["id"]; got == userID {
		t.Error("unlinked wallet still signs in to the old user")
	}
}

func TestMetadata(t *testing.T) {
	s := newServer(t, func(c *walletauth.Config) { c.PublicMetadataInToken = true })
	c := s.client(t)
	userID := c.signIn().body["user"].(map[string]any)["id"].(string)
	ctx := context.Background()

	r := c.do("GET", "/auth/user", nil, nil)
	u := r.body["user"].(map[string]any)
	if r.status != 200 || u["id"] != userID || len(u["publicMetadata"].(map[string]any)) != 0 {
		t.Fatalf("user: %d %s", r.status, r.raw)
	}
	if err := s.auth.SetPublicMetadata(ctx, userID, map[string]any{"plan": "pro"}); err != nil {
		t.Fatal(err)
	}
	if err := s.auth.SetPrivateMetadata(ctx, userID, map[string]any{"stripe": "cus_123"}); err != nil {
		t.Fatal(err)
	}
	if err := s.auth.SetPublicMetadata(ctx, userID, []int{1}); err == nil {
		t.Error("an array accepted as metadata")
	}
	// The user writes unsafe metadata and reads public and unsafe, never private.
	if r := c.do("PUT", "/auth/user/metadata", map[string]any{"unsafeMetadata": map[string]any{"theme": "dark"}}, nil); r.status != 200 {
		t.Fatalf("unsafe: %d %s", r.status, r.raw)
	}
	r = c.do("GET", "/auth/user", nil, nil)
	if !strings.Contains(string(r.raw), `"plan":"pro"`) || !strings.Contains(string(r.raw), `"theme":"dark"`) || strings.Contains(string(r.raw), "cus_123") {
		t.Errorf("user with metadata: %s", r.raw)
	}
	for name, body := range map[string]string{
		"array":  `{"unsafeMetadata":[1,2]}`,
		"string": `{"unsafeMetadata":"x"}`,
		"null":   `{"unsafeMetadata":null}`,
		"none":   `{}`,
	} {
		if r := c.do("PUT", "/auth/user/metadata", body, nil); r.status != 400 {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	big := `{"unsafeMetadata":{"x":"` + strings.Repeat("a", walletauth.MaxUnsafeMetadata) + `"}}`
	if r := c.do("PUT", "/auth/user/metadata", big, nil); r.status != 413 {
		t.Errorf("oversized unsafe metadata: %d %s", r.status, r.raw)
	}
	// Public metadata travels in the access token.
	at := c.do("POST", "/auth/refresh", nil, nil).body["accessToken"].(string)
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(at, ".")[1])
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	if pm, _ := claims["public_metadata"].(map[string]any); pm["plan"] != "pro" {
		t.Errorf("claims %s", payload)
	}
	if r := s.client(t).do("GET", "/api/me", nil, map[string]string{"Authorization": "Bearer " + at}); r.status != 200 {
		t.Errorf("token with metadata: %d", r.status)
	}
	// Too large for a token: left out, the sign-in still works.
	if err := s.auth.SetPublicMetadata(ctx, userID, map[string]any{"x": strings.Repeat("b", walletauth.DefaultMaxTokenMetadata)}); err != nil {
		t.Fatal(err)
	}
	r = c.do("POST", "/auth/refresh", nil, nil)
	payload, _ = base64.RawURLEncoding.DecodeString(strings.Split(r.body["accessToken"].(string), ".")[1])
	if r.status != 200 || strings.Contains(string(payload), "public_metadata") {
		t.Errorf("oversized public metadata in the token: %d %s", r.status, payload)
	}
}
