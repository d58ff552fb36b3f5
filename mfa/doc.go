// Package mfa provides second factors for walletauth: TOTP (RFC 6238, as authenticator apps
// implement it) and single-use recovery codes, with attempt limits.
//
// A [Service] is made by [New] from a [Config] and keeps all its state in a [Store] (every
// [github.com/walletauth/walletauth/store.Store] is one), so instances that share a store act
// as one. All times come from [Config.Clock].
//
// # Enrolment
//
// [Service.Enroll] makes a new secret — 160 bits ([SecretSize]) from crypto/rand, through
// [github.com/pquerna/otp/totp.Generate] — and returns it as an [Enrollment]: the secret in
// base32 for typing in, the otpauth:// URL (issuer [Config.Issuer], the given account name) and
// a PNG of its QR code. The factor is stored unconfirmed and protects nothing until
// [Service.Confirm] receives a valid code from the app; enrolling again before that replaces it,
// and enrolling with a confirmed factor gives [ErrAlreadyEnabled]. Confirm returns the first
// set of recovery codes. [Service.Enabled] reports whether a confirmed factor exists, and
// [Service.Disable] deletes the factor and the recovery codes.
//
// # Codes
//
// Codes use SHA-1, 6 digits ([Digits]) and 30-second steps ([Period]): what authenticator apps
// support. [Service.Verify] computes the codes of the current time step and of one step either
// side ([Skew]) one by one with [github.com/pquerna/otp/totp.GenerateCodeCustom], compares them
// in constant time, and spends the matched step in the store
// ([github.com/walletauth/walletauth/store.MFAStore.UseTOTPStep]), which accepts a step only
// when it is after the last accepted one and the factor still has the sealed secret that the
// code was checked against, atomically. So a code works once, even when submitted many times at
// once, and after a code is accepted no code of that step or an earlier one is (RFC 6238 §5.2);
// the confirming code spends its step too. A code checked against a factor that is replaced
// meanwhile (enrolled again) is refused and leaves the new factor unconfirmed. Every refusal is [ErrInvalidCode],
// which does not say whether the code was wrong, malformed or replayed; the log does.
//
// # Recovery codes
//
// A set has [Config.RecoveryCodes] codes. Each is 80 bits from crypto/rand, written as 16
// characters of Crockford's base32 alphabet in lower case (no i, l, o or u) in four groups,
// "7k3m-q9xa-0rtd-5vhe". Input ignores case, spaces and hyphens and reads o as 0 and i or l as 1.
// The store keeps only each code's SHA-256: with 80 bits of entropy a code cannot be found from
// its hash by guessing, so a fast unsalted hash is enough and no slow password hash is needed.
// [Service.UseRecoveryCode] uses a code up atomically (of concurrent uses of one code exactly
// one succeeds) and logs the use at level Warn with the number of codes left (never the code);
// [Service.RegenerateRecoveryCodes] replaces the set, voiding the old one at once;
// [Service.RecoveryCodesLeft] counts what is left.
//
// # Attempt limits
//
// Every call of [Service.Verify], [Service.UseRecoveryCode] and [Service.Confirm] is an attempt
// and counts against one counter per user, in a fixed window of [Config.AttemptWindow] (default
// 5 minutes) that starts with the first attempt. A user has at most [Config.MaxAttempts]
// (default 5) attempts per window: the next ones are refused without checking the code, with a
// [*LockedError] (wrapping [ErrLocked]) whose Until is the end of the window — refused attempts
// do not extend it. A successful attempt resets the counter. An attacker who guesses TOTP codes
// thus gets MaxAttempts × 3 of the 10⁶ codes per window (three steps are accepted), about
// 1.5·10⁻⁵ with the defaults.
//
// # Sealed secrets and key rotation
//
// A TOTP secret cannot be hashed (the server needs it to compute codes), so it is sealed with
// AES-256-GCM under [Config.CurrentKeyID]: a random 96-bit nonce per sealing, and the user id
// (after a fixed label naming the purpose) as additional data, so that a sealed secret copied
// into another user's record does not open. The stored form is a version byte, the nonce, and
// the ciphertext with its tag.
// The store keeps the sealed secret and the key id; it never sees the plain secret. A secret
// whose key id is not in [Config.EncryptionKeys], or that does not authenticate, is refused
// with [ErrSecretUnreadable] (fail closed) and logged at level Error.
//
// To rotate the encryption key:
//
//  1. Add the new key to [Config.EncryptionKeys] on every instance, keeping the old one.
//  2. Make it [Config.CurrentKeyID] (once every instance knows it): new secrets are sealed
//     with it, old ones still open with the old key.
//  3. Run [Service.Reseal] for every user (pending enrolments included); it re-encrypts the
//     secret under the current key, leaves secrets sealed with it already alone, and returns
//     [ErrNotEnrolled] for users without a factor, so a loop over all users can ignore that
//     and be re-run. It may run while users sign in and enrol: it never writes an old secret
//     over a factor that changed since it read it.
//  4. Only then remove the old key. A secret still sealed with a removed key can no longer be
//     opened: its user cannot sign in with TOTP (recovery codes still work) until an
//     administrator disables the factor and the user enrols again.
//
// # Logging
//
// Security events go to [Config.Logger] with an "event" and a "user" attribute: enrolment,
// confirmation, accepted and refused codes (with the reason and the attempt number), lockouts
// (level Warn once per window), recovery-code use (Warn), regeneration, disabling, resealing,
// and secrets that cannot be opened (Error). No code and no secret is ever logged.
package mfa
