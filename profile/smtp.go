package profile

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultSMTPTimeout is [SMTPSender.Timeout] when it is zero.
const DefaultSMTPTimeout = 30 * time.Second

// Limits of the messages that [SMTPSender] sends.
const (
	maxSubjectLen = 512
	maxEmailText  = 64 << 10
)

// SMTPSender is an [EmailSender] that submits each message to an SMTP server (a mail
// submission agent, usually port 587) with [net/smtp], over one new connection per message.
//
// The connection must be upgraded with STARTTLS: a server that does not offer it is refused
// with [ErrInsecureTransport] and nothing is sent, unless AllowPlaintext is set and the server
// is on a loopback address (a development mail catcher). Credentials are sent only over TLS
// (AUTH PLAIN), never in the clear, AllowPlaintext or not. The deadline of ctx (or Timeout when
// ctx has none) bounds the whole exchange, dial included, and cancelling ctx aborts it.
//
// Messages are text/plain in UTF-8, quoted-printable, with From, To, Subject (RFC 2047-encoded
// when not ASCII), Date, Message-ID and MIME-Version headers. A recipient or subject with a
// line break or another control character is refused with [ErrInvalidMessage], so that no
// header can be injected.
//
// An SMTPSender must not be changed while in use; it is safe for concurrent use.
type SMTPSender struct {
	// Addr is the server's host:port, e.g. "smtp.example.com:587". Required.
	Addr string
	// From is the sender: "noreply@example.com" or "Example <noreply@example.com>". Its address
	// is the envelope sender too. Required.
	From string
	// Username and Password are the credentials for AUTH PLAIN; an empty Username sends
	// without authenticating.
	Username string
	Password string
	// TLSConfig configures STARTTLS. Default: the system's roots, ServerName the host of Addr,
	// at least TLS 1.2. A given config is cloned, and its ServerName is filled in when empty.
	TLSConfig *tls.Config
	// AllowPlaintext permits sending without TLS to a server that does not offer STARTTLS, only
	// when it is on a loopback address, and only without Username: for a local development mail
	// catcher. Never set it in production.
	AllowPlaintext bool
	// LocalName is the host name sent in EHLO. Default "localhost".
	LocalName string
	// Timeout bounds a send when ctx has no deadline. Default [DefaultSMTPTimeout] (30 s).
	Timeout time.Duration
}

// SendEmail sends m. See [SMTPSender] for what it checks and refuses.
func (s *SMTPSender) SendEmail(ctx context.Context, m Email) error {
	if s.Addr == "" || s.From == "" {
		return errors.New("profile: SMTPSender.Addr and SMTPSender.From are required")
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("profile: SMTPSender.Addr: %w", err)
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil || hasControl(s.From) {
		return fmt.Errorf("profile: SMTPSender.From %q is not an address", s.From)
	}
	to, err := checkRecipient(m.To)
	if err != nil {
		return err
	}
	msg, err := buildMessage(from, to, m.Subject, m.Text, time.Now())
	if err != nil {
		return err
	}
	if err := s.send(ctx, host, from.Address, to.Address, msg); err != nil {
		cerr := ctx.Err()
		if d, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(d) {
			// The connection's deadline (ctx's) fired before ctx's own timer.
			cerr = context.DeadlineExceeded
		}
		if cerr != nil && !errors.Is(err, cerr) {
			return fmt.Errorf("profile: smtp: %w (%w)", cerr, err)
		}
		return err
	}
	return nil
}

func (s *SMTPSender) send(ctx context.Context, host, from, to string, msg []byte) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(timeout)
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("profile: smtp: dial: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("profile: smtp: %w", err)
	}
	// Cancelling ctx moves the deadline into the past, which aborts any read or write.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, host) // reads the greeting
	if err != nil {
		return fmt.Errorf("profile: smtp: greeting: %w", err)
	}
	defer c.Close()
	local := s.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := c.Hello(local); err != nil {
		return fmt.Errorf("profile: smtp: EHLO: %w", err)
	}

	secure := false
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{}
		if s.TLSConfig != nil {
			cfg = s.TLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if cfg.MinVersion == 0 {
			cfg.MinVersion = tls.VersionTLS12
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("profile: smtp: STARTTLS: %w", err)
		}
		secure = true
	} else if !s.AllowPlaintext {
		return fmt.Errorf("%w (server %s offers no STARTTLS)", ErrInsecureTransport, s.Addr)
	} else if !isLoopback(conn.RemoteAddr()) {
		return fmt.Errorf("%w (AllowPlaintext applies to loopback servers only, not %s)", ErrInsecureTransport, conn.RemoteAddr())
	}

	if s.Username != "" {
		if !secure {
			return fmt.Errorf("%w (no credentials over plaintext)", ErrInsecureTransport)
		}
		ok, mechs := c.Extension("AUTH")
		if !ok || !slices.Contains(strings.Fields(strings.ToUpper(mechs)), "PLAIN") {
			return errors.New("profile: smtp: server does not offer AUTH PLAIN")
		}
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("profile: smtp: AUTH: %w", err)
		}
	}

	if err := c.Mail(from); err != nil {
		return fmt.Errorf("profile: smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("profile: smtp: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("profile: smtp: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("profile: smtp: writing the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("profile: smtp: message refused: %w", err)
	}
	// The message was accepted at the end of DATA; a failing QUIT loses nothing.
	_ = c.Quit()
	return nil
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// hasControl reports whether s has a control character (CR and LF included) or is not UTF-8.
func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.ContainsFunc(s, func(r rune) bool {
		return r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
	})
}

// checkRecipient parses the To of a message: one address without display name, no control
// characters.
func checkRecipient(to string) (*mail.Address, error) {
	if to == "" || len(to) > MaxEmailLen || hasControl(to) {
		return nil, fmt.Errorf("%w: recipient empty, too long or with control characters", ErrInvalidMessage)
	}
	a, err := mail.ParseAddress(to)
	if err != nil || a.Name != "" {
		return nil, fmt.Errorf("%w: recipient is not one bare address", ErrInvalidMessage)
	}
	return a, nil
}

// buildMessage formats an RFC 5322 message with CRLF line ends (the data of an SMTP DATA
// command before dot-stuffing).
func buildMessage(from, to *mail.Address, subject, text string, date time.Time) ([]byte, error) {
	if hasControl(subject) || len(subject) > maxSubjectLen {
		return nil, fmt.Errorf("%w: subject with control characters or longer than %d bytes", ErrInvalidMessage, maxSubjectLen)
	}
	if text == "" || len(text) > maxEmailText || !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: text empty, not UTF-8 or longer than %d bytes", ErrInvalidMessage, maxEmailText)
	}
	var id [16]byte
	rand.Read(id[:])
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]

	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", from.String())
	header("To", to.String())
	header("Subject", encodeSubject(subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// encodeSubject returns subject as it is when it is ASCII (and has no "=?", which could read as
// an encoded word), and otherwise as RFC 2047 Q-encoded words of UTF-8, each whole runes, folded
// one to a line so that every line stays within 78 characters ("Subject: " included).
func encodeSubject(subject string) string {
	ascii := !strings.Contains(subject, "=?")
	for i := 0; i < len(subject) && ascii; i++ {
		ascii = subject[i] < utf8.RuneSelf
	}
	if ascii {
		return subject
	}
	const prefix, suffix, maxWord = "=?utf-8?q?", "?=", 78 - len("Subject: ")
	var out, word strings.Builder
	flush := func() {
		if out.Len() > 0 {
			out.WriteString("\r\n ")
		}
		out.WriteString(prefix + word.String() + suffix)
		word.Reset()
	}
	var enc []byte
	for _, r := range subject {
		enc = enc[:0]
		for _, c := range []byte(string(r)) {
			switch {
			case c == ' ':
				enc = append(enc, '_')
			case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!*+-/", c) >= 0:
				enc = append(enc, c)
			default:
				enc = append(enc, '=', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
			}
		}
		if len(prefix)+word.Len()+len(enc)+len(suffix) > maxWord {
			flush()
		}
		word.Write(enc)
	}
	if word.Len() > 0 {
		flush()
	}
	return out.String()
}
