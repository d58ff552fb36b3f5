package profile_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/walletauth/walletauth/profile"
	"github.com/walletauth/walletauth/store/memstore"
)

// inbox is an EmailSender that keeps the last message, standing in for the user's mailbox.
type inbox struct{ last profile.Email }

func (b *inbox) SendEmail(_ context.Context, m profile.Email) error {
	b.last = m
	return nil
}

// A user adds an email address, proves it with the code sent there, and later uses it as a
// second factor.
func Example() {
	ctx := context.Background()
	mailbox := &inbox{}
	svc, err := profile.New(profile.Config{
		Store:   memstore.New(),
		Email:   mailbox, // in production: &profile.SMTPSender{...}
		AppName: "Example",
		Clock:   func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	c, err := svc.AddContact(ctx, "user-1", profile.KindEmail, "Alice@Example.com")
	fmt.Println(c.Value, c.VerifiedAt.IsZero(), err)
	fmt.Println(mailbox.last.To, "|", mailbox.last.Subject)

	code := regexp.MustCompile(`[0-9]{6}`).FindString(mailbox.last.Text)
	c, err = svc.VerifyContact(ctx, "user-1", profile.KindEmail, "alice@example.com", code)
	fmt.Println(c.VerifiedAt.IsZero(), c.Primary, err)
	_, err = svc.VerifyContact(ctx, "user-1", profile.KindEmail, "alice@example.com", code)
	fmt.Println(err)

	fmt.Println(svc.SendSecondFactor(ctx, "user-1", profile.KindEmail), mailbox.last.Subject)
	code = regexp.MustCompile(`[0-9]{6}`).FindString(mailbox.last.Text)
	fmt.Println(svc.CheckSecondFactor(ctx, "user-1", profile.KindEmail, code))
	// Output:
	// alice@example.com true <nil>
	// alice@example.com | Your Example verification code
	// false true <nil>
	// profile: invalid code
	// <nil> Your Example sign-in code
	// <nil>
}

// The LogSender delivers nothing and logs each message, code and all, at level Warn: for
// development only.
func ExampleLogSender() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable output
			}
			return a
		},
	}))
	s := profile.LogSender{Logger: logger}
	s.SendSMS(context.Background(), profile.SMS{To: "+14155550100", Text: "Example: your verification code is 012345."})
	// Output:
	// level=WARN msg="profile: development sender: message not delivered, logged instead (never use in production)" kind=phone to=+14155550100 text="Example: your verification code is 012345."
}

func ExampleParsePhone() {
	fmt.Println(profile.ParsePhone("+1 (415) 555-0100"))
	fmt.Println(profile.ParsePhone("0415 555 0100"))
	// Output:
	// +14155550100 <nil>
	//  profile: invalid phone number: want + and the country code first
}
