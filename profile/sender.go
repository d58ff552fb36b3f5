package profile

import (
	"context"
	"log/slog"
)

// Email is a plain-text email message.
type Email struct {
	// To is the recipient: a bare address (as [ParseEmail] returns).
	To string
	// Subject is one line of text; it may be non-ASCII.
	Subject string
	// Text is the body, UTF-8 plain text.
	Text string
}

// EmailSender sends email. Implementations must be safe for concurrent use and honour ctx
// (its deadline and cancellation). [SMTPSender] and [LogSender] are two.
type EmailSender interface {
	SendEmail(ctx context.Context, m Email) error
}

// SMS is a text message.
type SMS struct {
	// To is the recipient's number in E.164 form (as [ParsePhone] returns): "+" and digits.
	To string
	// Text is the message, UTF-8.
	Text string
}

// SMSSender sends text messages. Implementations must be safe for concurrent use and honour
// ctx. [WebhookSMSSender] and [LogSender] are two.
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) error
}

// LogSender is an [EmailSender] and an [SMSSender] for development: it delivers nothing and
// logs every message, text included, at level Warn under the message "profile: development
// sender: message not delivered". This is the only place where the package lets a code reach
// a log: never configure a LogSender in production.
type LogSender struct {
	// Logger receives the messages. Default [slog.Default].
	Logger *slog.Logger
}

const logSenderMsg = "profile: development sender: message not delivered, logged instead (never use in production)"

func (s LogSender) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// SendEmail logs m at level Warn and returns nil (or ctx's error when it is done).
func (s LogSender) SendEmail(ctx context.Context, m Email) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.logger().LogAttrs(ctx, slog.LevelWarn, logSenderMsg, slog.String("kind", KindEmail),
		slog.String("to", m.To), slog.String("subject", m.Subject), slog.String("text", m.Text))
	return nil
}

// SendSMS logs m at level Warn and returns nil (or ctx's error when it is done).
func (s LogSender) SendSMS(ctx context.Context, m SMS) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.logger().LogAttrs(ctx, slog.LevelWarn, logSenderMsg, slog.String("kind", KindPhone),
		slog.String("to", m.To), slog.String("text", m.Text))
	return nil
}
