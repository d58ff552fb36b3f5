package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/walletauth/walletauth/session"
)

// FuzzVerify: whatever the input, Verify and VerifyPending neither panic nor return claims with
// an error, and refuse anything but the few real tokens with one of the package's sentinels.
func FuzzVerify(f *testing.F) {
	e := newEnv(f)
	m, err := session.New(context.Background(), e.config())
	if err != nil {
		f.Fatal(err)
	}
	tok, err := m.Create(context.Background(), alice)
	if err != nil {
		f.Fatal(err)
	}
	pending, _, err := m.MintPending(alice, session.MaxPendingTTL)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(tok.AccessToken, ".")
	for _, s := range []string{
		tok.AccessToken, pending, tok.RefreshToken, "", ".", "..", "...", "a.b.c", "a.b.c.d.e",
		parts[0] + "." + parts[1] + ".", parts[0] + ".." + parts[2], "{}." + parts[1] + "." + parts[2],
		`{"payload":"e30","signatures":[]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, verify := range []func(string) (*session.Claims, error){m.Verify, m.VerifyPending} {
			c, err := verify(s)
			if err != nil {
				if c != nil {
					t.Fatal("claims with an error")
				}
				if !errors.Is(err, session.ErrTokenInvalid) && !errors.Is(err, session.ErrTokenExpired) && !errors.Is(err, session.ErrSessionRevoked) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			if s != tok.AccessToken && s != pending {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

// FuzzRefresh: refresh tokens are parsed without panics; anything but the real one is refused.
func FuzzRefresh(f *testing.F) {
	e := newEnv(f)
	m, err := session.New(context.Background(), e.config())
	if err != nil {
		f.Fatal(err)
	}
	tok, err := m.Create(context.Background(), alice)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{tok.RefreshToken, "", ".", tok.SessionID + ".", tok.RefreshToken + "x", strings.Repeat("A", 66)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == tok.RefreshToken {
			return // would rotate it
		}
		if err := m.RevokeByRefreshToken(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		_, err := m.Refresh(context.Background(), s)
		if err == nil {
			t.Fatalf("accepted %q", s)
		}
	})
}
