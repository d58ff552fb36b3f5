package profile_test

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/walletauth/walletauth/internal/testutil"
	"github.com/walletauth/walletauth/profile"
	"github.com/walletauth/walletauth/store/memstore"
)

// outbox is an EmailSender and SMSSender that keeps what it is given.
type outbox struct {
	mu     sync.Mutex
	emails []profile.Email
	sms    []profile.SMS
	fail   error
}

func (o *outbox) SendEmail(_ context.Context, m profile.Email) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.emails = append(o.emails, m)
	return nil
}

func (o *outbox) SendSMS(_ context.Context, m profile.SMS) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.sms = append(o.sms, m)
	return nil
}

func (o *outbox) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.emails) + len(o.sms)
}

var codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

// code returns the code of the last message to to.
func (o *outbox) code(t *testing.T, to string) string {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.emails) - 1; i >= 0; i-- {
		if o.emails[i].To == to {
			return codeRE.FindString(o.emails[i].Text)
		}
	}
	for i := len(o.sms) - 1; i >= 0; i-- {
		if o.sms[i].To == to {
			return codeRE.FindString(o.sms[i].Text)
		}
	}
	t.Fatalf("no message to %s", to)
	return ""
}

// other returns a code that is not c.
func other(c string) string {
	n, _ := strconv.Atoi(c)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	svc   *profile.Service
	out   *outbox
	clock *clock
	logs  *testutil.LogBuffer
}

// newEnv makes a Service over a memstore with both kinds enabled, a fixed clock and a log at
// level Debug; edit changes the Config first.
func newEnv(t *testing.T, edit func(*profile.Config)) *env {
	t.Helper()
	e := &env{out: &outbox{}, clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, logs: &testutil.LogBuffer{}}
	cfg := profile.Config{
		Store:   memstore.New(),
		Email:   e.out,
		SMS:     e.out,
		AppName: "Example",
		Clock:   e.clock.now,
		Logger:  slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	svc, err := profile.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e
}

// verified adds the contact to the user and verifies it.
func (e *env) verified(t *testing.T, user, kind, value string) {
	t.Helper()
	ctx := context.Background()
	c, err := e.svc.AddContact(ctx, user, kind, value)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VerifyContact(ctx, user, kind, value, e.out.code(t, c.Value)); err != nil {
		t.Fatal(err)
	}
}

func slogJSON(w *testutil.LogBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}
