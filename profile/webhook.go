package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"
)

// Limits of [WebhookSMSSender].
const (
	// MaxSMSText bounds the text of an SMS, in bytes (ten concatenated segments of UCS-2 text,
	// well above what this package sends).
	MaxSMSText = 1600
	// maxWebhookResponse bounds how much of a webhook's response body is read (and discarded).
	maxWebhookResponse = 64 << 10
	// DefaultWebhookTimeout is the timeout of the client that [WebhookSMSSender] uses when its
	// Client is nil.
	DefaultWebhookTimeout = 15 * time.Second
)

// defaultWebhookClient has a timeout and follows no redirect: a 3xx is not a 2xx, so it
// counts as a failure instead of turning the POST into a GET of some other page.
var defaultWebhookClient = &http.Client{
	Timeout:       DefaultWebhookTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// WebhookSMSSender is an [SMSSender] that hands each message to the application: it POSTs
// the JSON object {"to": "+14155550100", "text": "…"} (Content-Type application/json) to URL,
// where the application passes it on to its SMS provider. Any 2xx answer means sent; any
// other status, a transport error or the end of ctx is an error. At most 64 KiB of the
// response body is read, and then discarded.
//
// A WebhookSMSSender must not be changed while in use; it is safe for concurrent use.
type WebhookSMSSender struct {
	// URL is the webhook, http or https. Required.
	URL string
	// Client sends the requests. Default: a client with a timeout of [DefaultWebhookTimeout]
	// that follows no redirects.
	Client *http.Client
	// Header is added to every request, e.g. an Authorization header that the webhook checks
	// (it should: whoever can call it can send text messages). Content-Type is always
	// application/json.
	Header http.Header
}

// WebhookError is the error of a webhook that answered with a status other than 2xx.
type WebhookError struct {
	StatusCode int
}

func (e *WebhookError) Error() string {
	return fmt.Sprintf("profile: sms webhook answered with status %d", e.StatusCode)
}

// SendSMS posts m to the webhook. m.To must be in E.164 form and m.Text non-empty UTF-8 of at
// most [MaxSMSText] bytes ([ErrInvalidMessage] otherwise).
func (s *WebhookSMSSender) SendSMS(ctx context.Context, m SMS) error {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("profile: WebhookSMSSender.URL must be an http or https URL")
	}
	if p, err := ParsePhone(m.To); err != nil || p != m.To {
		return fmt.Errorf("%w: recipient is not a phone number in E.164 form", ErrInvalidMessage)
	}
	if m.Text == "" || len(m.Text) > MaxSMSText || !utf8.ValidString(m.Text) {
		return fmt.Errorf("%w: text empty, not UTF-8 or longer than %d bytes", ErrInvalidMessage, MaxSMSText)
	}
	body, err := json.Marshal(struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}{m.To, m.Text})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("profile: sms webhook: %w", err)
	}
	for k, vs := range s.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Content-Type", "application/json")
	client := s.Client
	if client == nil {
		client = defaultWebhookClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("profile: sms webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &WebhookError{StatusCode: resp.StatusCode}
	}
	return nil
}
