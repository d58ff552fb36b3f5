package store

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Errors that stores return. Implementations wrap causes with these using %w, so callers test them
// with [errors.Is].
var (
	// ErrNotFound reports that a record does not exist or has expired.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports that a record with the same key already exists.
	ErrConflict = errors.New("store: conflict")
	// ErrCapacity reports that a bounded store is full of live records and refuses new ones; it
	// protects the process from floods (see memstore). Callers should answer it as a temporary
	// failure, never by evicting other users' records.
	ErrCapacity = errors.New("store: capacity reached")
	// ErrInvalid reports a record that a store cannot keep (a required field is empty, a value is
	// out of range).
	ErrInvalid = errors.New("store: invalid record")
	// ErrClosed reports a call on a store after its Close.
	ErrClosed = errors.New("store: closed")
)

// Nonce is a sign-in nonce issued by the server. Value is the key.
type Nonce struct {
	// Value is the nonce itself: at least 8 ASCII letters and digits.
	Value string
	// Address, when not empty, binds the nonce to one account: the EIP-55 form of the address that
	// requested it. Only a message from that address may use the nonce.
	Address string
	// ChainID, when not zero, binds the nonce to one chain.
	ChainID uint64
	// IssuedAt is when the nonce was issued.
	IssuedAt time.Time
	// ExpiresAt is when the nonce stops being valid; at and after it the nonce does not exist.
	ExpiresAt time.Time
	// Failures counts failed sign-in attempts that used the nonce (see [NonceStore.AddNonceFailure]).
	Failures int
}

// NonceStore keeps sign-in nonces.
//
// A nonce lives from CreateNonce until it is consumed, deleted, or expires. Looking a nonce up
// ([NonceStore.GetNonce]) does not use it up; only [NonceStore.ConsumeNonce] does, and of any number
// of concurrent calls for one nonce exactly one succeeds.
type NonceStore interface {
	// CreateNonce stores a new nonce. It returns ErrConflict when a live nonce with the same Value
	// exists, ErrInvalid when Value is empty or ExpiresAt is zero, and ErrCapacity when the store is
	// bounded and full of live nonces. now is the caller's clock and may be used to purge expired
	// records.
	CreateNonce(ctx context.Context, n Nonce, now time.Time) error

	// GetNonce returns the live nonce with the given value, or ErrNotFound.
	GetNonce(ctx context.Context, value string, now time.Time) (Nonce, error)

	// ConsumeNonce deletes the live nonce with the given value and returns it, atomically: of many
	// concurrent calls for one nonce exactly one returns it and the rest return ErrNotFound. An
	// expired or absent nonce gives ErrNotFound.
	ConsumeNonce(ctx context.Context, value string, now time.Time) (Nonce, error)

	// AddNonceFailure atomically adds one to the live nonce's Failures and returns the new count,
	// or ErrNotFound.
	AddNonceFailure(ctx context.Context, value string, now time.Time) (int, error)

	// DeleteNonce deletes the nonce, live or expired. Deleting an absent nonce is not an error.
	DeleteNonce(ctx context.Context, value string) error
}

// CounterStore keeps fixed-window counters, as used for rate limits ("at most N requests per client
// per minute") and attempt limits.
type CounterStore interface {
	// IncrementCounter atomically adds one to the counter key and returns the new count and the end
	// of its window. When the counter does not exist or its window has ended (at or before now), a
	// new window of length window starts at now with count 1; a later call with another window
	// does not move the end of a running one. window must be positive (ErrInvalid). A bounded
	// store full of live counters returns ErrCapacity.
	IncrementCounter(ctx context.Context, key string, window time.Duration, now time.Time) (count int64, resetAt time.Time, err error)

	// ResetCounter deletes the counter. Resetting an absent counter is not an error.
	ResetCounter(ctx context.Context, key string) error
}

// SigningKey is a key that signs access tokens. ID is the key.
type SigningKey struct {
	// ID is the key id ("kid"): unique, at most 64 ASCII letters, digits, '-' and '_'.
	ID string
	// Algorithm is the JWS algorithm: "EdDSA", "ES256" or "HS256".
	Algorithm string
	// Private is the private key (or HMAC secret) as a JSON Web Key. Stores keep it as given.
	Private []byte
	// CreatedAt is when the key was made.
	CreatedAt time.Time
	// NotBefore is when the key starts signing. Keys are published (and verify) from CreatedAt,
	// so that every instance knows a key before any instance signs with it.
	NotBefore time.Time
	// ExpiresAt is when the key stops verifying; at and after it the key does not exist.
	ExpiresAt time.Time
}

// KeyStore keeps the signing keys that instances share.
type KeyStore interface {
	// CreateKey stores a new key: ErrConflict when a live key has the same ID, ErrInvalid when ID,
	// Algorithm or Private is empty or ExpiresAt is zero.
	CreateKey(ctx context.Context, k SigningKey) error
	// ListKeys returns the live keys (ExpiresAt after now), the newest NotBefore first (ties: the
	// greater ID first).
	ListKeys(ctx context.Context, now time.Time) ([]SigningKey, error)
	// DeleteKey deletes a key. Deleting an absent key is not an error.
	DeleteKey(ctx context.Context, id string) error
}

// Session is a refresh session: what a signed-in device holds between sign-in and sign-out.
// ID is the key.
type Session struct {
	// ID identifies the session (the "sid" claim of its access tokens).
	ID string
	// UserID is the user signed in.
	UserID string
	// Address and ChainID are the wallet and chain the session signed in with (EIP-55 address).
	Address string
	ChainID uint64
	// AAL is the authenticator assurance level, "aal1" or "aal2"; AMR the methods used
	// ("siwe", "totp", ...).
	AAL string
	AMR []string
	// RefreshHash is the hash of the current refresh token's secret.
	RefreshHash []byte
	// PrevRefreshHash is the hash of the refresh token that RefreshHash replaced, at RotatedAt; nil
	// before the first rotation.
	PrevRefreshHash []byte
	RotatedAt       time.Time
	// RetiredRefreshHashes are the hashes of the refresh tokens rotated out before
	// PrevRefreshHash, the newest first, as many as the session package keeps (a bounded number).
	// A token that matches one of them was copied: presenting it revokes the session, while a
	// token that matches no hash of the session is merely invalid. Stores keep the list as given.
	RetiredRefreshHashes [][]byte
	// CreatedAt is the sign-in; LastUsedAt the last refresh.
	CreatedAt  time.Time
	LastUsedAt time.Time
	// IdleExpiresAt and ExpiresAt end the session: the idle timeout, moved on by each refresh, and
	// the absolute lifetime. At and after the earlier of the two the session does not exist.
	IdleExpiresAt time.Time
	ExpiresAt     time.Time
	// RevokedAt is when the session was revoked; zero while it is not. A revoked session still
	// exists (until it expires) so that its revocation can be seen.
	RevokedAt time.Time
	// UserAgent and IP describe the device, for the user's list of sessions (bounded in length by
	// the caller).
	UserAgent string
	IP        string
}

// Revocation is a session's revocation, as other instances learn of it.
type Revocation struct {
	SessionID string
	RevokedAt time.Time
	// ExpiresAt is the session's absolute expiry: no token of it outlives that.
	ExpiresAt time.Time
}

// SessionStore keeps refresh sessions.
type SessionStore interface {
	// CreateSession stores a new session: ErrConflict when the ID exists, ErrInvalid when ID,
	// UserID or RefreshHash is empty or an expiry is zero.
	CreateSession(ctx context.Context, s Session) error

	// GetSession returns the session, revoked or not, or ErrNotFound when it does not exist or
	// has expired.
	GetSession(ctx context.Context, id string, now time.Time) (Session, error)

	// RotateRefresh replaces the session's refresh hash atomically, compare-and-set: only when
	// the session is live, not revoked, and its RefreshHash equals oldHash, it sets
	// PrevRefreshHash = oldHash, RefreshHash = newHash, RetiredRefreshHashes = retired,
	// RotatedAt = LastUsedAt = now and IdleExpiresAt = idleExpiresAt, and returns the updated
	// session. It returns ErrNotFound when the session does not exist, has expired or is revoked,
	// and ErrConflict when RefreshHash is not oldHash (another refresh won). Of concurrent calls
	// with the same oldHash exactly one succeeds. (The caller computes retired from the session it
	// read; the compare-and-set on oldHash guarantees that nothing rotated in between.)
	RotateRefresh(ctx context.Context, id string, oldHash, newHash []byte, retired [][]byte, idleExpiresAt, now time.Time) (Session, error)

	// RevokeSession marks the session revoked at now. Revoking a revoked, expired or absent
	// session is not an error (and does not move RevokedAt).
	RevokeSession(ctx context.Context, id string, now time.Time) error

	// RevokeUserSessions revokes every live, unrevoked session of the user except exceptID (which
	// may be empty) and returns how many it revoked.
	RevokeUserSessions(ctx context.Context, userID, exceptID string, now time.Time) (int, error)

	// ListSessions returns the user's live, unrevoked sessions, the newest CreatedAt first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)

	// RevokedSince returns the revocations of live sessions revoked at or after since, in order of
	// RevokedAt. Instances poll it to learn of revocations made elsewhere.
	RevokedSince(ctx context.Context, since, now time.Time) ([]Revocation, error)
}

// User is a person who signs in. ID is the key; it never changes and is not an address.
type User struct {
	ID        string
	CreatedAt time.Time
	// Wallets are the user's wallets, in the order they were linked.
	Wallets []Wallet
}

// Wallet is an account linked to a user. An address belongs to one user at most.
type Wallet struct {
	// Address is the EIP-55 form of the account address.
	Address string
	// ChainID is the chain the wallet was linked on.
	ChainID  uint64
	LinkedAt time.Time
}

// UserStore keeps users and their wallets.
type UserStore interface {
	// CreateUser stores a new user with its wallets (at least one), atomically: ErrConflict when
	// the ID exists or one of the addresses belongs to a user already (compared without regard to
	// case), in which case nothing is stored. ErrInvalid when ID is empty or there is no wallet.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the user with its wallets, or ErrNotFound.
	GetUser(ctx context.Context, id string) (User, error)
	// UserByWallet returns the user a wallet address belongs to (compared without regard to
	// case), or ErrNotFound.
	UserByWallet(ctx context.Context, address string) (User, error)

	// LinkWallet adds a wallet to an existing user, atomically: ErrConflict when the address
	// belongs to a user already (this one included), ErrNotFound when there is no such user,
	// ErrInvalid when the address is empty.
	LinkWallet(ctx context.Context, userID string, w Wallet) error

	// UnlinkWallet removes a wallet from its user, atomically: ErrConflict when it is the user's
	// last wallet (the last way to sign in), ErrNotFound when the user has no such wallet
	// (address compared without regard to case).
	UnlinkWallet(ctx context.Context, userID, address string) error
}

// Metadata is what an app keeps about a user beyond the wallets, as three JSON objects: Public
// (the server writes, the user may read; may be copied into access tokens), Private (the server
// only) and Unsafe (the user writes; never trusted). A nil member means {}.
type Metadata struct {
	Public  []byte
	Private []byte
	Unsafe  []byte
}

// Member returns the member of m that name ("public", "private" or "unsafe", as
// [MetadataStore.SetMetadata] names them) names, or nil for any other name.
func (m *Metadata) Member(name string) *[]byte {
	switch name {
	case "public":
		return &m.Public
	case "private":
		return &m.Private
	case "unsafe":
		return &m.Unsafe
	}
	return nil
}

// MetadataStore keeps users' metadata.
type MetadataStore interface {
	// GetMetadata returns the user's metadata: all three members nil when none was set. It does
	// not check that the user exists.
	GetMetadata(ctx context.Context, userID string) (Metadata, error)

	// SetMetadata replaces one member ("public", "private" or "unsafe"; ErrInvalid otherwise)
	// of the user's metadata with doc, a JSON object the caller has checked; nil deletes it. The
	// other members are left alone.
	SetMetadata(ctx context.Context, userID, member string, doc []byte, now time.Time) error
}

// TOTP is a user's time-based one-time password factor. UserID is the key: one factor a user.
type TOTP struct {
	UserID string
	// Secret is the shared secret, sealed (encrypted) by the mfa package; KeyID names the key
	// that sealed it. Stores keep both as given and never see the plain secret.
	Secret []byte
	KeyID  string
	// CreatedAt is the enrolment. ConfirmedAt is zero until a first valid code confirms the
	// factor; an unconfirmed factor protects nothing.
	CreatedAt   time.Time
	ConfirmedAt time.Time
	// LastStep is the last RFC 6238 time step whose code was accepted (0: none). A code of that
	// step or an earlier one is never accepted again.
	LastStep int64
}

// MFAStore keeps second factors: TOTP secrets and recovery codes (as hashes).
type MFAStore interface {
	// PutTOTP stores a new factor for f.UserID, replacing an unconfirmed one. It returns
	// ErrConflict when the user has a confirmed factor (disable it first) and ErrInvalid when
	// UserID, Secret or KeyID is empty.
	PutTOTP(ctx context.Context, f TOTP) error

	// GetTOTP returns the user's factor, confirmed or not, or ErrNotFound.
	GetTOTP(ctx context.Context, userID string) (TOTP, error)

	// UseTOTPStep atomically accepts a code's time step, as one compare-and-set: only when the
	// factor's sealed Secret equals secret (the one the caller opened and checked the code
	// against) and step is greater than its LastStep does it set LastStep = step (and
	// ConfirmedAt = now when it is zero) and return the updated factor. It returns ErrConflict,
	// changing nothing, when the Secret differs (the factor was replaced or resealed since the
	// caller read it: the code proves nothing about the new secret) or step is not greater (a
	// replayed or older code) — of concurrent calls with the same step exactly one succeeds —
	// and ErrNotFound when the user has no factor.
	UseTOTPStep(ctx context.Context, userID string, secret []byte, step int64, now time.Time) (TOTP, error)

	// ResealTOTP replaces the sealed secret oldSecret with newSecret and its KeyID with keyID,
	// leaving everything else (encryption key rotation), as one compare-and-set: it returns
	// ErrConflict, changing nothing, when the factor's Secret is not oldSecret (the factor was
	// replaced or resealed since the caller read it), and ErrNotFound when the user has no factor.
	ResealTOTP(ctx context.Context, userID string, oldSecret, newSecret []byte, keyID string) error

	// DeleteTOTP deletes the user's factor. Deleting an absent factor is not an error.
	DeleteTOTP(ctx context.Context, userID string) error

	// ReplaceRecoveryCodes replaces the user's recovery codes with the given hashes, atomically:
	// the old set is void at once. An empty list deletes them all.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error

	// UseRecoveryCode atomically deletes the user's recovery code with the given hash: of
	// concurrent calls with one hash exactly one succeeds, the rest get ErrNotFound, as does a
	// hash the user has not (or no longer) got.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte) error

	// CountRecoveryCodes returns how many unused recovery codes the user has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
}

// Contact is a user's email address or phone number. (UserID, Kind, Value) is the key.
type Contact struct {
	UserID string
	// Kind is "email" or "phone".
	Kind string
	// Value is normalised by the caller: an email address in lower case, a phone number in
	// E.164 form (+ and digits).
	Value   string
	AddedAt time.Time
	// VerifiedAt is zero until the user proved to receive messages there.
	VerifiedAt time.Time
	// Primary marks the one verified contact of its kind that messages go to.
	Primary bool
}

// ContactStore keeps users' email addresses and phone numbers. A verified contact belongs to one
// user only; unverified ones may be claimed by several users at once (any of them may be the
// owner until one proves it).
type ContactStore interface {
	// AddContact adds an unverified contact to the user; when the user has it already, it
	// changes nothing and returns the stored one. ErrInvalid when UserID, Kind or Value is
	// empty or Kind is neither "email" nor "phone".
	AddContact(ctx context.Context, c Contact) (Contact, error)

	// ListContacts returns the user's contacts in the order they were added.
	ListContacts(ctx context.Context, userID string) ([]Contact, error)

	// VerifyContact marks the user's contact verified at now, atomically: ErrNotFound when the
	// user has no such contact, ErrConflict when another user has it verified. The first
	// verified contact of its kind becomes primary.
	VerifyContact(ctx context.Context, userID, kind, value string, now time.Time) (Contact, error)

	// SetPrimaryContact makes the user's verified contact the primary one of its kind (and the
	// former primary not): ErrNotFound when the user has no such contact, ErrConflict when it is
	// not verified.
	SetPrimaryContact(ctx context.Context, userID, kind, value string) error

	// DeleteContact removes the user's contact. Deleting an absent contact is not an error.
	DeleteContact(ctx context.Context, userID, kind, value string) error
}

// VerificationCode is a one-time code sent to a contact, stored as a hash. Key binds it to its
// purpose, user and target (the caller builds it, e.g. "verify:email:usr_1:a@b.example").
type VerificationCode struct {
	Key       string
	Hash      []byte
	ExpiresAt time.Time
	// Failures counts wrong codes tried against it.
	Failures int
}

// CodeStore keeps verification codes.
type CodeStore interface {
	// PutCode stores a code, replacing any under the same key (a resend voids the old code).
	// ErrInvalid when Key or Hash is empty or ExpiresAt is zero.
	PutCode(ctx context.Context, c VerificationCode, now time.Time) error

	// GetCode returns the live code under key, or ErrNotFound.
	GetCode(ctx context.Context, key string, now time.Time) (VerificationCode, error)

	// ConsumeCode deletes the live code under key when its Hash equals hash (compared in
	// constant time), atomically: of concurrent calls exactly one succeeds. ErrNotFound when
	// there is no live code or the hash differs.
	ConsumeCode(ctx context.Context, key string, hash []byte, now time.Time) error

	// AddCodeFailure adds one to the live code's Failures and returns the new count, deleting the
	// code when the count reaches maxFailures (so that it is dead), atomically. ErrNotFound when
	// there is no live code.
	AddCodeFailure(ctx context.Context, key string, maxFailures int, now time.Time) (int, error)
}

// OAuthAccount is an account at an OAuth 2.0 / OpenID Connect provider, linked to a user.
// (Provider, Subject) is the key.
type OAuthAccount struct {
	UserID string
	// Provider is the provider's name in the app's configuration ("github", "google", …).
	Provider string
	// Subject is the provider's stable id of the account (OIDC "sub", GitHub's numeric id).
	Subject string
	// Email and Username are what the provider reported at linking, for display only.
	Email    string
	Username string
	LinkedAt time.Time
}

// OAuthStore keeps linked OAuth accounts. A provider account is linked to one user at most, and
// a user links one account of each provider at most.
type OAuthStore interface {
	// LinkOAuth links the account, atomically: ErrConflict when the provider account is linked
	// to a user already (this one included) or the user has an account of that provider
	// linked; ErrInvalid when UserID, Provider or Subject is empty.
	LinkOAuth(ctx context.Context, a OAuthAccount) error
	// UnlinkOAuth removes the user's account of the provider: ErrNotFound when there is none.
	UnlinkOAuth(ctx context.Context, userID, provider string) error
	// ListOAuth returns the user's linked accounts in the order they were linked.
	ListOAuth(ctx context.Context, userID string) ([]OAuthAccount, error)
}

// Store is everything walletauth keeps. Implementations are safe for concurrent use.
type Store interface {
	NonceStore
	CounterStore
	KeyStore
	SessionStore
	UserStore
	MetadataStore
	MFAStore
	ContactStore
	CodeStore
	OAuthStore
	// Close releases the store's resources. Later calls fail with an error wrapping ErrClosed;
	// closing again does nothing.
	Close() error
}

// Change is what a [Watcher] reports: a kind of change, with no data. The watcher reads the store
// ([SessionStore.RevokedSince], [KeyStore.ListKeys]) to learn what changed.
type Change uint8

const (
	// ChangeSubscribed reports that a watch is live: changes from here on are reported. Changes
	// made before it may have been missed, so a watcher should read the store once on it.
	ChangeSubscribed Change = iota + 1
	// ChangeRevoked reports that sessions were revoked ([SessionStore.RevokeSession],
	// [SessionStore.RevokeUserSessions]).
	ChangeRevoked
	// ChangeKeys reports that a signing key was created or deleted.
	ChangeKeys
)

// String returns the change's name.
func (c Change) String() string {
	switch c {
	case ChangeSubscribed:
		return "subscribed"
	case ChangeRevoked:
		return "revoked"
	case ChangeKeys:
		return "keys"
	}
	return "change(" + strconv.Itoa(int(c)) + ")"
}

// Watcher is implemented by stores that several instances share and that can push changes to all
// of them as they happen (PostgreSQL LISTEN/NOTIFY, Redis pub/sub, an in-process broadcast). The
// session package then learns of a revocation or a new signing key made on another instance at
// once instead of at its next poll; it keeps polling, which bounds the delay when a push is lost.
type Watcher interface {
	// Watch subscribes to the changes made through every handle of the store (this one
	// included) and calls fn with each, from one goroutine, until ctx is done (Watch returns nil
	// then) or the subscription fails (Watch returns the error; the caller may call it again,
	// and should read the store when the new watch reports [ChangeSubscribed]). fn is called
	// with ChangeSubscribed first, once the subscription is live, and must return quickly. A
	// change may be reported that changed nothing (revoking a revoked session, say), but none
	// made while the watch is live is left out unless the subscription fails.
	Watch(ctx context.Context, fn func(Change)) error
}
