package oauthlink

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/walletauth/walletauth/store"
)

// Errors that the [Linker] returns. Provider and network failures are returned wrapped and are
// none of these.
var (
	// ErrUnknownProvider reports a provider name that is not configured.
	ErrUnknownProvider = errors.New("oauthlink: unknown provider")
	// ErrState reports a state cookie that does not open (wrong key, altered, malformed), has
	// expired, or belongs to another user or provider, a state parameter that does not match the
	// sealed one, or a callback without a code.
	ErrState = errors.New("oauthlink: invalid or expired state")
	// ErrDenied reports that the provider returned an "error" parameter to the callback (the user
	// refused, "access_denied", or the provider refused the request).
	ErrDenied = errors.New("oauthlink: authorisation denied by the provider")
	// ErrAlreadyLinked reports that the provider account is linked to a user already (this one
	// included), or that the user has an account of that provider linked
	// ([store.ErrConflict]).
	ErrAlreadyLinked = errors.New("oauthlink: account already linked")
	// ErrNotLinked reports that the user has no account of the provider linked
	// ([store.ErrNotFound]).
	ErrNotLinked = errors.New("oauthlink: account not linked")
)

// DefaultStateTTL is the lifetime of a state cookie when [Config.StateTTL] is zero.
const DefaultStateTTL = 10 * time.Minute

// DefaultHTTPTimeout is the timeout of the HTTP client used when [Config.HTTPClient] is nil.
const DefaultHTTPTimeout = 10 * time.Second

// StateKeySize is the size of [Config.StateKey]: an AES-256 key.
const StateKeySize = 32

// Identity is the account that a provider reports as signed in.
type Identity struct {
	// Subject is the provider's stable id of the account; required.
	Subject string
	// Email and Username are for display only; either may be empty.
	Email    string
	Username string
}

// Provider is an OAuth 2.0 or OpenID Connect provider.
type Provider struct {
	// Name names the provider in the app ("github", "google", or the app's own): 1 to 64 ASCII
	// letters, digits, '-' and '_'.
	Name string
	// OAuth2 holds ClientID, ClientSecret, Endpoint and Scopes. RedirectURL is set by the
	// [Linker] from [Config.RedirectURL].
	OAuth2 oauth2.Config
	// Identify reads the signed-in account from the provider with client, which sends the
	// access token and uses [Config.HTTPClient]'s transport and timeout.
	Identify func(ctx context.Context, client *http.Client) (Identity, error)
}

// Config configures a [Linker].
type Config struct {
	// Store keeps the linked accounts; required.
	Store store.OAuthStore
	// Providers are the providers users may link; at least one, with unique names.
	Providers []Provider
	// RedirectURL returns the callback URL registered at the provider for each provider name,
	// an absolute http or https URL; required. New calls it once for each provider.
	RedirectURL func(provider string) string
	// StateKey seals the state cookie with AES-256-GCM: [StateKeySize] bytes, secret, from a
	// cryptographic random source; required. Instances that share callbacks share it.
	StateKey []byte
	// StateTTL is how long a linking may take from Start to Finish; default [DefaultStateTTL].
	StateTTL time.Duration
	// HTTPClient makes the token exchange and the Identify requests; default a client with a
	// [DefaultHTTPTimeout] timeout.
	HTTPClient *http.Client
	// Clock returns the time; default time.Now.
	Clock func() time.Time
	// Logger receives events (never tokens, codes or states); default discards them.
	Logger *slog.Logger
}

// Linker links accounts at OAuth 2.0 / OpenID Connect providers to users. It is safe for
// concurrent use.
type Linker struct {
	store     store.OAuthStore
	providers map[string]*provider
	names     []string
	aead      cipher.AEAD
	ttl       time.Duration
	client    *http.Client
	now       func() time.Time
	log       *slog.Logger
}

type provider struct {
	name     string
	oauth    oauth2.Config // with RedirectURL set
	identify func(ctx context.Context, client *http.Client) (Identity, error)
}

// New returns a Linker for cfg, or an error that describes what is wrong with cfg.
func New(cfg Config) (*Linker, error) {
	if cfg.Store == nil {
		return nil, errors.New("oauthlink: Config.Store is required")
	}
	if len(cfg.Providers) == 0 {
		return nil, errors.New("oauthlink: Config.Providers is empty")
	}
	if cfg.RedirectURL == nil {
		return nil, errors.New("oauthlink: Config.RedirectURL is required")
	}
	if len(cfg.StateKey) != StateKeySize {
		return nil, fmt.Errorf("oauthlink: Config.StateKey must be %d bytes, not %d", StateKeySize, len(cfg.StateKey))
	}
	if cfg.StateTTL < 0 {
		return nil, errors.New("oauthlink: Config.StateTTL is negative")
	}
	block, err := aes.NewCipher(slices.Clone(cfg.StateKey))
	if err != nil {
		return nil, fmt.Errorf("oauthlink: state key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("oauthlink: state key: %w", err)
	}
	l := &Linker{
		store:     cfg.Store,
		providers: make(map[string]*provider, len(cfg.Providers)),
		aead:      aead,
		ttl:       cfg.StateTTL,
		client:    cfg.HTTPClient,
		now:       cfg.Clock,
		log:       cfg.Logger,
	}
	if l.ttl == 0 {
		l.ttl = DefaultStateTTL
	}
	if l.client == nil {
		l.client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	for i, p := range cfg.Providers {
		if !validName(p.Name) {
			return nil, fmt.Errorf("oauthlink: Config.Providers[%d]: invalid name %q", i, p.Name)
		}
		if _, dup := l.providers[p.Name]; dup {
			return nil, fmt.Errorf("oauthlink: Config.Providers[%d]: duplicate name %q", i, p.Name)
		}
		if p.OAuth2.ClientID == "" {
			return nil, fmt.Errorf("oauthlink: provider %q: no client id", p.Name)
		}
		if !absoluteHTTPURL(p.OAuth2.Endpoint.AuthURL) || !absoluteHTTPURL(p.OAuth2.Endpoint.TokenURL) {
			return nil, fmt.Errorf("oauthlink: provider %q: endpoint URLs must be absolute http(s) URLs", p.Name)
		}
		if p.Identify == nil {
			return nil, fmt.Errorf("oauthlink: provider %q: no Identify function", p.Name)
		}
		redirect := cfg.RedirectURL(p.Name)
		if !absoluteHTTPURL(redirect) {
			return nil, fmt.Errorf("oauthlink: provider %q: RedirectURL %q is not an absolute http(s) URL", p.Name, redirect)
		}
		oc := p.OAuth2
		oc.Scopes = slices.Clone(oc.Scopes)
		oc.RedirectURL = redirect
		l.providers[p.Name] = &provider{name: p.Name, oauth: oc, identify: p.Identify}
		l.names = append(l.names, p.Name)
	}
	return l, nil
}

// Providers returns the names of the configured providers, in the order of [Config.Providers].
func (l *Linker) Providers() []string { return slices.Clone(l.names) }

// statePayload is what the state cookie carries, sealed.
type statePayload struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	UserID   string `json:"u"`
	Provider string `json:"p"`
	Expires  int64  `json:"e"` // Unix seconds
}

// stateAAD binds sealed cookies to this use of the key.
var stateAAD = []byte("walletauth/oauthlink state v1")

// Start begins linking an account of provider to userID. It returns the provider's
// authorisation URL, to redirect the user's browser to, with a fresh state and a PKCE S256
// challenge, and the value of the state cookie to set on that response (HttpOnly, Secure,
// SameSite=Lax, for about [Config.StateTTL]): the state, the PKCE verifier, the user id, the
// provider and the expiry, sealed with [Config.StateKey]. The value is URL-safe base64.
func (l *Linker) Start(userID, provider string) (authURL, stateCookie string, err error) {
	p, ok := l.providers[provider]
	if !ok {
		return "", "", fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
	}
	if userID == "" {
		return "", "", errors.New("oauthlink: empty user id")
	}
	state := rand.Text() // 128 bits
	verifier := oauth2.GenerateVerifier()
	payload, err := json.Marshal(statePayload{
		State:    state,
		Verifier: verifier,
		UserID:   userID,
		Provider: provider,
		Expires:  l.now().Add(l.ttl).Unix(),
	})
	if err != nil {
		return "", "", fmt.Errorf("oauthlink: state: %w", err)
	}
	nonce := make([]byte, l.aead.NonceSize(), l.aead.NonceSize()+len(payload)+l.aead.Overhead())
	rand.Read(nonce)
	sealed := l.aead.Seal(nonce, nonce, payload, stateAAD)
	authURL = p.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
	l.log.Debug("oauthlink: link started", "user", userID, "provider", provider)
	return authURL, base64.RawURLEncoding.EncodeToString(sealed), nil
}

// open opens a state cookie and checks that it is live and belongs to userID and provider.
func (l *Linker) open(userID, provider, cookie string) (statePayload, error) {
	var sp statePayload
	raw, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || len(raw) < l.aead.NonceSize()+l.aead.Overhead() {
		return sp, fmt.Errorf("%w: malformed cookie", ErrState)
	}
	ns := l.aead.NonceSize()
	plain, err := l.aead.Open(nil, raw[:ns], raw[ns:], stateAAD)
	if err != nil {
		return sp, fmt.Errorf("%w: cookie does not open", ErrState)
	}
	if err := json.Unmarshal(plain, &sp); err != nil || sp.State == "" || sp.Verifier == "" {
		return sp, fmt.Errorf("%w: malformed cookie", ErrState)
	}
	if l.now().Unix() >= sp.Expires {
		return sp, fmt.Errorf("%w: cookie expired", ErrState)
	}
	if sp.UserID != userID {
		return sp, fmt.Errorf("%w: cookie of another user", ErrState)
	}
	if sp.Provider != provider {
		return sp, fmt.Errorf("%w: cookie of another provider", ErrState)
	}
	return sp, nil
}

// Finish completes a linking on the provider's callback to the redirect URL. userID is the
// signed-in user, provider the provider the callback is for, stateCookie the value of the
// cookie that [Linker.Start] returned and query the callback's query parameters.
//
// It opens the state cookie, refusing one sealed with another key, expired, altered, or made
// for another user or provider, compares the "state" parameter with the sealed state in
// constant time ([ErrState] for all of these), fails with [ErrDenied] on an "error" parameter,
// exchanges the "code" with the PKCE verifier, calls the provider's Identify, and links the
// account with [store.OAuthStore.LinkOAuth] ([ErrAlreadyLinked] on a conflict). The caller
// should delete the state cookie whatever the outcome.
func (l *Linker) Finish(ctx context.Context, userID, provider, stateCookie string, query url.Values) (store.OAuthAccount, error) {
	p, ok := l.providers[provider]
	if !ok {
		return store.OAuthAccount{}, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
	}
	sp, err := l.open(userID, provider, stateCookie)
	if err != nil {
		l.log.Warn("oauthlink: link refused", "user", userID, "provider", provider, "reason", err.Error())
		return store.OAuthAccount{}, err
	}
	if subtle.ConstantTimeCompare([]byte(query.Get("state")), []byte(sp.State)) != 1 {
		l.log.Warn("oauthlink: link refused", "user", userID, "provider", provider, "reason", "state mismatch")
		return store.OAuthAccount{}, fmt.Errorf("%w: state mismatch", ErrState)
	}
	if e := query.Get("error"); e != "" || query.Has("error") {
		code := sanitize(e)
		l.log.Info("oauthlink: provider denied", "user", userID, "provider", provider, "error", code)
		return store.OAuthAccount{}, fmt.Errorf("%w: %s", ErrDenied, code)
	}
	code := query.Get("code")
	if code == "" {
		return store.OAuthAccount{}, fmt.Errorf("%w: callback has no code", ErrState)
	}

	hctx := context.WithValue(ctx, oauth2.HTTPClient, l.client)
	tok, err := p.oauth.Exchange(hctx, code, oauth2.VerifierOption(sp.Verifier))
	if err != nil {
		reason := "request failed"
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
			reason = "token endpoint: " + sanitize(re.ErrorCode)
			if re.ErrorCode == "" && re.Response != nil {
				reason = "token endpoint: " + re.Response.Status
			}
		}
		l.log.Warn("oauthlink: token exchange failed", "user", userID, "provider", provider, "reason", reason)
		return store.OAuthAccount{}, fmt.Errorf("oauthlink: %s: token exchange: %w", provider, err)
	}
	id, err := p.identify(hctx, p.oauth.Client(hctx, tok))
	if err != nil {
		l.log.Warn("oauthlink: identify failed", "user", userID, "provider", provider, "err", err.Error())
		return store.OAuthAccount{}, fmt.Errorf("oauthlink: %s: identify: %w", provider, err)
	}
	if id.Subject == "" || len(id.Subject) > 255 {
		return store.OAuthAccount{}, fmt.Errorf("oauthlink: %s: identify: invalid subject", provider)
	}
	acct := store.OAuthAccount{
		UserID:   userID,
		Provider: provider,
		Subject:  id.Subject,
		Email:    truncate(id.Email, 320),
		Username: truncate(id.Username, 255),
		LinkedAt: l.now().UTC(),
	}
	if err := l.store.LinkOAuth(ctx, acct); err != nil {
		if errors.Is(err, store.ErrConflict) {
			l.log.Info("oauthlink: account already linked", "user", userID, "provider", provider, "subject", acct.Subject)
			return store.OAuthAccount{}, fmt.Errorf("%w: %w", ErrAlreadyLinked, err)
		}
		return store.OAuthAccount{}, fmt.Errorf("oauthlink: link: %w", err)
	}
	l.log.Info("oauthlink: account linked", "user", userID, "provider", provider, "subject", acct.Subject)
	return acct, nil
}

// Unlink removes the user's account of provider: [ErrNotLinked] when there is none. provider
// need not be configured any longer, so that accounts of a removed provider can be unlinked.
func (l *Linker) Unlink(ctx context.Context, userID, provider string) error {
	if err := l.store.UnlinkOAuth(ctx, userID, provider); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %w", ErrNotLinked, err)
		}
		return fmt.Errorf("oauthlink: unlink: %w", err)
	}
	l.log.Info("oauthlink: account unlinked", "user", userID, "provider", provider)
	return nil
}

// Accounts returns the user's linked accounts in the order they were linked, including those of
// providers no longer configured.
func (l *Linker) Accounts(ctx context.Context, userID string) ([]store.OAuthAccount, error) {
	accts, err := l.store.ListOAuth(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("oauthlink: accounts: %w", err)
	}
	return accts, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func absoluteHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// sanitize makes an error code from a provider safe to log and show: printable ASCII, at most
// 64 bytes (RFC 6749 error codes are %x20-21 / %x23-5B / %x5D-7E).
func sanitize(s string) string {
	b := make([]byte, 0, min(len(s), 64))
	for i := 0; i < len(s) && len(b) < 64; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b = append(b, c)
		} else {
			b = append(b, '?')
		}
	}
	if len(b) == 0 {
		return "(empty)"
	}
	return fmt.Sprintf("%q", b)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
