package profile

import (
	"errors"
	"strconv"
	"time"
)

// Errors of the package. Test them with [errors.Is]. Store and sender failures are returned
// wrapped and are none of these.
var (
	// ErrInvalidEmail reports a string that is not a usable email address (see [ParseEmail]).
	ErrInvalidEmail = errors.New("profile: invalid email address")
	// ErrInvalidPhone reports a string that is not a phone number in E.164 form (see
	// [ParsePhone]).
	ErrInvalidPhone = errors.New("profile: invalid phone number")
	// ErrInvalidKind reports a contact kind other than [KindEmail] and [KindPhone].
	ErrInvalidKind = errors.New("profile: contact kind must be email or phone")
	// ErrInvalidCode reports a code that is not accepted: wrong, malformed, expired, used
	// already, voided by a resend or by too many wrong tries, sent for another purpose or
	// target, or for a contact that another user has verified meanwhile. The error never says
	// which; the log does (without the code).
	ErrInvalidCode = errors.New("profile: invalid code")
	// ErrNoContact reports that the user has no such contact, or, from
	// [Service.SendSecondFactor] and [Service.CheckSecondFactor], no primary verified contact
	// of the kind.
	ErrNoContact = errors.New("profile: no such contact")
	// ErrNotVerified reports that [Service.SetPrimary] was given a contact that is not verified.
	ErrNotVerified = errors.New("profile: contact not verified")
	// ErrSenderMissing reports that the kind of contact is disabled: [Config.Email] or
	// [Config.SMS] is nil.
	ErrSenderMissing = errors.New("profile: no sender configured for this kind of contact")
	// ErrRateLimited reports that too many codes were sent to one target in the current window.
	// The error returned is a [*RateLimitError], which wraps it and says when to retry.
	ErrRateLimited = errors.New("profile: too many codes sent")
	// ErrInsecureTransport reports that [SMTPSender] refused to send (or to authenticate)
	// without TLS.
	ErrInsecureTransport = errors.New("profile: smtp: refusing to send or authenticate without TLS")
	// ErrInvalidMessage reports a message that a sender refuses: a recipient or subject with
	// line breaks or other control characters (header injection), an unparsable address, an
	// empty or oversized text.
	ErrInvalidMessage = errors.New("profile: invalid message")
)

// RateLimitError is the error of a send refused because [Config.SendsPerTarget] codes went to
// the target in the current window ([Config.SendsPerTargetWindow]). Nothing was sent. It wraps
// [ErrRateLimited].
type RateLimitError struct {
	// RetryAfter is how long until the window ends and sending is possible again (rounded up
	// to a whole second, at least one).
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return "profile: too many codes sent; retry after " + strconv.FormatInt(int64(e.RetryAfter/time.Second), 10) + "s"
}

// Unwrap returns [ErrRateLimited].
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }
