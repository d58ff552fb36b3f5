package profile_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletauth/walletauth/profile"
)

func TestWebhookSMSSender(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			r.Header.Get("Authorization") != "Bearer hook-secret" {
			t.Errorf("request %s, Content-Type %q, Authorization %q", r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization"))
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := &profile.WebhookSMSSender{URL: srv.URL, Header: http.Header{
		"Authorization": {"Bearer hook-secret"},
		"Content-Type":  {"text/plain"}, // overridden
	}}
	if err := s.SendSMS(context.Background(), profile.SMS{To: "+14155550100", Text: "Example: your code is 012345"}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["to"] != "+14155550100" || got["text"] != "Example: your code is 012345" {
		t.Fatalf("webhook got %v", got)
	}
}

func TestWebhookSMSSenderFailures(t *testing.T) {
	var calls atomic.Int32
	status := http.StatusInternalServerError
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body) // so that the server notices when the client goes away
		switch r.URL.Path {
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/huge":
			w.WriteHeader(http.StatusOK)
			chunk := []byte(strings.Repeat("x", 1<<16))
			for range 1 << 8 { // 16 MiB unless the client goes away
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		default:
			w.WriteHeader(status)
		}
	}))
	defer srv.Close()
	msg := profile.SMS{To: "+14155550100", Text: "t"}
	ctx := context.Background()

	for _, code := range []int{500, 502, 503, 400, 404} {
		status = code
		err := (&profile.WebhookSMSSender{URL: srv.URL + "/fail"}).SendSMS(ctx, msg)
		var we *profile.WebhookError
		if !errors.As(err, &we) || we.StatusCode != code {
			t.Errorf("status %d: %v", code, err)
		}
	}
	// A redirect is not followed (a POST turned into a GET is not a sent SMS).
	if err := (&profile.WebhookSMSSender{URL: srv.URL + "/redirect"}).SendSMS(ctx, msg); err == nil {
		t.Error("302 counted as sent")
	}
	// The context bounds the request.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := (&profile.WebhookSMSSender{URL: srv.URL + "/slow"}).SendSMS(cctx, msg); !errors.Is(err, context.DeadlineExceeded) ||
		time.Since(start) > 5*time.Second {
		t.Errorf("slow webhook: %v after %v", err, time.Since(start))
	}
	// A huge response body is not read to its end.
	if err := (&profile.WebhookSMSSender{URL: srv.URL + "/huge"}).SendSMS(ctx, msg); err != nil {
		t.Errorf("huge 200: %v", err)
	}

	// Refused before any request.
	n := calls.Load()
	for _, c := range []struct {
		url string
		msg profile.SMS
	}{
		{srv.URL, profile.SMS{To: "14155550100", Text: "t"}},
		{srv.URL, profile.SMS{To: "+1 415 555 0100", Text: "t"}},
		{srv.URL, profile.SMS{To: "+14155550100", Text: ""}},
		{srv.URL, profile.SMS{To: "+14155550100", Text: strings.Repeat("x", profile.MaxSMSText+1)}},
		{"", msg},
		{"ftp://example.com/hook", msg},
		{"/relative", msg},
	} {
		if err := (&profile.WebhookSMSSender{URL: c.url}).SendSMS(ctx, c.msg); err == nil {
			t.Errorf("%q %+v accepted", c.url, c.msg)
		}
	}
	if calls.Load() != n {
		t.Error("an invalid message reached the webhook")
	}
}
