// Package profile keeps walletauth users' email addresses and phone numbers: it verifies them
// with one-time codes and sends and checks codes as a second factor, through small sender
// interfaces that any mail or SMS service plugs into.
//
// A [Service] is made by [New] from a [Config] and keeps all its state in a [Store] (every
// [github.com/walletauth/walletauth/store.Store] is one), so instances that share a store act
// as one. All times come from [Config.Clock].
//
// # Contacts
//
// A contact is an email address ([KindEmail]) or a phone number ([KindPhone]) of a user,
// kept as a [github.com/walletauth/walletauth/store.Contact]. [Service.AddContact] parses the
// value ([ParseEmail], [ParsePhone]), stores it unverified and sends a code to it;
// [Service.VerifyContact] takes the code back and marks the contact verified. The first
// verified contact of a kind is its primary one, where second factor codes go;
// [Service.SetPrimary] chooses another verified one, [Service.RemoveContact] removes a contact
// (voiding its pending codes and, when it was primary, promoting the earliest-added verified
// contact of the kind left), [Service.Contacts] lists them. [Service.SendSecondFactor] sends a
// code to the primary contact of a kind and [Service.CheckSecondFactor] checks it: the
// "email_code" and "sms_code" factors of a sign-in.
//
// A kind whose sender is nil ([Config.Email], [Config.SMS]) is disabled: sending to it gives
// [ErrSenderMissing].
//
// # Codes
//
// A code is 6 decimal digits ([CodeDigits]), leading zeros included, drawn from crypto/rand by
// rejection sampling (no modulo bias: every code from 000000 to 999999 is equally likely). It
// is bound to its purpose ([PurposeVerify] or [PurposeMFA]), kind, user and target: the store
// key is "purpose:kind:user:value", and the store keeps only SHA-256 over that key and the
// code, never the code. A code sent for one address does not work for another, for another
// user, or for the other purpose. A code is valid for [Config.CodeTTL] (at most 10 minutes),
// is used up by its first success (atomically: of concurrent uses of one code exactly one
// succeeds), dies after [Config.MaxFailures] wrong tries (after which even the right code is
// refused), and is voided by the next code for the same purpose and target ([Service.Resend],
// a second [Service.SendSecondFactor]). A code typed with spaces or hyphens ("123 456") is
// accepted. Every refusal is [ErrInvalidCode], which does not say why; the log does.
//
// The hash protects little, and no hash could: there are just 10⁶ codes, so whoever reads the
// database (a stolen backup, an injection) can find a live code from its hash offline in well
// under a second, salted or not, and use it within its lifetime. That is
// why codes live at most 10 minutes: a stolen hash is worthless once its code has expired. Online
// guessing is what the limits stop: a code dies after MaxFailures wrong tries, and only
// [Config.SendsPerTarget] codes go to a target per window, so an attacker gets
// MaxFailures × SendsPerTarget guesses of 10⁶ per window and target (25 per hour with the
// defaults, a chance of 2.5·10⁻⁵).
//
// # Limits
//
// At most [Config.SendsPerTarget] codes (default 5) go to one address or number per
// [Config.SendsPerTargetWindow] (default 1 hour), whatever the user and purpose, counted in a
// fixed window of the store's counters. More are refused with a [*RateLimitError] (wrapping
// [ErrRateLimited]) whose RetryAfter is the time left in the window; a refused send voids no
// code. This bounds the messages anyone can make the application send to a victim; it also
// means that whoever floods a target can hold back its codes for the rest of the window, so
// the application should limit the calls per client and per user as well.
//
// # Privacy
//
// No answer says whether an address or number belongs to another user. An unverified contact
// may be claimed by several users at once; only a verified one belongs to one user. Adding a
// value that another user has verified succeeds exactly like adding a new one: the contact is
// stored unverified and a code is sent, and the code that comes back cannot verify it —
// [Service.VerifyContact] answers the same [ErrInvalidCode] as for a wrong code, and logs the
// conflict at level Warn. (The store has no lookup of a contact by value, so the code really
// is sent: the owner receives a message they did not ask for, within the send limits, and the
// timing of the answer is the same.)
//
// # Senders
//
// Codes go out through an [EmailSender] and an [SMSSender], interfaces of one method:
//
//   - [SMTPSender] submits email to an SMTP server with [net/smtp]. It requires STARTTLS (or
//     refuses with [ErrInsecureTransport]; [SMTPSender.AllowPlaintext] permits a plaintext
//     loopback server for development, never with credentials), authenticates with AUTH PLAIN
//     only over TLS, bounds the exchange by the context's deadline, and writes text/plain UTF-8
//     quoted-printable messages with RFC 2047-encoded subjects. A recipient or subject with a
//     line break or another control character is refused ([ErrInvalidMessage]).
//   - [WebhookSMSSender] posts {"to", "text"} as JSON to the application's webhook, which hands
//     it to any SMS provider; a 2xx answer means sent.
//   - [LogSender] logs messages instead of sending them, for development. It is the only place
//     where a code may reach a log, and it logs at level Warn saying so.
//
// # Logging
//
// [Config.Logger] receives events with an "event" attribute: code_sent, code_send_failed,
// code_rate_limited, invalid_code (with a reason and the failure count), contact_verified,
// contact_conflict, contact_removed and mfa_code_ok. They name the user, kind and purpose; they
// never contain a code, and contain no address or number either.
package profile
