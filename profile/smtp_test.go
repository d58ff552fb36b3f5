package profile_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/walletauth/walletauth/profile"
)

// received is a message as the test SMTP server got it.
type received struct {
	from, to string
	user     string // the authenticated user, "" without AUTH
	tls      bool
	data     []byte
}

// mailServer is a real SMTP server (emersion/go-smtp) on a loopback port.
type mailServer struct {
	addr  string
	roots *x509.CertPool

	mu       sync.Mutex
	msgs     []received
	authSeen int // AUTH attempts, successful or not
}

func (m *mailServer) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.msgs...)
}

func (m *mailServer) auths() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.authSeen
}

type mailSession struct {
	srv  *mailServer
	conn *smtp.Conn
	user string
	from string
	to   string
}

func (m *mailServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &mailSession{srv: m, conn: c}, nil
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.srv.mu.Lock()
		s.srv.authSeen++
		s.srv.mu.Unlock()
		if username != "mailer" || password != "s3cret pass" {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, received{from: s.from, to: s.to, user: s.user, tls: isTLS, data: data})
	s.srv.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.from, s.to = "", "" }
func (s *mailSession) Logout() error { return nil }

// requireAuthSession refuses MAIL before AUTH.
type requireAuthSession struct{ *mailSession }

func (s requireAuthSession) Mail(from string, o *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	return s.mailSession.Mail(from, o)
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "walletauth test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// startMailServer starts an SMTP server on 127.0.0.1: with STARTTLS (and AUTH only after it)
// when withTLS, without STARTTLS (and AUTH offered in the clear) otherwise.
func startMailServer(t *testing.T, withTLS, requireAuth bool) *mailServer {
	t.Helper()
	ms := &mailServer{}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s := &mailSession{srv: ms, conn: c}
		if requireAuth {
			return requireAuthSession{s}, nil
		}
		return s, nil
	})
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	if withTLS {
		cert, pool := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		ms.roots = pool
	} else {
		srv.AllowInsecureAuth = true // a careless server: our client must still refuse
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ms
}

func TestSMTPSTARTTLSEndToEnd(t *testing.T) {
	ms := startMailServer(t, true, true)
	sender := &profile.SMTPSender{
		Addr:      ms.addr,
		From:      "Exämple App <noreply@app.example>",
		Username:  "mailer",
		Password:  "s3cret pass",
		TLSConfig: &tls.Config{RootCAs: ms.roots},
	}
	longLine := strings.Repeat("0123456789", 20)
	text := "Your code is 012345\n.\n..two dots\nünïcödé = ok\n" + longLine + "\n"
	subject := "Código de verificación ✓ " + strings.Repeat("long ", 20)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sender.SendEmail(ctx, profile.Email{To: "alice@example.com", Subject: subject, Text: text}); err != nil {
		t.Fatal(err)
	}
	msgs := ms.messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if !got.tls || got.user != "mailer" || got.from != "noreply@app.example" || got.to != "alice@example.com" {
		t.Fatalf("envelope: tls=%v user=%q from=%q to=%q", got.tls, got.user, got.from, got.to)
	}
	for _, line := range strings.SplitAfter(string(got.data), "\n") {
		if strings.HasSuffix(line, "\n") && !strings.HasSuffix(line, "\r\n") {
			t.Fatalf("bare LF in message: %q", line)
		}
		if len(line) > 78+2 {
			t.Errorf("line longer than 78 characters: %q", line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	dec := new(mime.WordDecoder)
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Name != "Exämple App" || from.Address != "noreply@app.example" {
		t.Errorf("From %q: %v %v", h.Get("From"), from, err)
	}
	if to, err := mail.ParseAddress(h.Get("To")); err != nil || to.Address != "alice@example.com" {
		t.Errorf("To %q", h.Get("To"))
	}
	raw := h.Get("Subject")
	if !strings.HasPrefix(raw, "=?utf-8?q?") {
		t.Errorf("Subject not RFC 2047-encoded: %q", raw)
	}
	if s, err := dec.DecodeHeader(raw); err != nil || s != subject {
		t.Errorf("Subject decodes to %q, %v; want %q", s, err, subject)
	}
	if d, err := h.Date(); err != nil || time.Since(d).Abs() > time.Minute {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if !regexp.MustCompile(`^<[0-9a-f]{32}@app\.example>$`).MatchString(h.Get("Message-ID")) {
		t.Errorf("Message-ID %q", h.Get("Message-ID"))
	}
	for k, want := range map[string]string{
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(text, "\n", "\r\n"); string(body) != want {
		t.Errorf("body %q, want %q", body, want)
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	ms := startMailServer(t, true, true)
	sender := &profile.SMTPSender{Addr: ms.addr, From: "noreply@app.example", Username: "mailer", Password: "wrong",
		TLSConfig: &tls.Config{RootCAs: ms.roots}}
	err := sender.SendEmail(context.Background(), profile.Email{To: "a@example.com", Subject: "s", Text: "t"})
	if err == nil || len(ms.messages()) != 0 {
		t.Fatalf("err %v, %d messages; want an AUTH error and nothing sent", err, len(ms.messages()))
	}
}

func TestSMTPUntrustedCertificate(t *testing.T) {
	ms := startMailServer(t, true, false)
	sender := &profile.SMTPSender{Addr: ms.addr, From: "noreply@app.example"} // system roots
	err := sender.SendEmail(context.Background(), profile.Email{To: "a@example.com", Subject: "s", Text: "t"})
	if err == nil || len(ms.messages()) != 0 {
		t.Fatalf("err %v, %d messages; want a certificate error and nothing sent", err, len(ms.messages()))
	}
}

func TestSMTPRefusesPlaintext(t *testing.T) {
	ms := startMailServer(t, false, false)
	msg := profile.Email{To: "a@example.com", Subject: "s", Text: "t"}
	ctx := context.Background()

	// No STARTTLS: refused, nothing sent, no credentials sent.
	s := &profile.SMTPSender{Addr: ms.addr, From: "noreply@app.example", Username: "mailer", Password: "s3cret pass"}
	if err := s.SendEmail(ctx, msg); !errors.Is(err, profile.ErrInsecureTransport) {
		t.Fatalf("without STARTTLS: %v, want ErrInsecureTransport", err)
	}
	s.Username, s.Password = "", ""
	if err := s.SendEmail(ctx, msg); !errors.Is(err, profile.ErrInsecureTransport) {
		t.Fatalf("without STARTTLS or credentials: %v, want ErrInsecureTransport", err)
	}
	// AllowPlaintext does not allow credentials in the clear.
	s = &profile.SMTPSender{Addr: ms.addr, From: "noreply@app.example", Username: "mailer", Password: "s3cret pass", AllowPlaintext: true}
	if err := s.SendEmail(ctx, msg); !errors.Is(err, profile.ErrInsecureTransport) {
		t.Fatalf("AllowPlaintext with credentials: %v, want ErrInsecureTransport", err)
	}
	if n := ms.auths(); n != 0 || len(ms.messages()) != 0 {
		t.Fatalf("server saw %d AUTH attempts and %d messages; want none", n, len(ms.messages()))
	}
	// AllowPlaintext without credentials, on loopback: sent.
	s.Username, s.Password = "", ""
	if err := s.SendEmail(ctx, msg); err != nil {
		t.Fatalf("AllowPlaintext on loopback: %v", err)
	}
	if m := ms.messages(); len(m) != 1 || m[0].tls || m[0].user != "" {
		t.Fatalf("messages %+v", m)
	}
}

// A server that accepts the connection and never answers: the context's deadline ends the send.
func TestSMTPContextDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := &profile.SMTPSender{Addr: ln.Addr().String(), From: "noreply@app.example", Timeout: time.Minute}
	msg := profile.Email{To: "a@example.com", Subject: "s", Text: "t"}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.SendEmail(ctx, msg)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("deadline: %v after %v", err, time.Since(start))
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	err = s.SendEmail(ctx, msg)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("cancel: %v after %v", err, time.Since(start))
	}

	// Without a deadline in ctx, Timeout bounds the send.
	s.Timeout = 200 * time.Millisecond
	start = time.Now()
	if err := s.SendEmail(context.Background(), msg); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("timeout: %v after %v", err, time.Since(start))
	}
}

func TestSMTPHeaderInjection(t *testing.T) {
	// Validation happens before dialling: nothing listens on the address.
	s := &profile.SMTPSender{Addr: "127.0.0.1:1", From: "noreply@app.example"}
	for _, m := range []profile.Email{
		{To: "a@example.com\r\nBcc: victim@example.com", Subject: "s", Text: "t"},
		{To: "a@example.com\nBcc: victim@example.com", Subject: "s", Text: "t"},
		{To: "a@example.com", Subject: "hi\r\nBcc: victim@example.com", Text: "t"},
		{To: "a@example.com", Subject: "hi\nX-Injected: 1", Text: "t"},
		{To: "a@example.com", Subject: "hi\rX-Injected: 1", Text: "t"},
		{To: "a@example.com", Subject: "nul\x00", Text: "t"},
		{To: "a@example.com", Subject: "line sep\u2028X: 1", Text: "t"},
		{To: "Eve <a@example.com>", Subject: "s", Text: "t"},
		{To: "a@example.com, b@example.com", Subject: "s", Text: "t"},
		{To: "", Subject: "s", Text: "t"},
		{To: "a@example.com", Subject: "s", Text: ""},
		{To: "a@example.com", Subject: "s", Text: "bad utf-8 \xff"},
	} {
		if err := s.SendEmail(context.Background(), m); !errors.Is(err, profile.ErrInvalidMessage) {
			t.Errorf("%q / %q: %v, want ErrInvalidMessage", m.To, m.Subject, err)
		}
	}
	bad := &profile.SMTPSender{Addr: "127.0.0.1:1", From: "noreply@app.example\r\nBcc: x@example.com"}
	if err := bad.SendEmail(context.Background(), profile.Email{To: "a@example.com", Subject: "s", Text: "t"}); err == nil {
		t.Error("From with CRLF accepted")
	}
}
