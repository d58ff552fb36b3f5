package memstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/store/memstore"
)

func oauthAccount(user, provider, subject string) store.OAuthAccount {
	return store.OAuthAccount{UserID: user, Provider: provider, Subject: subject, LinkedAt: base}
}

func TestOAuthCapacity(t *testing.T) {
	ctx := t.Context()
	s := memstore.New(memstore.WithMaxOAuthAccounts(2))
	defer s.Close()
	for _, a := range []store.OAuthAccount{oauthAccount("a", "github", "1"), oauthAccount("b", "github", "2")} {
		if err := s.LinkOAuth(ctx, a); err != nil {
			t.Fatalf("LinkOAuth(%s) = %v", a.Subject, err)
		}
	}
	if err := s.LinkOAuth(ctx, oauthAccount("c", "github", "3")); !errors.Is(err, store.ErrCapacity) {
		t.Fatalf("LinkOAuth when full = %v, want ErrCapacity", err)
	}
	// A conflict is reported as such when full.
	if err := s.LinkOAuth(ctx, oauthAccount("c", "github", "1")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("LinkOAuth of a linked account when full = %v, want ErrConflict", err)
	}
	if got := s.Sizes().OAuthAccounts; got != 2 {
		t.Errorf("Sizes().OAuthAccounts = %d, want 2", got)
	}
	// An unlink makes room.
	if err := s.UnlinkOAuth(ctx, "b", "github"); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkOAuth(ctx, oauthAccount("c", "github", "3")); err != nil {
		t.Errorf("LinkOAuth after an unlink = %v, want nil", err)
	}
	// Out-of-range times are refused, as in a store that keeps them.
	a := oauthAccount("d", "google", "4")
	a.LinkedAt = time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC)
	if err := s.LinkOAuth(ctx, a); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("LinkOAuth linked after 2262 = %v, want ErrInvalid", err)
	}
}
