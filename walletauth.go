package walletauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/walletauth/walletauth/mfa"
	"github.com/walletauth/walletauth/oauthlink"
	"github.com/walletauth/walletauth/profile"
	"github.com/walletauth/walletauth/session"
	"github.com/walletauth/walletauth/store"
	"github.com/walletauth/walletauth/web3auth"
)

// Defaults of [Config].
const (
	DefaultBasePath  = "/auth"
	DefaultRateLimit = 60
	// NoRateLimit, as Config.RateLimit, turns rate limiting off (load tests).
	NoRateLimit = -1
	// MaxBodyBytes caps every request body the handler reads.
	MaxBodyBytes = 64 << 10
)

// Config configures an [Auth]. Origin and Store are required; every other field has the default
// its comment gives.
type Config struct {
	// Origin is the public origin of the site, such as "https://example.com": the SIWE domain
	// and URI, the issuer and audience of access tokens, the origin trusted by cross-origin
	// protection, and the scope of cookies. Cookies are Secure with __Host-/__Secure- names
	// unless the origin is plain-http localhost (development). Required.
	Origin string
	// Store keeps nonces, sessions, keys, users and counters. Required. Instances that share
	// it (pgstore, redisstore) share sign-ins, sessions, keys and revocations; a store that
	// pushes changes ([store.Watcher]) makes a revocation reach every instance within a second.
	Store store.Store
	// Fast, when set, keeps the short-lived records read or written on every sign-in and
	// refresh — nonces, rate-limit and attempt counters, refresh sessions and verification
	// codes — and Store keeps the rest (users, wallets, signing keys, second factors, contacts,
	// linked accounts): redisstore beside pgstore, say. See [store.Pair].
	Fast store.FastStore

	// ChainIDs are the EIP-155 chains users may sign in on, the default first. Default [1].
	ChainIDs []uint64
	// BasePath is the path the handler is mounted at. Default "/auth".
	BasePath string
	// AppName names the app in messages and authenticator apps. Default: the origin's host.
	AppName string
	// Statement is written into the messages the server builds. Default "Sign in to <AppName>".
	Statement string
	// RateLimit is how many nonce and sign-in requests one client (IP address) may make per
	// minute. Zero means [DefaultRateLimit]; [NoRateLimit] turns the limit off.
	RateLimit int
	// TrustedProxies are the proxies whose X-Forwarded-For header is believed. Empty: none; the
	// client is the connection's peer.
	TrustedProxies []netip.Prefix

	// Session configures access tokens and refresh sessions. Its Issuer, Keys, Sessions, Clock
	// and Logger are filled in from this Config; zero fields take the session package's defaults
	// (60-second EdDSA access tokens, 7-day idle and 30-day absolute refresh lifetime).
	Session session.Config
	// Web3 configures sign-in messages and nonces beyond what this Config sets (nonce lifetime,
	// attempts, clock skew, contract-wallet verifiers). Its Origin, ChainIDs, Nonces, Statement
	// and Clock are filled in from this Config.
	Web3 web3auth.Config

	// MFA configures second factors (TOTP and recovery codes). MFA is on when
	// MFA.EncryptionKeys is set (TOTP secrets cannot be hashed, so they are sealed with these
	// keys); its Store, Issuer (default AppName), Clock and Logger are filled in from this Config.
	MFA mfa.Config
	// PendingTTL is how long a sign-in may wait for its second factor. Default
	// [DefaultPendingTTL] (5 minutes); at most session.MaxPendingTTL.
	PendingTTL time.Duration
	// FreshFactor is how recent a second factor must be to turn MFA off or regenerate recovery
	// codes. Default [DefaultFreshFactor] (10 minutes).
	FreshFactor time.Duration

	// Email and SMS send verification codes for users' email addresses and phone numbers, and
	// second-factor codes to them (profile.SMTPSender, profile.WebhookSMSSender,
	// profile.LogSender for development). With neither, the contact routes do not exist.
	Email profile.EmailSender
	SMS   profile.SMSSender
	// Contacts tunes contact verification (code lifetime, failures, send limits); its Store,
	// Email, SMS, AppName, Clock and Logger are filled in from this Config.
	Contacts profile.Config

	// OAuth lists the OAuth 2.0 / OpenID Connect providers (oauthlink.GitHub, oauthlink.Google,
	// oauthlink.OIDC) whose accounts users may link. With none, the OAuth routes do not exist.
	OAuth []oauthlink.Provider
	// OAuthStateKey seals the state of a linking in progress (32 bytes); required with OAuth.
	OAuthStateKey []byte
	// OAuthReturnURL is where the browser goes after linking, with ?oauth_linked=provider or
	// ?oauth_error=code. Default "/".
	OAuthReturnURL string

	// PublicMetadataInToken copies each user's public metadata into their access tokens, as the
	// claim "public_metadata", when it is at most MaxTokenMetadata bytes (larger metadata is left
	// out and logged). It costs a store read per token minted (sign-in and refresh), none per
	// verification. Setting it replaces Session.Claims.
	PublicMetadataInToken bool
	// MaxTokenMetadata: see PublicMetadataInToken. Default [DefaultMaxTokenMetadata] (1 KiB).
	MaxTokenMetadata int

	// OnEvent, when set, is called with every [Event] (user created or updated, wallet linked or
	// unlinked, session created or revoked, MFA turned on or off, contact verified), one at a
	// time from a goroutine of its own: it never delays or breaks the request that caused the
	// event. Events that find [EventQueueSize] others waiting are dropped and logged. Close
	// waits briefly for the queue to drain.
	OnEvent func(ctx context.Context, e Event)

	// ErrorHandler writes the response of a request the middleware refuses. Default: a JSON
	// error body with status 401 (or 403).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives security events (sign-in, failures, refresh-token reuse, revocation),
	// never a token, signature or secret. Default slog.Default().
	Logger *slog.Logger
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
}

// Auth is walletauth: the HTTP handler, the middleware and the services behind them.
type Auth struct {
	cfg      Config
	origin   web3auth.Origin
	web3     *web3auth.Service
	sessions *session.Manager
	mfa      *mfa.Service      // nil: MFA is off
	contacts *profile.Service  // nil: no senders, no contacts
	oauth    *oauthlink.Linker // nil: no OAuth providers
	cookies  cookieNames
	secure   bool
	log      *slog.Logger
	handler  http.Handler
	events   *events
	cop      *http.CrossOriginProtection
	stop     context.CancelFunc
}

// New validates cfg, fills in its defaults, loads or creates the signing keys, starts the
// background sync of revocations and keys (stopped by [Auth.Close]) and returns an Auth.
func New(ctx context.Context, cfg Config) (*Auth, error) {
	if cfg.Store == nil {
		return nil, errors.New("walletauth: Config.Store is required")
	}
	if cfg.Fast != nil {
		cfg.Store = store.Pair(cfg.Store, cfg.Fast)
	}
	origin, err := web3auth.ParseOrigin(cfg.Origin)
	if err != nil {
		return nil, fmt.Errorf("walletauth: Config.Origin: %w", err)
	}
	if len(cfg.ChainIDs) == 0 {
		cfg.ChainIDs = []uint64{1}
	}
	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	cfg.BasePath = "/" + strings.Trim(cfg.BasePath, "/")
	if cfg.BasePath == "/" || strings.ContainsAny(cfg.BasePath, "?#* ") {
		return nil, fmt.Errorf("walletauth: Config.BasePath %q: want a path such as /auth", cfg.BasePath)
	}
	if cfg.AppName == "" {
		cfg.AppName = origin.Host() // not Domain(): authenticator apps' issuer may not hold a ":port"
	}
	if cfg.Statement == "" {
		cfg.Statement = "Sign in to " + cfg.AppName
	}
	switch {
	case cfg.RateLimit == 0:
		cfg.RateLimit = DefaultRateLimit
	case cfg.RateLimit < 0 && cfg.RateLimit != NoRateLimit:
		return nil, errors.New("walletauth: Config.RateLimit must be positive, 0 or NoRateLimit")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch {
	case cfg.PendingTTL == 0:
		cfg.PendingTTL = DefaultPendingTTL
	case cfg.PendingTTL < 0 || cfg.PendingTTL > session.MaxPendingTTL:
		return nil, fmt.Errorf("walletauth: Config.PendingTTL must be positive and at most %v", session.MaxPendingTTL)
	}
	switch {
	case cfg.FreshFactor == 0:
		cfg.FreshFactor = DefaultFreshFactor
	case cfg.FreshFactor < 0:
		return nil, errors.New("walletauth: Config.FreshFactor must not be negative")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}

	w := cfg.Web3
	w.Origin, w.ChainIDs, w.Nonces, w.Statement, w.Clock = origin.String(), cfg.ChainIDs, cfg.Store, cfg.Statement, cfg.Clock
	web3, err := web3auth.New(w)
	if err != nil {
		return nil, fmt.Errorf("walletauth: %w", err)
	}

	if cfg.MaxTokenMetadata == 0 {
		cfg.MaxTokenMetadata = DefaultMaxTokenMetadata
	}
	a := &Auth{cfg: cfg, log: cfg.Logger}
	sc := cfg.Session
	sc.Issuer, sc.Keys, sc.Sessions, sc.Clock, sc.Logger = origin.String(), cfg.Store, cfg.Store, cfg.Clock, cfg.Logger
	if cfg.PublicMetadataInToken {
		sc.Claims = a.tokenMetadata
	}
	sessions, err := session.New(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("walletauth: %w", err)
	}

	var second *mfa.Service
	if len(cfg.MFA.EncryptionKeys) > 0 {
		mc := cfg.MFA
		mc.Store, mc.Clock, mc.Logger = cfg.Store, cfg.Clock, cfg.Logger
		if mc.Issuer == "" {
			mc.Issuer = cfg.AppName
		}
		if second, err = mfa.New(mc); err != nil {
			return nil, fmt.Errorf("walletauth: %w", err)
		}
	}

	a.mfa, a.origin, a.web3, a.sessions, a.secure = second, origin, web3, sessions, !origin.IsLocalDevelopment()
	if len(cfg.OAuth) > 0 {
		if cfg.OAuthReturnURL == "" {
			cfg.OAuthReturnURL = "/"
			a.cfg.OAuthReturnURL = "/"
		}
		base := origin.String() + cfg.BasePath
		a.oauth, err = oauthlink.New(oauthlink.Config{
			Store: cfg.Store, Providers: cfg.OAuth, StateKey: cfg.OAuthStateKey, Clock: cfg.Clock, Logger: cfg.Logger,
			RedirectURL: func(provider string) string { return base + "/oauth/" + provider + "/callback" },
		})
		if err != nil {
			sessions.Close()
			return nil, fmt.Errorf("walletauth: %w", err)
		}
	}
	if cfg.Email != nil || cfg.SMS != nil {
		pc := cfg.Contacts
		pc.Store, pc.Email, pc.SMS, pc.AppName, pc.Clock, pc.Logger = cfg.Store, cfg.Email, cfg.SMS, cfg.AppName, cfg.Clock, cfg.Logger
		if a.contacts, err = profile.New(pc); err != nil {
			sessions.Close()
			return nil, fmt.Errorf("walletauth: %w", err)
		}
	}
	a.events = newEvents(cfg.OnEvent, cfg.Logger)
	a.cookies = newCookieNames(a.secure)
	a.cop = a.newCrossOriginProtection()
	a.handler = a.routes()
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stop = stop
	sessions.Start(bg)
	return a, nil
}

// Close stops the background sync and the event delivery (waiting up to a second for queued
// events). It does not close the store.
func (a *Auth) Close() error {
	a.stop()
	a.events.close(time.Second)
	return a.sessions.Close()
}

// Sessions returns the session manager, for apps that mint or check tokens outside HTTP.
func (a *Auth) Sessions() *session.Manager { return a.sessions }

// Web3 returns the sign-in service.
func (a *Auth) Web3() *web3auth.Service { return a.web3 }

// Handler returns the HTTP API of DESIGN §2, to be mounted at Config.BasePath:
//
//	mux.Handle("/auth/", auth.Handler())
func (a *Auth) Handler() http.Handler { return a.handler }

// userFor returns the user who owns the wallet addr (acct.Address in EIP-55 form), creating one
// at its first sign-in.
func (a *Auth) userFor(ctx context.Context, acct *web3auth.Account, addr string) (store.User, bool, error) {
	u, err := a.cfg.Store.UserByWallet(ctx, addr)
	if err == nil {
		return u, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, err
	}
	now := a.cfg.Clock()
	u = store.User{ID: "usr_" + rand.Text(), CreatedAt: now,
		Wallets: []store.Wallet{{Address: addr, ChainID: acct.ChainID, LinkedAt: now}}}
	switch err := a.cfg.Store.CreateUser(ctx, u); {
	case err == nil:
		return u, true, nil
	case errors.Is(err, store.ErrConflict):
		// Another sign-in of the same wallet created the user first.
		u, err = a.cfg.Store.UserByWallet(ctx, addr)
		return u, false, err
	default:
		return store.User{}, false, err
	}
}
