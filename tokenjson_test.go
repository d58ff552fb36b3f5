package walletauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/walletauth/walletauth/internal/jsonstr"
)

// sameAsMarshal fails t unless writeJSON writes r exactly as json.Marshal encodes it (plus a
// newline), and unless the direct way was taken whenever json.Marshal escapes nothing.
func sameAsMarshal(t *testing.T, r *tokenResponse) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	got, direct := r.appendJSON(nil)
	if direct && string(got) != string(want) {
		t.Fatalf("appendJSON:\n got %s\nwant %s", got, want)
	}
	if !direct && len(got) != 0 {
		t.Fatalf("appendJSON appended %q and reported false", got)
	}
	plain := jsonstr.Plain(r.Status + r.AccessToken + r.ExpiresAt + r.RefreshToken + r.RefreshExpiresAt)
	if r.User != nil {
		plain = plain && jsonstr.Plain(r.User.ID+r.User.CreatedAt)
		for _, w := range r.User.Wallets {
			plain = plain && jsonstr.Plain(w.Address)
		}
	}
	if direct != plain {
		t.Fatalf("direct %v, want %v for %+v", direct, plain, r)
	}
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, r)
	if body := rec.Body.String(); body != string(want)+"\n" {
		t.Fatalf("writeJSON:\n got %q\nwant %q", body, string(want)+"\n")
	}
}

func TestTokenResponseJSON(t *testing.T) {
	user := &userView{ID: "u_01JABCDEF", CreatedAt: "2026-11-29T15:00:00Z",
		Wallets: []walletView{{Address: "0x71C7656EC7ab88b098defB751B7401B5f6d8976F", ChainID: 1}, {Address: "0xabc", ChainID: 1<<64 - 1}}}
	for _, r := range []*tokenResponse{
		{},
		{Status: "complete", AccessToken: "eyJ.eyJ.sig", ExpiresAt: "2026-11-29T15:01:00Z", User: user},
		{AccessToken: "a", ExpiresAt: "e", RefreshToken: "s.r", RefreshExpiresAt: "2026-12-29T15:00:00Z"},
		{AccessToken: "a", ExpiresAt: "e", RefreshExpiresAt: "only the time"},
		{AccessToken: "a", User: &userView{ID: "u"}},                          // wallets null
		{AccessToken: "a", User: &userView{ID: "u", Wallets: []walletView{}}}, // wallets []
		{AccessToken: "<script>&amp;"},
		{AccessToken: `quote " and \ backslash`},
		{AccessToken: "control \x00\x1f\x7f"},
		{AccessToken: "ünïcode \u2028"},
		{AccessToken: "bad utf-8 \xff"},
		{AccessToken: "a", User: &userView{ID: "u", Wallets: []walletView{{Address: "<x>"}}}},
		{AccessToken: "a", User: &userView{ID: "u", CreatedAt: "\n"}},
	} {
		sameAsMarshal(t, r)
	}
}

func FuzzTokenResponseJSON(f *testing.F) {
	f.Add("complete", "eyJ.eyJ.sig", "2026-11-29T15:01:00Z", "s.r", "2026-12-29T15:00:00Z", true, "u_1", "0x71C7656EC7ab88b098defB751B7401B5f6d8976F", uint64(1), uint8(2))
	f.Add("", "<&>", "\"\\", "", "", false, "", "", uint64(0), uint8(0))
	f.Fuzz(func(t *testing.T, status, access, exp, refresh, refreshExp string, withUser bool, id, addr string, chain uint64, wallets uint8) {
		r := &tokenResponse{Status: status, AccessToken: access, ExpiresAt: exp, RefreshToken: refresh, RefreshExpiresAt: refreshExp}
		if withUser {
			r.User = &userView{ID: id, CreatedAt: exp}
			for i := range int(wallets % 4) {
				r.User.Wallets = append(r.User.Wallets, walletView{Address: addr, ChainID: chain + uint64(i)})
			}
		}
		sameAsMarshal(t, r)
	})
}
