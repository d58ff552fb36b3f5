// Package storetest is a conformance suite for implementations of [store.Store], in the manner of
// [testing/fstest.TestFS] and gocloud's drivertest: an implementation's test file runs the whole
// contract of package store in a few lines.
//
// # Usage
//
// Call [Run] from a test, with a factory that returns a fresh, empty store and registers its own
// cleanup:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := mystore.New()
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// [Benchmark] is the counterpart for speed: the hot operations of a sign-in, a refresh, a rate
// limit and a second factor, as sub-benchmarks, from the same kind of factory (taking a
// *testing.B).
//
// Every subtest gets its own store from the factory. One subtest closes its store, so the cleanup
// must tolerate a second Close (ignore its error, or make Close idempotent).
//
// # What it checks
//
// [Run] covers, for nonces: that every field survives a round trip to the nanosecond; conflicts on
// live values and re-creation over expired ones; [store.ErrInvalid] for records a store cannot
// keep; that a record whose expiry is at or before now behaves exactly as an absent one;
// single-use consumption; failure counting; idempotent deletion. For counters: fixed windows that
// start at the first increment and restart at their end, independent keys, idempotent resets and
// the rejection of non-positive windows.
//
// For signing keys: round trips of every field (Private as arbitrary bytes); ListKeys's order
// (newest NotBefore first, ties by the greater ID) and its cut at ExpiresAt; conflicts;
// [store.ErrInvalid] for an empty or malformed ID (not 1 to 64 ASCII letters, digits, '-' and
// '_'), an Algorithm other than EdDSA, ES256 and HS256, an empty Private, a zero ExpiresAt;
// idempotent deletion. For sessions: round trips of every field, RetiredRefreshHashes included
// (lists of several hashes of different lengths, empty hashes among them, and a long list, through
// CreateSession and through RotateRefresh, which sets the list it is given, and changes nothing
// when it fails); the end of a session at the earlier of its expiries; RotateRefresh as a
// compare-and-set (the fields it sets, a wrong or replaced hash giving [store.ErrConflict], a
// revoked, expired or absent session [store.ErrNotFound], whatever the hash); revocation that
// keeps the session visible and never moves RevokedAt; RevokeUserSessions with and without an
// exception, its count, and other users left alone; ListSessions (live, unrevoked, newest first);
// RevokedSince (inclusive of since, in order of RevokedAt, without expired sessions). For users:
// round trips with wallets in the order given; address uniqueness and lookup without regard to
// case; that a CreateUser that conflicts stores nothing, not even its other wallets.
//
// For wallets: LinkWallet's round trip of every field, after which GetUser lists the wallets in
// the order linked (also after unlinkings left gaps or freed the last place) and UserByWallet finds
// the user by the address in any case; [store.ErrConflict] for an address of another user or of
// the same user, in any case, changing nothing; [store.ErrNotFound] for an unknown user, claiming
// nothing; [store.ErrInvalid] for an empty address; UnlinkWallet's [store.ErrConflict] for the
// user's last wallet, and [store.ErrNotFound] for an address the user has not got (another user's,
// an unknown one) or an unknown user; that an unlinked address, unlinked in any case, is free for
// another user (through LinkWallet or CreateUser); that users read before or after a link share no
// memory with the store. Races: 20 users linking one address (in cases of their own), of which
// exactly one wins; 10 addresses linked to one user at once, all kept; two callers each unlinking
// one of a user's two wallets, of which exactly one succeeds and the other wallet remains.
//
// For metadata: the round trip of each member byte for byte (spacing, escapes, non-ASCII text, a
// document of 16 KiB); that replacing one member leaves the others; that nil deletes a member;
// [store.ErrInvalid] for a member other than "public", "private" and "unsafe" (compared exactly);
// that GetMetadata of a user with none, or of no user, gives all members nil and no error; exact
// user IDs; copies in and out; callers setting the three members of one user at once losing no
// member's write.
//
// For second factors: round trips of every field of a TOTP factor (the sealed secret as arbitrary
// bytes, a zero ConfirmedAt that stays zero, the largest LastStep); PutTOTP replacing an
// unconfirmed factor whole but refusing a confirmed one with [store.ErrConflict] and leaving it
// unchanged; [store.ErrInvalid] for an empty UserID, Secret or KeyID; UseTOTPStep as a
// compare-and-set (a step equal to or below LastStep, or a sealed secret other than the factor's —
// as after a re-enrolment replaced the factor whose secret a code was checked against — is
// [store.ErrConflict] and changes nothing, neither confirming the factor nor using the step up; a
// greater step with the factor's secret is accepted, ConfirmedAt is set by the first accepted step
// and never moved, an absent factor is [store.ErrNotFound]); ResealTOTP as a compare-and-set on the
// old secret (a stale one is [store.ErrConflict] and changes nothing) changing the secret and KeyID
// only; idempotent DeleteTOTP, after which the user may enrol afresh. For recovery codes: each used
// once, then [store.ErrNotFound]; ReplaceRecoveryCodes voiding the old set at once, an empty list
// deleting them all; other users' codes untouched (the same hash in two users' sets is two codes);
// exact matching of user IDs and hashes; CountRecoveryCodes.
//
// For contacts: round trips of every field (AddedAt in any zone to the nanosecond, or zero);
// ListContacts in the order of addition (not of AddedAt, kind or value), also after deletions,
// with exact user IDs; AddContact storing a contact unverified and not primary, and returning the
// stored one unchanged when the user has it (verified or not); [store.ErrInvalid] for an empty
// UserID, Kind or Value or a Kind other than "email" and "phone" (compared exactly);
// VerifyContact setting VerifiedAt to now, making the first verified contact of a kind primary and
// the second not (kinds and users apart), [store.ErrNotFound] for a contact the user has not got,
// and [store.ErrConflict], changing nothing, when another user has the value verified (until that
// user deletes it); SetPrimaryContact leaving exactly one primary of the kind, other kinds and
// users alone, [store.ErrConflict] for an unverified contact and [store.ErrNotFound] for an
// unknown one; idempotent DeleteContact, after which a deleted primary leaves none primary and a
// deleted verified value is free. Races: two users claiming one value at once both keep it; of 20
// users verifying one value exactly one wins (the others keep an unverified claim); 20 callers
// adding one contact store it once; callers setting primaries at once leave exactly one.
//
// For verification codes: round trips of every field (the hash as arbitrary bytes, a one-byte
// hash, a long key); copies in and out; PutCode replacing a code whole (a resend voids the old
// hash and restarts the failures; a live or an expired code); [store.ErrInvalid] for an empty Key
// or Hash or a zero ExpiresAt, which replaces nothing; a code at or after its expiry behaving as
// an absent one; exact keys; ConsumeCode with the right hash once, then [store.ErrNotFound], and
// with a wrong hash (close to the right one, another key's) [store.ErrNotFound] leaving the code
// as it was; AddCodeFailure counting from the Failures given and deleting the code at the
// maximum, so that even the right hash finds nothing. Races: of 20 consumers exactly one wins; of
// 20 failures with a maximum of 5 exactly five succeed, returning 1 to 5, and the code is dead
// after; consumers racing failures consume at most once, and only before the maximum.
//
// For OAuth accounts: round trips of every field (LinkedAt in any zone to the nanosecond, or zero;
// empty Email and Username); copies out; ListOAuth in the order of linking (not of LinkedAt or
// provider), also after unlinks; [store.ErrConflict], changing nothing, for an account linked to
// another user or to this one, and for a second account of a provider the user has;
// [store.ErrInvalid] for an empty UserID, Provider or Subject; UnlinkOAuth, then
// [store.ErrNotFound] for an account the user has not got, after which the account may be linked
// to another user. Races: of 20 users linking one provider account exactly one wins, and of 20
// accounts of one provider linked to one user exactly one.
//
// For all: that a call with a cancelled context returns an error wrapping [context.Canceled] and
// changes nothing; that concurrent calls keep their promises (one consumer of a nonce, no lost
// increment, one winner of 50 refreshes with one hash, whose retired hashes are the ones kept, and
// of 50 users claiming one address, a refresh racing a revocation never winning after it, one
// winner of 20 callers presenting one TOTP step (19 [store.ErrConflict]), resealing one secret or
// using one recovery code, the greatest of 20 racing steps ending as LastStep, a replaced set whole
// after a race with uses of the old one); that stores copy the slices they take and give (a
// session's list of retired hashes and each hash in it, a user's wallets, a metadata document, a
// factor's secret, recovery code hashes); and that calls after Close fail.
//
// # Readings of the contract
//
// Where package store leaves room, the suite takes the reading that is safest for an
// authentication library, and checks it:
//
//   - nil and empty slices are equal (AMR, PrevRefreshHash, RetiredRefreshHashes and each hash in
//     it): a store may give back either.
//   - Times of keys, sessions and users outside the range of Unix nanoseconds are
//     [store.ErrInvalid], as the package documentation says; so is a revocation or refresh at the
//     zero time (or an empty new hash, or a zero idle expiry), which would leave a session looking
//     unrevoked, or expired at once. A store must not report success for them.
//   - An address listed twice in one new user (in any case) is [store.ErrInvalid], and so is an
//     empty address.
//   - A TOTP factor's LastStep below zero (RFC 6238 steps are not negative; 0 means none) and
//     its times out of range are [store.ErrInvalid]. So is a UseTOTPStep at the zero time, or out
//     of range, confirmed factor or not: a factor confirmed at the zero time would look
//     unconfirmed. A step at or below zero is never greater than a LastStep, so it is
//     [store.ErrConflict].
//   - ResealTOTP to an empty secret or KeyID, which PutTOTP would refuse, is [store.ErrInvalid].
//   - ReplaceRecoveryCodes with an empty user ID, an empty (or nil) hash, or one hash twice
//     (which would be one code counted twice) is [store.ErrInvalid], and keeps the old set. The
//     suite never gives one user more than 20 codes, as a store may bound the number (memstore
//     and sqlitestore allow 64).
//   - The factor and the recovery codes are records of their own: DeleteTOTP leaves the codes,
//     and ReplaceRecoveryCodes the factor.
//   - A wallet's link time out of range is [store.ErrInvalid], as a user's is. UnlinkWallet for
//     an unknown user is [store.ErrNotFound] (the user has no such wallet). LinkWallet of a free
//     address to an unknown user is [store.ErrNotFound]; the suite leaves open which error a
//     taken address gets then.
//   - SetMetadata with an empty (not nil) document deletes the member as nil does: an empty
//     document is no JSON object, and a nil member means {}. SetMetadata with an empty user ID is
//     [store.ErrInvalid], as ReplaceRecoveryCodes's is. The suite always creates the user before
//     it sets metadata, so a store may or may not check that the user exists, and it never gives
//     one member more than 16 KiB, as a store may bound the size (memstore and sqlitestore allow
//     64 KiB).
//   - A contact given to AddContact with a VerifiedAt or Primary is stored unverified and not
//     primary. VerifyContact at the zero time is [store.ErrInvalid] (a contact verified then
//     would look unverified). Verifying a contact the user has verified already is no error and
//     does not change which contact is primary; whether it moves VerifiedAt is left open. The
//     suite does not ask whether a user may add a value another user has verified, nor which
//     contact (if any) becomes primary when a user whose primary was deleted verifies another.
//   - AddCodeFailure is never given a maximum below 1, nor PutCode a negative Failures (memstore
//     and sqlitestore refuse both with [store.ErrInvalid]). A wrong hash given to ConsumeCode is
//     not a failure: the caller counts failures with AddCodeFailure.
//   - OAuth providers and subjects are compared exactly: "Abc" and "abc" are two subjects,
//     "GitHub" and "github" two providers.
//   - CreateKey and CreateSession take no now, so the suite accepts both answers to re-creating an
//     ID whose record has expired: [store.ErrConflict], or success that keeps the new record whole.
//     A record that is live at the new one's CreatedAt, or any held record when CreatedAt is zero,
//     must conflict.
//
// The suite never sleeps and never reads the clock: every call gets a "now" derived from a fixed
// time in 2030, which the stores must treat as the only truth. It runs in well under a second per
// store.
package storetest
